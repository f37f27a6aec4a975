"""Legal holds: a case kept past its retention (litigation, an audit, a data-subject request in progress).

A held case is never disposed of; its removal times stay as stamped and fall due again once the hold is
lifted. Placing and lifting are administrators' commands, audited in the municipality's log.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit
from ..access import permissions
from ..clock import Clock
from ..db import transaction
from ..errors import Conflict, FieldError, FormInvalid, InvalidState, NotFound
from ..models import CaseRecord, CaseStatus, UserRecord
from .tables import LegalHoldRecord

REASON_MAX_LENGTH = 500


@dataclass(frozen=True)
class HeldCase:
    reference: str
    reason: str
    placed_by: str | None  # the administrator's display name; None from the command line
    placed_at: datetime
    case_status: CaseStatus
    completed_at: datetime | None


def _reason(value: object) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise FormInvalid([FieldError("reason", "required")], element="legal_hold")
    if len(text) > REASON_MAX_LENGTH:
        raise FormInvalid([FieldError("reason", "maxLength", {"limit": REASON_MAX_LENGTH})], element="legal_hold")
    return text


def _case(session: Session, municipality_id: int, reference: object) -> CaseRecord:
    """The municipality's case with this reference; another municipality's is as unknown as a missing one."""
    wanted = reference.strip() if isinstance(reference, str) else ""
    case = session.scalar(select(CaseRecord).where(CaseRecord.municipality_id == municipality_id,
                                                   CaseRecord.reference == wanted)) if wanted else None
    if case is None or case.reference is None:
        raise NotFound("no such case", element=wanted[:40] or "reference")
    return case


def _origin(actor: UserRecord | None, operator: str | None) -> dict[str, Any]:
    return {"via": "web"} if actor is not None else {"via": "cli", "operator": operator}


def place_hold(session: Session, clock: Clock, actor: UserRecord | None, municipality_id: int, reference: str,
               reason: str, *, operator: str | None = None) -> LegalHoldRecord:
    """Put the municipality's case with this reference on legal hold, with the reason; audited `case.held`."""
    permissions.require_municipal_admin(actor, municipality_id)
    text = _reason(reason)
    with transaction(session):
        case = _case(session, municipality_id, reference)
        if session.get(LegalHoldRecord, case.id) is not None:
            raise Conflict("the case is already on legal hold", element=case.reference)
        hold = LegalHoldRecord(case_id=case.id, reason=text, placed_by_id=actor.id if actor else None,
                               placed_at=clock())
        session.add(hold)
        audit.record(session, clock, actor, "case.held", case_id=case.id, municipality=municipality_id,
                     reason=text, **_origin(actor, operator))
    return hold


def lift_hold(session: Session, clock: Clock, actor: UserRecord | None, municipality_id: int, reference: str,
              reason: str, *, operator: str | None = None) -> None:
    """Lift the case's legal hold, with the reason; what has fallen due meanwhile goes at the next disposal run.
    Audited `case.hold_lifted` with the hold's own reason and placing time."""
    permissions.require_municipal_admin(actor, municipality_id)
    text = _reason(reason)
    with transaction(session):
        case = _case(session, municipality_id, reference)
        hold = session.get(LegalHoldRecord, case.id)
        if hold is None:
            raise InvalidState("the case is not on legal hold", element=case.reference)
        audit.record(session, clock, actor, "case.hold_lifted", case_id=case.id, municipality=municipality_id,
                     reason=text, held_for=hold.reason, held_since=hold.placed_at.isoformat(),
                     **_origin(actor, operator))
        session.delete(hold)


def holds_of(session: Session, municipality_id: int) -> list[HeldCase]:
    """The municipality's cases on legal hold, the most recently held first."""
    rows = session.execute(
        select(CaseRecord.reference, LegalHoldRecord.reason, UserRecord.display_name, LegalHoldRecord.placed_at,
               CaseRecord.status, CaseRecord.completed_at)
        .join(CaseRecord, CaseRecord.id == LegalHoldRecord.case_id)
        .outerjoin(UserRecord, UserRecord.id == LegalHoldRecord.placed_by_id)
        .where(CaseRecord.municipality_id == municipality_id)
        .order_by(LegalHoldRecord.placed_at.desc(), LegalHoldRecord.case_id.desc()))
    return [HeldCase(str(reference), reason, placed_by, placed_at, status, completed_at)
            for reference, reason, placed_by, placed_at, status, completed_at in rows]
