"""Handing a team's tasks on: reassign, assign, unclaim, change a due date, take over, ask to take over.

Each is one transaction by a supervisor of the team whose cases the task belongs to (asking to take over:
anyone who may work it), with a required reason, an audit row with before and after, and a notice to
the people it concerns.
"""
from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from .. import audit
from ..access import permissions
from ..admin.checks import record_id
from ..clock import Clock
from ..db import transaction
from ..errors import FieldError, Forbidden, FormInvalid, InvalidState, NotFound
from ..models import TaskRecord, TaskStatus, UserRecord
from ..ops.notifications import renew_notice
from ..roles import Role
from ..runtime.forms import JAPAN, today_in_japan
from .cases import join_staff
from .supervision import require_supervisor, team_tasks

REASON_MAX = 500

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


class TaskNotClaimed(InvalidState):
    code = "task_not_claimed"


class TaskAlreadyClaimed(InvalidState):
    code = "task_already_claimed"



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
    ident = record_id(task_id)
    task = session.get(TaskRecord, ident) if ident is not None else None
    if task is None:
        raise NotFound("no such task", element=str(task_id))
    if task.status != TaskStatus.OPEN:
        raise InvalidState(f"task '{task.element_id}' is no longer open", element=task.element_id)
    return task


def _in_team(session: Session, user: UserRecord, task: TaskRecord) -> bool:
    return task.municipality_id == user.municipality_id and session.scalar(
        select(TaskRecord.id).where(TaskRecord.id == task.id, team_tasks(user))) is not None


def _team_task(session: Session, user: UserRecord, task_id: object) -> TaskRecord:
    """An open task of the supervisor's team; another team's task is refused as if it did not exist."""
    ident = record_id(task_id)
    task = session.get(TaskRecord, ident) if ident is not None else None
    if task is None or task.municipality_id != user.municipality_id:
        raise NotFound("no such task", element=str(task_id))
    if not _in_team(session, user, task):
        if task.status != TaskStatus.OPEN:
            raise InvalidState(f"task '{task.element_id}' is no longer open", element=task.element_id)
        raise NotInTeam("the task's case is not worked by your team", element=task.element_id)
    return task


def _date(value: object) -> date | None:
    if isinstance(value, date) or not (isinstance(value, str) and len(value) == 10):
        return value if isinstance(value, date) else None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _person(session: Session, user_id: object) -> UserRecord:
    ident = record_id(user_id)
    person = session.get(UserRecord, ident) if ident is not None else None
    if person is None:  # checked by _assignee_error before: never reached with a bad id
        raise NotFound("no such person", element=str(user_id))
    return person


def _assignee_error(session: Session, clock: Clock, task: TaskRecord, user_id: object) -> list[FieldError]:
    ident = record_id(user_id)
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
    language = user.locale if user.locale in ("ja", "en") else "ja"
    renew_notice(session, clock, user, kind, task, SUBJECTS[kind][language].format(
        task=task.name, case=task.case.reference or task.case_id, user=actor.display_name))
