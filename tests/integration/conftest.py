"""Fixtures for tests that run commands against a real database."""
from __future__ import annotations

from datetime import date

import pytest

from tsunagu.engine.access import users
from tsunagu.engine.casefile.governance import CouncilMunicipalityRecord, CouncilRecord
from tsunagu.engine.commands import cases
from tsunagu.processes.catalogue import install_catalogue

from .scenario import Cast, Story, assessment, intake


@pytest.fixture
def intake_data():
    """A complete intake form of the shipped process: no special care, no existing scheme."""
    return intake()


@pytest.fixture
def assessment_data():
    """A complete baseline assessment of normal risk (direct question 3, UCLA-3 total 6)."""
    return assessment()


@pytest.fixture
def standard_case(session, clock, caseworker, standard_version):
    """A case of the shipped process, waiting on its intake."""
    return cases.start_case(session, clock, caseworker, standard_version, "山田さんの相談")


@pytest.fixture
def bodies(session, municipality):
    """The default member bodies (構成機関等) and action catalogue, by catalogue key."""
    installed = install_catalogue(session, municipality.id)
    session.commit()
    return installed


@pytest.fixture
def council(session, municipality, bodies):
    """The municipality's council, whose designated coordinating body (Act Art. 17) is 福祉課 (fukushi)."""
    record = CouncilRecord(name="つながり市孤独・孤立対策地域協議会", established_on=date(2024, 4, 1),
                           coordinating_body_id=bodies["fukushi"].id, coordinating_designated_on=date(2024, 4, 1))
    session.add(record)
    session.flush()
    session.add(CouncilMunicipalityRecord(council_id=record.id, municipality_id=municipality.id))
    session.commit()
    return record


@pytest.fixture
def coordinator(session, clock, municipality, bodies, council, user_password):
    """Staff of the coordinating body (調整機関), who run council business."""
    user = users.create_user(session, clock, municipality_id=municipality.id, username="coordinator",
                             display_name="coordinator", password=user_password, roles=["coordinator"],
                             organisation_id=bodies["fukushi"].id)
    session.commit()
    return user


@pytest.fixture
def partners(session, clock, municipality, bodies, user_password):
    """One partner user for every member body, keyed like the body."""
    people = {key: users.create_user(session, clock, municipality_id=municipality.id, username=f"partner-{key}",
                                     display_name=f"partner-{key}", password=user_password, roles=["partner"],
                                     organisation_id=body.id)
              for key, body in bodies.items()}
    session.commit()
    return people


@pytest.fixture
def story(session_factory, clock, standard_version, caseworker, supervisor, coordinator, partners, bodies):
    """The shipped process with every role cast, driven step by step through the engine commands."""
    return Story(session_factory, clock, standard_version,
                 Cast(caseworker, supervisor, coordinator, partners, bodies))
