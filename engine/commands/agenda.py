"""Building a meeting's agenda (議題の準備): the cases waiting to be tabled and the cases due for review.

The coordinating body prepares each meeting from two lists of the council's open cases:

- **waiting to be tabled**: the process opened a tabling task (kind `tabling`) that nobody has completed.
  Where the coordinating body's own staff work that task (the standard process gives it to them), the
  list leads to it; where a caseworker does, the coordinating body asks them to table the case for this
  meeting: a notice to the task's holder, or to the case's staff while nobody holds it, with the date.
- **due for review**: a case the council decided on before, whose next review falls on or before the
  meeting day. The coordinating body puts it on the agenda itself (`purpose` "review"), on the basis it
  was last tabled on while that still holds, else on the council's own (Act Art. 16: the case is already
  council business). The decision recorded on it moves the process on through
  `council.review_step`.

Both lists are index-backed queries over projection columns (`tasks.kind`, `cases.next_review_on`); no
workflow is read. Showing them is an audited read naming the cases shown.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, select
from sqlalchemy.orm import Session, aliased

from .. import audit
from ..casefile.governance import CouncilMunicipalityRecord, council_of
from ..casefile.sharing import COUNCIL, consent_for, disclose
from ..casefile.tables import AgendaItemRecord, CaseStaffRecord, CouncilMeetingRecord
from ..clock import Clock
from ..db import transaction
from ..errors import InvalidState, NotFound
from ..models import CaseRecord, CaseStatus, MunicipalityRecord, TaskRecord, TaskStatus, UserRecord
from ..ops.notifications import renew_notice
from ..runtime.forms import today_in_japan
from ..runtime.kinds import TABLING
from .council import REVIEW_ITEM, _coordinated_meeting, _via

LIST_LIMIT = 100  # candidates per list, the longest waiting or the most overdue first
OPEN_STATUSES = (CaseStatus.RUNNING, CaseStatus.WAITING)  # not closed, not stopped on an error
SUBJECT = {"ja": "{meeting}（{date}）への付議のお願い: ケース {case}",
           "en": "Please table case {case} for {meeting} ({date})"}


@dataclass(frozen=True)
class Candidate:
    case_id: int
    reference: str | None
    title: str
    risk: str | None
    since: datetime | None  # waiting: when the tabling task opened
    next_review_on: date | None  # due for review: the review date
    task_id: int | None = None
    holder: str | None = None  # who holds the tabling task
    role: str | None = None  # who works it: the coordinating body's own staff table directly


@dataclass
class AgendaCandidates:
    waiting: list[Candidate]
    due_for_review: list[Candidate]


def _towns(session: Session, meeting: CouncilMeetingRecord) -> Select[Any]:
    council_id = meeting.council_id
    if council_id is None:
        council = council_of(session, meeting.municipality_id)
        council_id = council.id if council is not None else None
    if council_id is None:
        return select(MunicipalityRecord.id).where(MunicipalityRecord.id == meeting.municipality_id)
    return select(CouncilMunicipalityRecord.municipality_id).where(CouncilMunicipalityRecord.council_id == council_id)


def _not_on(meeting: CouncilMeetingRecord) -> ColumnElement[bool]:
    return ~exists().where(AgendaItemRecord.meeting_id == meeting.id, AgendaItemRecord.case_id == CaseRecord.id)


def _waiting(session: Session, meeting: CouncilMeetingRecord) -> list[Candidate]:
    holder = aliased(UserRecord)
    rows = session.execute(
        select(CaseRecord.id, CaseRecord.reference, CaseRecord.title, CaseRecord.risk, TaskRecord.created_at,
               TaskRecord.id, holder.display_name, TaskRecord.role)
        .join(CaseRecord, CaseRecord.id == TaskRecord.case_id)
        .outerjoin(holder, holder.id == TaskRecord.assignee_id)
        .where(TaskRecord.status == TaskStatus.OPEN, TaskRecord.kind == TABLING,
               CaseRecord.municipality_id.in_(_towns(session, meeting)), CaseRecord.status.in_(OPEN_STATUSES),
               _not_on(meeting))
        .order_by(TaskRecord.created_at, TaskRecord.id).limit(LIST_LIMIT)).all()
    return [Candidate(case_id=r[0], reference=r[1], title=r[2], risk=r[3], since=r[4], next_review_on=None,
                      task_id=r[5], holder=r[6], role=r[7]) for r in rows]


def _due_condition(session: Session, meeting: CouncilMeetingRecord) -> ColumnElement[bool]:
    earlier = aliased(AgendaItemRecord)
    waiting = exists().where(TaskRecord.case_id == CaseRecord.id, TaskRecord.status == TaskStatus.OPEN,
                             TaskRecord.kind == TABLING)
    return and_(CaseRecord.municipality_id.in_(_towns(session, meeting)), CaseRecord.status.in_(OPEN_STATUSES),
                CaseRecord.latest_decision_id.is_not(None), CaseRecord.next_review_on <= meeting.held_on,
                _not_on(meeting), ~waiting,
                exists().where(earlier.case_id == CaseRecord.id))


def _due(session: Session, meeting: CouncilMeetingRecord) -> list[Candidate]:
    rows = session.execute(
        select(CaseRecord.id, CaseRecord.reference, CaseRecord.title, CaseRecord.risk, CaseRecord.next_review_on)
        .where(_due_condition(session, meeting))
        .order_by(CaseRecord.next_review_on, CaseRecord.id).limit(LIST_LIMIT)).all()
    return [Candidate(case_id=r[0], reference=r[1], title=r[2], risk=r[3], since=None, next_review_on=r[4])
            for r in rows]


def agenda_candidates(session: Session, clock: Clock, user: UserRecord, meeting_id: int) -> AgendaCandidates:
    """The cases the coordinating body may bring to this meeting; an audited read naming them."""
    with transaction(session):
        meeting = _coordinated_meeting(session, clock, user, meeting_id)
        if meeting.minutes_recorded_at is not None:  # a meeting with minutes is over: nothing joins it
            found = AgendaCandidates([], [])
        else:
            found = AgendaCandidates(_waiting(session, meeting), _due(session, meeting))
        shown = sorted({c.case_id for c in found.waiting + found.due_for_review})
        if shown:
            audit.record(session, clock, user, "council.candidates_viewed", meeting=meeting.id, cases=shown)
    return found


def request_tabling(session: Session, clock: Clock, actor: UserRecord, meeting_id: int, case_id: int, *,
                    operator: str | None = None) -> list[UserRecord]:
    """Ask for a waiting case to be tabled at this meeting: its tabling task's holder, or while nobody holds
    it the case's staff, get a notice with the meeting's date. Returns who was asked."""
    with transaction(session):
        meeting = _open_meeting(session, clock, actor, meeting_id)
        task = session.scalar(select(TaskRecord).join(CaseRecord, CaseRecord.id == TaskRecord.case_id).where(
            TaskRecord.case_id == case_id, TaskRecord.status == TaskStatus.OPEN, TaskRecord.kind == TABLING,
            CaseRecord.municipality_id.in_(_towns(session, meeting)), _not_on(meeting)).order_by(TaskRecord.id)
            .limit(1))
        if task is None:
            raise NotFound("the case is not waiting to be tabled at this council", element=str(case_id))
        asked = [task.assignee] if task.assignee is not None else list(session.scalars(
            select(UserRecord).join(CaseStaffRecord, CaseStaffRecord.user_id == UserRecord.id)
            .where(CaseStaffRecord.case_id == case_id, UserRecord.active.is_(True)).order_by(UserRecord.id)))
        for user in asked:
            language = user.locale if user.locale in ("ja", "en") else "ja"
            renew_notice(session, clock, user, "tabling_requested", task, SUBJECT[language].format(
                meeting=meeting.title, date=meeting.held_on.isoformat(), case=task.case.reference or case_id))
        audit.record(session, clock, actor, "council.tabling_requested", case_id=case_id, task_id=task.id,
                     meeting=meeting.id, asked=[u.id for u in asked], **_via(operator))
    return asked


def add_for_review(session: Session, clock: Clock, actor: UserRecord, meeting_id: int, case_id: int, *,
                   operator: str | None = None) -> AgendaItemRecord:
    """Put a case due for review on the meeting's agenda; its papers reach the meeting like a tabled case's."""
    with transaction(session):
        meeting = _open_meeting(session, clock, actor, meeting_id)
        case = session.scalar(select(CaseRecord).where(CaseRecord.id == case_id, _due_condition(session, meeting)))
        if case is None:
            raise NotFound("the case is not due for review at this council", element=str(case_id))
        last = session.scalars(select(AgendaItemRecord).where(AgendaItemRecord.case_id == case.id)
                               .order_by(AgendaItemRecord.id.desc()).limit(1)).one()
        consent = consent_for(session, case, COUNCIL) if last.basis == "consent" else None
        basis = "consent" if consent is not None else "council_art16"
        note = f"定期レビュー（次回モニタリング予定日 {case.next_review_on.isoformat()}）" if case.next_review_on else None
        item = AgendaItemRecord(meeting_id=meeting.id, case_id=case.id, basis=basis, purpose=REVIEW_ITEM, note=note,
                                tabled_at=clock())
        session.add(item)
        disclose(session, clock, actor, case.id, meeting.title, "consent" if consent else "council",
                 consent_id=consent.id if consent else None, purpose=COUNCIL)
        audit.record(session, clock, actor, "case.tabled", case_id=case.id, meeting=meeting.id, basis=basis,
                     purpose=REVIEW_ITEM, **_via(operator))
    return item


def _open_meeting(session: Session, clock: Clock, actor: UserRecord, meeting_id: int) -> CouncilMeetingRecord:
    meeting = _coordinated_meeting(session, clock, actor, meeting_id)
    if meeting.minutes_recorded_at is not None or meeting.held_on < today_in_japan(clock()):
        raise InvalidState("the meeting is over: bring the case to a coming meeting", element=str(meeting_id))
    return meeting
