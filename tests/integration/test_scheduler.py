"""The scheduler on a controlled clock: timers fire once, at their time, in due order."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from tsunagu.engine.access.users import create_user
from tsunagu.engine.commands import cases
from tsunagu.engine.commands.scheduler import TimerPolicy, retry_incident, run_pass
from tsunagu.engine.models import AuditRecord, CaseRecord, CaseStatus, TaskRecord, TaskStatus
from tsunagu.engine.ops.tables import IncidentRecord, NotificationRecord

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn"
POLICY = TimerPolicy(max_attempts=3, backoff_s=60)


def _open(session, case_id):
    session.expire_all()
    return {t.element_id: t for t in session.scalars(
        select(TaskRecord).where(TaskRecord.case_id == case_id, TaskRecord.status == TaskStatus.OPEN))}


def _waiting_case(session, clock, caseworker, version, title="試験"):
    case = cases.start_case(session, clock, caseworker, version, title)
    cases.complete_task(session, clock, caseworker, _open(session, case.id)["prepare"].id, {})
    return case


def _fired(session):
    return [row.case_id for row in session.scalars(
        select(AuditRecord).where(AuditRecord.action == "timer.fired").order_by(AuditRecord.id))]


def test_a_waiting_case_indexes_its_timer_and_fires_it_at_the_due_time(session, session_factory, clock, caseworker,
                                                                       timer_version):
    case = _waiting_case(session, clock, caseworker, timer_version)
    assert case.status == CaseStatus.WAITING
    assert case.next_timer_at == clock() + timedelta(days=7)

    clock.advance(timedelta(days=6, hours=23))
    assert run_pass(session_factory, clock, POLICY, "test").fired == []
    assert "review" not in _open(session, case.id)

    clock.advance(timedelta(hours=2))
    assert run_pass(session_factory, clock, POLICY, "test").fired == [case.id]
    assert "review" in _open(session, case.id)
    assert run_pass(session_factory, clock, POLICY, "test").fired == []  # once only
    assert _fired(session) == [case.id]


def test_a_non_interrupting_reminder_escalates_while_the_task_stays_open(session, session_factory, clock, caseworker,
                                                                          supervisor, timer_version):
    case = _waiting_case(session, clock, caseworker, timer_version)
    clock.advance(timedelta(days=7, minutes=1))
    run_pass(session_factory, clock, POLICY, "test")
    clock.advance(timedelta(days=3, minutes=1))
    report = run_pass(session_factory, clock, POLICY, "test")
    assert report.fired == [case.id]
    tasks = _open(session, case.id)
    assert set(tasks) == {"review", "escalation"}
    assert tasks["escalation"].role == "supervisor"
    kinds = {(n.user_id, n.kind) for n in session.scalars(select(NotificationRecord))}
    assert (supervisor.id, "task_escalated") in kinds


def test_after_downtime_overdue_timers_fire_once_in_due_order(session, session_factory, clock, caseworker,
                                                               timer_version):
    first = _waiting_case(session, clock, caseworker, timer_version, "一")
    clock.advance(timedelta(hours=5))
    second = _waiting_case(session, clock, caseworker, timer_version, "二")
    clock.advance(timedelta(hours=-10))  # the third was waiting longest
    third = _waiting_case(session, clock, caseworker, timer_version, "三")
    clock.advance(timedelta(days=30))  # nothing ran for a month

    report = run_pass(session_factory, clock, POLICY, "test")
    assert report.fired == [third.id, first.id, second.id]
    assert run_pass(session_factory, clock, POLICY, "test").fired == []
    assert sorted(_fired(session)) == sorted([first.id, second.id, third.id])


def test_a_failing_timer_is_retried_with_backoff_then_becomes_an_incident(
        deploy_fixture, session, session_factory, clock, caseworker, municipality, user_password):
    version = deploy_fixture("failing_timer")
    case = _waiting_case(session, clock, caseworker, version)
    clock.advance(timedelta(days=1, minutes=1))
    for attempt in range(1, POLICY.max_attempts + 1):
        report = run_pass(session_factory, clock, POLICY, "test")
        assert report.failed == [case.id], attempt
        session.expire_all()
        stored = session.get(CaseRecord, case.id)
        assert stored.timer_attempts == attempt
        if attempt < POLICY.max_attempts:
            assert stored.status == CaseStatus.WAITING
            assert run_pass(session_factory, clock, POLICY, "test").failed == []  # backing off
            clock.advance(POLICY.backoff(attempt) + timedelta(seconds=1))
    assert stored.status == CaseStatus.ERROR and stored.error_element == "broken"
    incident = session.scalar(select(IncidentRecord))
    assert (incident.case_id, incident.element, incident.attempts) == (case.id, "broken", POLICY.max_attempts)
    assert "missing_variable" in incident.error

    admin = create_user(session, clock, municipality_id=municipality.id, username="admin", display_name="admin",
                        password=user_password, roles=["admin"])
    session.commit()
    retry_incident(session, clock, admin, incident.id)
    assert run_pass(session_factory, clock, POLICY, "test").failed == [case.id]  # still broken, tried again
