"""The supervisor's view of their team's work, and handing its tasks on: reassign, assign, unclaim,
change a due date, take over, ask to take over.

Every number is one grouped query over the task projection (never a workflow), scoped to the cases
the supervisor's team works; every read and every hand-over leaves an audit row.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.attributes import flag_modified

from .. import audit
from ..access import permissions
from ..access.policy import supervised_caseworkers
from ..casefile.tables import CaseStaffRecord, OrganisationRecord, TeamMemberRecord, TeamRecord
from ..clock import Clock
from ..db import transaction
from ..errors import FieldError, Forbidden, FormInvalid, InvalidState, NotFound
from ..models import MAX_ID, CaseRecord, CaseStatus, TaskRecord, TaskStatus, UserRecord
from ..ops.tables import NotificationRecord
from ..roles import Role
from ..runtime.forms import JAPAN, today_in_japan
from .cases import join_staff

# Review steps of the shipped 孤独・孤立 process (bpmn/kodoku_koritsu_case): what "overdue reviews" counts.
REVIEW_ELEMENTS = ("review_assessment", "follow_up_review", "consent_renewal", "crisis_review")
# Tasks a process opens because something ran late (their `notify` property is "escalation").
ESCALATION_ELEMENTS = ("review_escalation", "action_reassign")
DUE_SOON_DAYS = 7
REASON_MAX = 500
ROW_LIMIT = 200  # a list behind a number shows at most this many tasks, most at risk first

LISTS = ("overdue", "reviews", "due_soon", "unassigned", "escalations", "caseworker", "body")

SUBJECTS = {
    "task_reassigned": {"ja": "タスク「{task}」（ケース {case}）が引き継がれました",
                        "en": "Task “{task}” (case {case}) was handed to you"},
    "task_taken_away": {"ja": "担当していたタスク「{task}」（ケース {case}）が他の職員に移りました",
                        "en": "Task “{task}” (case {case}) was handed to someone else"},
    "takeover_asked": {"ja": "{user} がタスク「{task}」（ケース {case}）の引き継ぎを希望しています",
                       "en": "{user} asks to take over task “{task}” (case {case})"},
    "task_due_changed": {"ja": "タスク「{task}」（ケース {case}）の期限が変わりました",
                         "en": "The due date of task “{task}” (case {case}) changed"},
}


class NotInTeam(Forbidden):
    code = "task_not_in_team"  # the task's case is not worked by the supervisor's team


class SupervisorOnly(Forbidden):
    code = "supervisor_only"


class TaskNotClaimed(InvalidState):
    code = "task_not_claimed"


class TaskAlreadyClaimed(InvalidState):
    code = "task_already_claimed"


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


def _team_cases(user: UserRecord) -> Select[Any]:
    return select(CaseStaffRecord.case_id).where(CaseStaffRecord.user_id.in_(supervised_caseworkers(user)))


def _team_tasks(user: UserRecord) -> ColumnElement[bool]:
    """Open tasks of the municipality held by a team caseworker or of a case a team caseworker works."""
    return and_(TaskRecord.municipality_id == user.municipality_id, TaskRecord.status == TaskStatus.OPEN,
                or_(TaskRecord.assignee_id.in_(supervised_caseworkers(user)), TaskRecord.case_id.in_(_team_cases(user))))


def _filter(kind: str, value: int | str | None, now: datetime) -> ColumnElement[bool]:
    overdue = TaskRecord.due_at < now
    if kind == "overdue":
        return overdue
    if kind == "reviews":
        return and_(overdue, TaskRecord.element_id.in_(REVIEW_ELEMENTS))
    if kind == "due_soon":
        return and_(TaskRecord.due_at >= now, TaskRecord.due_at < now + timedelta(days=DUE_SOON_DAYS))
    if kind == "unassigned":
        found = TaskRecord.assignee_id.is_(None)
        return and_(found, TaskRecord.role == value) if isinstance(value, str) and value else found
    if kind == "escalations":
        return TaskRecord.element_id.in_(ESCALATION_ELEMENTS)
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
    scope = _team_tasks(user)
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
        CaseRecord.id.in_(_team_cases(user)))) or 0
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
    """Open team tasks matching `where`, most at risk first (priority, then the longest overdue), with their case."""
    assignee = aliased(UserRecord)
    found = session.execute(
        select(TaskRecord.id, TaskRecord.name, TaskRecord.element_id, TaskRecord.role, TaskRecord.case_id,
               CaseRecord.reference, CaseRecord.title, TaskRecord.assignee_id, assignee.display_name,
               OrganisationRecord.name, TaskRecord.due_at, TaskRecord.priority)
        .join(CaseRecord, CaseRecord.id == TaskRecord.case_id)
        .outerjoin(assignee, assignee.id == TaskRecord.assignee_id)
        .outerjoin(OrganisationRecord, OrganisationRecord.id == TaskRecord.candidate_body_id)
        .where(_team_tasks(user), where)
        .order_by(TaskRecord.priority.desc(), TaskRecord.due_at.is_(None), TaskRecord.due_at, TaskRecord.id)
        .limit(limit)).all()
    return [_task_row(row, now) for row in found]


def _task_row(row: Any, now: datetime) -> TaskRow:
    due = row[10]
    return TaskRow(id=row[0], name=row[1], element_id=row[2], role=row[3], case_id=row[4], case_reference=row[5],
                   case_title=row[6], assignee_id=row[7], assignee_name=row[8], body_name=row[9], due_at=due,
                   priority=row[11], overdue=due is not None and due < now)


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
                   CaseRecord.id.in_(_team_cases(user)))
            .order_by(CaseRecord.updated_at, CaseRecord.id).limit(ROW_LIMIT))]
        audit.record(session, clock, user, "supervision.listed", list="errors",
                     cases=[c.id for c in found], count=len(found))
    return found


def handover_view(session: Session, clock: Clock, user: UserRecord, task_id: object) -> tuple[TaskRecord, list[UserRecord]]:
    """A team task and the people it may be handed to; refused like a missing task outside the team."""
    require_supervisor(user)
    with transaction(session):
        task = _team_task(session, user, task_id)
        audit.record(session, clock, user, "task.viewed", case_id=task.case_id, task_id=task.id, part="handover")
    return task, eligible_people(session, clock, task)


def eligible_people(session: Session, clock: Clock, task: TaskRecord) -> list[UserRecord]:
    """Active people of the task's municipality who may work it (its role and, for a partner task, its body)."""
    people = session.scalars(select(UserRecord).where(
        UserRecord.municipality_id == task.municipality_id, UserRecord.active.is_(True))
        .order_by(UserRecord.display_name, UserRecord.id)).all()
    now = clock()
    return [p for p in people if task.role in p.role_codes and permissions.can_work_task(p, task, now)]


