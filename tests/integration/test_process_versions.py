"""Process versions: stored once per content, and a running case stays on the version it started with."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from tsunagu.engine import cases
from tsunagu.engine.errors import FormInvalid
from tsunagu.engine.models import ProcessVersionRecord
from tsunagu.processes.loader import build_definition
from tsunagu.processes.registry import deploy, latest_version

from .helpers import count, open_task, reload_case, submissions


def test_deploying_the_same_files_twice_stores_one_version(session, session_factory, clock, standard_definition):
    first = deploy(session, standard_definition, clock)
    session.commit()
    clock.advance(timedelta(days=1))

    second = deploy(session, standard_definition, clock)
    session.commit()

    assert second.id == first.id
    assert count(session_factory, ProcessVersionRecord) == 1
    with session_factory() as fresh:
        stored = fresh.scalars(select(ProcessVersionRecord)).one()
        assert stored.deployed_at == clock() - timedelta(days=1)
        assert stored.files == standard_definition.files


def changed_definition(definition):
    """The same process with one form changed, as a designer would upload it."""
    schema = json.loads(definition.files["assessment-schema.json"])
    schema["properties"]["assessment_note"]["maxLength"] = 10
    return build_definition({**definition.files, "assessment-schema.json": json.dumps(schema)}, definition.process_id)


def test_a_case_keeps_its_version_after_a_new_version_is_deployed(
        session, session_factory, clock, caseworker, standard_definition, standard_version, standard_case,
        intake_data, assessment_data):
    new = deploy(session, changed_definition(standard_definition), clock)
    session.commit()

    assert new.id != standard_version.id
    assert latest_version(session, "kodoku_koritsu_case").id == new.id
    assert count(session_factory, ProcessVersionRecord) == 2

    cases.complete_task(session, clock, caseworker, open_task(session_factory, standard_case.id).id, intake_data)
    case = cases.complete_task(session, clock, caseworker, open_task(session_factory, standard_case.id).id,
                               dict(assessment_data, assessment_note="長めの所見ですが旧版では許される長さです"))

    assert reload_case(session_factory, case.id).process_version_id == standard_version.id
    assert {s.form_version for s in submissions(session_factory, case.id)} == {standard_version.content_hash}
    assert open_task(session_factory, case.id).element_id == "consent_capture"
    started_later = cases.start_case(session, clock, caseworker, latest_version(session, "kodoku_koritsu_case"),
                                     "新しい相談")
    assert reload_case(session_factory, started_later.id).process_version_id == new.id
    cases.complete_task(session, clock, caseworker, open_task(session_factory, started_later.id).id, intake_data)
    with pytest.raises(FormInvalid) as caught:  # the new version's limit holds for the new case
        cases.complete_task(session, clock, caseworker, open_task(session_factory, started_later.id).id,
                            dict(assessment_data, assessment_note="長めの所見ですが旧版では許される長さです"))
    assert [(e.field, e.code) for e in caught.value.errors] == [("assessment_note", "maxLength")]
