"""The workflow seam: a case saved mid-process and restored must behave exactly as if never saved.

These tests drive the shipped process without a database, handing each user task what its case-file
writer would return (the `record` property keeps the forms themselves out of workflow data).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from SpiffWorkflow.util.task import TaskState

from tsunagu.engine.clock import FixedClock
from tsunagu.engine.runtime.timers import engine_time, next_timer_at
from tsunagu.engine.runtime.workflow import (
    complete_user_task,
    deliver_message,
    dump_state,
    fire_timers,
    load_state,
    new_workflow,
    ready_user_tasks,
    run_engine_steps,
)

JST = ZoneInfo("Asia/Tokyo")
# What the `intake` and `assessment` writers return for a person with no special care, normal risk.
INTAKE = {"person_id": 1, "special_care": [], "suicidal_thoughts": False, "immediate_danger": False,
          "existing_scheme": "none"}
ASSESSMENT = {"loneliness_direct": 3, "ucla_total": 6, "isolation_count": 2}
DECISION = {"decision_id": 1, "next_review_at": "2027-01-10T09:00:00+09:00", "plan_revised": False}


def started(spec_json):
    workflow = new_workflow(spec_json)
    run_engine_steps(workflow)
    return workflow


def only_ready(workflow):
    (view,) = ready_user_tasks(workflow)
    return view


def complete(element_id, data):
    """A step: complete the one ready task, which must be `element_id`."""
    def step(workflow):
        task = only_ready(workflow)
        assert task.element_id == element_id
        complete_user_task(workflow, task.spiff_id, dict(data))
    return step


def save_restore(spec_json, workflow):
    """Serialize and restore; the restored state must serialize to the very same text."""
    state = dump_state(workflow)
    restored = load_state(spec_json, state)
    assert dump_state(restored) == state
    return restored


def path(workflow):
    """Which elements ran, in the workflow's tree order, and what each task carries."""
    return [(t.task_spec.name, str(t.id), TaskState.get_name(t.state), t.data)
            for t in workflow.get_tasks()]


def names_and_data(workflow):
    # Task ids are random per workflow, so two runs are compared by element, state and data.
    return [(name, state, data) for name, _id, state, data in path(workflow)]


def test_restored_workflow_waits_on_the_same_intake_task_with_the_same_data(standard_definition):
    spec_json = standard_definition.spec_json
    workflow = started(spec_json)

    restored = save_restore(spec_json, workflow)

    assert only_ready(workflow).element_id == "intake"
    assert ready_user_tasks(restored) == ready_user_tasks(workflow)
    assert restored.data == workflow.data
    assert path(restored) == path(workflow)


def test_workflow_saved_at_every_step_completes_along_the_same_path(standard_definition):
    """Intake to closure through consent, the council's message, the review timer and a closing review."""
    spec_json = standard_definition.spec_json
    clock = FixedClock(datetime(2026, 11, 27, 9, 0, tzinfo=JST))
    steps = [
        complete("intake", INTAKE),
        complete("baseline_assessment", ASSESSMENT),
        complete("consent_capture", {"consent_status": "given", "consent_id": 1}),
        complete("table_case", {"meeting_id": 1, "council_basis": "consent"}),
        lambda workflow: deliver_message(workflow, "council_decision", dict(DECISION)),
        lambda workflow: fire_timers(workflow),
        complete("review_assessment", dict(ASSESSMENT, ucla_total=4)),
        complete("follow_up_review", {"review_decision": "close"}),
        complete("closure", {"closure_reason": "goal_reached"}),
    ]
    with engine_time(clock):
        straight = started(spec_json)
        restored = save_restore(spec_json, started(spec_json))
        for number, step in enumerate(steps):
            if number == 5:
                clock.advance(timedelta(days=44, minutes=1))  # past next_review_at
            step(straight)
            step(restored)
            restored = save_restore(spec_json, restored)
            assert names_and_data(restored) == names_and_data(straight), f"differs after step {number}"
            assert next_timer_at(restored) == next_timer_at(straight)

    assert straight.is_completed() and restored.is_completed()
    completed = [name for name, state, _data in names_and_data(restored) if state == "COMPLETED"]
    assert completed == [
        "Start", "start", "intake", "baseline_assessment", "triage", "risk_gateway", "consent_merge",
        "consent_capture", "consent_gateway", "tabling_merge", "table_case", "wait_council_decision",
        "apply_council_decision", "review_wait_gateway", "wait_next_review", "review_start_merge",
        "review_assessment", "consent_check_gateway", "review_merge", "follow_up_review.BoundaryEventSplit",
        "follow_up_review", "follow_up_review.BoundaryEventJoin", "decide_review_interval", "schedule_next_review",
        "review_decision_gateway", "closure", "end_closed"]
    assert restored.get_tasks(spec_name="closure")[0].data["closure_reason"] == "goal_reached"


