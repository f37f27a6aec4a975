"""Two people submitting the same task at the same moment: one wins, the other is told to reload."""
from __future__ import annotations

import threading
from datetime import timedelta
from uuid import UUID

import pytest

from tsunagu.engine import access, cases, users
from tsunagu.engine.clock import FixedClock
from tsunagu.engine.errors import Conflict
from tsunagu.engine.models import CaseStatus, TaskStatus, UserRecord
from tsunagu.engine.workflow import load_state, ready_user_tasks

from .helpers import audit_actions, reload_case, submissions, task_rows

BARRIER_TIMEOUT = 20


def hold_after(monkeypatch, module, name):
    """Make `module.name` wait, once it returned, until both racers have reached the same point."""
    barrier = threading.Barrier(2, timeout=BARRIER_TIMEOUT)
    original = getattr(module, name)

    def call_then_wait(*args, **kwargs):
        result = original(*args, **kwargs)
        barrier.wait()
        return result

    monkeypatch.setattr(module, name, call_then_wait)
    return barrier


def race(session_factory, commands):
    """Run each `command(session)` in its own thread with its own session; return "ok" or the exception."""
    outcomes = [None] * len(commands)

    def work(index, command):
        with session_factory() as session:
            try:
                command(session)
                outcomes[index] = "ok"
            except Exception as exc:  # the test's assertions name what was raised
                outcomes[index] = exc

    threads = [threading.Thread(target=work, args=item) for item in enumerate(commands)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(BARRIER_TIMEOUT * 2)
        assert not thread.is_alive(), "a racer hung"
    return outcomes


def completion(clock, user_id, task_id, data):
    def command(session):
        cases.complete_task(session, clock, session.get(UserRecord, user_id), task_id, data)
    return command


def test_concurrent_completions_let_exactly_one_win(
        monkeypatch, engine, session_factory, clock, caseworker, standard_version, standard_case, intake_data):
    if engine.dialect.name == "sqlite":  # readers and the writer overlap only in WAL mode
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    # Both have read the open task and validated their form before either writes.
    barrier = hold_after(monkeypatch, cases, "validate_form")
    (task,) = task_rows(session_factory, standard_case.id)
    before = reload_case(session_factory, standard_case.id)
    # Different answers route differently, so a double completion could not hide behind equal data.
    urgent = dict(intake_data, suicidal_thoughts=True, person_name="一人目")
    routine = dict(intake_data, suicidal_thoughts=False, person_name="二人目")

    outcomes = race(session_factory, [completion(clock, caseworker.id, task.id, urgent),
                                      completion(clock, caseworker.id, task.id, routine)])

    assert not barrier.broken, "the two completions did not overlap"
    assert outcomes.count("ok") == 1, outcomes
    (loser,) = [o for o in outcomes if o != "ok"]
    assert isinstance(loser, Conflict), repr(loser)
    winner = (urgent, routine)[outcomes.index("ok")]
    expected_next = "crisis_response" if winner["suicidal_thoughts"] else "follow_up"

    assert [s.data for s in submissions(session_factory, standard_case.id)] == [winner]
    rows = task_rows(session_factory, standard_case.id)
    assert [(t.element_id, t.status) for t in rows] == [
        ("intake", TaskStatus.COMPLETED), (expected_next, TaskStatus.OPEN)]
    assert audit_actions(session_factory, standard_case.id) == ["case.started", "task.completed"]

    case = reload_case(session_factory, standard_case.id)
    assert case.status == CaseStatus.RUNNING
    assert case.lock_version == before.lock_version + 1
    workflow = load_state(standard_version.spec, case.workflow_state)
    assert [(t.element_id, t.spiff_id) for t in ready_user_tasks(workflow)] == [
        (expected_next, rows[1].spiff_task_id)]
    assert workflow.get_task_from_id(UUID(rows[1].spiff_task_id)).data["person_name"] == winner["person_name"]


def test_the_loser_of_a_race_can_reload_and_work_the_next_task(
        monkeypatch, session_factory, clock, caseworker, standard_case, intake_data):
    hold_after(monkeypatch, cases, "validate_form")
    (task,) = task_rows(session_factory, standard_case.id)
    outcomes = race(session_factory, [completion(clock, caseworker.id, task.id, intake_data)] * 2)
    assert sorted(type(o).__name__ for o in outcomes) == ["Conflict", "str"], outcomes
    monkeypatch.undo()  # from here on one person works alone

    next_task = task_rows(session_factory, standard_case.id)[-1]
    completion(clock, caseworker.id, next_task.id, {"contacted_on": "2026-11-28", "contact_result": "reached"})(
        session_factory())

    assert reload_case(session_factory, standard_case.id).status == CaseStatus.COMPLETED
    assert len(submissions(session_factory, standard_case.id)) == 2


@pytest.mark.parametrize("apart", [
    pytest.param(timedelta(milliseconds=1), id="a millisecond apart"),
    pytest.param(timedelta(0), id="at the same instant"),
])
def test_concurrent_claims_give_the_task_to_exactly_one_person(
        monkeypatch, session, session_factory, clock, municipality, caseworker, user_password, standard_case, apart):
    other = users.create_user(session, clock, municipality_id=municipality.id, username="caseworker2",
                              display_name="caseworker2", password=user_password, roles=["caseworker"])
    session.commit()
    # Both have found the task unclaimed and passed the role check before either writes.
    barrier = hold_after(monkeypatch, access, "require_task_work")
    (task,) = task_rows(session_factory, standard_case.id)

    def claim(user_id, moment):
        return lambda s: cases.claim_task(s, FixedClock(moment), s.get(UserRecord, user_id), task.id)

    outcomes = race(session_factory, [claim(caseworker.id, clock() + apart), claim(other.id, clock() + 2 * apart)])

    assert not barrier.broken, "the two claims did not overlap"
    assert outcomes.count("ok") == 1, outcomes
    assert isinstance([o for o in outcomes if o != "ok"][0], Conflict)
    winner_id = (caseworker.id, other.id)[outcomes.index("ok")]
    assert task_rows(session_factory, standard_case.id)[0].assignee_id == winner_id
    assert audit_actions(session_factory, standard_case.id) == ["case.started", "task.claimed"]
