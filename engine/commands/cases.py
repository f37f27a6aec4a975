"""Case commands: start, complete, claim, retry. Each is one transaction with its audit row."""
from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, lazyload, undefer
from sqlalchemy.orm.attributes import flag_modified

from .. import audit
from ..access import permissions
from ..casefile.records import RecordContext, close_open_actions, write_record
from ..casefile.tables import CaseStaffRecord
from ..clock import DEFAULT_ZONE, Clock
from ..db import transaction
from ..errors import Conflict, Forbidden, InvalidState, NotFound
from ..models import (
    CaseRecord,
    CaseStatus,
    FormSubmissionRecord,
    ProcessVersionRecord,
    TaskRecord,
    TaskStatus,
    UserRecord,
    with_case_state,
)
from ..ops.notifications import announce_assignment, announce_new_task
from ..ops.tables import IncidentRecord
from ..records.retention import stamp_closure, stamp_opening
from ..runtime.forms import today_in_japan, validate_form, with_defaults
from ..runtime.kinds import CONTACT_KINDS, RECORD_PROPERTY, task_kind
from ..runtime.roles_map import RoleMap
from ..runtime.stored_versions import files_of, spec_of
from ..runtime.timers import engine_time, next_timer_at
from ..runtime.workflow import (
    StepFailed,
    UserTaskView,
    catch_message,
    complete_user_task,
    dump_state,
    load_state,
    new_workflow,
    parse_duration,
    raise_signal,
    ready_user_tasks,
    retry_failed_tasks,
    sent_messages,
    start_workflow,
    status_of,
    waits_for_message,
)
from .drafts import discard_drafts
from .task_roles import resolve_role, role_map_of
from .versions import not_deployed

# A user task may list the form fields its gateways need; only those enter workflow data.
WORKFLOW_FIELDS_PROPERTY = "workflowFields"
CANDIDATE_BODY_PROPERTY = "candidateBody"


# A permission check a command asks before it loads a case: raises unless the user may act on it now.
Requirement = Callable[[UserRecord, CaseRecord, datetime], None]

NO_FORM: dict[str, Any] = {"type": "object"}
CONCERN_FORM = "concern-schema.json"  # the process folder's form for a lay referrer's concern
SUSPENDED_CASE = "the case is suspended at the person's request to stop its use"


def start_case(session: Session, clock: Clock, actor: UserRecord, version: ProcessVersionRecord,
               title: str, *, person_id: int | None = None, episode: int = 1,
               previous_case_id: int | None = None, concern: dict[str, Any] | None = None) -> CaseRecord:
    """Open a case on a process version and run it to its first task (a reopened case: a new episode).

    With `concern`, a lay referrer (つながりサポーター) opens it: the concern form is validated and stored
    as the case's first record, and the referrer gains no access to the case.
    """
    with transaction(session):
        with session.no_autoflush:  # load and run: nothing is written (or locked) while the scripts run
            if concern is None:
                permissions.require_case_start(actor)
            else:
                permissions.require_referral(actor)
            if version.municipality_id not in (None, actor.municipality_id):
                raise not_deployed(version.process_id)  # another municipality's version: as if it did not exist
            if concern is not None:
                concern = _valid_concern(version, concern)
            workflow = new_workflow(spec_of(version))
            failure = run_step(clock, workflow, lambda: start_workflow(workflow))
        now = clock()
        case = CaseRecord(municipality_id=actor.municipality_id, process_version_id=version.id,
                          title=title.strip() or version.name, status=CaseStatus.RUNNING, workflow_state="",
                          person_id=person_id, episode=episode, previous_case_id=previous_case_id,
                          created_by_id=actor.id, created_at=now, updated_at=now)
        session.add(case)
        session.flush()
        join_staff(session, case.id, actor, now, new_case=True)
        case.reference = f"{now.astimezone(ZoneInfo(DEFAULT_ZONE)).year}-{case.id:06d}"
        stamp_opening(session, case)  # retention counted from the opening
        if concern is not None:
            session.add(FormSubmissionRecord(case_id=case.id, task_id=None, form_id=CONCERN_FORM,
                                             form_version=version.content_hash, data=concern,
                                             submitted_by_id=actor.id, submitted_at=now))
        audit.record(session, clock, actor, "case.started", case_id=case.id, episode=episode, referral=concern is not None,
                     previous_case=previous_case_id, process=version.process_id,
                     version=version.content_hash[:12])
        record_step(session, clock, actor, case, workflow, failure)
    return case


