"""The supervisor's view of their team's work: the dashboard's numbers and the lists behind them (handing
the tasks on is `handover`).

Every number is one grouped query over the task projection (never a workflow), scoped to the cases
the supervisor's team works; every read leaves an audit row.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from .. import audit
from ..access.policy import supervised_caseworkers
from ..casefile.tables import CaseStaffRecord, OrganisationRecord, TeamMemberRecord, TeamRecord
from ..clock import Clock
from ..db import transaction
from ..errors import Forbidden, NotFound
from ..models import CaseRecord, CaseStatus, TaskRecord, TaskStatus, UserRecord
from ..roles import Role
from ..runtime.kinds import ESCALATION, REVIEW_KINDS

DUE_SOON_DAYS = 7
ROW_LIMIT = 200  # a list behind a number shows at most this many tasks, most at risk first

LISTS = ("overdue", "reviews", "due_soon", "unassigned", "escalations", "caseworker", "body")

class SupervisorOnly(Forbidden):
    code = "supervisor_only"


@dataclass(frozen=True)
class TaskRow:
    """One open task as lists show it: always with its case."""

    id: int
    name: str
    element_id: str
    role: str | None
    case_id: int
    case_reference: str | None
    case_title: str
    assignee_id: int | None
    assignee_name: str | None
    body_name: str | None
    due_at: datetime | None
    priority: int
    overdue: bool
    risk: str | None = None  # the case's: its council decision's, else the triage's


# Cases most at risk first: urgent (緊急), high (高), then the rest.
RISK_RANK = case((CaseRecord.risk == "urgent", 0), (CaseRecord.risk == "high", 1), else_=2)


@dataclass(frozen=True)
class Workload:
    """Open work of one caseworker or one member body."""

    id: int
    name: str
    open: int
    overdue: int


@dataclass(frozen=True)
class ErrorCase:
    id: int
    reference: str | None
    title: str
    element: str | None
    since: datetime


@dataclass
class Dashboard:
    teams: list[str]
    overdue: int = 0
    overdue_reviews: int = 0
    due_soon: int = 0
    escalations: int = 0
    errors: int = 0
    unassigned: list[tuple[str, int]] = field(default_factory=list)  # role, count
    caseworkers: list[Workload] = field(default_factory=list)
    bodies: list[Workload] = field(default_factory=list)
    urgent: list[TaskRow] = field(default_factory=list)  # overdue and due soon, most at risk first

    @property
    def counts(self) -> dict[str, int]:
        return {"overdue": self.overdue, "overdue_reviews": self.overdue_reviews, "due_soon": self.due_soon,
                "escalations": self.escalations, "errors": self.errors,
                "unassigned": sum(n for _, n in self.unassigned)}


# --- scope ---------------------------------------------------------------------------------------

def require_supervisor(user: UserRecord) -> None:
    if not (user.active and Role.SUPERVISOR.value in user.role_codes):
        raise SupervisorOnly("only supervisors see the team's work and hand its tasks on")


def team_names(session: Session, user: UserRecord) -> list[str]:
    """The active teams of the user's municipality the user supervises, by name."""
    return list(session.scalars(select(TeamRecord.name).join(TeamMemberRecord, TeamMemberRecord.team_id == TeamRecord.id)
                                .where(TeamMemberRecord.user_id == user.id, TeamMemberRecord.supervises.is_(True),
                                       TeamRecord.active.is_(True), TeamRecord.municipality_id == user.municipality_id)
                                .order_by(TeamRecord.name)))


def _team_works(case_id: Any, user: UserRecord) -> ColumnElement[bool]:
    # Correlated, not `case_id IN (every case the team ever worked)`: that list grows with the years of
    # closed cases, while the open tasks (or error cases) checked against it stay a few hundred. OFFSET 0
    # keeps PostgreSQL from hashing that whole list anyway (its "hashed SubPlan", 10x slower at 100,000).
    return (select(literal(1)).where(CaseStaffRecord.case_id == case_id,
                                     CaseStaffRecord.user_id.in_(supervised_caseworkers(user)))
            .offset(0).exists())


def team_tasks(user: UserRecord) -> ColumnElement[bool]:
    """Open tasks of the municipality held by a team caseworker or of a case a team caseworker works."""
    return and_(TaskRecord.municipality_id == user.municipality_id, TaskRecord.status == TaskStatus.OPEN,
                or_(TaskRecord.assignee_id.in_(supervised_caseworkers(user)), _team_works(TaskRecord.case_id, user)))


def _filter(kind: str, value: int | str | None, now: datetime) -> ColumnElement[bool]:
    overdue = TaskRecord.due_at < now
    if kind == "overdue":
        return overdue
    if kind == "reviews":
        return and_(overdue, TaskRecord.kind.in_(REVIEW_KINDS))
    if kind == "due_soon":
        return and_(TaskRecord.due_at >= now, TaskRecord.due_at < now + timedelta(days=DUE_SOON_DAYS))
    if kind == "unassigned":
        found = TaskRecord.assignee_id.is_(None)
        return and_(found, TaskRecord.role == value) if isinstance(value, str) and value else found
    if kind == "escalations":
        return TaskRecord.kind == ESCALATION
    if kind == "caseworker" and isinstance(value, int):
        return TaskRecord.assignee_id == value
    if kind == "body" and isinstance(value, int):
        return TaskRecord.candidate_body_id == value
    raise NotFound("no such list", element=kind)


# --- reads ---------------------------------------------------------------------------------------