def test_restored_workflow_keeps_its_task_ids_so_inbox_rows_still_match(standard_definition):
    spec_json = standard_definition.spec_json
    workflow = started(spec_json)
    spiff_id = only_ready(workflow).spiff_id

    restored = save_restore(spec_json, workflow)
    complete_user_task(restored, spiff_id, dict(INTAKE))

    assert only_ready(restored).element_id == "baseline_assessment"


def test_dates_in_task_data_come_back_as_dates_after_a_save_and_restore(standard_definition):
    spec_json = standard_definition.spec_json
    workflow = started(spec_json)
    moment = datetime(2026, 11, 27, 9, 30, tzinfo=JST)
    data = dict(INTAKE, consultation_date=date(2026, 11, 27), recorded_at=moment)
    complete_user_task(workflow, only_ready(workflow).spiff_id, data)

    restored = save_restore(spec_json, workflow)

    task_data = restored.get_task_from_id(UUID(only_ready(restored).spiff_id)).data
    assert type(task_data["consultation_date"]) is date
    assert task_data["consultation_date"] == date(2026, 11, 27)
    assert type(task_data["recorded_at"]) is datetime
    assert task_data["recorded_at"] == moment


@pytest.mark.parametrize(
    ("intake", "assessment", "next_element", "risk_level"),
    [
        pytest.param({"special_care": ["suicidal_thoughts"], "suicidal_thoughts": True}, {"loneliness_direct": 1},
                     "crisis_safety_action", "urgent", id="suicidal thoughts"),
        pytest.param({"immediate_danger": True}, {}, "crisis_safety_action", "urgent", id="immediate danger"),
        pytest.param({"suicidal_thoughts": True, "special_care": ["suicidal_thoughts"], "existing_scheme": "kaigo"},
                     {}, "crisis_safety_action", "urgent", id="danger before referral"),
        pytest.param({"existing_scheme": "kaigo"}, {"loneliness_direct": 5, "ucla_total": 12}, "referral_out",
                     "refer_out", id="existing scheme"),
        pytest.param({}, {"loneliness_direct": 4}, "consent_capture", "high", id="lonely sometimes"),
        pytest.param({}, {"ucla_total": 9}, "consent_capture", "high", id="UCLA 9"),
        pytest.param({}, {"ucla_total": 8, "loneliness_direct": 3}, "consent_capture", "normal", id="normal"),
    ],
)
def test_triage_sends_danger_to_a_safety_action_existing_schemes_out_and_everyone_else_to_consent(
        standard_definition, intake, assessment, next_element, risk_level):
    spec_json = standard_definition.spec_json
    workflow = save_restore(spec_json, started(spec_json))
    complete_user_task(workflow, only_ready(workflow).spiff_id, dict(INTAKE, **intake))
    workflow = save_restore(spec_json, workflow)

    complete_user_task(workflow, only_ready(workflow).spiff_id, dict(ASSESSMENT, **assessment))
    workflow = save_restore(spec_json, workflow)

    task = only_ready(workflow)
    assert (task.element_id, task.lane) == (next_element, "caseworker")
    assert workflow.get_task_from_id(UUID(task.spiff_id)).data["risk_level"] == risk_level
