"""Reports (/reports, `tsunagu report`): a municipality's counts per month of a fiscal year (年度, April to
March) or of one month, for the annual report and the council.

Every number is a grouped SQL aggregate over projection and case-file columns kept on the rows
(`cases.channel`, `cases.opened_on`, `tasks.kind`...): no workflow is deserialised and no case is
loaded, so a report takes the same number of statements for ten cases as for ten thousand. Months are
Japan's calendar months: a timestamp column is compared with the UTC instants of the months' Japanese
midnights, and a date column with the dates themselves, so no database date function is needed.

Counting rules (documented so the annual report can state them):
- new consultations: cases by the consultation day the intake recorded (`opened_on`), by channel;
- council: the meetings (by meeting day) at which a case of the municipality was on the agenda, and the
  agenda items (付議件数, each tabling of a case at a meeting);
- reviews held: cases with a completed task of kind `review` in the month. The standard process's review
  cycle has two such tasks (the review assessment and the review record), so a case counts once a month;
  the year's total is the sum of its months;
- reviews overdue: cases with a `review` task due in the month that was completed after its due time or
  is still open past it;
- closures: cases completed in the month, by closure reason;
- support actions: actions added in the period, by action type and their status today.
The loneliness and isolation measures are in `report_measures`.

Reading aggregates is a use inside the municipality for statistics (privacy law Art. 69(2)(iv)); no case
id or free text leaves here. Each view and export writes one audit row naming the period.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, Select, case, distinct, func, literal_column, or_, select
from sqlalchemy.orm import Session

from .. import audit
from ..access.permissions import council_work
from ..casefile.governance import CouncilMunicipalityRecord
from ..casefile.tables import (
    ActionStatus,
    ActionTypeRecord,
    AgendaItemRecord,
    CouncilMeetingRecord,
    SupportActionRecord,
)
from ..clock import DEFAULT_ZONE, Clock
from ..db import transaction
from ..errors import Forbidden, TsunaguError
from ..models import CaseRecord, CaseStatus, MunicipalityRecord, TaskRecord, TaskStatus, UserRecord
from ..roles import Role
from ..runtime.forms import today_in_japan
from ..runtime.kinds import REVIEW
from .report_measures import InstrumentMeasure, measures

JAPAN = ZoneInfo(DEFAULT_ZONE)
FIRST_FISCAL_YEAR = 2000  # earlier years hold no case of this system; later than next year is refused too
# The intake form's channels (相談経路), in the order the report lists them; others follow, then none.
CHANNELS = ("counter", "phone", "sns", "outreach", "minsei", "supporter", "other")
CLOSURE_REASONS = ("goal_reached", "moved_away", "declined", "died", "transferred")
ACTION_STATUSES = tuple(s.value for s in ActionStatus)
READERS = {Role.SUPERVISOR.value, Role.ADMIN.value}  # besides the coordinating body's staff
NOT_RECORDED = ""  # the row code of a case without a channel or closure reason


class PeriodInvalid(TsunaguError):
    code = "period_invalid"


@dataclass(frozen=True)
class Period:
    """A fiscal year (April of `fiscal_year` to March of the next year), or one calendar month of it."""

    fiscal_year: int
    month: int | None = None  # 1-12, the calendar month; None for the whole fiscal year

    def __post_init__(self) -> None:
        if not FIRST_FISCAL_YEAR <= self.fiscal_year <= 2200:
            raise PeriodInvalid(f"fiscal year {self.fiscal_year} is out of range", element="year")
        if self.month is not None and not 1 <= self.month <= 12:
            raise PeriodInvalid(f"month {self.month} is not 1-12", element="month")

    @property
    def months(self) -> list[date]:
        """The first day of each month of the period, in order."""
        if self.month is not None:
            return [date(self.fiscal_year + (1 if self.month < 4 else 0), self.month, 1)]
        return [date(self.fiscal_year + (m + 3) // 12, (m + 3) % 12 + 1, 1) for m in range(12)]

    @property
    def ends(self) -> list[date]:
        """The day after each month of the period (each month's exclusive end)."""
        return [date(m.year + m.month // 12, m.month % 12 + 1, 1) for m in self.months]

    @property
    def start(self) -> date:
        return self.months[0]

    @property
    def end(self) -> date:
        return self.ends[-1]

    def described(self) -> dict[str, Any]:
        return {"fiscal_year": self.fiscal_year, "month": self.month, "from": self.start.isoformat(),
                "until": self.end.isoformat()}


def fiscal_year_of(day: date) -> int:
    """The fiscal year (年度) a day falls in: April to March."""
    return day.year if day.month >= 4 else day.year - 1


def current_period(clock: Clock) -> Period:
    """The fiscal year of today in Japan."""
    return Period(fiscal_year_of(today_in_japan(clock())))


def instant(day: date) -> datetime:
    """The UTC instant of midnight in Japan at the start of `day`."""
    return datetime.combine(day, time.min, JAPAN).astimezone(timezone.utc)


@dataclass
class Row:
    code: str  # a channel, reason, status or action type name; NOT_RECORDED for none
    counts: list[int]

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass
class Table:
    """Counts by row and column; columns are the period's months (ISO `YYYY-MM`) or status codes."""

    columns: list[str]
    rows: list[Row] = field(default_factory=list)

    def column_totals(self) -> list[int]:
        return [sum(row.counts[i] for row in self.rows) for i in range(len(self.columns))]

    @property
    def total(self) -> int:
        return sum(row.total for row in self.rows)

    def row(self, code: str) -> Row:
        return next(r for r in self.rows if r.code == code)


@dataclass(frozen=True)
class Town:
    id: int
    code: str
    name: str


@dataclass
class Report:
    town: Town
    period: Period
    consultations: Table  # rows: channels; columns: months
    council: Table  # rows: meetings, tabled
    reviews: Table  # rows: held, overdue
    closures: Table  # rows: closure reasons
    actions: Table  # rows: action type names; columns: statuses
    measures: list[InstrumentMeasure]


def readable_towns(session: Session, user: UserRecord, now: datetime) -> list[Town]:
    """The municipalities whose aggregates the user may read: their own as a supervisor or administrator,
    and every municipality of a council their body is the designated coordinating body of."""
    if not user.active:
        return []
    ids: set[int] = {user.municipality_id} if user.role_codes & READERS else set()
    councils = council_work(session, user, now)
    if councils:
        ids.update(session.scalars(select(CouncilMunicipalityRecord.municipality_id).where(
            CouncilMunicipalityRecord.council_id.in_(councils))))
    if not ids:
        return []
    found = session.execute(select(MunicipalityRecord.id, MunicipalityRecord.code, MunicipalityRecord.name)
                            .where(MunicipalityRecord.id.in_(ids)).order_by(MunicipalityRecord.code))
    towns = [Town(*row) for row in found]
    return sorted(towns, key=lambda t: t.id != user.municipality_id)  # the user's own first


def chosen_town(session: Session, user: UserRecord, now: datetime, code: str | None) -> Town:
    """The municipality to report on: `code`, or the user's own (else the first they may read); refused
    alike for a municipality that does not exist and one the user may not read."""
    towns = readable_towns(session, user, now)
    if not towns:
        raise Forbidden("only supervisors, administrators and the coordinating body read reports")
    if code is None:
        return towns[0]
    for town in towns:
        if town.code == code:
            return town
    raise Forbidden("you may not read reports of this municipality", element=code[:16])


def _bucket(column: Any, ends: list[Any]) -> Any:
    """The index of the month a value falls in, for values already known to lie inside the period."""
    if len(ends) == 1:
        return literal_column("0", Integer)  # one month: every value is in it
    return case(*((column < end, i) for i, end in enumerate(ends[:-1])), else_=len(ends) - 1)


def _monthly(session: Session, inner: Select[Any], months: int) -> dict[str, list[int]]:
    """Counts per row code and month from `inner`'s (m, code, counted) columns, grouped in a subquery (so
    PostgreSQL sees one grouping expression, not the bucket's bound parameters twice)."""
    sub = inner.subquery()
    found: dict[str, list[int]] = {}
    result: Any = session.execute(
        select(sub.c.m, sub.c.code, func.count(distinct(sub.c.counted))).group_by(sub.c.m, sub.c.code))
    for month, code, count in result:
        found.setdefault(str(code) if code is not None else NOT_RECORDED, [0] * months)[int(month)] += int(count)
    return found


def _ordered(found: dict[str, list[int]], known: tuple[str, ...], months: int) -> list[Row]:
    """Known codes in their order (zero rows included), then others by name, then the unrecorded."""
    rows = [Row(code, found.get(code, [0] * months)) for code in known]
    rows += [Row(code, found[code]) for code in sorted(found) if code not in known and code != NOT_RECORDED]
    if NOT_RECORDED in found:
        rows.append(Row(NOT_RECORDED, found[NOT_RECORDED]))
    return rows


def _columns(period: Period) -> list[str]:
    return [f"{m.year:04d}-{m.month:02d}" for m in period.months]


def _consultations(session: Session, town: int, period: Period) -> Table:
    inner = select(_bucket(CaseRecord.opened_on, period.ends).label("m"), CaseRecord.channel.label("code"),
                   CaseRecord.id.label("counted")).where(
        CaseRecord.municipality_id == town, CaseRecord.opened_on >= period.start, CaseRecord.opened_on < period.end)
    months = len(period.months)
    return Table(_columns(period), _ordered(_monthly(session, inner, months), CHANNELS, months))


def _council(session: Session, town: int, period: Period) -> Table:
    months = len(period.months)
    joined = (select(_bucket(CouncilMeetingRecord.held_on, period.ends).label("m"))
              .select_from(AgendaItemRecord)
              .join(CaseRecord, CaseRecord.id == AgendaItemRecord.case_id)
              .join(CouncilMeetingRecord, CouncilMeetingRecord.id == AgendaItemRecord.meeting_id)
              .where(CaseRecord.municipality_id == town, CouncilMeetingRecord.held_on >= period.start,
                     CouncilMeetingRecord.held_on < period.end))
    sub = joined.add_columns(AgendaItemRecord.meeting_id, AgendaItemRecord.id.label("item")).subquery()
    meetings, tabled = [0] * months, [0] * months
    result: Any = session.execute(
        select(sub.c.m, func.count(distinct(sub.c.meeting_id)), func.count(sub.c.item)).group_by(sub.c.m))
    for month, held, items in result:
        meetings[int(month)], tabled[int(month)] = int(held), int(items)
    return Table(_columns(period), [Row("meetings", meetings), Row("tabled", tabled)])


def _reviews(session: Session, town: int, period: Period, now: datetime) -> Table:
    months = len(period.months)
    ends = [instant(end) for end in period.ends]
    start, end = instant(period.start), ends[-1]
    reviews = (TaskRecord.municipality_id == town, TaskRecord.kind == REVIEW)
    held = select(_bucket(TaskRecord.completed_at, ends).label("m"), TaskRecord.kind.label("code"),
                  TaskRecord.case_id.label("counted")).where(
        TaskRecord.status == TaskStatus.COMPLETED, *reviews, TaskRecord.completed_at >= start,
        TaskRecord.completed_at < end)
    late = or_((TaskRecord.status == TaskStatus.COMPLETED) & (TaskRecord.completed_at > TaskRecord.due_at),
               (TaskRecord.status == TaskStatus.OPEN) & (TaskRecord.due_at < now))
    overdue = select(_bucket(TaskRecord.due_at, ends).label("m"), TaskRecord.kind.label("code"),
                     TaskRecord.case_id.label("counted")).where(
        TaskRecord.status.in_((TaskStatus.COMPLETED, TaskStatus.OPEN)), *reviews, TaskRecord.due_at >= start,
        TaskRecord.due_at < end, late)
    return Table(_columns(period), [Row("held", _monthly(session, held, months).get(REVIEW, [0] * months)),
                                    Row("overdue", _monthly(session, overdue, months).get(REVIEW, [0] * months))])


def _closures(session: Session, town: int, period: Period) -> Table:
    ends = [instant(end) for end in period.ends]
    inner = select(_bucket(CaseRecord.completed_at, ends).label("m"), CaseRecord.closure_reason.label("code"),
                   CaseRecord.id.label("counted")).where(
        CaseRecord.municipality_id == town, CaseRecord.status == CaseStatus.COMPLETED,
        CaseRecord.completed_at >= instant(period.start), CaseRecord.completed_at < ends[-1])
    months = len(period.months)
    return Table(_columns(period), _ordered(_monthly(session, inner, months), CLOSURE_REASONS, months))


def _actions(session: Session, town: int, period: Period) -> Table:
    found: dict[str, list[int]] = {}
    for name, status, count in session.execute(
            select(ActionTypeRecord.name, SupportActionRecord.status, func.count(SupportActionRecord.id))
            .select_from(CaseRecord)
            .join(SupportActionRecord, SupportActionRecord.case_id == CaseRecord.id)
            .join(ActionTypeRecord, ActionTypeRecord.id == SupportActionRecord.action_type_id)
            .where(CaseRecord.municipality_id == town, SupportActionRecord.created_at >= instant(period.start),
                   SupportActionRecord.created_at < instant(period.end))
            .group_by(ActionTypeRecord.name, SupportActionRecord.status)):
        code = status.value if isinstance(status, ActionStatus) else str(status)
        found.setdefault(name, [0] * len(ACTION_STATUSES))[ACTION_STATUSES.index(code)] += count
    return Table(list(ACTION_STATUSES), [Row(name, found[name]) for name in sorted(found)])


def build_report(session: Session, town: Town, period: Period, now: datetime) -> Report:
    """Every table of the report for one municipality and period (reads only; no audit)."""
    return Report(town=town, period=period, consultations=_consultations(session, town.id, period),
                  council=_council(session, town.id, period), reviews=_reviews(session, town.id, period, now),
                  closures=_closures(session, town.id, period), actions=_actions(session, town.id, period),
                  measures=measures(session, town.id, instant(period.start), instant(period.end)))


def report(session: Session, clock: Clock, user: UserRecord, period: Period, municipality_code: str | None = None,
           *, export: str | None = None, publish: bool = False, operator: str | None = None,
           reading: Session | None = None) -> Report:
    """The report of a municipality the user may read, audited once as `report.viewed` or, for a file
    (`export` names its format), `report.exported`; `operator` is the command line's account. The tables
    are read through `reading` when given (a read replica), the access check and the audit row through
    `session` (the database itself)."""
    now = clock()
    town = chosen_town(session, user, now, municipality_code)
    with transaction(session):
        found = build_report(reading or session, town, period, now)
        origin: dict[str, Any] = {"via": "cli", "operator": operator} if operator is not None else {"via": "web"}
        if export is None:
            audit.record(session, clock, user, "report.viewed", municipality=town.id, period=period.described(),
                         **origin)
        else:
            audit.record(session, clock, user, "report.exported", municipality=town.id, period=period.described(),
                         format=export, published=publish, basis="statistics", **origin)
    return found
