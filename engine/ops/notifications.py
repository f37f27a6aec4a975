"""Notices to people: a task offered or assigned to them, due soon, overdue, or escalated."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from ..clock import Clock
from ..db import transaction
from ..models import CaseRecord, TaskRecord, TaskStatus, UserRecord, UserRoleRecord
from ..roles import Role
from .tables import NotificationRecord

SUBJECTS = {
    "task_assigned": {"ja": "新しいタスク「{task}」（ケース {case}）", "en": "New task “{task}” (case {case})"},
    "task_due_soon": {"ja": "期限が近いタスク「{task}」（ケース {case}）", "en": "Task “{task}” is due soon (case {case})"},
    "task_overdue": {"ja": "期限を過ぎたタスク「{task}」（ケース {case}）", "en": "Task “{task}” is overdue (case {case})"},
    "task_escalated": {"ja": "エスカレーション「{task}」（ケース {case}）", "en": "Escalation “{task}” (case {case})"},
    "break_glass": {"ja": "緊急閲覧: {user} がケース {case} を開きました", "en": "Break-glass: {user} opened case {case}"},
}
# A user task's `notify` property: who hears about it when it is created.
NOTIFY_PROPERTY = "notify"


def notify(session: Session, clock: Clock, user: UserRecord, kind: str, task: TaskRecord) -> NotificationRecord | None:
    """Add one notice (once per user, kind and task) in the current transaction; mail it if possible."""
    exists = session.scalar(select(NotificationRecord.id).where(
        NotificationRecord.user_id == user.id, NotificationRecord.kind == kind, NotificationRecord.task_id == task.id))
    if exists or not user.active:
        return None
    language = user.locale if user.locale in ("ja", "en") else "ja"
    subject = SUBJECTS[kind][language].format(task=task.name, case=task.case.reference if task.case else task.case_id)
    now = clock()
    notice = NotificationRecord(user_id=user.id, kind=kind, case_id=task.case_id, task_id=task.id, subject=subject,
                                created_at=now, mail_to=user.email, mail_status="pending" if user.email else None,
                                mail_next_attempt_at=now if user.email else None)
    session.add(notice)
    return notice


def renew_notice(session: Session, clock: Clock, user: UserRecord, kind: str, task: TaskRecord, subject: str) -> None:
    """A notice a person asked for again (a hand-over, a request): one per user, kind and task (the
    table's rule), so a repeat renews it as unread and mails it again."""
    if not user.active:
        return
    now = clock()
    notice = session.scalar(select(NotificationRecord).where(
        NotificationRecord.user_id == user.id, NotificationRecord.kind == kind, NotificationRecord.task_id == task.id))
    if notice is None:
        notice = NotificationRecord(user_id=user.id, kind=kind, case_id=task.case_id, task_id=task.id)
        session.add(notice)
    notice.subject, notice.created_at, notice.read_at = subject[:300], now, None
    notice.mail_to = user.email
    notice.mail_status = "pending" if user.email else None
    notice.mail_next_attempt_at = now if user.email else None


def candidates(session: Session, task: TaskRecord) -> list[UserRecord]:
    """Everyone who may take an unassigned task: its role, its municipality, its member body if named."""
    query = (select(UserRecord).join(UserRoleRecord)
             .where(UserRecord.municipality_id == task.municipality_id, UserRecord.active.is_(True),
                    UserRoleRecord.role == task.role))
    if task.candidate_body_id is not None:
        query = query.where(UserRecord.organisation_id == task.candidate_body_id)
    return list(session.scalars(query.order_by(UserRecord.id)))


def supervisors(session: Session, municipality_id: int) -> list[UserRecord]:
    return list(session.scalars(select(UserRecord).join(UserRoleRecord).where(
        UserRecord.municipality_id == municipality_id, UserRecord.active.is_(True),
        UserRoleRecord.role == Role.SUPERVISOR.value).order_by(UserRecord.id)))


def announce_new_task(session: Session, clock: Clock, task: TaskRecord, properties: Mapping[str, object]) -> None:
    """Tell the right people about a task the process just created."""
    wanted = properties.get(NOTIFY_PROPERTY)
    if wanted == "escalation":
        for user in supervisors(session, task.municipality_id):
            notify(session, clock, user, "task_escalated", task)
    elif wanted == "candidates" or task.candidate_body_id is not None:
        for user in candidates(session, task):
            notify(session, clock, user, "task_assigned", task)


def announce_assignment(session: Session, clock: Clock, task: TaskRecord, assignee: UserRecord) -> None:
    notify(session, clock, assignee, "task_assigned", task)


def notice_due_tasks(session: Session, clock: Clock, due_soon_hours: int) -> int:
    """Announce open tasks that fall due within `due_soon_hours` or are overdue; each only once."""
    now = clock()
    count = 0
    soon = session.scalars(_locked(session, select(TaskRecord).where(
        TaskRecord.status == TaskStatus.OPEN, TaskRecord.due_soon_noticed_at.is_(None),
        TaskRecord.due_at > now, TaskRecord.due_at <= now + timedelta(hours=due_soon_hours)))).all()
    for task in soon:
        for user in _responsible(session, task):
            count += notify(session, clock, user, "task_due_soon", task) is not None
        task.due_soon_noticed_at = now
    overdue = session.scalars(_locked(session, select(TaskRecord).where(
        TaskRecord.status == TaskStatus.OPEN, TaskRecord.overdue_noticed_at.is_(None),
        TaskRecord.due_at <= now))).all()
    for task in overdue:
        people = {u.id: u for u in [*_responsible(session, task), *supervisors(session, task.municipality_id)]}
        for user in people.values():
            count += notify(session, clock, user, "task_overdue", task) is not None
        task.overdue_noticed_at = now
    return count


def _locked(session: Session, query: Select[TaskRecord]) -> Select[TaskRecord]:
    # Several schedulers on PostgreSQL: each task is announced by whichever locks it first.
    if session.get_bind().dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True, of=TaskRecord)
    return query