def complete_task(session: Session, clock: Clock, actor: UserRecord, task_id: int,
                  data: dict[str, Any]) -> CaseRecord:
    """Validate the form, complete the task and run the process on; a conflict changes nothing."""
    with transaction(session):
        with session.no_autoflush:  # load and run: nothing is written (or locked) while the scripts run
            task = _workable_task(session, clock, actor, task_id)
            case = task.case
            version = case.process_version
            # A task without a form (a manual task, a user task with only instructions): its page posts nothing.
            schema = json.loads(files_of(version)[task.form_file]) if task.form_file else NO_FORM
            data = with_defaults(schema, data)
            validate_form(schema, data, element=task.element_id, now=clock())
            workflow = load_state(spec_of(version), case.workflow_state)
            props = _task_properties(workflow, task)
            step_data = workflow_data(data, props)
            if props.get(RECORD_PROPERTY):  # its rows wait, with reserved ids, until the step has run
                context = RecordContext(session, clock, actor, case, task, version)
                step_data.update(write_record(context, props[RECORD_PROPERTY], data))
            failure = run_step(clock, workflow, lambda: complete_user_task(workflow, task.spiff_task_id, step_data))
            _lock_case(session, case)  # the first write: of two racers the second fails here
            now = clock()  # the case row is flushed once, by record_step, so its version moves by one
            task.status, task.completed_at, task.completed_by_id = TaskStatus.COMPLETED, now, actor.id
            task.assignee_id = actor.id
            if task.kind in CONTACT_KINDS:  # the ledger's "days since the last contact" counts from here
                case.last_contact_at = now
            join_staff(session, case.id, actor, now)
            if task.form_file:  # a task without a form leaves no submission: its audit row says it was done
                session.add(FormSubmissionRecord(case_id=case.id, task_id=task.id, form_id=task.form_file,
                                                 form_version=version.content_hash, data=data,
                                                 submitted_by_id=actor.id, submitted_at=now))
            discard_drafts(session, task.id)  # the answers are stored now: nobody's unsent input is kept
            audit.record(session, clock, actor, "task.completed", case_id=case.id, task_id=task.id,
                         element=task.element_id, name=task.name)
        record_step(session, clock, actor, case, workflow, failure)
    return case


def _workable_task(session: Session, clock: Clock, actor: UserRecord, task_id: int) -> TaskRecord:
    """An open task the actor may work now, not claimed by someone else, of a case not stopped on an error."""
    task = _open_task(session, task_id, actor, clock())
    permissions.require_task_work(actor, task, clock())
    if task.assignee_id not in (None, actor.id):
        raise Conflict(f"task '{task.element_id}' is claimed by someone else", element=task.element_id)
    if task.case.status == CaseStatus.ERROR:
        raise InvalidState("the case is stopped on an error; an operator must retry it first",
                           element=task.case.error_element)
    if task.case.status == CaseStatus.SUSPENDED:  # at the person's request to stop its use (privacy law Art. 98)
        raise InvalidState(SUSPENDED_CASE, element=task.case.reference)
    return task


