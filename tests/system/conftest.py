"""Fixtures for tests that run several scheduler processes against one database."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import make_url

from .support import clone_case, start_waiting_case

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn"


def on_postgresql() -> bool:
    url = os.environ.get("TSUNAGU_TEST_DATABASE_URL")
    return bool(url) and make_url(url).get_backend_name() == "postgresql"


@pytest.fixture
def waiting_cases(session, clock, caseworker, timer_version):
    """Make `n` independent cases of the timers fixture, all waiting on their 7-day timer; return their ids."""
    def make(n: int) -> list[int]:
        template = start_waiting_case(session, clock, caseworker, timer_version)
        return [template.id, *clone_case(session, template.id, n - 1)]
    return make


@pytest.fixture
def children():
    """Scheduler child processes a test started; any still running at the end are killed."""
    started = []
    yield started
    for child in started:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)
