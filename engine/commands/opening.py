"""Opening a case with its first form: the process started and its first task completed in one command.

An outside system (the API's start with data, as Camunda's start with variables) hands over the intake it
already took; a refused form opens nothing, so no case is ever left without its first record.
Load, run, write, as every command: the case, its first task and the rows the task's record writer makes
are prepared in memory with reserved ids while the process's scripts run, and written together after.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from sqlalchemy.orm import Session

from .. import audit
from ..access import permissions
from ..casefile.records import RecordContext, write_record
from ..clock import DEFAULT_ZONE, Clock
from ..db import flush_in_table_order, reserve_id, transaction
from ..errors import Forbidden, InvalidState
from ..models import (
    CaseRecord,
    CaseStatus,
    FormSubmissionRecord,
    ProcessVersionRecord,
    TaskRecord,
    TaskStatus,
    UserRecord,
)
from ..records.retention import stamp_opening
from ..runtime.forms import validate_form, with_defaults
from ..runtime.kinds import CONTACT_KINDS, RECORD_PROPERTY
from ..runtime.stored_versions import files_of, spec_of
from ..runtime.workflow import (
    StepFailed,
    UserTaskView,
    complete_user_task,
    new_workflow,
    ready_user_tasks,
    start_workflow,
)
from .cases import NO_FORM, join_staff, record_step, run_step, task_row, workflow_data
from .task_roles import role_map_of
from .versions import not_deployed


def open_with_form(session: Session, clock: Clock, actor: UserRecord, version: ProcessVersionRecord, title: str,
                   data: dict[str, Any], *, person_id: int | None = None, episode: int = 1,
                   previous_case_id: int | None = None) -> CaseRecord:
    """Open a case on `version` and complete its first task with `data`, as its starter.

    Refused, with nothing written, when the process fails or does not wait on exactly one task before
    the form could be taken, when that task is not the starter's to work, or when the form is invalid.
    A failure of the steps after the first task stops the case on an error, as completing it would.
    """
    with transaction(session):
        with session.no_autoflush:  # everything is prepared in memory; nothing is written (or locked) yet
            permissions.require_case_start(actor)
            if version.municipality_id not in (None, actor.municipality_id):
                raise not_deployed(version.process_id)  # another municipality's version: as if it did not exist
            workflow = new_workflow(spec_of(version))
            _refuse(run_step(clock, workflow, lambda: start_workflow(workflow)))
            first = _first_task(workflow, version)
            now = clock()
            case = CaseRecord(id=reserve_id(session, CaseRecord), municipality_id=actor.municipality_id,
                              process_version_id=version.id, title=title.strip() or version.name,
                              status=CaseStatus.RUNNING, workflow_state="", person_id=person_id, episode=episode,
                              previous_case_id=previous_case_id, created_by_id=actor.id, created_at=now,
                              updated_at=now)
            case.reference = f"{now.astimezone(ZoneInfo(DEFAULT_ZONE)).year}-{case.id:06d}"
            case.process_version = version
            task = task_row(session, case, role_map_of(version), first, now)
            if task.role not in actor.role_codes or task.candidate_body_id is not None:
                raise Forbidden(f"task '{task.element_id}' needs the role '{task.role}'", element=task.element_id)
            schema = json.loads(files_of(version)[task.form_file]) if task.form_file else NO_FORM
            data = with_defaults(schema, data)
            validate_form(schema, data, element=task.element_id, now=now)
            task.id = reserve_id(session, TaskRecord)
            step_data = workflow_data(data, first.properties)
            if first.properties.get(RECORD_PROPERTY):  # its rows wait, with reserved ids, until the step has run
                context = RecordContext(session, clock, actor, case, task, version)
                step_data.update(write_record(context, first.properties[RECORD_PROPERTY], data))
            failure = run_step(clock, workflow, lambda: complete_user_task(workflow, first.spiff_id, step_data))
            _record_opening(session, clock, actor, case, task, version, data, now)
            record_step(session, clock, actor, case, workflow, failure)
        flush_in_table_order(session)  # parents first: the person before the case, the case before its rows
    return case


def _refuse(failure: StepFailed | None) -> None:
    if failure is not None:
        raise InvalidState(f"the process failed before its first task: {failure.message}", element=failure.element)


def _first_task(workflow: BpmnWorkflow, version: ProcessVersionRecord) -> UserTaskView:
    ready = ready_user_tasks(workflow)
    if len(ready) != 1:
        raise InvalidState("the process does not begin with one task whose form could be given",
                           element=version.process_id)
    return ready[0]


def _record_opening(session: Session, clock: Clock, actor: UserRecord, case: CaseRecord, task: TaskRecord,
                    version: ProcessVersionRecord, data: dict[str, Any], now: datetime) -> None:
    """The rows of the opening itself: the case, its completed first task, the submission, staff and audit."""
    task.status, task.completed_at, task.completed_by_id, task.assignee_id = TaskStatus.COMPLETED, now, actor.id, actor.id
    if task.kind in CONTACT_KINDS:
        case.last_contact_at = now
    session.add_all([case, task])
    join_staff(session, case.id, actor, now, new_case=True)
    stamp_opening(session, case)  # retention counted from the opening
    if task.form_file:
        session.add(FormSubmissionRecord(case_id=case.id, task_id=task.id, form_id=task.form_file,
                                         form_version=version.content_hash, data=data,
                                         submitted_by_id=actor.id, submitted_at=now))
    audit.record(session, clock, actor, "case.started", case_id=case.id, episode=case.episode, referral=False,
                 previous_case=case.previous_case_id, process=version.process_id, version=version.content_hash[:12],
                 with_form=True)
    audit.record(session, clock, actor, "task.completed", case_id=case.id, task_id=task.id,
                 element=task.element_id, name=task.name)