def raise_task_signal(session: Session, clock: Clock, actor: UserRecord, task_id: int, signal: str) -> CaseRecord:
    """Raise a signal offered on a task (its signal boundary event): the case follows the boundary path."""
    with transaction(session):
        with session.no_autoflush:  # load and run: nothing is written (or locked) while the scripts run
            task = _workable_task(session, clock, actor, task_id)
            case = task.case
            workflow = load_state(spec_of(case.process_version), case.workflow_state)
            _task_properties(workflow, task)  # Conflict if the task no longer waits
            failure = run_step(clock, workflow, lambda: raise_signal(workflow, task.spiff_task_id, signal))
            _lock_case(session, case)
            join_staff(session, case.id, actor, clock())
            audit.record(session, clock, actor, "task.signal_raised", case_id=case.id, task_id=task.id,
                         element=task.element_id, name=task.name, signal=signal)
        record_step(session, clock, actor, case, workflow, failure)
    return case


def claim_task(session: Session, clock: Clock, actor: UserRecord, task_id: int) -> TaskRecord:
    """Take an open task of one's role so that nobody else works it."""
    with transaction(session):
        task = _open_task(session, task_id, actor, clock())
        permissions.require_task_work(actor, task, clock())
        if task.assignee_id not in (None, actor.id):
            raise Conflict(f"task '{task.element_id}' is already claimed", element=task.element_id)
        if task.case.status == CaseStatus.SUSPENDED:
            raise InvalidState(SUSPENDED_CASE, element=task.case.reference)
        task.assignee_id = actor.id
        join_staff(session, task.case_id, actor, clock())
        _touch(task.case, clock)
        audit.record(session, clock, actor, "task.claimed", case_id=task.case_id, task_id=task.id,
                     element=task.element_id, name=task.name)
    return task


def assign_task(session: Session, clock: Clock, actor: UserRecord, task_id: int, assignee_id: int) -> TaskRecord:
    """A supervisor hands an open task to a named person who may work it; that person is notified."""
    with transaction(session):
        task = _open_task(session, task_id)
        permissions.require_task_assignment(actor, task)
        assignee = session.get(UserRecord, assignee_id)
        if assignee is None or not permissions.can_work_task(assignee, task, clock()):
            raise Forbidden(f"this person may not work task '{task.element_id}'", element=task.element_id)
        task.assignee_id = assignee.id
        join_staff(session, task.case_id, assignee, clock())
        _touch(task.case, clock)
        audit.record(session, clock, actor, "task.assigned", case_id=task.case_id, task_id=task.id,
                     element=task.element_id, name=task.name, assignee=assignee.id)
        announce_assignment(session, clock, task, assignee)
    return task


def unclaim_task(session: Session, clock: Clock, actor: UserRecord, task_id: int) -> TaskRecord:
    """Give a claimed task back to everyone of its role."""
    with transaction(session):
        task = _open_task(session, task_id, actor, clock())
        permissions.require_task_work(actor, task, clock())
        if task.assignee_id != actor.id:
            raise Conflict(f"task '{task.element_id}' is not claimed by you", element=task.element_id)
        task.assignee_id = None
        _touch(task.case, clock)
        audit.record(session, clock, actor, "task.unclaimed", case_id=task.case_id, task_id=task.id,
                     element=task.element_id, name=task.name)
    return task


def retry_case(session: Session, clock: Clock, actor: UserRecord, case_id: int) -> CaseRecord:
    """Run a case's failed step again after its cause was fixed."""
    with transaction(session):
        case = session.get(CaseRecord, case_id, options=[undefer(CaseRecord.workflow_state)])
        if case is None:
            raise NotFound("no such case", element=str(case_id))
        permissions.require_operator(actor, case)
        if case.status != CaseStatus.ERROR:
            raise InvalidState("the case is not in the error state", element=case.reference)
        workflow = load_state(spec_of(case.process_version), case.workflow_state)
        failure = run_step(clock, workflow, lambda: retry_failed_tasks(workflow))
        audit.record(session, clock, actor, "case.retried", case_id=case.id, element=case.error_element)
        resolve_incidents(session, clock, actor, case.id)
        case.timer_attempts = 0
        record_step(session, clock, actor, case, workflow, failure)
    return case


