"""The coordinating body's progress ledger (進行管理台帳, Act Art. 17): every open case tabled at, or waiting
to be tabled at, a council the user's organisation coordinates.

Read from projection and case-file tables in a fixed number of statements whatever the rows (no
workflow is deserialised): one for the councils, one count, one for the page's case ids in order, one
for those cases' latest decision and dates (correlated subqueries, evaluated for the page only), one
for their support actions, one audit row.

Special care (要配慮個人情報, DOMAIN.md): the ledger never reads form submissions, so the intake's
`special_care` tags and health notes cannot reach it. The plan summary is the council's free text and
may still mention health; it is shown on the page, to the coordinating body that recorded it, but an
export (a file that leaves the system's access control) never carries free text: the plan summary
is replaced by `MASKED` for every role. An export stays inside the coordinating body, so it is logged
as an internal use (privacy law Art. 69(2)(ii)) in the audit trail, not as a disclosure.
"""
from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, func, literal, select
from sqlalchemy.orm import Session, aliased

from .. import audit
from ..access.permissions import require_council_work
from ..access.policy import meetings_of_councils
from ..casefile.governance import CouncilMunicipalityRecord
from ..casefile.tables import (
    ActionStatus,
    ActionTypeRecord,
    AgendaItemRecord,
    CouncilDecisionRecord,
    CouncilMeetingRecord,
    OrganisationRecord,
    SupportActionRecord,
)
from ..clock import Clock
from ..db import transaction
from ..models import CaseRecord, CaseStatus, TaskRecord, TaskStatus, UserRecord
from ..runtime.forms import today_in_japan
from ..runtime.kinds import REVIEW, TABLING

PAGE_SIZE = 200
PLAN_SUMMARY_CHARS = 80
MASKED = "（出力対象外）"
RISKS = ("normal", "high", "urgent")
BASES = ("consent", "council_art16")
CHUNK = 500  # ids per IN list when an export reads actions of many cases
OPEN_STATUSES = tuple(status for status in CaseStatus if status is not CaseStatus.COMPLETED)


class LedgerSort(str, enum.Enum):
    NEXT_REVIEW = "next_review"
    CONTACT = "contact"  # most days since the last contact first
    REFERENCE = "reference"


class ContactSource(str, enum.Enum):
    CONTACT = "contact"  # a recorded contact, action response or review
    OPENED = "opened"  # none yet: counted from the day the case was opened


@dataclass(frozen=True)
class LedgerFilters:
    lead_body_id: int | None = None
    risk: str | None = None
    overdue: bool = False  # the council's next review date has passed
    basis: str | None = None


@dataclass(frozen=True)
class LedgerAction:
    type_name: str
    owner_body: str
    status: ActionStatus


@dataclass
class LedgerRow:
    case_id: int
    reference: str | None
    title: str
    status: CaseStatus
    waiting_to_be_tabled: bool
    lead_body: str | None
    risk: str | None
    plan_summary: str | None
    basis: str | None
    last_review: date | None
    next_review: date | None
    overdue: bool
    days_since_contact: int
    contact_source: ContactSource
    actions: list[LedgerAction] = field(default_factory=list)


@dataclass
class LedgerPage:
    rows: list[LedgerRow]
    total: int
    page: int
    pages: int


def _towns(councils: list[int]) -> Select[Any]:
    return select(CouncilMunicipalityRecord.municipality_id).where(CouncilMunicipalityRecord.council_id.in_(councils))


