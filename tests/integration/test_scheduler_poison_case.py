"""One case the engine cannot restore must not stop every other timer (head-of-line blocking).

A case whose stored workflow cannot be loaded (or whose firing writes a row the database refuses) is
the most overdue case, so if it raised out of `run_pass` every later pass would claim it first and
fail the same way. It must fail like a broken script (attempts, backoff, then an incident) while the
others fire.
"""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from tsunagu.engine.commands import cases
from tsunagu.engine.commands.scheduler import TimerPolicy, run_pass
from tsunagu.engine.models import AuditRecord, CaseRecord, CaseStatus, TaskRecord, TaskStatus

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn"
POLICY = TimerPolicy(max_attempts=3, backoff_s=60)


def test_a_case_whose_state_cannot_be_restored_fails_alone_while_the_other_timers_fire(
        deploy_fixture, session, session_factory, clock, caseworker):
    version = deploy_fixture("timers")
    broken = _waiting_case(session, clock, caseworker, version)
    clock.advance(timedelta(hours=1))
    healthy = _waiting_case(session, clock, caseworker, version)
    session.execute(update(CaseRecord).where(CaseRecord.id == broken.id).values(workflow_state='{"tasks": {}}'))
    session.commit()  # e.g. a state written by an older SpiffWorkflow that no migration can read
    clock.advance(timedelta(days=8))

    report = run_pass(session_factory, clock, POLICY, "test")

    assert report.fired == [healthy.id] and report.failed == [broken.id]
    session.expire_all()
    assert session.get(CaseRecord, broken.id).timer_attempts == 1
    assert session.scalar(select(AuditRecord.detail).where(AuditRecord.action == "timer.failed",
                                                           AuditRecord.case_id == broken.id))
    for _ in range(POLICY.max_attempts):
        clock.advance(timedelta(hours=1))
        run_pass(session_factory, clock, POLICY, "test")
    session.expire_all()
    assert session.get(CaseRecord, broken.id).status == CaseStatus.ERROR  # an incident an admin can see


def _waiting_case(session, clock, caseworker, version):
    case = cases.start_case(session, clock, caseworker, version, "試験")
    prepare = session.scalar(select(TaskRecord).where(TaskRecord.case_id == case.id,
                                                      TaskRecord.status == TaskStatus.OPEN))
    cases.complete_task(session, clock, caseworker, prepare.id, {})
    return case