def _valid_concern(version: ProcessVersionRecord, data: dict[str, Any]) -> dict[str, Any]:
    if CONCERN_FORM not in files_of(version):
        raise InvalidState("this process takes no referrals (it has no concern form)", element=CONCERN_FORM)
    schema = json.loads(files_of(version)[CONCERN_FORM])
    data = with_defaults(schema, data)
    validate_form(schema, data, element="concern")
    return data


def load_case_for_update(session: Session, clock: Clock, actor: UserRecord, case_id: int,
                         require: Requirement) -> tuple[CaseRecord, BpmnWorkflow]:
    """A running case and its restored workflow, after `require(actor, case, now)` allowed the command."""
    case = session.get(CaseRecord, case_id, options=[undefer(CaseRecord.workflow_state)])
    if case is None:
        raise NotFound("no such case", element=str(case_id))
    require(actor, case, clock())
    if case.status in (CaseStatus.ERROR, CaseStatus.COMPLETED, CaseStatus.SUSPENDED):
        raise InvalidState(f"the case is {case.status.value}", element=case.reference)
    return case, load_state(spec_of(case.process_version), case.workflow_state)


def advance(session: Session, clock: Clock, actor: UserRecord | None, case: CaseRecord, workflow: BpmnWorkflow,
            step: Callable[[], object], *, raise_failure: bool = False) -> None:
    """Run one engine step, then project its outcome onto the case and task rows.

    A failing step stops the case in the error state, unless `raise_failure` asks the caller (the
    timer scheduler, which retries with backoff) to handle it; nothing has been written then.
    Callers must not have written before (see `run_step`).
    """
    failure = run_step(clock, workflow, step)
    if failure is not None and raise_failure:
        raise failure
    record_step(session, clock, actor, case, workflow, failure)


def run_step(clock: Clock, workflow: BpmnWorkflow, step: Callable[[], object]) -> StepFailed | None:
    """Run one engine step (the process's scripts, conditions and decisions) and say how it failed, if it did.

    Load, run, then write: a command runs this before its first write, so that on SQLite no
    transaction holds the database's write lock while user-supplied code runs (in the sandbox, up
    to its deadline); a slow step makes one command slow, never the whole municipality.
    """
    try:
        with engine_time(clock):
            step()
    except StepFailed as failure:
        return failure
    return None


def record_step(session: Session, clock: Clock, actor: UserRecord | None, case: CaseRecord, workflow: BpmnWorkflow,
                failure: StepFailed | None, *, hops: int = 0) -> None:
    """Project a step's outcome onto the case and task rows: its error state, or where the process now waits.

    Messages the step sent that its own case did not catch go on to the municipality's cases waiting
    for them under the same correlation, in this transaction.
    """
    outbox = sent_messages(workflow)  # taken before saving: a sent message is never stored as pending
    if failure is not None:
        case.status = CaseStatus.ERROR
        case.error_element = failure.element
        case.error_message = failure.message
        case.error_line = failure.details.get("line")
        audit.record(session, clock, actor, "case.error", case_id=case.id, element=failure.element,
                     message=failure.message, line=failure.details.get("line"))
    else:
        case.error_element = case.error_message = case.error_line = None
        case.status = status_of(workflow)
        _mirror_variables(case, workflow)
        if case.status == CaseStatus.COMPLETED:
            case.completed_at = clock()
            stamp_closure(session, case)  # retention counted from the closure
            # A path that closes without the closure form (e.g. referral out) names its reason in data.
            case.closure_reason = case.closure_reason or workflow.data.get("closure_reason")
            audit.record(session, clock, actor, "case.completed", case_id=case.id)
    case.workflow_state = dump_state(workflow)
    case.next_timer_at = None if case.status == CaseStatus.ERROR else next_timer_at(workflow)
    _touch(case, clock)
    # The reads come after every change to the case, so that its row is written (and its version moved) once.
    if case.status == CaseStatus.COMPLETED:
        close_open_actions(session, clock, case.id)
    _sync_tasks(session, clock, case, workflow)
    if failure is None:
        _deliver_to_other_cases(session, clock, actor, case, outbox, hops)


