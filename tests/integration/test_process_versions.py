"""Process versions: stored once per content, and a running case stays on the version it started with."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tsunagu.engine.commands import cases
from tsunagu.engine.errors import FormInvalid
from tsunagu.engine.models import ProcessVersionRecord
from tsunagu.processes.deployment import deploy
from tsunagu.processes.registry import live_version

from .helpers import count, open_task, reload_case, submissions
from .versions import LONG_NOTE, changed_definition


def test_deploying_the_same_files_twice_stores_one_version(session, session_factory, clock, standard_definition):
    first = deploy(session, clock, standard_definition)
    session.commit()
    clock.advance(timedelta(days=1))

    second = deploy(session, clock, standard_definition)
    session.commit()

    assert (first.outcome, second.outcome) == ("created", "unchanged")
    assert second.version.id == first.version.id and second.version.version_number == 1
    assert count(session_factory, ProcessVersionRecord) == 1
    with session_factory() as fresh:
        stored = fresh.scalars(select(ProcessVersionRecord)).one()
        assert stored.deployed_at == clock() - timedelta(days=1)
        assert stored.files == standard_definition.files
        assert (stored.municipality_id, stored.deployed_via, stored.deployed_by_id) == (None, "cli", None)


def test_a_case_keeps_its_version_after_a_new_version_is_deployed(
        session, session_factory, clock, caseworker, standard_definition, standard_version, standard_case,
        intake_data, assessment_data):
    new = deploy(session, clock, changed_definition(standard_definition)).version
    session.commit()

    assert new.id != standard_version.id and new.version_number == 2
    assert live_version(session, caseworker.municipality_id, "kodoku_koritsu_case").id == new.id
    assert count(session_factory, ProcessVersionRecord) == 2

    cases.complete_task(session, clock, caseworker, open_task(session_factory, standard_case.id).id, intake_data)
    case = cases.complete_task(session, clock, caseworker, open_task(session_factory, standard_case.id).id,
                               dict(assessment_data, assessment_note=LONG_NOTE))

    assert reload_case(session_factory, case.id).process_version_id == standard_version.id
    assert {s.form_version for s in submissions(session_factory, case.id)} == {standard_version.content_hash}
    assert open_task(session_factory, case.id).element_id == "consent_capture"
    started_later = cases.start_case(session, clock, caseworker,
                                     live_version(session, caseworker.municipality_id, "kodoku_koritsu_case"),
                                     "新しい相談")
    assert reload_case(session_factory, started_later.id).process_version_id == new.id
    cases.complete_task(session, clock, caseworker, open_task(session_factory, started_later.id).id, intake_data)
    with pytest.raises(FormInvalid) as caught:  # the new version's limit holds for the new case
        cases.complete_task(session, clock, caseworker, open_task(session_factory, started_later.id).id,
                            dict(assessment_data, assessment_note=LONG_NOTE))
    assert [(e.field, e.code) for e in caught.value.errors] == [("assessment_note", "maxLength")]
