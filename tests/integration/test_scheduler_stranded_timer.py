"""A timer that is already due when a command runs the engine must not be left behind.

SpiffWorkflow's `do_engine_steps` ends with `refresh_timers()`: a timer whose moment has passed turns
READY there but is not run. The case then has no waiting timer (`next_timer_at` is None) and, with no
open task either, nothing ever moves it: the timer fires zero times. A supervisor's "retry" on a case
stopped by a failing timer (`retry_case`, the button on the case page) ran into exactly this.

"""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from tsunagu.engine.commands import cases
from tsunagu.engine.commands.scheduler import TimerPolicy, run_pass
from tsunagu.engine.models import AuditRecord, CaseRecord, CaseStatus, TaskRecord, TaskStatus

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn"


def test_retrying_a_case_stopped_by_a_failing_timer_runs_the_failing_step_again(
        deploy_fixture, session, session_factory, clock, caseworker, supervisor):
    version = deploy_fixture("failing_timer")
    case = cases.start_case(session, clock, caseworker, version, "試験")
    prepare = session.scalar(select(TaskRecord).where(TaskRecord.case_id == case.id,
                                                      TaskRecord.status == TaskStatus.OPEN))
    cases.complete_task(session, clock, caseworker, prepare.id, {})
    clock.advance(timedelta(days=1, minutes=1))
    assert run_pass(session_factory, clock, TimerPolicy(max_attempts=1), "test").incidents  # stopped on 'broken'

    session.expire_all()
    cases.retry_case(session, clock, supervisor, case.id)
    clock.advance(timedelta(minutes=1))
    run_pass(session_factory, clock, TimerPolicy(max_attempts=1), "test")

    session.expire_all()
    stored = session.get(CaseRecord, case.id)
    failures = session.scalar(select(func.count()).select_from(AuditRecord).where(
        AuditRecord.case_id == case.id, AuditRecord.action.in_(("case.error", "timer.failed"))))
    assert failures >= 3  # the timer's path ran again and failed again, visibly
    assert not (stored.status == CaseStatus.WAITING and stored.next_timer_at is None)