# Process variables the case carries for lists to sort and count by: the triage's risk level (normal,
# high, urgent, ...) until the council decides one (engine.commands.council.record_decision), and the
# date of the next follow-up review, however the process computed it.
RISK_VARIABLE = "risk_level"
NEXT_REVIEW_VARIABLE = "next_review_at"


def _mirror_variables(case: CaseRecord, workflow: BpmnWorkflow) -> None:
    data = workflow.last_task.data if workflow.last_task is not None else {}
    risk, next_review = data.get(RISK_VARIABLE), data.get(NEXT_REVIEW_VARIABLE)
    if case.latest_decision_id is None and isinstance(risk, str) and risk:
        case.risk = risk[:16]
    if isinstance(next_review, str):
        try:
            moment = datetime.fromisoformat(next_review)
        except ValueError:
            return
        case.next_review_on = today_in_japan(moment) if moment.tzinfo else moment.date()


MAX_MESSAGE_HOPS = 10  # cases answering each other's messages stop here rather than loop for ever


def _deliver_to_other_cases(session: Session, clock: Clock, actor: UserRecord | None, sender: CaseRecord,
                            outbox: list[BpmnEvent], hops: int) -> None:
    """Hand each correlated message to the other running cases of the municipality that wait for it."""
    if hops >= MAX_MESSAGE_HOPS:
        return
    for event in outbox:
        name = str(event.event_definition.name)
        for other in _cases_that_may_wait(session, sender, name):
            other_workflow = load_state(spec_of(other.process_version), other.workflow_state)
            if not waits_for_message(other_workflow, event):
                continue
            _lock_case(session, other)
            failure = run_step(clock, other_workflow, partial(catch_message, other_workflow, event))
            audit.record(session, clock, actor, "case.message_received", case_id=other.id, message=name,
                         sender=sender.id)
            record_step(session, clock, actor, other, other_workflow, failure, hops=hops + 1)


def _cases_that_may_wait(session: Session, sender: CaseRecord, name: str) -> list[CaseRecord]:
    # Only versions whose specs name the message can wait for it; the workflow decides the rest.
    return list(session.scalars(
        select(CaseRecord).join(ProcessVersionRecord, CaseRecord.process_version_id == ProcessVersionRecord.id)
        .where(CaseRecord.municipality_id == sender.municipality_id, CaseRecord.id != sender.id,
               CaseRecord.status.in_((CaseStatus.RUNNING, CaseStatus.WAITING)),
               ProcessVersionRecord.spec.contains(json.dumps(name), autoescape=True))
        .order_by(CaseRecord.id)))


def _sync_tasks(session: Session, clock: Clock, case: CaseRecord, workflow: BpmnWorkflow) -> None:
    """Make the open task rows of a case match the workflow's ready user tasks."""
    now = clock()
    ready = {view.spiff_id: view for view in ready_user_tasks(workflow)}
    open_rows = session.scalars(  # of the case at hand: it is not joined in again
        select(TaskRecord).options(lazyload(TaskRecord.case))
        .where(TaskRecord.case_id == case.id, TaskRecord.status == TaskStatus.OPEN)
    ).all()
    for row in open_rows:
        if row.spiff_task_id not in ready:  # withdrawn by the process, e.g. an interrupting event
            row.status, row.completed_at = TaskStatus.CANCELLED, now
            discard_drafts(session, row.id)
    known = {row.spiff_task_id for row in open_rows}
    roles = role_map_of(case.process_version) if len(ready) > len(known) else RoleMap()
    for view in ready.values():
        if view.spiff_id in known:
            continue
        row = task_row(session, case, roles, view, now)
        session.add(row)  # written with the command's other rows (an announcement's reads write it first)
        announce_new_task(session, clock, row, view.properties)


