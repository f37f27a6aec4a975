"""Starting and working a case: what a caseworker sees in the inbox and what the case file keeps."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import DateTime, select

from tsunagu.engine import cases, queries
from tsunagu.engine.errors import Conflict, FormInvalid
from tsunagu.engine.models import Base, CaseStatus, TaskStatus
from tsunagu.engine.workflow import load_state, ready_user_tasks

from .helpers import audit_actions, open_task, reload_case, submissions, task_rows


def test_a_started_case_waits_on_an_intake_task_due_in_three_days(
        session, session_factory, clock, caseworker, standard_version, standard_case):
    case = reload_case(session_factory, standard_case.id)
    (task,) = task_rows(session_factory, case.id)

    assert case.status == CaseStatus.RUNNING
    assert case.reference == f"2026-{case.id:06d}"
    assert case.process_version_id == standard_version.id
    assert (task.element_id, task.name, task.role, task.status) == ("intake", "相談受付", "caseworker", TaskStatus.OPEN)
    assert task.form_file == "intake-schema.json"
    assert task.assignee_id is None
    assert task.due_at == clock() + timedelta(days=3)
    assert task.follow_up_at == clock() + timedelta(days=1)
    assert task.created_at == clock()
    assert [t.id for t in queries.available_tasks(session, caseworker)] == [task.id]
    assert audit_actions(session_factory, case.id) == ["case.started"]


def test_invalid_form_data_is_refused_and_changes_nothing(
        session, session_factory, clock, caseworker, standard_case, intake_data):
    task = open_task(session_factory, standard_case.id)
    before = reload_case(session_factory, standard_case.id)
    clock.advance(timedelta(hours=1))

    with pytest.raises(FormInvalid) as caught:
        cases.complete_task(session, clock, caseworker, task.id, dict(intake_data, channel="fax", age=-3))

    assert {(e.field, e.code) for e in caught.value.errors} == {("channel", "enum"), ("age", "minimum")}
    after = reload_case(session_factory, standard_case.id)
    assert (after.lock_version, after.workflow_state, after.updated_at, after.status) == (
        before.lock_version, before.workflow_state, before.updated_at, before.status)
    assert [(t.id, t.status, t.completed_at) for t in task_rows(session_factory, standard_case.id)] == [
        (task.id, TaskStatus.OPEN, None)]
    assert submissions(session_factory, standard_case.id) == []
    assert audit_actions(session_factory, standard_case.id) == ["case.started"]


def test_a_valid_intake_is_stored_with_its_form_version_and_opens_the_follow_up(
        session, session_factory, clock, caseworker, standard_version, standard_case, intake_data):
    task = open_task(session_factory, standard_case.id)
    lock_version = reload_case(session_factory, standard_case.id).lock_version
    clock.advance(timedelta(hours=2))

    cases.complete_task(session, clock, caseworker, task.id, intake_data)

    (submission,) = submissions(session_factory, standard_case.id)
    assert submission.task_id == task.id
    assert (submission.form_id, submission.form_version) == ("intake-schema.json", standard_version.content_hash)
    assert submission.data == intake_data
    assert (submission.submitted_by_id, submission.submitted_at) == (caseworker.id, clock())

    done, follow_up = task_rows(session_factory, standard_case.id)
    assert (done.id, done.status, done.completed_by_id, done.completed_at) == (
        task.id, TaskStatus.COMPLETED, caseworker.id, clock())
    assert (follow_up.element_id, follow_up.role, follow_up.status) == ("follow_up", "caseworker", TaskStatus.OPEN)
    assert follow_up.due_at == clock() + timedelta(days=14)

    case = reload_case(session_factory, standard_case.id)
    assert case.status == CaseStatus.RUNNING
    assert case.lock_version == lock_version + 1
    assert case.updated_at == clock()
    assert audit_actions(session_factory, case.id) == ["case.started", "task.completed"]
    workflow = load_state(standard_version.spec, case.workflow_state)
    assert [t.spiff_id for t in ready_user_tasks(workflow)] == [follow_up.spiff_task_id]


def test_a_completed_task_cannot_be_completed_again(
        session, session_factory, clock, caseworker, standard_case, intake_data):
    task = open_task(session_factory, standard_case.id)
    cases.complete_task(session, clock, caseworker, task.id, intake_data)

    with pytest.raises(Conflict) as caught:
        cases.complete_task(session, clock, caseworker, task.id, dict(intake_data, suicidal_thoughts=True))

    assert caught.value.element == "intake"
    assert len(submissions(session_factory, standard_case.id)) == 1
    assert [t.element_id for t in task_rows(session_factory, standard_case.id)] == ["intake", "follow_up"]
    assert audit_actions(session_factory, standard_case.id).count("task.completed") == 1


def test_suicidal_thoughts_put_a_crisis_task_in_the_supervisors_inbox_and_not_the_caseworkers(
        session, session_factory, clock, caseworker, supervisor, standard_case, intake_data):
    task = open_task(session_factory, standard_case.id)

    cases.complete_task(session, clock, caseworker, task.id, dict(intake_data, suicidal_thoughts=True))

    crisis = open_task(session_factory, standard_case.id)
    assert (crisis.element_id, crisis.role) == ("crisis_response", "supervisor")
    assert crisis.due_at == clock() + timedelta(days=1)
    assert [t.id for t in queries.available_tasks(session, supervisor)] == [crisis.id]
    assert queries.available_tasks(session, caseworker) == []


def test_a_case_worked_to_its_end_is_completed(
        session, session_factory, clock, caseworker, supervisor, standard_case, intake_data):
    cases.complete_task(session, clock, caseworker, open_task(session_factory, standard_case.id).id,
                        dict(intake_data, suicidal_thoughts=True))
    clock.advance(timedelta(hours=3))

    case = cases.complete_task(session, clock, supervisor, open_task(session_factory, standard_case.id).id,
                               {"action_taken": "保健所と同行訪問", "completed_on": "2026-11-27"})

    assert case.status == CaseStatus.COMPLETED
    stored = reload_case(session_factory, standard_case.id)
    assert (stored.status, stored.completed_at) == (CaseStatus.COMPLETED, clock())
    assert all(t.status == TaskStatus.COMPLETED for t in task_rows(session_factory, standard_case.id))
    assert audit_actions(session_factory, standard_case.id) == [
        "case.started", "task.completed", "task.completed", "case.completed"]
    with pytest.raises(Conflict):
        cases.complete_task(session, clock, supervisor, task_rows(session_factory, standard_case.id)[-1].id,
                            {"action_taken": "再送信", "completed_on": "2026-11-27"})


def test_an_intake_that_leaves_the_optional_checkboxes_out_still_reaches_follow_up(
        session, session_factory, clock, caseworker, standard_case, intake_data):
    data = {k: v for k, v in intake_data.items() if k not in ("suicidal_thoughts", "wishes_support")}

    case = cases.complete_task(session, clock, caseworker, open_task(session_factory, standard_case.id).id, data)

    assert (case.status, case.error_element) == (CaseStatus.RUNNING, None)
    assert open_task(session_factory, standard_case.id).element_id == "follow_up"


def is_datetime(column_type) -> bool:
    return isinstance(getattr(column_type, "impl", column_type), DateTime)


def test_every_stored_moment_comes_back_timezone_aware(
        session, session_factory, clock, caseworker, supervisor, standard_case, intake_data):
    cases.complete_task(session, clock, caseworker, open_task(session_factory, standard_case.id).id,
                        dict(intake_data, suicidal_thoughts=True))
    cases.complete_task(session, clock, supervisor, open_task(session_factory, standard_case.id).id,
                        {"action_taken": "電話で安全確認", "completed_on": "2026-11-27"})
    queries.view_case(session, clock, caseworker, standard_case.id)

    checked = 0
    with session_factory() as fresh:
        for mapper in Base.registry.mappers:
            columns = [c.key for c in mapper.column_attrs if is_datetime(c.columns[0].type)]
            for row in fresh.scalars(select(mapper.class_)):
                for key in columns:
                    value = getattr(row, key)
                    if value is not None:
                        assert value.tzinfo is not None, f"{mapper.class_.__name__}.{key} is naive"
                        checked += 1
    assert checked >= 15
