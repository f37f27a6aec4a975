"""Two people submitting the same task at the same moment: one wins, the other is told to reload."""
from __future__ import annotations

import threading
from datetime import timedelta
from uuid import UUID

import pytest
from sqlalchemy import select

from tsunagu.engine.access import permissions, users
from tsunagu.engine.casefile.tables import PersonRecord
from tsunagu.engine.clock import FixedClock
from tsunagu.engine.commands import cases
from tsunagu.engine.errors import Conflict
from tsunagu.engine.models import CaseStatus, TaskStatus, UserRecord
from tsunagu.engine.runtime.workflow import load_state, ready_user_tasks

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


def racing_intakes(monkeypatch, session_factory, clock, caseworker, standard_case, intake_data):
    """Two intakes of the same task, both validated before either writes: an urgent and a routine one."""
    barrier = hold_after(monkeypatch, cases, "validate_form")
    (task,) = task_rows(session_factory, standard_case.id)
    # Different answers route differently, so a double completion could not hide behind equal data.
    urgent = dict(intake_data, special_care=["suicidal_thoughts"], person_name="一人目")
    routine = dict(intake_data, special_care=[], person_name="二人目")
    outcomes = race(session_factory, [completion(clock, caseworker.id, task.id, urgent),
                                      completion(clock, caseworker.id, task.id, routine)])
    assert not barrier.broken, "the two completions did not overlap"
    monkeypatch.undo()  # from here on one person works alone
    return outcomes, (urgent, routine)


def test_concurrent_completions_let_exactly_one_win(
        monkeypatch, engine, session_factory, clock, caseworker, standard_version, standard_case, intake_data,
        assessment_data):
    if engine.dialect.name == "sqlite":  # readers and the writer overlap only in WAL mode
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    before = reload_case(session_factory, standard_case.id)

    outcomes, answers = racing_intakes(monkeypatch, session_factory, clock, caseworker, standard_case, intake_data)

    assert outcomes.count("ok") == 1, outcomes
    winner = answers[outcomes.index("ok")]
    assert [s.data for s in submissions(session_factory, standard_case.id)] == [winner]
    with session_factory() as session:  # the intake writer registered one person, the winner's
        assert [p.name for p in session.scalars(select(PersonRecord))] == [winner["person_name"]]
    rows = task_rows(session_factory, standard_case.id)
    assert [(t.element_id, t.status) for t in rows] == [
        ("intake", TaskStatus.COMPLETED), ("baseline_assessment", TaskStatus.OPEN)]
    assert audit_actions(session_factory, standard_case.id) == ["case.started", "task.completed"]

    case = reload_case(session_factory, standard_case.id)
    assert case.status == CaseStatus.RUNNING
    assert case.lock_version == before.lock_version + 1
    workflow = load_state(standard_version.spec, case.workflow_state)
    assert [(t.element_id, t.spiff_id) for t in ready_user_tasks(workflow)] == [
        ("baseline_assessment", rows[1].spiff_task_id)]
    assert workflow.get_task_from_id(UUID(rows[1].spiff_task_id)).data["special_care"] == winner["special_care"]

    # The winner's answers, not the loser's, decide the route.
    completion(clock, caseworker.id, rows[1].id, assessment_data)(session_factory())
    expected = "crisis_safety_action" if winner["special_care"] else "consent_capture"
    assert task_rows(session_factory, standard_case.id)[-1].element_id == expected


def test_the_loser_of_a_concurrent_completion_is_told_to_reload(
        monkeypatch, session_factory, clock, caseworker, standard_case, intake_data):
    outcomes, _answers = racing_intakes(monkeypatch, session_factory, clock, caseworker, standard_case, intake_data)

    (loser,) = [o for o in outcomes if o != "ok"]
    assert isinstance(loser, Conflict), repr(loser)


def test_the_loser_of_a_race_can_reload_and_work_the_next_task(
        monkeypatch, session_factory, clock, caseworker, standard_case, intake_data, assessment_data):
    outcomes, _answers = racing_intakes(monkeypatch, session_factory, clock, caseworker, standard_case, intake_data)
    assert outcomes.count("ok") == 1, outcomes

    next_task = task_rows(session_factory, standard_case.id)[-1]
    completion(clock, caseworker.id, next_task.id, assessment_data)(session_factory())

    assert reload_case(session_factory, standard_case.id).status == CaseStatus.RUNNING
    assert [s.form_id for s in submissions(session_factory, standard_case.id)] == [
        "intake-schema.json", "assessment-schema.json"]


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
    barrier = hold_after(monkeypatch, permissions, "require_task_work")
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
