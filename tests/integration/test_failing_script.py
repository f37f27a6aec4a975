"""A script that raises stops the case in a visible error state; only an operator may retry it."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tsunagu.engine.commands import cases
from tsunagu.engine.errors import Forbidden, InvalidState
from tsunagu.engine.models import CaseStatus, TaskStatus
from tsunagu.processes.deployment import deploy
from tsunagu.processes.loader import load_definition

from .helpers import audit_actions, open_task, reload_case, submissions, task_rows

FAILING_SCRIPT = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn" / "failing_script"


@pytest.fixture
def failing_case(session, clock, caseworker):
    version = deploy(session, clock, load_definition(FAILING_SCRIPT)).version
    session.commit()
    return cases.start_case(session, clock, caseworker, version, "割り算")


@pytest.fixture
def errored_case(session, session_factory, clock, caseworker, failing_case):
    cases.complete_task(session, clock, caseworker, open_task(session_factory, failing_case.id).id, {"divisor": 0})
    return failing_case


def test_dividing_by_zero_puts_the_case_in_error_on_the_script_task(
        session, session_factory, clock, caseworker, failing_case):
    task = open_task(session_factory, failing_case.id)

    returned = cases.complete_task(session, clock, caseworker, task.id, {"divisor": 0})

    assert returned.status == CaseStatus.ERROR
    case = reload_case(session_factory, failing_case.id)
    assert case.status == CaseStatus.ERROR
    assert case.error_element == "divide"
    assert "ZeroDivisionError" in case.error_message
    assert case.error_line == 1
    assert audit_actions(session_factory, case.id) == ["case.started", "task.completed", "case.error"]
    # The user's input is kept and the task they did is done; nothing new is waiting.
    assert [s.data for s in submissions(session_factory, case.id)] == [{"divisor": 0}]
    assert [(t.element_id, t.status) for t in task_rows(session_factory, case.id)] == [
        ("enter_value", TaskStatus.COMPLETED)]


def test_a_non_zero_divisor_runs_the_script_and_the_case_goes_on(
        session, session_factory, clock, caseworker, failing_case):
    case = cases.complete_task(session, clock, caseworker, open_task(session_factory, failing_case.id).id,
                               {"divisor": 5})

    assert (case.status, case.error_element, case.error_message) == (CaseStatus.RUNNING, None, None)
    assert open_task(session_factory, failing_case.id).element_id == "show_result"


def test_a_supervisor_retry_of_a_still_failing_script_leaves_the_case_in_error(
        session, session_factory, clock, supervisor, errored_case):
    before = reload_case(session_factory, errored_case.id)
    clock.advance(timedelta(minutes=5))

    returned = cases.retry_case(session, clock, supervisor, errored_case.id)

    assert returned.status == CaseStatus.ERROR
    case = reload_case(session_factory, errored_case.id)
    assert (case.status, case.error_element, case.error_line) == (CaseStatus.ERROR, "divide", 1)
    assert "ZeroDivisionError" in case.error_message
    assert case.lock_version == before.lock_version + 1
    assert case.updated_at == before.updated_at + timedelta(minutes=5)
    assert audit_actions(session_factory, case.id)[-2:] == ["case.retried", "case.error"]
    assert [t.status for t in task_rows(session_factory, case.id)] == [TaskStatus.COMPLETED]


def test_a_caseworker_may_not_retry_a_failed_case(session, session_factory, clock, caseworker, errored_case):
    before = reload_case(session_factory, errored_case.id)

    with pytest.raises(Forbidden):
        cases.retry_case(session, clock, caseworker, errored_case.id)

    assert reload_case(session_factory, errored_case.id).lock_version == before.lock_version
    assert "case.retried" not in audit_actions(session_factory, errored_case.id)


def test_retrying_a_case_that_is_not_in_error_is_refused(session, session_factory, clock, supervisor, failing_case):
    with pytest.raises(InvalidState):
        cases.retry_case(session, clock, supervisor, failing_case.id)

    assert reload_case(session_factory, failing_case.id).status == CaseStatus.RUNNING
    assert audit_actions(session_factory, failing_case.id) == ["case.started"]