def can_take_over(session: Session, user: UserRecord, task: TaskRecord, now: datetime) -> bool:
    """Whether the task page offers this user "take over": a supervisor of the task's team who may work it."""
    return (Role.SUPERVISOR.value in user.role_codes and task.assignee_id not in (None, user.id)
            and _in_team(session, user, task) and permissions.can_work_task(user, task, now))


# --- commands ------------------------------------------------------------------------------------

def reassign_task(session: Session, clock: Clock, actor: UserRecord, task_id: object, assignee_id: object,
                  reason: object) -> TaskRecord:
    """Hand a team task (claimed or not) to a named person who may work it; audited, both people notified."""
    require_supervisor(actor)
    with transaction(session):
        task = _team_task(session, actor, task_id)
        text = _reason(reason, _assignee_error(session, clock, task, assignee_id))
        assignee = _person(session, assignee_id)
        _move(session, clock, actor, task, assignee, text, "task.reassigned")
    return task


def assign_task(session: Session, clock: Clock, actor: UserRecord, task_id: object, assignee_id: object,
                reason: object) -> TaskRecord:
    """Give an unassigned team task to a named person who may work it; refused if someone already has it."""
    require_supervisor(actor)
    with transaction(session):
        task = _team_task(session, actor, task_id)
        if task.assignee_id is not None:
            raise TaskAlreadyClaimed(f"task '{task.element_id}' is already assigned", element=task.element_id)
        text = _reason(reason, _assignee_error(session, clock, task, assignee_id))
        _move(session, clock, actor, task, _person(session, assignee_id), text, "task.assigned")
    return task


