"""Stopping use (利用停止請求, privacy law Art. 98): the person's open cases suspended, and resumed.

A suspended case (CaseStatus.SUSPENDED) is not worked: completing, claiming or raising a signal on its
tasks is refused (engine.commands.cases), so is every command that loads it for an update, and the
scheduler fires timers of running and waiting cases only, so its timers wait; one that fell due meanwhile
fires at the first pass after the case is resumed. Resuming puts each case back where its process stands:
running while people have tasks, waiting otherwise, or stopped on its error again if it was.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, undefer
from sqlalchemy.orm.attributes import flag_modified

from .. import audit
from ..clock import Clock
from ..db import transaction
from ..errors import InvalidState
from ..models import CaseRecord, CaseStatus, UserRecord
from ..runtime.stored_versions import spec_of
from ..runtime.workflow import load_state, status_of
from .requests import acting_on, required_reason
from .tables import RequestKind

# What a stop-use request suspends: every case not closed (one stopped on an error too, so that retrying
# it cannot set it going again; it returns to its error on resumption).
SUSPENDABLE = (CaseStatus.RUNNING, CaseStatus.WAITING, CaseStatus.ERROR)


def suspend(session: Session, clock: Clock, actor: UserRecord, request_id: int, reason: str) -> list[CaseRecord]:
    """Suspend every open case of the stop-use request's person, with the reason; audited per case."""
    text = required_reason(reason)
    with transaction(session):
        request, person = acting_on(session, actor, request_id, RequestKind.SUSPENSION)
        found = _cases(session, person.id, request.municipality_id, SUSPENDABLE)
        if not found:
            raise InvalidState("the person has no open case to suspend", element=str(request.id))
        now = clock()
        for case in found:
            was = case.status
            case.status, case.suspended_at, case.suspended_reason = CaseStatus.SUSPENDED, now, text
            _touch(case, now)
            audit.record(session, clock, actor, "case.suspended", case_id=case.id, request=request.id,
                         was=was.value, reason=text)
    return found


def resume(session: Session, clock: Clock, actor: UserRecord, request_id: int, reason: str) -> list[CaseRecord]:
    """Lift the suspension of the request's person's cases: each goes back to where its process stands, the
    suspension's reason cleared; audited per case with the reason for lifting it."""
    text = required_reason(reason)
    with transaction(session):
        request, person = acting_on(session, actor, request_id, RequestKind.SUSPENSION)
        found = _cases(session, person.id, request.municipality_id, (CaseStatus.SUSPENDED,))
        if not found:
            raise InvalidState("none of the person's cases is suspended", element=str(request.id))
        now = clock()
        for case in found:
            case.status = _status_of(case)
            since = case.suspended_at
            case.suspended_at = case.suspended_reason = None
            _touch(case, now)
            audit.record(session, clock, actor, "case.resumed", case_id=case.id, request=request.id,
                         status=case.status.value, reason=text,
                         suspended_at=since.isoformat() if since is not None else None)
    return found


def _status_of(case: CaseRecord) -> CaseStatus:
    """Where the case's process stands (`runtime.workflow.status_of`): its error again if it was stopped on one."""
    if case.error_element is not None or case.error_message is not None:
        return CaseStatus.ERROR
    return status_of(load_state(spec_of(case.process_version), case.workflow_state))


def _cases(session: Session, person_id: int, municipality_id: int,
           statuses: tuple[CaseStatus, ...]) -> list[CaseRecord]:
    return list(session.scalars(
        select(CaseRecord).options(undefer(CaseRecord.workflow_state))
        .where(CaseRecord.person_id == person_id, CaseRecord.municipality_id == municipality_id,
               CaseRecord.status.in_(statuses))
        .order_by(CaseRecord.episode, CaseRecord.id)))


def _touch(case: CaseRecord, now: datetime) -> None:
    case.updated_at = now
    flag_modified(case, "updated_at")  # the row is written, so its lock version moves: a racing command conflicts

