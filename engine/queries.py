"""Read side: inbox lists and the case file, served from projection tables, never from workflows."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import access, audit
from .clock import Clock
from .db import transaction
from .errors import NotFound
from .models import AuditRecord, CaseRecord, FormSubmissionRecord, TaskRecord, TaskStatus, UserRecord

INBOX_LIMIT = 200


def _open_tasks(user: UserRecord):
    return (
        select(TaskRecord)
        .where(TaskRecord.status == TaskStatus.OPEN, TaskRecord.municipality_id == user.municipality_id)
        .order_by(TaskRecord.due_at.is_(None), TaskRecord.due_at, TaskRecord.priority.desc(), TaskRecord.id)
        .limit(INBOX_LIMIT)
    )


def my_tasks(session: Session, user: UserRecord) -> list[TaskRecord]:
    """Open tasks claimed by the user, soonest due first."""
    return list(session.scalars(_open_tasks(user).where(TaskRecord.assignee_id == user.id)))


def available_tasks(session: Session, user: UserRecord) -> list[TaskRecord]:
    """Unclaimed open tasks of the user's roles, soonest due first."""
    return list(session.scalars(
        _open_tasks(user).where(TaskRecord.assignee_id.is_(None), TaskRecord.role.in_(user.role_codes))
    ))


def recent_cases(session: Session, user: UserRecord, limit: int = 50) -> list[CaseRecord]:
    """The municipality's most recently changed cases, for staff who may read case files."""
    if not user.role_codes & {r.value for r in access.CASE_READERS}:
        return []
    return list(session.scalars(
        select(CaseRecord).where(CaseRecord.municipality_id == user.municipality_id)
        .order_by(CaseRecord.updated_at.desc(), CaseRecord.id.desc()).limit(limit)
    ))


@dataclass
class CaseFile:
    case: CaseRecord
    tasks: list[TaskRecord]
    submissions: list[FormSubmissionRecord]
    timeline: list[AuditRecord]


def view_case(session: Session, clock: Clock, user: UserRecord, case_id: int, part: str = "summary") -> CaseFile:
    """Open a case file for reading; the read is audited, allowed or not."""
    with transaction(session):
        case = session.get(CaseRecord, case_id)
        if case is None:
            raise NotFound("no such case", element=str(case_id))
        allowed = access.can_view_case(user, case)
        audit.record(session, clock, user, "case.viewed" if allowed else "case.view_refused",
                     case_id=case.id, part=part)
    access.require_case_view(user, case)
    return CaseFile(
        case=case,
        tasks=list(session.scalars(select(TaskRecord).where(TaskRecord.case_id == case.id)
                                   .order_by(TaskRecord.created_at, TaskRecord.id))),
        submissions=list(session.scalars(select(FormSubmissionRecord)
                                         .where(FormSubmissionRecord.case_id == case.id)
                                         .order_by(FormSubmissionRecord.submitted_at, FormSubmissionRecord.id))),
        timeline=audit.case_timeline(session, case.id),
    )


def view_task(session: Session, clock: Clock, user: UserRecord, task_id: int) -> TaskRecord:
    """Open a task to work it; like a case read, the view is audited, allowed or not."""
    with transaction(session):
        task = session.get(TaskRecord, task_id)
        if task is None:
            raise NotFound("no such task", element=str(task_id))
        allowed = access.can_work_task(user, task)
        audit.record(session, clock, user, "task.viewed" if allowed else "task.view_refused",
                     case_id=task.case_id, task_id=task.id, part="task")
    access.require_task_work(user, task)
    return task


def workable_task(session: Session, user: UserRecord, task_id: int) -> TaskRecord:
    """A task the user may work, for a command that audits itself (completion)."""
    task = session.get(TaskRecord, task_id)
    if task is None:
        raise NotFound("no such task", element=str(task_id))
    access.require_task_work(user, task)
    return task


def open_tasks_of_case(session: Session, case_id: int) -> list[TaskRecord]:
    """The tasks a case is waiting on now, oldest first."""
    return list(session.scalars(
        select(TaskRecord).where(TaskRecord.case_id == case_id, TaskRecord.status == TaskStatus.OPEN)
        .order_by(TaskRecord.id)
    ))
