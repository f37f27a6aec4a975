"""A case opened with its first form in one command: the same rows as starting and completing, or nothing."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from tsunagu.engine.commands import cases
from tsunagu.engine.commands.opening import open_with_form
from tsunagu.engine.errors import FormInvalid
from tsunagu.engine.models import CaseRecord, CaseStatus, TaskRecord, TaskStatus
from tsunagu.processes.deployment import deploy
from tsunagu.processes.loader import load_definition

from .helpers import audit_actions, open_task, reload_case, submissions, task_rows

FAILING_SCRIPT = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn" / "failing_script"


@pytest.fixture
def divider(session, clock):
    version = deploy(session, clock, load_definition(FAILING_SCRIPT)).version
    session.commit()
    return version


def test_opening_with_a_form_leaves_the_rows_of_a_start_and_a_completion(session, session_factory, clock, caseworker,
                                                                         divider):
    by_two_commands = cases.start_case(session, clock, caseworker, divider, "割り算")
    cases.complete_task(session, clock, caseworker, open_task(session_factory, by_two_commands.id).id, {"divisor": 5})
    by_one = open_with_form(session, clock, caseworker, divider, "割り算", {"divisor": 5})

    def rows(case_id):
        case = reload_case(session_factory, case_id)
        return (case.status, case.title, case.created_by_id, audit_actions(session_factory, case_id),
                [s.data for s in submissions(session_factory, case_id)],
                [(t.element_id, t.status, t.completed_by_id) for t in task_rows(session_factory, case_id)])

    assert rows(by_one.id) == rows(by_two_commands.id)
    assert rows(by_one.id)[-1] == [("enter_value", TaskStatus.COMPLETED, caseworker.id),
                                   ("show_result", TaskStatus.OPEN, None)]
    assert reload_case(session_factory, by_one.id).reference.endswith(f"{by_one.id:06d}")


def test_a_script_failing_after_the_first_task_keeps_the_form_and_stops_the_case_on_its_error(
        session, session_factory, clock, caseworker, divider):
    case = open_with_form(session, clock, caseworker, divider, "割り算", {"divisor": 0})

    stored = reload_case(session_factory, case.id)
    assert (stored.status, stored.error_element) == (CaseStatus.ERROR, "divide")
    assert [s.data for s in submissions(session_factory, case.id)] == [{"divisor": 0}]
    assert audit_actions(session_factory, case.id) == ["case.started", "task.completed", "case.error"]


def test_an_invalid_first_form_opens_no_case(session, session_factory, clock, caseworker, divider):
    with pytest.raises(FormInvalid) as refused:
        open_with_form(session, clock, caseworker, divider, "割り算", {"divisor": "zero"})
    assert [e.field for e in refused.value.errors] == ["divisor"]
    with session_factory() as fresh:
        assert fresh.scalars(select(CaseRecord.id)).all() == [] and fresh.scalars(select(TaskRecord.id)).all() == []
