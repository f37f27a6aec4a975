"""Open tasks a user may work, filtered, sorted and paged: what an API client (or any list) asks for.

The candidates are read by the database (the user's municipality, open, claimed by the user or unclaimed
and of one of the user's roles, offered to nobody or to the user's body); the rules a query cannot state
(a coordinator lane belongs to the council's coordinating body, a body's task needs a live basis) are
checked per task with the same `can_work_task` the pages use, before the page is cut.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from ..access import permissions
from ..models import CaseRecord, ProcessVersionRecord, TaskRecord, TaskStatus, UserRecord
from .queries import offered_to

# A municipality's open tasks of one person's roles: read whole, then checked and paged.
CANDIDATE_LIMIT = 5000

SORTS = {"due": TaskRecord.due_at, "followUp": TaskRecord.follow_up_at, "created": TaskRecord.created_at,
         "priority": TaskRecord.priority, "id": TaskRecord.id}


@dataclass(frozen=True)
class TaskFilters:
    assignee: int | None = None
    unassigned: bool = False
    role: str | None = None
    case_id: int | None = None
    process_key: str | None = None
    due_before: datetime | None = None
    follow_up_before: datetime | None = None
    sort_by: str = "due"
    sort_order: str = "asc"


def _candidates(user: UserRecord, filters: TaskFilters) -> Select[TaskRecord]:
    query = (select(TaskRecord)
             .where(TaskRecord.municipality_id == user.municipality_id, TaskRecord.status == TaskStatus.OPEN,
                    or_(TaskRecord.assignee_id == user.id,
                        (TaskRecord.assignee_id.is_(None) & TaskRecord.role.in_(user.role_codes)
                         & offered_to(user)))))
    if filters.assignee is not None:
        query = query.where(TaskRecord.assignee_id == filters.assignee)
    if filters.unassigned:
        query = query.where(TaskRecord.assignee_id.is_(None))
    if filters.role is not None:
        query = query.where(TaskRecord.role == filters.role)
    if filters.case_id is not None:
        query = query.where(TaskRecord.case_id == filters.case_id)
    if filters.process_key is not None:
        query = query.where(TaskRecord.case_id.in_(
            select(CaseRecord.id).join(ProcessVersionRecord, ProcessVersionRecord.id == CaseRecord.process_version_id)
            .where(ProcessVersionRecord.process_id == filters.process_key)))
    if filters.due_before is not None:
        query = query.where(TaskRecord.due_at < filters.due_before)
    if filters.follow_up_before is not None:
        query = query.where(TaskRecord.follow_up_at < filters.follow_up_before)
    column = SORTS[filters.sort_by]
    order = column.desc() if filters.sort_order == "desc" else column.asc()
    return query.order_by(column.is_(None), order, TaskRecord.id).limit(CANDIDATE_LIMIT)


def workable_tasks(session: Session, user: UserRecord, filters: TaskFilters, now: datetime) -> list[TaskRecord]:
    """Every open task the user may work that matches `filters`, in the asked order (at most CANDIDATE_LIMIT)."""
    return [task for task in session.scalars(_candidates(user, filters))
            if task.assignee_id == user.id or permissions.can_work_task(user, task, now)]