def task_row(session: Session, case: CaseRecord, roles: RoleMap, view: UserTaskView, now: datetime) -> TaskRecord:
    """The inbox's row for a task the process has just made ready (not yet added to the session)."""
    props = view.properties
    body_variable = props.get(CANDIDATE_BODY_PROPERTY)
    return TaskRecord(
        case_id=case.id, municipality_id=case.municipality_id, spiff_task_id=view.spiff_id,
        element_id=view.element_id, name=view.name, role=resolve_role(session, case, roles, view),
        candidate_body_id=view.data.get(body_variable) if body_variable else None,
        subject_id=view.data.get("action_id"), kind=task_kind(props),
        form_file=props.get("formJsonSchemaFilename"), ui_file=props.get("formUiSchemaFilename"),
        status=TaskStatus.OPEN, priority=int(props.get("priority", 0) or 0), created_at=now,
        due_at=parse_duration(props["dueIn"], now) if props.get("dueIn") else None,
        follow_up_at=parse_duration(props["followUpIn"], now) if props.get("followUpIn") else None,
    )


def _open_task(session: Session, task_id: int, actor: UserRecord | None = None,
               now: datetime | None = None) -> TaskRecord:
    # Its case comes with its workflow state: a command on an open task runs the case.
    task = session.get(TaskRecord, task_id, options=[with_case_state()])
    if task is None:
        raise NotFound("no such task", element=str(task_id))
    if actor is not None:  # a finished task is not even named to someone who may not read its case
        permissions.require_task_known(actor, task, now)
    if task.status != TaskStatus.OPEN:
        raise Conflict(f"task '{task.element_id}' was already {task.status.value}", element=task.element_id)
    return task


def _task_properties(workflow: BpmnWorkflow, task: TaskRecord) -> dict[str, Any]:
    for view in ready_user_tasks(workflow):
        if view.spiff_id == task.spiff_task_id:
            return view.properties
    raise Conflict(f"task '{task.element_id}' is no longer waiting", element=task.element_id)


def workflow_data(data: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    listed = props.get(WORKFLOW_FIELDS_PROPERTY)
    if not listed:
        # A task with a case-file writer keeps its form out of workflow data; others pass it all on.
        return {} if props.get(RECORD_PROPERTY) else dict(data)
    names = {n.strip() for n in listed.split(",") if n.strip()}
    return {k: v for k, v in data.items() if k in names}


# A Core statement built once: the ORM's bulk update costs more than the statement itself.
_LOCK_CASE = (update(CaseRecord)
              .where(CaseRecord.id == bindparam("case_id"), CaseRecord.lock_version == bindparam("seen"))
              .values(lock_version=CaseRecord.lock_version))


def _lock_case(session: Session, case: CaseRecord) -> None:
    """Take the case row before writing anything: of two racers the second fails here with Conflict,
    before the prepared rows' flush could trip a unique key. The version is not bumped here;
    the command's final write bumps it once."""
    taken = session.connection().execute(_LOCK_CASE, {"case_id": case.id, "seen": case.lock_version}).rowcount
    if taken != 1:
        raise Conflict("the case was changed by someone else; reload and try again", element=case.reference)


def resolve_incidents(session: Session, clock: Clock, actor: UserRecord, case_id: int) -> None:
    """A retried case has no open incident any more: someone acted on it."""
    for incident in session.scalars(select(IncidentRecord).where(
            IncidentRecord.case_id == case_id, IncidentRecord.resolved_at.is_(None))):
        incident.resolved_at, incident.resolved_by_id = clock(), actor.id


STAFF_ROLES = {"caseworker", "supervisor"}


def join_staff(session: Session, case_id: int, user: UserRecord, now: datetime, *, new_case: bool = False) -> None:
    """Caseworkers and supervisors who work a case gain the staff basis to read its file (a case just
    opened, `new_case`, has no staff yet to look for)."""
    if user.role_codes & STAFF_ROLES and (new_case or session.get(CaseStaffRecord, (case_id, user.id)) is None):
        session.add(CaseStaffRecord(case_id=case_id, user_id=user.id, since=now))


def _touch(case: CaseRecord, clock: Clock) -> None:
    case.updated_at = clock()
    # Always write the row, so its lock_version is checked and bumped even if the clock has not moved.
    flag_modified(case, "updated_at")