def dashboard(session: Session, clock: Clock, user: UserRecord) -> Dashboard:
    """The supervisor's team at a glance; an audited read with the counts it showed."""
    require_supervisor(user)
    now = clock()
    with transaction(session):
        board = Dashboard(teams=team_names(session, user))
        if board.teams:
            _fill(session, user, now, board)
        audit.record(session, clock, user, "supervision.viewed", teams=board.teams, **board.counts)
    return board


def _fill(session: Session, user: UserRecord, now: datetime, board: Dashboard) -> None:
    scope = team_tasks(user)
    one = 1
    totals = session.execute(select(
        func.coalesce(func.sum(case((_filter("overdue", None, now), one), else_=0)), 0),
        func.coalesce(func.sum(case((_filter("reviews", None, now), one), else_=0)), 0),
        func.coalesce(func.sum(case((_filter("due_soon", None, now), one), else_=0)), 0),
        func.coalesce(func.sum(case((_filter("escalations", None, now), one), else_=0)), 0),
    ).where(scope)).one()
    board.overdue, board.overdue_reviews, board.due_soon, board.escalations = (int(n) for n in totals)
    board.errors = session.scalar(select(func.count()).select_from(CaseRecord).where(
        CaseRecord.municipality_id == user.municipality_id, CaseRecord.status == CaseStatus.ERROR,
        _team_works(CaseRecord.id, user))) or 0
    board.unassigned = [(str(role), int(n)) for role, n in session.execute(
        select(TaskRecord.role, func.count()).where(scope, TaskRecord.assignee_id.is_(None))
        .group_by(TaskRecord.role).order_by(func.count().desc(), TaskRecord.role))]
    late = func.coalesce(func.sum(case((TaskRecord.due_at < now, one), else_=0)), 0)
    board.caseworkers = [_workload(row) for row in session.execute(
        select(UserRecord.id, UserRecord.display_name, func.count(TaskRecord.id), late)
        .join(TaskRecord, TaskRecord.assignee_id == UserRecord.id).where(scope)
        .group_by(UserRecord.id, UserRecord.display_name).order_by(late.desc(), UserRecord.display_name))]
    board.bodies = [_workload(row) for row in session.execute(
        select(OrganisationRecord.id, OrganisationRecord.name, func.count(TaskRecord.id), late)
        .join(TaskRecord, TaskRecord.candidate_body_id == OrganisationRecord.id).where(scope)
        .group_by(OrganisationRecord.id, OrganisationRecord.name).order_by(late.desc(), OrganisationRecord.name))]
    board.urgent = _rows(session, user, TaskRecord.due_at < now + timedelta(days=DUE_SOON_DAYS), now, 20)


def _rows(session: Session, user: UserRecord, where: ColumnElement[bool], now: datetime, limit: int) -> list[TaskRow]:
    """Open team tasks matching `where`, most at risk first (the case's risk, the task's priority, then the
    longest overdue), with their case."""
    assignee = aliased(UserRecord)
    found = session.execute(
        select(TaskRecord.id, TaskRecord.name, TaskRecord.element_id, TaskRecord.role, TaskRecord.case_id,
               CaseRecord.reference, CaseRecord.title, TaskRecord.assignee_id, assignee.display_name,
               OrganisationRecord.name, TaskRecord.due_at, TaskRecord.priority, CaseRecord.risk)
        .join(CaseRecord, CaseRecord.id == TaskRecord.case_id)
        .outerjoin(assignee, assignee.id == TaskRecord.assignee_id)
        .outerjoin(OrganisationRecord, OrganisationRecord.id == TaskRecord.candidate_body_id)
        .where(team_tasks(user), where)
        .order_by(RISK_RANK, TaskRecord.priority.desc(), TaskRecord.due_at.is_(None), TaskRecord.due_at,
                  TaskRecord.id)
        .limit(limit)).all()
    return [_task_row(row, now) for row in found]


def _task_row(row: Any, now: datetime) -> TaskRow:
    due = row[10]
    return TaskRow(id=row[0], name=row[1], element_id=row[2], role=row[3], case_id=row[4], case_reference=row[5],
                   case_title=row[6], assignee_id=row[7], assignee_name=row[8], body_name=row[9], due_at=due,
                   priority=row[11], overdue=due is not None and due < now, risk=row[12])


def _workload(row: Any) -> Workload:
    return Workload(int(row[0]), str(row[1]), int(row[2]), int(row[3]))


def task_list(session: Session, clock: Clock, user: UserRecord, kind: str,
              value: int | str | None = None) -> list[TaskRow]:
    """The tasks behind one dashboard number (see LISTS); an audited read naming every case shown."""
    require_supervisor(user)
    now = clock()
    if kind not in LISTS:
        raise NotFound("no such list", element=kind)
    with transaction(session):
        rows = _rows(session, user, _filter(kind, value, now), now, ROW_LIMIT) if team_names(session, user) else []
        audit.record(session, clock, user, "supervision.listed", list=kind, value=value,
                     cases=sorted({r.case_id for r in rows}), count=len(rows))
    return rows


def error_cases(session: Session, clock: Clock, user: UserRecord) -> list[ErrorCase]:
    """The team's cases stopped on an error; an audited read."""
    require_supervisor(user)
    with transaction(session):
        found = [ErrorCase(*row) for row in session.execute(
            select(CaseRecord.id, CaseRecord.reference, CaseRecord.title, CaseRecord.error_element,
                   CaseRecord.updated_at)
            .where(CaseRecord.municipality_id == user.municipality_id, CaseRecord.status == CaseStatus.ERROR,
                   _team_works(CaseRecord.id, user))
            .order_by(CaseRecord.updated_at, CaseRecord.id).limit(ROW_LIMIT))]
        audit.record(session, clock, user, "supervision.listed", list="errors",
                     cases=[c.id for c in found], count=len(found))
    return found
