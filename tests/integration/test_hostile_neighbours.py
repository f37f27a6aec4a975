"""While a hostile script runs, nobody else notices: another case's command and a sign-in answer in
time, and the scheduler fires the healthy timer and turns the hostile one into an incident."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from tsunagu.engine.access.security import LoginOutcome, check_password
from tsunagu.engine.commands import cases
from tsunagu.engine.commands.scheduler import TimerPolicy, run_pass
from tsunagu.engine.models import CaseRecord, CaseStatus, ProcessVersionRecord, TaskRecord, TaskStatus, UserRecord
from tsunagu.engine.ops.tables import IncidentRecord
from tsunagu.engine.runtime import workers

from .hostile import diagram, smuggle

CAUGHT_TIMEOUT = "while True:\n    try:\n        while True:\n            pass\n    except BaseException:\n        pass"
C_HANG = "x = sum([[0] * 1000] * 30000, [])"
BUDGET_S = 2.0


def _open_task(session, case_id):
    return session.scalar(select(TaskRecord).where(TaskRecord.case_id == case_id, TaskRecord.status == TaskStatus.OPEN))


@pytest.mark.parametrize("hostile", [CAUGHT_TIMEOUT, C_HANG], ids=["caught timeout", "hang in C"])
def test_another_command_and_a_sign_in_answer_within_two_seconds_while_a_hostile_script_runs(
        session_factory, session, clock, caseworker, user_password, hostile):
    evil = cases.start_case(session, clock, caseworker, smuggle(session, clock, diagram("script", hostile)), "evil")
    good = cases.start_case(session, clock, caseworker,
                            smuggle(session, clock, diagram("script", "total = value + 1"), 2), "good")
    evil_task, good_task = _open_task(session, evil.id).id, _open_task(session, good.id).id
    worker_id, username = caseworker.id, caseworker.username
    outcome = {}

    def run_hostile():
        with session_factory() as own:
            actor = own.get(UserRecord, worker_id)
            outcome["evil"] = cases.complete_task(own, clock, actor, evil_task, {"value": 1}).status

    thread = threading.Thread(target=run_hostile)
    started = time.monotonic()
    thread.start()
    time.sleep(0.2)  # the hostile script is running now
    with session_factory() as other:
        begun = time.monotonic()
        actor = other.get(UserRecord, worker_id)
        assert cases.complete_task(other, clock, actor, good_task, {"value": 1}).status == CaseStatus.RUNNING
        command_s = time.monotonic() - begun
    with session_factory() as other:
        begun = time.monotonic()
        assert check_password(other, clock, username, user_password).outcome == LoginOutcome.OK
        sign_in_s = time.monotonic() - begun
    thread.join(timeout=10)
    assert command_s < BUDGET_S and sign_in_s < BUDGET_S
    assert outcome["evil"] == CaseStatus.ERROR
    assert time.monotonic() - started < 2.0 + BUDGET_S


def _timer_then_script(script: str) -> dict[str, str]:
    # The template's timer element, followed by a script task that runs only when the timer fires.
    files = diagram("timer", "'PT1H'")
    files["hostile.bpmn"] = files["hostile.bpmn"].replace(
        '<bpmn:sequenceFlow id="f3" sourceRef="wait" targetRef="after">',
        f'<bpmn:scriptTask id="step"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f3s</bpmn:outgoing>'
        f'<bpmn:script>{script}</bpmn:script></bpmn:scriptTask>'
        '<bpmn:sequenceFlow id="f3s" sourceRef="step" targetRef="after" />'
        '<bpmn:sequenceFlow id="f3" sourceRef="wait" targetRef="step">')
    return files


@pytest.mark.parametrize("hostile", ["raise KeyboardInterrupt", "raise SystemExit(0)", CAUGHT_TIMEOUT, C_HANG],
                         ids=["KeyboardInterrupt", "SystemExit", "caught timeout", "hang in C"])
def test_the_healthy_timer_fires_and_the_hostile_one_becomes_an_incident(
        session_factory, session, clock, caseworker, hostile):
    policy = TimerPolicy(max_attempts=1, backoff_s=60)
    evil = cases.start_case(session, clock, caseworker, smuggle(session, clock, _timer_then_script(hostile)), "evil")
    good = cases.start_case(session, clock, caseworker,
                            smuggle(session, clock, _timer_then_script("total = value + 1"), 2), "good")
    for case in (evil, good):
        cases.complete_task(session, clock, caseworker, _open_task(session, case.id).id, {"value": 1})
    clock.advance(timedelta(hours=2))

    report = run_pass(session_factory, clock, policy, "test")

    assert report.fired == [good.id] and report.failed == [evil.id]
    session.expire_all()
    assert session.get(CaseRecord, good.id).status == CaseStatus.RUNNING
    hostile_case = session.get(CaseRecord, evil.id)
    assert hostile_case.status == CaseStatus.ERROR and hostile_case.error_element == "step"
    incident = session.scalar(select(IncidentRecord).where(IncidentRecord.case_id == evil.id))
    assert incident is not None and incident.element == "step"


@pytest.fixture
def patient_sandbox():
    """Limits generous enough that a hostile script runs for seconds before it is stopped."""
    workers.configure(workers.Limits(cpu_s=4.0, wall_s=5.0))
    yield
    workers.configure(None)


def _script_first(script: str) -> dict[str, str]:
    # The template with its script moved before the first user task: starting a case runs it.
    files = diagram("script", script)
    bpmn = files["hostile.bpmn"]
    for old, new in (('id="f1" sourceRef="start" targetRef="ask"', 'id="f1" sourceRef="start" targetRef="step"'),
                     ('id="f2" sourceRef="ask" targetRef="step"', 'id="f2" sourceRef="ask" targetRef="after"'),
                     ('id="f3" sourceRef="step" targetRef="after"', 'id="f3" sourceRef="step" targetRef="ask"')):
        assert old in bpmn
        bpmn = bpmn.replace(old, new)
    files["hostile.bpmn"] = bpmn
    return files


@pytest.mark.parametrize("command", ["complete a task", "start a case"])
def test_no_write_lock_is_held_while_a_script_runs_so_other_commands_commit_at_once(
        session_factory, session, clock, caseworker, patient_sandbox, command):
    # Load, run, then write: the hostile command writes nothing until its script has run (4 s of
    # CPU here), so on SQLite another command's commit does not queue behind its write lock.
    good = cases.start_case(session, clock, caseworker,
                            smuggle(session, clock, diagram("script", "total = value + 1"), 4), "good")
    good_task = _open_task(session, good.id).id
    if command == "start a case":
        evil_version_id = smuggle(session, clock, _script_first(CAUGHT_TIMEOUT), 3).id
    else:
        evil = cases.start_case(session, clock, caseworker, smuggle(session, clock, diagram("script", CAUGHT_TIMEOUT), 3),
                                "evil")
        evil_task = _open_task(session, evil.id).id
    worker_id = caseworker.id
    outcome = {}

    def run_hostile():
        with session_factory() as own:
            actor = own.get(UserRecord, worker_id)
            if command == "start a case":
                version = own.get(ProcessVersionRecord, evil_version_id)
                outcome["evil"] = cases.start_case(own, clock, actor, version, "evil").status
            else:
                outcome["evil"] = cases.complete_task(own, clock, actor, evil_task, {"value": 1}).status

    thread = threading.Thread(target=run_hostile)
    started = time.monotonic()
    thread.start()
    time.sleep(0.5)  # the hostile script is running now
    with session_factory() as other:
        begun = time.monotonic()
        actor = other.get(UserRecord, worker_id)
        assert cases.complete_task(other, clock, actor, good_task, {"value": 1}).status == CaseStatus.RUNNING
        command_s = time.monotonic() - begun
    hostile_still_running = thread.is_alive()
    thread.join(timeout=15)
    assert hostile_still_running, "the hostile script must still have been running when the other command ended"
    assert command_s < BUDGET_S  # holding the lock, it would have waited about 3.5 s
    assert outcome["evil"] == CaseStatus.ERROR
    assert time.monotonic() - started >= 4.0
