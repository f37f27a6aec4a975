"""Starting and working a case: what a caseworker sees in the inbox and what the case file keeps."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import DateTime, select

from tsunagu.engine.casefile.tables import PersonRecord
from tsunagu.engine.commands import cases, queries
from tsunagu.engine.errors import Conflict, FormInvalid
from tsunagu.engine.models import Base, CaseStatus, TaskStatus
from tsunagu.engine.runtime.workflow import load_state, ready_user_tasks

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
    assert task.created_at == clock()
    assert [t.id for t in queries.available_tasks(session, caseworker)] == [task.id]
    assert audit_actions(session_factory, case.id) == ["case.started"]


def test_invalid_form_data_is_refused_and_changes_nothing(
        session, session_factory, clock, caseworker, standard_case, intake_data):
    task = open_task(session_factory, standard_case.id)
    before = reload_case(session_factory, standard_case.id)
    clock.advance(timedelta(hours=1))

    with pytest.raises(FormInvalid) as caught:
        cases.complete_task(session, clock, caseworker, task.id, dict(intake_data, channel="fax", birth_year=1800))

    assert {(e.field, e.code) for e in caught.value.errors} == {("channel", "enum"), ("birth_year", "minimum")}
    after = reload_case(session_factory, standard_case.id)
    assert (after.lock_version, after.workflow_state, after.updated_at, after.status) == (
        before.lock_version, before.workflow_state, before.updated_at, before.status)
    assert [(t.id, t.status, t.completed_at) for t in task_rows(session_factory, standard_case.id)] == [
        (task.id, TaskStatus.OPEN, None)]
    assert submissions(session_factory, standard_case.id) == []
    assert audit_actions(session_factory, standard_case.id) == ["case.started"]


def test_a_valid_intake_is_stored_with_its_form_version_and_opens_the_baseline_assessment(
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

    done, baseline = task_rows(session_factory, standard_case.id)
    assert (done.id, done.status, done.completed_by_id, done.completed_at) == (
        task.id, TaskStatus.COMPLETED, caseworker.id, clock())
    assert (baseline.element_id, baseline.role, baseline.status) == (
        "baseline_assessment", "caseworker", TaskStatus.OPEN)
    assert baseline.form_file == "assessment-schema.json"
    assert baseline.due_at == clock() + timedelta(days=7)

    case = reload_case(session_factory, standard_case.id)
    assert case.status == CaseStatus.RUNNING
    assert case.lock_version == lock_version + 1
    assert case.updated_at == clock()
    assert audit_actions(session_factory, case.id) == ["case.started", "task.completed"]
    workflow = load_state(standard_version.spec, case.workflow_state)
    assert [t.spiff_id for t in ready_user_tasks(workflow)] == [baseline.spiff_task_id]
    with session_factory() as fresh:
        (person,) = fresh.scalars(select(PersonRecord)).all()
    assert (person.name, person.kana, person.birth_year) == ("山田 花子", "ヤマダ ハナコ", 1956)
    assert case.person_id == person.id


def test_a_completed_task_cannot_be_completed_again(
        session, session_factory, clock, caseworker, standard_case, intake_data):
    task = open_task(session_factory, standard_case.id)
    cases.complete_task(session, clock, caseworker, task.id, intake_data)

    with pytest.raises(Conflict) as caught:
        cases.complete_task(session, clock, caseworker, task.id, dict(intake_data, special_care=["suicidal_thoughts"]))

    assert caught.value.element == "intake"
    assert len(submissions(session_factory, standard_case.id)) == 1
    assert [t.element_id for t in task_rows(session_factory, standard_case.id)] == ["intake", "baseline_assessment"]
    assert audit_actions(session_factory, standard_case.id).count("task.completed") == 1


def complete_open(session, session_factory, clock, user, case_id, data):
    return cases.complete_task(session, clock, user, open_task(session_factory, case_id).id, data)


def test_suicidal_thoughts_open_an_urgent_safety_action_then_a_review_in_the_supervisors_inbox_only(
        session, session_factory, clock, caseworker, supervisor, standard_case, intake_data, assessment_data):
    complete_open(session, session_factory, clock, caseworker, standard_case.id,
                  dict(intake_data, special_care=["suicidal_thoughts"]))
    complete_open(session, session_factory, clock, caseworker, standard_case.id, assessment_data)

    safety = open_task(session_factory, standard_case.id)
    assert (safety.element_id, safety.role) == ("crisis_safety_action", "caseworker")
    assert safety.due_at == clock() + timedelta(hours=4)
    complete_open(session, session_factory, clock, caseworker, standard_case.id,
                  {"action_taken": "保健所と同行訪問", "action_date": "2026-11-27"})

    review = open_task(session_factory, standard_case.id)
    assert (review.element_id, review.role) == ("crisis_review", "supervisor")
    assert [t.id for t in queries.available_tasks(session, supervisor)] == [review.id]
    assert queries.available_tasks(session, caseworker) == []


def test_a_case_worked_to_its_end_is_completed(
        session, session_factory, clock, caseworker, standard_case, intake_data, assessment_data):
    complete_open(session, session_factory, clock, caseworker, standard_case.id,
                  dict(intake_data, existing_scheme="kaigo"))
    complete_open(session, session_factory, clock, caseworker, standard_case.id, assessment_data)
    clock.advance(timedelta(hours=3))

    referral = {"scheme": "kaigo", "receiving_body": "地域包括支援センター", "referral_basis": "no_sharing",
                "referred_on": "2026-11-27"}
    case = complete_open(session, session_factory, clock, caseworker, standard_case.id, referral)

    assert case.status == CaseStatus.COMPLETED
    stored = reload_case(session_factory, standard_case.id)
    assert (stored.status, stored.completed_at, stored.closure_reason) == (
        CaseStatus.COMPLETED, clock(), "transferred")
    assert all(t.status == TaskStatus.COMPLETED for t in task_rows(session_factory, standard_case.id))
    assert audit_actions(session_factory, standard_case.id) == [
        "case.started", "task.completed", "task.completed", "task.completed", "case.completed"]
    with pytest.raises(Conflict):
        cases.complete_task(session, clock, caseworker, task_rows(session_factory, standard_case.id)[-1].id, referral)


def test_an_intake_that_leaves_the_optional_fields_out_still_reaches_consent(
        session, session_factory, clock, caseworker, standard_case, intake_data, assessment_data):
    data = {k: v for k, v in intake_data.items()
            if k not in ("special_care", "immediate_danger", "household", "birth_year", "person_kana", "wishes")}
    complete_open(session, session_factory, clock, caseworker, standard_case.id, data)

    case = complete_open(session, session_factory, clock, caseworker, standard_case.id, assessment_data)

    assert (case.status, case.error_element) == (CaseStatus.RUNNING, None)
    assert open_task(session_factory, standard_case.id).element_id == "consent_capture"


def is_datetime(column_type) -> bool:
    return isinstance(getattr(column_type, "impl", column_type), DateTime)


def test_every_stored_moment_comes_back_timezone_aware(story):
    case = story.start()
    story.to_council(case)
    story.decide(case, [{"action_type_id": story.action_type("home_visit").id, "due_on": "2026-12-20"}])
    story.withdraw_consent(story.consents(case)[0].id)
    story.pass_time(timedelta(days=1))  # a scheduler pass: its lease and due notices
    with story.session_factory() as session:
        queries.view_case(session, story.clock, story.cast.caseworker, case.id)

    checked = set()
    with story.session_factory() as fresh:
        for mapper in Base.registry.mappers:
            columns = [c.key for c in mapper.column_attrs if is_datetime(c.columns[0].type)]
            for row in fresh.scalars(select(mapper.class_)):
                for key in columns:
                    value = getattr(row, key)
                    if value is not None:
                        assert value.tzinfo is not None, f"{mapper.class_.__name__}.{key} is naive"
                        checked.add(f"{mapper.class_.__name__}.{key}")
    assert {"CaseRecord.next_timer_at", "TaskRecord.due_at", "ConsentRecord.withdrawn_at",
            "SupportActionRecord.due_at", "DisclosureRecord.recorded_at", "AuditRecord.at"} <= checked
    assert len(checked) >= 20  # distinct columns, not values
