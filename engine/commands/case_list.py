"""The case list and search: every case the user may see, found by what they know of it, as one query.

`visible_cases` is the list form of `policy.case_access`: one SQL condition, never a loop over cases, and
never wider than the access policy (bases it cannot express in SQL, a consent naming the body or an
emergency opening, simply do not list a case). A page costs the same few statements however many cases
it shows, and reads projection columns only: no workflow is loaded.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, cast

from sqlalchemy import ColumnElement, and_, exists, false, func, literal, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from .. import audit
from ..access.policy import coordinated_councils, meetings_of_councils, supervised_caseworkers
from ..casefile.governance import CouncilMunicipalityRecord
from ..casefile.names import search_key
from ..casefile.tables import (
    CLOSED_ACTION_STATUSES,
    ActionStatus,
    AgendaAttendeeRecord,
    AgendaItemRecord,
    CaseStaffRecord,
    ConsentRecord,
    CouncilDecisionRecord,
    CouncilMeetingRecord,
    DisclosureRecord,
    MeetingBodyRecord,
    OrganisationRecord,
    PersonRecord,
    SupportActionRecord,
)
from ..clock import Clock
from ..db import transaction
from ..errors import Forbidden
from ..models import (
    MAX_ID,
    CaseRecord,
    CaseStatus,
    MunicipalityRecord,
    ProcessVersionRecord,
    TaskRecord,
    TaskStatus,
    UserRecord,
)
from ..roles import Role
from .council import RISK_LEVELS

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50
MAX_PAGE = 10_000
EXPORT_LIMIT = 10_000  # rows in one export; more asks the user to narrow the filters
COUNT_LIMIT = 1_000  # a page counts at most this many matching cases: "1,000 or more" reads as well as an exact total
RISKS = RISK_LEVELS
SORTS = ("updated", "reference", "next_due")
_REFERENCE = re.compile(r"^[0-9][0-9-]*$")
_STAFF_ROLES = {Role.CASEWORKER.value, Role.SUPERVISOR.value}
_BODY_ROLES = {Role.PARTNER.value, Role.CASEWORKER.value, Role.COUNCIL_MEMBER.value}


@dataclass(frozen=True)
class CaseFilters:
    q: str | None = None  # a case reference (or its start), or the start of the person's name or kana
    birth_year: int | None = None
    status: CaseStatus | None = None
    process: str | None = None  # process id
    element: str | None = None  # an open task's element id: the stage the case is at
    lead_body_id: int | None = None
    caseworker_id: int | None = None
    risk: str | None = None
    overdue: bool = False
    sort: str = "updated"

    def described(self) -> dict[str, Any]:
        """The filters as the audit row records them: only those set."""
        return {k: (v.value if isinstance(v, CaseStatus) else v) for k, v in asdict(self).items()
                if v not in (None, False, "") and not (k == "sort" and v == "updated")}


@dataclass(frozen=True)
class CaseRow:
    id: int
    reference: str | None
    title: str
    status: CaseStatus
    updated_at: datetime
    stages: list[str]
    caseworkers: list[str]
    lead_body: str | None
    risk: str | None
    next_due: datetime | None
    overdue: bool


@dataclass(frozen=True)
class CasePage:
    items: list[CaseRow]
    total: int  # at most COUNT_LIMIT: with `bounded`, "this many or more"
    page: int
    page_size: int
    filters: CaseFilters = field(default_factory=CaseFilters)
    bounded: bool = False  # more than COUNT_LIMIT cases match: the total and the last page are not known
    has_next: bool = False

    @property
    def pages(self) -> int:
        """The number of pages, when the total is known (not `bounded`)."""
        return max(1, -(-self.total // self.page_size))


def parse_filters(args: Mapping[str, str]) -> tuple[CaseFilters, dict[str, str]]:
    """Filters from query arguments, and the snake_case error code of each field that could not be read
    (that filter is then left out, so a bad value never fails the list)."""
    errors: dict[str, str] = {}

    def text(name: str, limit: int = 200) -> str | None:
        value = (args.get(name) or "").strip()
        if len(value) > limit:
            errors[name] = "too_long"
            return None
        return value or None

    def ident(name: str) -> int | None:
        value = text(name, 12)
        if value is None:
            return None
        if not (value.isascii() and value.isdigit()) or not 0 < int(value) <= MAX_ID:
            errors[name] = "not_an_id"
            return None
        return int(value)

    birth_year = None
    born = text("born", 10)
    if born is not None:
        match = re.fullmatch(r"([0-9]{4})(?:[-/]([0-9]{1,2})[-/]([0-9]{1,2}))?", born)
        try:
            if match is None:
                raise ValueError(born)
            if match.group(2):
                date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
            birth_year = int(match.group(1))
            if not 1880 <= birth_year <= 2200:
                raise ValueError(born)
        except ValueError:
            errors["born"] = "not_a_date"
            birth_year = None
    status = None
    status_text = text("status", 16)
    if status_text is not None:
        try:
            status = CaseStatus(status_text)
        except ValueError:
            errors["status"] = "unknown_status"
    risk = text("risk", 16)
    if risk is not None and risk not in RISKS:
        errors["risk"] = "unknown_risk"
        risk = None
    sort = text("sort", 16) or "updated"
    if sort not in SORTS:
        errors["sort"] = "unknown_sort"
        sort = "updated"
    return CaseFilters(
        q=text("q", 100), birth_year=birth_year, status=status, process=text("process"), element=text("element"),
        lead_body_id=ident("lead_body"), caseworker_id=ident("caseworker"), risk=risk,
        overdue=(args.get("overdue") or "") in ("1", "on", "true", "yes"), sort=sort,
    ), errors


def visible_cases(session: Session, user: UserRecord, now: datetime, *, exportable: bool = False
                  ) -> ColumnElement[bool]:
    """The cases the user may see in a list now, as one SQL condition on CaseRecord; with `exportable`,
    only those whose basis allows a copy (case staff and their supervisors, as `exports.EXPORT_BASES`)."""
    roles = user.role_codes
    if not user.active:
        return false()
    clauses: list[ColumnElement[bool]] = []
    # Probed per case (OFFSET 0 keeps PostgreSQL from hashing every case the staff ever worked first), so a
    # page or the bounded count stops at its last row whatever the years of closed cases.
    if roles & _STAFF_ROLES:
        clauses.append(_staff_works(CaseStaffRecord.user_id == user.id))
    if Role.SUPERVISOR.value in roles:
        clauses.append(_staff_works(CaseStaffRecord.user_id.in_(supervised_caseworkers(user))))
    if not exportable:
        # The other bases end some days after closure (policy._access_ended).
        grace = user.municipality.closure_grace_days if user.municipality is not None else 30
        live = or_(CaseRecord.completed_at.is_(None), CaseRecord.completed_at >= now - timedelta(days=grace))
        council = _council_clauses(session, user, now.date())
        body = _body_clauses(user) if user.organisation_id and roles & _BODY_ROLES else []
        if council or body:
            clauses.append(and_(live, or_(*council, *body)))
    if not clauses:
        return false()
    # A case file disposed of at the end of its retention is listed to nobody (its skeleton is for the reports).
    return and_(CaseRecord.municipality_id == user.municipality_id, CaseRecord.anonymised_at.is_(None),
                or_(*clauses))


def _staff_works(staff: ColumnElement[bool]) -> ColumnElement[bool]:
    return select(literal(1)).where(CaseStaffRecord.case_id == CaseRecord.id, staff).offset(0).exists()


def _windows(session: Session, towns: ColumnElement[bool], today: date) -> ColumnElement[bool]:
    """Meetings whose council window is still open today (held_on no earlier than today minus the window of
    the meeting's municipality): one small query for the windows, then one condition."""
    windows = session.execute(select(MunicipalityRecord.id, MunicipalityRecord.council_window_days)
                              .where(towns)).all()
    return or_(false(), *[and_(CouncilMeetingRecord.municipality_id == town,
                               CouncilMeetingRecord.held_on >= today - timedelta(days=days))
                          for town, days in windows])


def _council_clauses(session: Session, user: UserRecord, today: date) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    roles = user.role_codes
    if Role.COORDINATOR.value in roles:
        councils = coordinated_councils(session, user, today)
        covered = councils and session.scalar(select(CouncilMunicipalityRecord.council_id).where(
            CouncilMunicipalityRecord.council_id.in_(councils),
            CouncilMunicipalityRecord.municipality_id == user.municipality_id).limit(1)) is not None
        if covered:
            towns = select(CouncilMunicipalityRecord.municipality_id).where(
                CouncilMunicipalityRecord.council_id.in_(councils))
            open_window = _windows(session, MunicipalityRecord.id.in_(towns), today)
            clauses.append(exists().where(
                AgendaItemRecord.case_id == CaseRecord.id, CouncilMeetingRecord.id == AgendaItemRecord.meeting_id,
                meetings_of_councils(councils), or_(AgendaItemRecord.decision_id.is_(None), open_window)))
            # A caseworker's request to table the case: the coordinator lane's open task (the packet basis).
            clauses.append(exists().where(TaskRecord.case_id == CaseRecord.id, TaskRecord.status == TaskStatus.OPEN,
                                          TaskRecord.role == Role.COORDINATOR.value))
    if Role.COUNCIL_MEMBER.value in roles and user.organisation_id:
        body = user.organisation_id
        member_councils = select(CouncilMunicipalityRecord.council_id).where(
            CouncilMunicipalityRecord.municipality_id == user.municipality_id)
        reachable = or_(CouncilMeetingRecord.council_id.in_(member_councils),
                        (CouncilMeetingRecord.municipality_id == user.municipality_id)
                        & CouncilMeetingRecord.council_id.is_(None))
        towns = select(CouncilMunicipalityRecord.municipality_id).where(
            CouncilMunicipalityRecord.council_id.in_(member_councils))
        open_window = _windows(session, MunicipalityRecord.id.in_(towns)
                               | (MunicipalityRecord.id == user.municipality_id), today)
        chosen = exists().where(AgendaAttendeeRecord.agenda_item_id == AgendaItemRecord.id)
        attends = or_(
            exists().where(AgendaAttendeeRecord.agenda_item_id == AgendaItemRecord.id,
                           AgendaAttendeeRecord.organisation_id == body),
            ~chosen & exists().where(MeetingBodyRecord.meeting_id == CouncilMeetingRecord.id,
                                     MeetingBodyRecord.organisation_id == body))
        clauses.append(exists().where(
            AgendaItemRecord.case_id == CaseRecord.id, CouncilMeetingRecord.id == AgendaItemRecord.meeting_id,
            reachable, open_window, attends))
    return clauses


def _body_clauses(user: UserRecord) -> list[ColumnElement[bool]]:
    """The lead body of the latest decision, and a body with an open support action whose sharing basis
    still holds (policy._open_action and _sharing_still_valid)."""
    body = user.organisation_id
    decision = aliased(CouncilDecisionRecord)  # the page query joins the table itself for the lead body's name
    lead = exists().where(decision.id == CaseRecord.latest_decision_id, decision.lead_body_id == body)
    latest = aliased(DisclosureRecord)
    later = aliased(DisclosureRecord)
    ended = exists().where(
        latest.case_id == SupportActionRecord.case_id, latest.action_id == SupportActionRecord.id,
        ~exists().where(later.case_id == latest.case_id, later.action_id == latest.action_id, later.id > latest.id),
        latest.basis == "consent",
        ~exists().where(ConsentRecord.id == latest.consent_id, ConsentRecord.withdrawn_at.is_(None)))
    action = exists().where(
        SupportActionRecord.case_id == CaseRecord.id, SupportActionRecord.owner_body_id == body,
        SupportActionRecord.status.not_in((*CLOSED_ACTION_STATUSES, ActionStatus.DECLINED)), ~ended)
    return [lead, action]


def _starts_with(column: InstrumentedAttribute[str | None], key: str, ranged: bool) -> ColumnElement[bool]:
    like = column.startswith(key, autoescape=True)
    if not ranged:
        return like
    # SQLite's LIKE ignores ASCII case, so it never uses the binary index (`ix_persons_municipality_name_key`)
    # and reads every person of the years before; the same prefix as a range does (keys are lower case).
    return and_(column >= key, column < key[:-1] + chr(ord(key[-1]) + 1), like)


def _filtered(user: UserRecord, filters: CaseFilters, now: datetime, ranged: bool = False
              ) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    open_task = and_(TaskRecord.case_id == CaseRecord.id, TaskRecord.status == TaskStatus.OPEN)
    if filters.q:
        typed = unicodedata.normalize("NFKC", filters.q).strip()
        matches: list[ColumnElement[bool]] = []
        key = search_key(typed)
        if _REFERENCE.match(typed):
            matches.append(CaseRecord.reference.startswith(typed, autoescape=True))
        if key is not None:
            persons = select(PersonRecord.id).where(
                PersonRecord.municipality_id == user.municipality_id,
                or_(_starts_with(PersonRecord.name_key, key, ranged), _starts_with(PersonRecord.kana_key, key, ranged)))
            matches.append(CaseRecord.person_id.in_(persons))
        conditions.append(or_(false(), *matches))
    if filters.birth_year is not None:
        conditions.append(CaseRecord.person_id.in_(select(PersonRecord.id).where(
            PersonRecord.municipality_id == user.municipality_id, PersonRecord.birth_year == filters.birth_year)))
    if filters.status is not None:
        conditions.append(CaseRecord.status == filters.status)
    if filters.process:
        conditions.append(CaseRecord.process_version_id.in_(
            select(ProcessVersionRecord.id).where(ProcessVersionRecord.process_id == filters.process)))
    if filters.element:
        conditions.append(exists().where(open_task, TaskRecord.element_id == filters.element))
    if filters.lead_body_id is not None:
        decision = aliased(CouncilDecisionRecord)
        conditions.append(exists().where(decision.id == CaseRecord.latest_decision_id,
                                         decision.lead_body_id == filters.lead_body_id))
    if filters.risk is not None:
        conditions.append(CaseRecord.risk == filters.risk)
    if filters.caseworker_id is not None:
        conditions.append(or_(
            exists().where(CaseStaffRecord.case_id == CaseRecord.id, CaseStaffRecord.user_id == filters.caseworker_id),
            exists().where(open_task, TaskRecord.assignee_id == filters.caseworker_id)))
    if filters.overdue:  # from the few overdue tasks (`ix_tasks_open_due`), not a test of every visible case
        conditions.append(CaseRecord.id.in_(select(TaskRecord.case_id).where(
            TaskRecord.status == TaskStatus.OPEN, TaskRecord.due_at < now)))
    return conditions


def _rows(session: Session, condition: ColumnElement[bool], filters: CaseFilters, now: datetime,
          offset: int, limit: int) -> list[CaseRow]:
    """One page of rows in four statements: the cases with their latest decision, then their open tasks
    and staff for the page's ids."""
    next_due = (select(func.min(TaskRecord.due_at)).where(
        TaskRecord.case_id == CaseRecord.id, TaskRecord.status == TaskStatus.OPEN).correlate(CaseRecord)
        .scalar_subquery())
    orders: dict[str, list[Any]] = {
        "updated": [CaseRecord.updated_at.desc(), CaseRecord.id.desc()],
        "reference": [CaseRecord.reference, CaseRecord.id],
        "next_due": [next_due.is_(None), next_due, CaseRecord.id],
    }
    order = orders[filters.sort]
    found = session.execute(
        select(CaseRecord.id, CaseRecord.reference, CaseRecord.title, CaseRecord.status, CaseRecord.updated_at,
               OrganisationRecord.name, CaseRecord.risk, next_due)
        .select_from(CaseRecord)
        .outerjoin(CouncilDecisionRecord, CouncilDecisionRecord.id == CaseRecord.latest_decision_id)
        .outerjoin(OrganisationRecord, OrganisationRecord.id == CouncilDecisionRecord.lead_body_id)
        .where(condition).order_by(*order).offset(offset).limit(limit)).all()
    ids = [row[0] for row in found]
    stages: dict[int, list[str]] = {}
    staff: dict[int, list[str]] = {}
    if ids:
        for case_id, name in session.execute(select(TaskRecord.case_id, TaskRecord.name).where(
                TaskRecord.case_id.in_(ids), TaskRecord.status == TaskStatus.OPEN).order_by(TaskRecord.id)):
            stages.setdefault(case_id, []).append(name)
        for case_id, name in session.execute(select(CaseStaffRecord.case_id, UserRecord.display_name)
                                             .join(UserRecord, UserRecord.id == CaseStaffRecord.user_id)
                                             .where(CaseStaffRecord.case_id.in_(ids))
                                             .order_by(CaseStaffRecord.since, UserRecord.id)):
            staff.setdefault(case_id, []).append(name)
    items = []
    for row in found:
        case_id, reference, title, status, updated_at, lead_body, risk, due = cast(
            "tuple[int, str | None, str, CaseStatus, datetime, str | None, str | None, datetime | str | None]",
            tuple(row))
        moment = _aware(due) if due is not None else None
        items.append(CaseRow(id=case_id, reference=reference, title=title, status=status, updated_at=updated_at,
                             stages=stages.get(case_id, []), caseworkers=staff.get(case_id, []), lead_body=lead_body,
                             risk=risk, next_due=moment, overdue=moment is not None and moment < now))
    return items


def _aware(moment: datetime | str) -> datetime:
    # A scalar subquery's result skips the column type on SQLite: it comes back naive (UTC) or as text.
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _ranged(session: Session) -> bool:
    """Whether prefix searches need a range to use their index (SQLite; PostgreSQL's has text_pattern_ops)."""
    return session.get_bind().dialect.name == "sqlite"


def search_cases(session: Session, clock: Clock, user: UserRecord, filters: CaseFilters, page: int = 1,
                 page_size: int = DEFAULT_PAGE_SIZE) -> CasePage:
    """One page of the cases the user may see that match the filters, with the total; audited once."""
    page = min(max(page, 1), MAX_PAGE)
    page_size = min(max(page_size, 1), MAX_PAGE_SIZE)
    now = clock()
    with transaction(session):
        condition = and_(visible_cases(session, user, now), *_filtered(user, filters, now, _ranged(session)))
        # Counted up to one past COUNT_LIMIT, never every case of the years before: the correlated test per
        # case stops at the bound (reading the staff's whole history into an IN list first does not).
        found = select(CaseRecord.id).where(condition).limit(COUNT_LIMIT + 1)
        total = session.scalar(select(func.count()).select_from(found.subquery())) or 0
        bounded = total > COUNT_LIMIT
        total = min(total, COUNT_LIMIT)
        items = _rows(session, condition, filters, now, (page - 1) * page_size, page_size + 1)
        has_next = len(items) > page_size
        items = items[:page_size]
        audit.record(session, clock, user, "cases.listed", filters=filters.described(), page=page, shown=len(items),
                     total=total, bounded=bounded)
    return CasePage(items=items, total=total, page=page, page_size=page_size, filters=filters, bounded=bounded,
                    has_next=has_next)


def may_export(user: UserRecord) -> bool:
    """A list export is a copy of case data: case staff and supervisors only (as `exports.EXPORT_BASES`);
    council members, partners and the coordinating body read, but take no copies."""
    return user.active and bool(user.role_codes & _STAFF_ROLES)


def export_cases(session: Session, clock: Clock, user: UserRecord, filters: CaseFilters, fmt: str) -> list[CaseRow]:
    """Every matching case the user may export (at most EXPORT_LIMIT rows, read a page at a time); audited,
    and a refusal too."""
    now = clock()
    allowed = may_export(user)
    with transaction(session):
        rows: list[CaseRow] = []
        if allowed:
            condition = and_(visible_cases(session, user, now, exportable=True),
                             *_filtered(user, filters, now, _ranged(session)))
            while len(rows) < EXPORT_LIMIT:
                batch = _rows(session, condition, filters, now, len(rows), MAX_PAGE_SIZE * 5)
                rows.extend(batch)
                if len(batch) < MAX_PAGE_SIZE * 5:
                    break
            rows = rows[:EXPORT_LIMIT]
        audit.record(session, clock, user, "cases.exported" if allowed else "cases.export_refused",
                     filters=filters.described(), format=fmt, rows=len(rows))
    if not allowed:
        raise Forbidden("only case staff and their supervisors may export cases", element="cases")
    return rows
