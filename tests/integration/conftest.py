"""Fixtures for tests that run commands against a real database."""
from __future__ import annotations

import pytest

from tsunagu.engine import cases


@pytest.fixture
def intake_data():
    """A complete intake form that the triage sends to the caseworker's follow-up."""
    return {
        "consultation_date": "2026-11-27",
        "channel": "phone",
        "person_name": "山田 花子",
        "concern": "一人暮らしで話し相手がいない",
        "loneliness_direct": 4,
        "suicidal_thoughts": False,
        "wishes_support": True,
    }


@pytest.fixture
def standard_case(session, clock, caseworker, standard_version):
    """A case of the shipped process, waiting on its intake."""
    return cases.start_case(session, clock, caseworker, standard_version, "山田さんの相談")
