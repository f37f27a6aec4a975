"""A read the council list needs that belongs in `engine/council.py`; kept here only until it moves there.

The web layer must not build queries. This one exists because `council.list_meetings` returns bare
meetings and the list page must show how many cases each meeting has tabled and decided. Once the
engine offers `list_meetings` with these counts, delete this module and import from the engine.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tsunagu.engine import council
from tsunagu.engine.casefile import AgendaItemRecord, CouncilMeetingRecord
from tsunagu.engine.models import UserRecord


@dataclass
class MeetingSummary:
    meeting: CouncilMeetingRecord
    tabled: int
    decided: int


def meeting_summaries(session: Session, user: UserRecord) -> list[MeetingSummary]:
    """The municipality's council meetings, newest first, with the number of cases tabled and decided."""
    meetings = council.list_meetings(session, user)
    ids = [m.id for m in meetings]
    counts = {
        meeting_id: (tabled, decided)
        for meeting_id, tabled, decided in session.execute(
            select(AgendaItemRecord.meeting_id, func.count(AgendaItemRecord.id),
                   func.count(AgendaItemRecord.decision_id))
            .where(AgendaItemRecord.meeting_id.in_(ids)).group_by(AgendaItemRecord.meeting_id))
    } if ids else {}
    return [MeetingSummary(m, *counts.get(m.id, (0, 0))) for m in meetings]