def take_over_task(session: Session, clock: Clock, actor: UserRecord, task_id: object, reason: object) -> TaskRecord:
    """A supervisor takes a task someone else claimed, in one step; the previous holder is told."""
    require_supervisor(actor)
    with transaction(session):
        task = _team_task(session, actor, task_id)
        if task.assignee_id in (None, actor.id):
            raise TaskNotClaimed(f"task '{task.element_id}' is not claimed by someone else", element=task.element_id)
        if not permissions.can_work_task(actor, task, clock()):
            raise Forbidden(f"task '{task.element_id}' needs the role '{task.role}'", element=task.element_id)
        _move(session, clock, actor, task, actor, _reason(reason), "task.taken_over")
    return task


def unclaim_task(session: Session, clock: Clock, actor: UserRecord, task_id: object, reason: object) -> TaskRecord:
    """Give a claimed task back to everyone of its role: its holder, or a supervisor of its team."""
    with transaction(session):
        task = _task(session, task_id)
        if task.assignee_id != actor.id:
            require_supervisor(actor)
            task = _team_task(session, actor, task_id)
        if task.assignee_id is None:
            raise TaskNotClaimed(f"task '{task.element_id}' is not claimed", element=task.element_id)
        text = _reason(reason)
        before = task.assignee
        task.assignee_id = None
        _touch(task, clock)
        audit.record(session, clock, actor, "task.unclaimed", case_id=task.case_id, task_id=task.id,
                     element=task.element_id, name=task.name, before=before.id if before else None, after=None,
                     reason=text)
        if before is not None and before.id != actor.id:
            _notify(session, clock, before, "task_taken_away", task, actor)
    return task


def change_due_date(session: Session, clock: Clock, actor: UserRecord, task_id: object, due_on: object,
                    reason: object) -> TaskRecord:
    """Move a team task's due date (today or later, Japan's calendar; due at the day's end); the holder is told."""
    require_supervisor(actor)
    with transaction(session):
        task = _team_task(session, actor, task_id)
        errors: list[FieldError] = []
        day = _date(due_on)
        if day is None:
            errors.append(FieldError("due_on", "required" if not due_on else "format", {"format": "date"}))
        elif day < today_in_japan(clock()):
            errors.append(FieldError("due_on", "date_in_past", {"limit": today_in_japan(clock()).isoformat()}))
        text = _reason(reason, errors)
        if day is None:  # _reason raised for it already; kept for the type checker
            raise FormInvalid(errors, element="handover")
        before = task.due_at
        task.due_at = datetime.combine(day, time(23, 59, 59), JAPAN)
        task.due_soon_noticed_at = task.overdue_noticed_at = None  # announce the new date when it comes
        _touch(task, clock)
        audit.record(session, clock, actor, "task.due_changed", case_id=task.case_id, task_id=task.id,
                     element=task.element_id, name=task.name, before=before.isoformat() if before else None,
                     after=task.due_at.isoformat(), reason=text)
        if task.assignee is not None and task.assignee.id != actor.id:
            _notify(session, clock, task.assignee, "task_due_changed", task, actor)
    return task


def ask_to_take_over(session: Session, clock: Clock, actor: UserRecord, task_id: object) -> TaskRecord:
    """Someone who may work a task claimed by another asks its holder to hand it over; audited and notified."""
    with transaction(session):
        task = _task(session, task_id)
        permissions.require_task_work(actor, task, clock())
        holder = task.assignee
        if holder is None or holder.id == actor.id:
            raise TaskNotClaimed(f"task '{task.element_id}' is not claimed by someone else", element=task.element_id)
        _notify(session, clock, holder, "takeover_asked", task, actor)
        audit.record(session, clock, actor, "task.takeover_asked", case_id=task.case_id, task_id=task.id,
                     element=task.element_id, name=task.name, holder=holder.id)
    return task


# --- helpers -------------------------------------------------------------------------------------

def _task(session: Session, task_id: object) -> TaskRecord:
    ident = _int(task_id)
    task = session.get(TaskRecord, ident) if ident is not None else None
    if task is None:
        raise NotFound("no such task", element=str(task_id))
    if task.status != TaskStatus.OPEN:
        raise InvalidState(f"task '{task.element_id}' is no longer open", element=task.element_id)
    return task