def _query(councils: list[int], filters: LedgerFilters, today: date) -> tuple[Select[Any], dict[str, Any]]:
    """The ledger's cases with their computed columns, filtered but neither sorted nor paged."""
    decision, lead, inner = aliased(CouncilDecisionRecord), aliased(OrganisationRecord), aliased(CaseRecord)
    # The open cases by (municipality, status), never `status != completed`: that walks every case closed over
    # the years, and SQLite's statistics cannot tell the few open cases from the many closed ones.
    open_cases = CaseRecord.id.in_(select(inner.id).where(inner.municipality_id.in_(_towns(councils)),
                                                          inner.status.in_(OPEN_STATUSES)))
    # Joined, not `meeting_id IN (...)`: the item is found by its case, never by walking every meeting.
    tabled = (select(AgendaItemRecord.id).join(CouncilMeetingRecord, CouncilMeetingRecord.id == AgendaItemRecord.meeting_id)
              .where(AgendaItemRecord.case_id == CaseRecord.id, meetings_of_councils(councils))
              .correlate(CaseRecord).offset(0).exists())
    # OFFSET 0: probed per case; PostgreSQL would otherwise hash every agenda item or task of the years before.
    waiting = (select(literal(1)).where(TaskRecord.case_id == CaseRecord.id, TaskRecord.status == TaskStatus.OPEN,
                                        TaskRecord.kind == TABLING).correlate(CaseRecord).offset(0).exists())
    basis = (select(AgendaItemRecord.basis).join(CouncilMeetingRecord, CouncilMeetingRecord.id == AgendaItemRecord.meeting_id)
             .where(AgendaItemRecord.case_id == CaseRecord.id, meetings_of_councils(councils))
             .order_by(AgendaItemRecord.id.desc()).limit(1).correlate(CaseRecord).scalar_subquery())
    last_review = (select(func.max(TaskRecord.completed_at)).where(
        TaskRecord.case_id == CaseRecord.id, TaskRecord.status == TaskStatus.COMPLETED,
        TaskRecord.kind == REVIEW).correlate(CaseRecord).scalar_subquery())
    columns: dict[str, Any] = {"basis": basis.label("basis"), "last_review": last_review.label("last_review"),
               "waiting": waiting.label("waiting"), "decision": decision, "lead": lead}
    query: Select[Any] = (
        select(CaseRecord.id, CaseRecord.reference, CaseRecord.title, CaseRecord.status, CaseRecord.created_at,
               columns["waiting"], lead.name.label("lead_body"), CaseRecord.risk, decision.plan,
               CaseRecord.next_review_on, columns["basis"], columns["last_review"],
               CaseRecord.last_contact_at.label("last_contact"))
        .select_from(CaseRecord)
        # the case keeps its latest decision's id (council.record_decision): one primary-key join
        .outerjoin(decision, decision.id == CaseRecord.latest_decision_id)
        .outerjoin(lead, lead.id == decision.lead_body_id)
        .where(open_cases, tabled | waiting))
    if filters.lead_body_id is not None:
        query = query.where(decision.lead_body_id == filters.lead_body_id)
    if filters.risk is not None:
        query = query.where(CaseRecord.risk == filters.risk)
    if filters.overdue:
        query = query.where(CaseRecord.next_review_on < today)
    if filters.basis is not None:
        query = query.where(basis == filters.basis)
    # Counted and paged without the decision's joins unless a filter needs them: they change no case's
    # presence, and without them the planner starts from the open cases, not from a sort index over all.
    found = select(CaseRecord.id).where(open_cases, tabled | waiting)
    if filters.basis is not None:
        found = found.where(basis == filters.basis)
    if filters.risk is not None:
        found = found.where(CaseRecord.risk == filters.risk)
    if filters.overdue:
        found = found.where(CaseRecord.next_review_on < today)
    if filters.lead_body_id is not None:
        found = query.with_only_columns(CaseRecord.id)
    columns["ids"] = found
    columns["count"] = select(func.count()).select_from(found.subquery())
    return query, columns


def _ordered(query: Select[Any], columns: dict[str, Any], sort: LedgerSort) -> Select[Any]:
    if sort == LedgerSort.REFERENCE:
        return query.order_by(CaseRecord.reference, CaseRecord.id)
    if sort == LedgerSort.CONTACT:  # the oldest contact (or opening) first: the longest silence on top
        return query.order_by(func.coalesce(CaseRecord.last_contact_at, CaseRecord.created_at), CaseRecord.id)
    return query.order_by(CaseRecord.next_review_on.is_(None), CaseRecord.next_review_on, CaseRecord.id)


