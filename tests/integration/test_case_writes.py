"""A command writes a case's row once: its optimistic-locking version moves by exactly one per command,
also on the step that closes the case (which ends its open actions, a read between the writes)."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import event

from tsunagu.engine.commands import cases, queries
from tsunagu.engine.models import CaseStatus, TaskStatus
from tsunagu.processes.deployment import deploy
from tsunagu.processes.loader import load_definition

from .helpers import reload_case, task_rows

TWO_FORMS = Path(__file__).resolve().parents[2] / "bench" / "models" / "two_forms"  # start, task A, task B, end


def test_each_command_moves_the_case_version_by_one_and_writes_the_case_row_once(
        session, session_factory, clock, caseworker):
    version = deploy(session, clock, load_definition(TWO_FORMS)).version
    session.commit()
    updates: list[str] = []

    def count_case_updates(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("UPDATE CASES SET") and "workflow_state" in statement:
            updates.append(statement)

    case = cases.start_case(session, clock, caseworker, version, "二つのフォーム")
    started = reload_case(session_factory, case.id).lock_version
    event.listen(session.get_bind(), "before_cursor_execute", count_case_updates)
    try:
        task_a = queries.open_tasks_of_case(session, case.id)[0]
        cases.complete_task(session, clock, caseworker, task_a.id, {"note": "電話で相談", "count": 3})
        after_a = reload_case(session_factory, case.id)
        task_b = queries.open_tasks_of_case(session, case.id)[0]
        cases.complete_task(session, clock, caseworker, task_b.id, {"outcome": "done"})
        closed = reload_case(session_factory, case.id)
    finally:
        event.remove(session.get_bind(), "before_cursor_execute", count_case_updates)

    assert (after_a.status, after_a.lock_version) == (CaseStatus.RUNNING, started + 1)
    assert (closed.status, closed.lock_version) == (CaseStatus.COMPLETED, started + 2)
    assert len(updates) == 2, updates  # one write of the case row per command
    assert [t.status for t in task_rows(session_factory, case.id)] == [TaskStatus.COMPLETED] * 2
