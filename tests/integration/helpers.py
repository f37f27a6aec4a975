"""Read what a command left in the database through a separate session, as another request would."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import undefer

from tsunagu.engine.models import AuditRecord, CaseRecord, FormSubmissionRecord, TaskRecord


def reload_case(session_factory, case_id: int) -> CaseRecord:
    """The case as stored, with its workflow state (deferred in the model), readable after the session."""
    with session_factory() as session:
        return session.get(CaseRecord, case_id, options=[undefer(CaseRecord.workflow_state)])


def task_rows(session_factory, case_id: int) -> list[TaskRecord]:
    with session_factory() as session:
        return list(session.scalars(select(TaskRecord).where(TaskRecord.case_id == case_id)
                                    .order_by(TaskRecord.id)))


def open_task(session_factory, case_id: int) -> TaskRecord:
    """The single open task of a case."""
    (task,) = [t for t in task_rows(session_factory, case_id) if t.status.value == "open"]
    return task


def submissions(session_factory, case_id: int) -> list[FormSubmissionRecord]:
    with session_factory() as session:
        return list(session.scalars(select(FormSubmissionRecord)
                                    .where(FormSubmissionRecord.case_id == case_id)))


def audit_actions(session_factory, case_id: int) -> list[str]:
    with session_factory() as session:
        return list(session.scalars(select(AuditRecord.action).where(AuditRecord.case_id == case_id)
                                    .order_by(AuditRecord.id)))


def count(session_factory, model) -> int:
    with session_factory() as session:
        return session.scalar(select(func.count()).select_from(model))