def _responsible(session: Session, task: TaskRecord) -> list[UserRecord]:
    return [task.assignee] if task.assignee is not None else candidates(session, task)


def unread_count(session: Session, user: UserRecord) -> int:
    return session.scalar(select(func.count()).select_from(NotificationRecord).where(
        NotificationRecord.user_id == user.id, NotificationRecord.read_at.is_(None))) or 0


def recent_notifications(session: Session, user: UserRecord, limit: int = 50) -> list[NotificationRecord]:
    return list(session.scalars(select(NotificationRecord).where(NotificationRecord.user_id == user.id)
                                .order_by(NotificationRecord.created_at.desc(), NotificationRecord.id.desc())
                                .limit(limit)))


def mark_all_read(session: Session, clock: Clock, user: UserRecord) -> None:
    """Mark every unread notice of the user read, as one command."""
    with transaction(session):
        session.execute(update(NotificationRecord).where(
            NotificationRecord.user_id == user.id, NotificationRecord.read_at.is_(None)).values(read_at=clock()))


def notify_break_glass(session: Session, clock: Clock, case: CaseRecord, actor: UserRecord,
                       coordinators: Sequence[UserRecord]) -> None:
    """Tell the coordinating body's staff (chosen by the caller: the council's designated body, never a
    role alone) that someone opened a case by break-glass."""
    now = clock()
    for user in coordinators:
        language = user.locale if user.locale in ("ja", "en") else "ja"
        subject = SUBJECTS["break_glass"][language].format(user=actor.display_name, case=case.reference)
        session.add(NotificationRecord(user_id=user.id, kind="break_glass", case_id=case.id, subject=subject,
                                       created_at=now, mail_to=user.email,
                                       mail_status="pending" if user.email else None,
                                       mail_next_attempt_at=now if user.email else None))