def _in_team(session: Session, user: UserRecord, task: TaskRecord) -> bool:
    return task.municipality_id == user.municipality_id and session.scalar(
        select(TaskRecord.id).where(TaskRecord.id == task.id, _team_tasks(user))) is not None


def _team_task(session: Session, user: UserRecord, task_id: object) -> TaskRecord:
    """An open task of the supervisor's team; another team's task is refused as if it did not exist."""
    ident = _int(task_id)
    task = session.get(TaskRecord, ident) if ident is not None else None
    if task is None or task.municipality_id != user.municipality_id:
        raise NotFound("no such task", element=str(task_id))
    if not _in_team(session, user, task):
        if task.status != TaskStatus.OPEN:
            raise InvalidState(f"task '{task.element_id}' is no longer open", element=task.element_id)
        raise NotInTeam("the task's case is not worked by your team", element=task.element_id)
    return task


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isdigit() and len(value.strip()) < 12:
        number = int(value.strip())
    else:
        return None
    return number if 0 < number <= MAX_ID else None


def _date(value: object) -> date | None:
    if isinstance(value, date) or not (isinstance(value, str) and len(value) == 10):
        return value if isinstance(value, date) else None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _person(session: Session, user_id: object) -> UserRecord:
    ident = _int(user_id)
    person = session.get(UserRecord, ident) if ident is not None else None
    if person is None:  # checked by _assignee_error before: never reached with a bad id
        raise NotFound("no such person", element=str(user_id))
    return person


def _assignee_error(session: Session, clock: Clock, task: TaskRecord, user_id: object) -> list[FieldError]:
    ident = _int(user_id)
    if ident is None:
        return [FieldError("assignee", "required")]
    person = session.get(UserRecord, ident)
    if person is None or not permissions.can_work_task(person, task, clock()):
        return [FieldError("assignee", "not_eligible")]
    if person.id == task.assignee_id:
        return [FieldError("assignee", "same_assignee")]
    return []


def _reason(value: object, errors: list[FieldError] | None = None) -> str:
    """The required reason, stripped; raises `FormInvalid` with it and any other field errors."""
    errors = list(errors or [])
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        errors.append(FieldError("reason", "required"))
    elif len(text) > REASON_MAX:
        errors.append(FieldError("reason", "maxLength", {"limit": REASON_MAX}))
    if errors:
        raise FormInvalid(errors, element="handover")
    return text


def _move(session: Session, clock: Clock, actor: UserRecord, task: TaskRecord, assignee: UserRecord, reason: str,
          action: str) -> None:
    before = task.assignee
    task.assignee_id = assignee.id
    task.assignee = assignee
    join_staff(session, task.case_id, assignee, clock())
    _touch(task, clock)
    audit.record(session, clock, actor, action, case_id=task.case_id, task_id=task.id, element=task.element_id,
                 name=task.name, before=before.id if before else None, after=assignee.id, reason=reason)
    if assignee.id != actor.id:
        _notify(session, clock, assignee, "task_reassigned", task, actor)
    if before is not None and before.id not in (actor.id, assignee.id):
        _notify(session, clock, before, "task_taken_away", task, actor)


def _touch(task: TaskRecord, clock: Clock) -> None:
    # Writing the case row bumps its version: a completion racing this hand-over fails with a conflict.
    task.case.updated_at = clock()
    flag_modified(task.case, "updated_at")


def _notify(session: Session, clock: Clock, user: UserRecord, kind: str, task: TaskRecord, actor: UserRecord) -> None:
    """One notice per user, kind and task (the table's rule): a repeated hand-over renews it as unread."""
    if not user.active:
        return
    language = user.locale if user.locale in ("ja", "en") else "ja"
    subject = SUBJECTS[kind][language].format(task=task.name, case=task.case.reference or task.case_id,
                                              user=actor.display_name)[:300]
    now = clock()
    notice = session.scalar(select(NotificationRecord).where(
        NotificationRecord.user_id == user.id, NotificationRecord.kind == kind, NotificationRecord.task_id == task.id))
    if notice is None:
        notice = NotificationRecord(user_id=user.id, kind=kind, case_id=task.case_id, task_id=task.id)
        session.add(notice)
    notice.subject, notice.created_at, notice.read_at = subject, now, None
    notice.mail_to = user.email
    notice.mail_status = "pending" if user.email else None
    notice.mail_next_attempt_at = now if user.email else None
