"""Printing: paper leaves the system, so a print is an audited read, and papers that leave the office are
logged as disclosures.

A case file is printed by its staff (and their supervisors) only, for the office's own use; the council's
agenda is printed by the coordinating body for the meeting, and each case on it is logged as a disclosure
to the bodies that attend (basis and purpose 'council', Act Art. 16).
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit
from ..access import permissions
from ..access.policy import attending_bodies
from ..casefile.tables import CouncilMeetingRecord, DisclosureRecord, OrganisationRecord
from ..clock import Clock
from ..db import transaction
from ..errors import Forbidden, NotFound
from ..models import CaseRecord, UserRecord
from . import council, queries
from .exports import EXPORT_BASES

PRINT_RECIPIENT_LIMIT = 300  # DisclosureRecord.recipient


def print_case(session: Session, clock: Clock, user: UserRecord, case_id: int) -> queries.CaseFile:
    """The case file to print; case staff and their supervisors only, and the print is audited with its basis."""
    with transaction(session):
        case = session.get(CaseRecord, case_id)
        if case is None:
            raise NotFound("no such case", element=str(case_id))
        found = permissions.access_to(user, case, clock())
        allowed = found.full and found.basis in EXPORT_BASES
        audit.record(session, clock, user, "case.printed" if allowed else "case.print_refused", case_id=case.id,
                     basis=found.basis.value if found.basis else None, on=found.detail)
    if not allowed:  # refused after the transaction, so the refusal itself stays on record
        permissions.require_case_view(user, case, clock())
        raise Forbidden("only case staff may print the case file", element=case.reference)
    return queries.view_case(session, clock, user, case_id, part="print")


def print_agenda(session: Session, clock: Clock, user: UserRecord,
                 meeting_id: int) -> tuple[CouncilMeetingRecord, list[council.AgendaEntry]]:
    """The meeting's agenda to print, for its coordinating body; each case on it is logged as a disclosure to
    the bodies attending (basis 'council', purpose 'council'), as the papers leave the office."""
    meeting, entries = council.view_agenda(session, clock, user, meeting_id)
    entries = list(entries)
    with transaction(session):
        for entry in entries:
            bodies = attending_bodies(session, entry.item.id, meeting.id)
            names = list(session.scalars(select(OrganisationRecord.name).where(OrganisationRecord.id.in_(bodies))
                                         .order_by(OrganisationRecord.name))) if bodies else []
            recipient = ("、".join(names) or "協議会")[:PRINT_RECIPIENT_LIMIT]
            session.add(DisclosureRecord(
                case_id=entry.case.id, recipient=recipient, basis="council", purpose="council",
                reason=f"協議会資料の印刷（{meeting.held_on.isoformat()} 開催）", recorded_by_id=user.id,
                recorded_at=clock()))
            audit.record(session, clock, user, "case.printed", case_id=entry.case.id, part="agenda",
                         basis="council", meeting=meeting.id)
        audit.record(session, clock, user, "council.agenda_printed", meeting=meeting.id,
                     cases=[entry.case.id for entry in entries])
    return meeting, entries
