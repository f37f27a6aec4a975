"""The timer scheduler: fires every due BPMN timer exactly once, in due order, at a cost that grows
with the number of due timers, not with the number of cases.

Due work is found through `cases.next_timer_at` (written on every save). On PostgreSQL each case is
claimed with `SELECT ... FOR UPDATE SKIP LOCKED`, so any number of schedulers and web workers can run
side by side; on SQLite, which has a single writer anyway, a lease lets one scheduler work at a time.
A firing is one transaction: a crash leaves the case as it was, and the timer fires on the next pass.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker, undefer

from .. import audit
from ..access.permissions import require_admin
from ..clock import Clock
from ..db import transaction
from ..errors import Conflict, InvalidState
from ..models import CaseRecord, CaseStatus, UserRecord
from ..ops.mail import MailSettings, dispatch_pending
from ..ops.notifications import notice_due_tasks
from ..ops.tables import IncidentRecord, SchedulerLeaseRecord
from ..records.disposal import dispose_everywhere
from ..runtime.stored_versions import spec_of
from ..runtime.timers import next_timer_at
from ..runtime.workflow import StepFailed, fire_timers, load_state, status_of
from .cases import advance

log = logging.getLogger(__name__)
LEASE_NAME = "timers"
LEASE_RENEW_EVERY = 50  # firings
DISPOSAL_LEASE, DISPOSAL_EVERY = "disposal", timedelta(days=1)  # records past their retention: once a day
ACTIVE = (CaseStatus.RUNNING, CaseStatus.WAITING)


@dataclass(frozen=True)
class TimerPolicy:
    max_attempts: int = 5
    backoff_s: int = 60
    due_soon_hours: int = 24
    lease_s: int = 120

    def backoff(self, attempts: int) -> timedelta:
        return timedelta(seconds=self.backoff_s * 2 ** max(attempts - 1, 0))


@dataclass
class PassReport:
    fired: list[int] = field(default_factory=list)  # case ids, in the order their timers fired
    failed: list[int] = field(default_factory=list)
    incidents: list[int] = field(default_factory=list)
    notices: int = 0
    mails_sent: int = 0
    mails_failed: int = 0
    skipped: bool = False  # another scheduler holds the SQLite lease
    disposed: int = 0  # rows deleted or anonymised at the end of their retention


def acquire_lease(session: Session, clock: Clock, holder: str, seconds: int) -> bool:
    """Take or renew the scheduler lease; False if another live scheduler holds it."""
    now = clock()
    expires = now + timedelta(seconds=seconds)
    with transaction(session):
        # An UPDATE without RETURNING gives a CursorResult, which `Session.execute`'s typing does not say.
        taken = cast(CursorResult[Any], session.execute(update(SchedulerLeaseRecord).where(
            SchedulerLeaseRecord.name == LEASE_NAME,
            (SchedulerLeaseRecord.holder == holder) | (SchedulerLeaseRecord.expires_at < now),
        ).values(holder=holder, expires_at=expires))).rowcount
        if taken:
            return True
    try:
        with transaction(session):
            session.add(SchedulerLeaseRecord(name=LEASE_NAME, holder=holder, expires_at=expires))
        return True
    except (IntegrityError, Conflict):
        return False


def release_lease(session: Session, holder: str) -> None:
    with transaction(session):
        session.execute(update(SchedulerLeaseRecord).where(
            SchedulerLeaseRecord.name == LEASE_NAME, SchedulerLeaseRecord.holder == holder,
        ).values(expires_at=SchedulerLeaseRecord.expires_at - timedelta(days=3650)))


def _disposal_due(session: Session, clock: Clock, holder: str) -> bool:
    """Whether this pass runs the day's disposal: the first pass of any scheduler once the last run's day is
    over takes it for the next day (one read when it is not due)."""
    now = clock()
    lease = session.scalar(select(SchedulerLeaseRecord.expires_at).where(SchedulerLeaseRecord.name == DISPOSAL_LEASE))
    session.rollback()  # end the read, so that a SQLite reader holds nothing between passes
    if lease is not None and lease > now:
        return False
    try:
        with transaction(session):
            if lease is None:
                session.add(SchedulerLeaseRecord(name=DISPOSAL_LEASE, holder=holder, expires_at=now + DISPOSAL_EVERY))
                return True
            return bool(cast(CursorResult[Any], session.execute(update(SchedulerLeaseRecord).where(
                SchedulerLeaseRecord.name == DISPOSAL_LEASE, SchedulerLeaseRecord.expires_at <= now,
            ).values(holder=holder, expires_at=now + DISPOSAL_EVERY))).rowcount)
    except (IntegrityError, Conflict):
        return False


def _claim_next(session: Session, now: datetime, passed: set[int]) -> CaseRecord | None:
    query = (select(CaseRecord).options(undefer(CaseRecord.workflow_state))
             .where(CaseRecord.next_timer_at < now, CaseRecord.status.in_(ACTIVE))
             .order_by(CaseRecord.next_timer_at, CaseRecord.id).limit(1))
    if passed:
        query = query.where(CaseRecord.id.not_in(passed))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=CaseRecord)
    return session.scalar(query)


def fire_next_due(session: Session, clock: Clock, policy: TimerPolicy, passed: set[int], report: PassReport) -> bool:
    """Claim the most overdue case, fire its timers in one transaction; False when nothing is due."""
    now = clock()
    claimed = None
    try:
        with transaction(session):
            case = _claim_next(session, now, passed)
            if case is None:
                return False
            claimed = case.id
            passed.add(case.id)
            due = case.next_timer_at  # set: the case was claimed because it is past
            workflow = load_state(spec_of(case.process_version), case.workflow_state)
            try:
                advance(session, clock, None, case, workflow, lambda: fire_timers(workflow), raise_failure=True)
            except StepFailed as failure:
                _record_failure(session, clock, policy, case, failure, report)
                return True
            case.timer_attempts = 0
            audit.record(session, clock, None, "timer.fired", case_id=case.id,
                         due_at=due.isoformat() if due is not None else None)
        report.fired.append(case.id)  # only once committed
    except (Conflict, OperationalError):
        raise  # the case or the database is busy: the case stays due for the next pass
    except Exception as error:
        if claimed is None:
            raise
        # A case the engine cannot restore or save must not hold up every timer behind it: it fails
        # like a broken script (attempts, backoff, then an incident an administrator retries).
        log.exception("firing the timers of case %s failed", claimed)
        _record_crash(session, clock, policy, claimed, error, report)
    return True


def _record_crash(session: Session, clock: Clock, policy: TimerPolicy, case_id: int, error: Exception,
                  report: PassReport) -> None:
    with transaction(session):
        # `of=CaseRecord`: PostgreSQL refuses FOR UPDATE on the outer join of the eager-loaded version.
        case = session.get(CaseRecord, case_id, with_for_update={"skip_locked": True, "of": CaseRecord},
                           populate_existing=True)
        if case is None or case.status not in ACTIVE:
            return  # another scheduler has it now
        _record_failure(session, clock, policy, case, StepFailed(f"{type(error).__name__}: {error}"[:1000]), report)


def _record_failure(session: Session, clock: Clock, policy: TimerPolicy, case: CaseRecord, failure: StepFailed,
                    report: PassReport) -> None:
    case.timer_attempts += 1
    report.failed.append(case.id)
    audit.record(session, clock, None, "timer.failed", case_id=case.id, element=failure.element,
                 message=failure.message, attempt=case.timer_attempts)
    if case.timer_attempts < policy.max_attempts:
        case.next_timer_at = clock() + policy.backoff(case.timer_attempts)
        return
    case.status = CaseStatus.ERROR
    case.error_element, case.error_message = failure.element, failure.message
    case.error_line = failure.details.get("line")
    incident = IncidentRecord(case_id=case.id, element=failure.element, error=failure.message,
                              attempts=case.timer_attempts, created_at=clock())
    session.add(incident)
    session.flush()
    report.incidents.append(incident.id)
    audit.record(session, clock, None, "case.error", case_id=case.id, element=failure.element,
                 message=failure.message, incident=incident.id)


def run_pass(session_factory: sessionmaker[Session], clock: Clock, policy: TimerPolicy, holder: str,
             mail: MailSettings | None = None, limit: int | None = None) -> PassReport:
    """One scheduler pass: due timers in due order, due-soon and overdue notices, then pending mail; on the
    first pass of a day, the records past their retention (engine.records.disposal)."""
    report = PassReport()
    with session_factory() as session:
        if session.get_bind().dialect.name == "sqlite" and not acquire_lease(session, clock, holder, policy.lease_s):
            report.skipped = True
            return report
    passed: set[int] = set()
    while limit is None or len(passed) < limit:
        with session_factory() as session:
            if session.get_bind().dialect.name == "sqlite" and passed and len(passed) % LEASE_RENEW_EVERY == 0:
                acquire_lease(session, clock, holder, policy.lease_s)  # a long catch-up keeps its lease
            try:
                if not fire_next_due(session, clock, policy, passed, report):
                    break
            except Conflict:
                continue  # a web request changed the case meanwhile; it is retried next pass
    with session_factory() as session, transaction(session):
        report.notices = notice_due_tasks(session, clock, policy.due_soon_hours)
    if mail is not None:
        report.mails_sent, report.mails_failed = dispatch_pending(session_factory, clock, mail)
    with session_factory() as session:
        if _disposal_due(session, clock, holder):
            report.disposed = dispose_everywhere(session, clock)
    if report.fired or report.failed:
        log.info("scheduler pass: fired %d, failed %d, incidents %d", len(report.fired), len(report.failed),
                 len(report.incidents))
    return report


def retry_incident(session: Session, clock: Clock, actor: UserRecord, incident_id: int) -> IncidentRecord:
    """An administrator puts a case stopped by a failing timer back to work; it fires on the next pass."""
    with transaction(session):
        incident = session.get(IncidentRecord, incident_id)
        if incident is None or incident.resolved_at is not None:
            raise Conflict("the incident is already resolved", element=str(incident_id))
        require_admin(actor, incident.case)
        case = incident.case
        if case.status == CaseStatus.SUSPENDED:  # the person asked to stop its use: resuming is their request's
            raise InvalidState("the case is suspended at the person's request; resume it first", element=case.reference)
        workflow = load_state(spec_of(case.process_version), case.workflow_state)
        case.status, case.next_timer_at = status_of(workflow), next_timer_at(workflow)
        case.timer_attempts = 0
        case.error_element = case.error_message = case.error_line = None
        incident.resolved_at, incident.resolved_by_id = clock(), actor.id
        audit.record(session, clock, actor, "incident.retried", case_id=case.id, incident=incident.id)
    return incident


def open_incidents(session: Session, admin: UserRecord) -> list[IncidentRecord]:
    """Incidents of the administrator's municipality that nobody retried yet, oldest first."""
    require_admin(admin)
    return list(session.scalars(select(IncidentRecord).join(CaseRecord, CaseRecord.id == IncidentRecord.case_id)
                                .where(IncidentRecord.resolved_at.is_(None),
                                       CaseRecord.municipality_id == admin.municipality_id)
                                .order_by(IncidentRecord.created_at, IncidentRecord.id)))
