"""The workflow seam: a case saved mid-process and restored must behave exactly as if never saved."""
from __future__ import annotations

from datetime import date, datetime
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from SpiffWorkflow.util.task import TaskState

from tsunagu.engine.workflow import (
    complete_user_task,
    dump_state,
    load_state,
    new_workflow,
    ready_user_tasks,
    run_engine_steps,
)

INTAKE = {
    "consultation_date": "2026-11-27",
    "channel": "phone",
    "person_name": "山田 花子",
    "concern": "一人暮らしで話し相手がいない",
    "loneliness_direct": 4,
    "suicidal_thoughts": False,
    "wishes_support": True,
}
FOLLOW_UP = {"contacted_on": "2026-11-28", "contact_result": "reached"}


def started(spec_json):
    workflow = new_workflow(spec_json)
    run_engine_steps(workflow)
    return workflow


def only_ready(workflow):
    (view,) = ready_user_tasks(workflow)
    return view


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


def test_restored_workflow_waits_on_the_same_intake_task_with_the_same_data(standard_definition):
    spec_json = standard_definition.spec_json
    workflow = started(spec_json)

    restored = save_restore(spec_json, workflow)

    assert only_ready(workflow).element_id == "intake"
    assert ready_user_tasks(restored) == ready_user_tasks(workflow)
    assert restored.data == workflow.data
    assert path(restored) == path(workflow)


def test_workflow_saved_at_every_step_completes_along_the_same_path(standard_definition):
    spec_json = standard_definition.spec_json
    straight = started(spec_json)
    restored = save_restore(spec_json, started(spec_json))
    # Task ids are random per workflow, so the two runs are compared by element, state and data.
    for workflow in (straight, restored):
        complete_user_task(workflow, only_ready(workflow).spiff_id, dict(INTAKE))
    restored = save_restore(spec_json, restored)

    assert only_ready(restored).element_id == only_ready(straight).element_id == "follow_up"
    assert only_ready(restored).properties == only_ready(straight).properties

    for workflow in (straight, restored):
        complete_user_task(workflow, only_ready(workflow).spiff_id, dict(FOLLOW_UP))
    restored = save_restore(spec_json, restored)

    assert straight.is_completed() and restored.is_completed()

    def names_and_data(workflow):
        return [(name, state, data) for name, _id, state, data in path(workflow)]

    assert names_and_data(restored) == names_and_data(straight)
    completed = [name for name, _id, state, _data in path(restored) if state == "COMPLETED"]
    assert completed == ["Start", "start", "intake", "triage", "risk_gateway", "follow_up", "end",
                         "kodoku_koritsu_case.EndJoin", "End"]


def test_restored_workflow_keeps_its_task_ids_so_inbox_rows_still_match(standard_definition):
    spec_json = standard_definition.spec_json
    workflow = started(spec_json)
    spiff_id = only_ready(workflow).spiff_id

    restored = save_restore(spec_json, workflow)
    complete_user_task(restored, spiff_id, dict(INTAKE))

    assert only_ready(restored).element_id == "follow_up"


def test_dates_in_task_data_come_back_as_dates_after_a_save_and_restore(standard_definition):
    spec_json = standard_definition.spec_json
    workflow = started(spec_json)
    moment = datetime(2026, 11, 27, 9, 30, tzinfo=ZoneInfo("Asia/Tokyo"))
    data = dict(INTAKE, consultation_date=date(2026, 11, 27), recorded_at=moment)
    complete_user_task(workflow, only_ready(workflow).spiff_id, data)

    restored = save_restore(spec_json, workflow)

    task_data = restored.get_task_from_id(UUID(only_ready(restored).spiff_id)).data
    assert type(task_data["consultation_date"]) is date
    assert task_data["consultation_date"] == date(2026, 11, 27)
    assert type(task_data["recorded_at"]) is datetime
    assert task_data["recorded_at"] == moment


@pytest.mark.parametrize(
    ("answers", "next_element", "lane", "risk_level"),
    [
        ({"suicidal_thoughts": True, "loneliness_direct": 1}, "crisis_response", "supervisor", "urgent"),
        ({"suicidal_thoughts": True, "loneliness_direct": 5}, "crisis_response", "supervisor", "urgent"),
        ({"suicidal_thoughts": False, "loneliness_direct": 4}, "follow_up", "caseworker", "high"),
        ({"suicidal_thoughts": False, "loneliness_direct": 1}, "follow_up", "caseworker", "normal"),
    ],
)
def test_suicidal_thoughts_route_the_case_to_a_supervisor_and_everything_else_to_follow_up(
        standard_definition, answers, next_element, lane, risk_level):
    spec_json = standard_definition.spec_json
    workflow = save_restore(spec_json, started(spec_json))

    complete_user_task(workflow, only_ready(workflow).spiff_id, dict(INTAKE, **answers))
    workflow = save_restore(spec_json, workflow)

    task = only_ready(workflow)
    assert (task.element_id, task.lane) == (next_element, lane)
    spiff_task = workflow.get_task_from_id(UUID(task.spiff_id))
    assert spiff_task.data["risk_level"] == risk_level
