"""The audit trail: every command and every case read leaves a row, in the same transaction."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .clock import Clock
from .models import AuditRecord, UserRecord


def record(session: Session, clock: Clock, actor: UserRecord | None, action: str, *,
           case_id: int | None = None, task_id: int | None = None, **detail: Any) -> AuditRecord:
    """Add an audit row to the current transaction.

    The row belongs to the actor's municipality, or, for the command line (no actor), to the one a
    `municipality` id in the detail names, so the municipality's export holds its set-up too.
    """
    named = detail.get("municipality")
    municipality_id = actor.municipality_id if actor is not None else (
        named if isinstance(named, int) and not isinstance(named, bool) else None)
    row = AuditRecord(at=clock(), actor_id=actor.id if actor else None, action=action, municipality_id=municipality_id,
                      case_id=case_id, task_id=task_id, detail=detail)
    session.add(row)
    return row


TIMELINE_ACTIONS = ("case.started", "task.claimed", "task.unclaimed", "task.assigned", "task.completed",
                    "case.error", "case.retried", "case.completed", "case.tabled", "council.decided",
                    "action.added", "consent.withdrawn", "review.requested", "timer.fired", "case.break_glass",
                    "case.suspended", "case.resumed")


def case_timeline(session: Session, case_id: int) -> list[AuditRecord]:
    """What happened to a case, oldest first (reads are audited but not shown here)."""
    return list(session.scalars(
        select(AuditRecord)
        .where(AuditRecord.case_id == case_id, AuditRecord.action.in_(TIMELINE_ACTIONS))
        .order_by(AuditRecord.at, AuditRecord.id)
    ))