def _actions(session: Session, case_ids: Sequence[int]) -> dict[int, list[LedgerAction]]:
    """The support actions of the cases, oldest first, in one statement per `CHUNK` cases."""
    found: dict[int, list[LedgerAction]] = {case_id: [] for case_id in case_ids}
    for start in range(0, len(case_ids), CHUNK):
        for case_id, type_name, owner, status in session.execute(
                select(SupportActionRecord.case_id, ActionTypeRecord.name, OrganisationRecord.name,
                       SupportActionRecord.status)
                .join(ActionTypeRecord, ActionTypeRecord.id == SupportActionRecord.action_type_id)
                .join(OrganisationRecord, OrganisationRecord.id == SupportActionRecord.owner_body_id)
                .where(SupportActionRecord.case_id.in_(case_ids[start:start + CHUNK]))
                .order_by(SupportActionRecord.case_id, SupportActionRecord.created_at, SupportActionRecord.id)):
            found[case_id].append(LedgerAction(type_name, owner, status))
    return found


def _day(moment: datetime | None) -> date | None:
    return today_in_japan(moment) if moment is not None else None


def _rows(session: Session, result: Iterable[Any], today: date) -> list[LedgerRow]:
    raw = list(result)
    actions = _actions(session, [r.id for r in raw])
    rows = []
    for r in raw:
        contacted = _day(r.last_contact)
        rows.append(LedgerRow(
            case_id=r.id, reference=r.reference, title=r.title, status=r.status, waiting_to_be_tabled=bool(r.waiting),
            lead_body=r.lead_body, risk=r.risk, plan_summary=r.plan[:PLAN_SUMMARY_CHARS] if r.plan else None,
            basis=r.basis, last_review=_day(r.last_review), next_review=r.next_review_on,
            overdue=r.next_review_on is not None and r.next_review_on < today,
            days_since_contact=(today - (contacted or today_in_japan(r.created_at))).days,
            contact_source=ContactSource.CONTACT if contacted else ContactSource.OPENED, actions=actions[r.id]))
    return rows


def ledger(session: Session, clock: Clock, user: UserRecord, filters: LedgerFilters,
           sort: LedgerSort = LedgerSort.NEXT_REVIEW, page: int = 1) -> LedgerPage:
    """One page of the ledger for staff of a designated coordinating body; the read is audited once."""
    councils = require_council_work(session, user, clock())
    today = today_in_japan(clock())
    query, columns = _query(councils, filters, today)
    with transaction(session):
        total = session.scalar(columns["count"]) or 0
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(max(page, 1), pages)
        # The page's ids first, ordered by the sort key alone; the other columns only for those 200 cases.
        ids = list(session.scalars(_ordered(columns["ids"], columns, sort)
                                   .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
        place = {case_id: n for n, case_id in enumerate(ids)}
        found = sorted(session.execute(query.where(CaseRecord.id.in_(ids))), key=lambda r: place[r.id])
        rows = _rows(session, found, today)
        audit.record(session, clock, user, "ledger.viewed", count=len(rows), total=total, page=page,
                     sort=sort.value, filters=_described(filters))
    return LedgerPage(rows=rows, total=total, page=page, pages=pages)


def ledger_export(session: Session, clock: Clock, user: UserRecord, filters: LedgerFilters,
                  sort: LedgerSort, file_format: str) -> list[LedgerRow]:
    """Every row of the ledger for a file, free text masked; audited as an internal use, not a disclosure."""
    councils = require_council_work(session, user, clock())
    today = today_in_japan(clock())
    query, columns = _query(councils, filters, today)
    with transaction(session):
        rows = _rows(session, session.execute(_ordered(query, columns, sort)), today)
        for row in rows:
            row.plan_summary = MASKED if row.plan_summary else None
        audit.record(session, clock, user, "ledger.exported", format=file_format, rows=len(rows),
                     basis="internal_use", filters=_described(filters), masked=["plan_summary"])
    return rows


def _described(filters: LedgerFilters) -> dict[str, Any]:
    return {k: v for k, v in vars(filters).items() if v not in (None, False)}

