"""SpiffWorkflow behind one seam: serialization, running engine steps, reading user tasks.

Workflow state is stored without its specs: the specs live once per process version and are
joined back on load, so a thousand cases on one version do not carry a thousand copies.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException, TaskNotFoundException, WorkflowException
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

# The Spiff dialect parses messages into its own class; events match on exact class.
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from ..errors import TsunaguError
from .restricted import ScriptLimitExceeded
from .scripting import make_script_engine


def _make_serializer() -> BpmnWorkflowSerializer:
    registry = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
    registry.register(date, lambda v: {"value": v.isoformat()}, lambda v: date.fromisoformat(v["value"]))
    return BpmnWorkflowSerializer(registry)


SERIALIZER = _make_serializer()


SCRIPT_ENGINE = make_script_engine()


def serialize_specs(spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec]) -> str:
    """Serialize a parsed process and its called processes, for storing with a process version."""
    convert = SERIALIZER.registry.convert
    return json.dumps(
        {"spec": convert(spec), "subprocess_specs": {name: convert(s) for name, s in subprocess_specs.items()}}
    )


def new_workflow(spec_json: str) -> BpmnWorkflow:
    """A fresh, not yet started workflow of a stored process version."""
    specs = json.loads(spec_json)
    registry = SERIALIZER.registry
    spec = registry.restore(specs["spec"])
    subprocess_specs = {name: registry.restore(s) for name, s in specs["subprocess_specs"].items()}
    return BpmnWorkflow(spec, subprocess_specs, script_engine=SCRIPT_ENGINE)


def dump_state(workflow: BpmnWorkflow) -> str:
    """Serialize a workflow's state with SpiffWorkflow's serializer, leaving out the specs."""
    SERIALIZER.registry._encoder_mode = True
    try:
        dct = SERIALIZER.to_dict(workflow)
    finally:
        SERIALIZER.registry._encoder_mode = False
    del dct["spec"], dct["subprocess_specs"]
    dct[SERIALIZER.VERSION_KEY] = SERIALIZER.VERSION
    return json.dumps(dct, cls=SERIALIZER._encoder_cls)


def load_state(spec_json: str, state: str) -> BpmnWorkflow:
    """Restore a workflow saved by `dump_state`, joining back the specs of its process version."""
    dct = json.loads(state)
    dct.update(json.loads(spec_json))
    SERIALIZER.migrate(dct)
    workflow = SERIALIZER.from_dict(dct)
    workflow.script_engine = SCRIPT_ENGINE
    _rewire_event_subprocesses(workflow)
    return workflow


def _rewire_event_subprocesses(workflow: BpmnWorkflow) -> None:
    # SpiffWorkflow connects an event sub-process to the start and end of its process spec only when
    # the event first triggers it. Specs are stored once per version without that run-time wiring,
    # so restore it for every event sub-process this workflow has started.
    start = workflow.spec.start
    started = {child.task_spec.name for child in workflow.task_tree.children}
    for name in start.trigger_specs:
        spec = workflow.spec.task_specs.get(name)
        if spec is not None and name in started and start not in spec.inputs:
            start.connect(spec)
            spec.connect(workflow.spec.end)


@dataclass(frozen=True)
class UserTaskView:
    """What the inbox projection needs to know about one ready user task."""

    spiff_id: str
    element_id: str
    name: str
    lane: str | None
    properties: dict[str, str]
    data: dict[str, Any]


def ready_user_tasks(workflow: BpmnWorkflow) -> list[UserTaskView]:
    """Every user task waiting for a person, in the main process and its sub-processes."""
    views = []
    for task in workflow.get_tasks(state=TaskState.READY, manual=True):
        spec = task.task_spec
        views.append(
            UserTaskView(
                spiff_id=str(task.id),
                element_id=spec.bpmn_id,
                name=spec.bpmn_name or spec.bpmn_id,
                lane=spec.lane,
                properties=dict(spec.extensions.get("properties", {})),
                data=task.data,
            )
        )
    return views


class NotWaiting(TsunaguError):
    """A message arrived that no event of the case is waiting for."""

    code = "message_not_expected"


class StepFailed(TsunaguError):
    """A script, condition or decision raised while the engine ran; carries element and line."""

    code = "workflow_error"


MAX_ENGINE_ROUNDS = 100


def run_engine_steps(workflow: BpmnWorkflow) -> None:
    """Advance every automatic task until people or timers must act; raise `StepFailed` on error."""
    try:
        workflow.do_engine_steps()
        # do_engine_steps ends with refresh_timers(): a timer already due turns READY there but is not
        # run, and a READY timer is no waiting event, so nothing would ever wake the case for it.
        rounds = 0
        while workflow.get_tasks(state=TaskState.READY, manual=False) and rounds < MAX_ENGINE_ROUNDS:
            workflow.do_engine_steps()
            rounds += 1
    except SpiffWorkflowException as exc:
        raise _step_failed(exc) from exc


def complete_user_task(workflow: BpmnWorkflow, spiff_id: str, data: dict[str, Any]) -> None:
    """Merge submitted data into a ready user task, complete it, and run what follows."""
    task = _ready_task(workflow, spiff_id)
    task.set_data(**data)
    try:
        task.run()
    except SpiffWorkflowException as exc:
        raise _step_failed(exc) from exc
    run_engine_steps(workflow)


def deliver_message(workflow: BpmnWorkflow, name: str, payload: dict[str, Any]) -> None:
    """Hand a message to the workflow (correlation is by case: the caller chose this workflow)."""
    try:
        workflow.send_event(BpmnEvent(MessageEventDefinition(name), payload=payload))
    except WorkflowException as exc:
        if "not waiting" in str(exc):
            raise NotWaiting(f"the case is not waiting for the message '{name}'", element=name) from exc
        raise _step_failed(exc) from exc
    run_engine_steps(workflow)


def fire_timers(workflow: BpmnWorkflow) -> None:
    """Let every timer whose moment has passed (on the engine clock) fire, and run what follows."""
    try:
        workflow.refresh_timers()
    except SpiffWorkflowException as exc:
        raise _step_failed(exc) from exc
    run_engine_steps(workflow)


def retry_failed_tasks(workflow: BpmnWorkflow) -> list[str]:
    """Put every task that errored back to ready and run the engine again; return their ids."""
    failed = workflow.get_tasks(state=TaskState.ERROR)
    for task in failed:
        task._set_state(TaskState.READY)
    run_engine_steps(workflow)
    return [t.task_spec.bpmn_id for t in failed]


def is_task_ready(workflow: BpmnWorkflow, spiff_id: str) -> bool:
    try:
        _ready_task(workflow, spiff_id)
    except KeyError:
        return False
    return True


def _ready_task(workflow: BpmnWorkflow, spiff_id: str) -> Task:
    try:
        task = workflow.get_task_from_id(UUID(spiff_id))
    except TaskNotFoundException:
        raise KeyError(spiff_id) from None
    if task is None or task.state != TaskState.READY:
        raise KeyError(spiff_id)
    return task


def _step_failed(exc: SpiffWorkflowException) -> StepFailed:
    element = None
    line = getattr(exc, "line_number", None)
    task = getattr(exc, "task", None)
    if task is not None:
        element = task.task_spec.bpmn_id or task.task_spec.name
    try:
        message = str(exc)
    except TypeError:  # SpiffWorkflow joins notes that may be None
        message = str(exc.args[0]) if exc.args else type(exc).__name__
    if isinstance(exc, WorkflowTaskException) and getattr(exc, "error_type", None):
        message = f"{exc.error_type}: {message}"
    cause = exc.__cause__ or exc.__context__
    limit = _sandbox_limit(exc)
    if limit is not None:
        # A hard limit names itself first, so the case's error says which limit a script hit.
        line = line or limit.line
        message = f"{limit.code}: {limit}" + (f" (line {line})" if line else "")
        return StepFailed(message, element=element, line=line or None, limit=limit.code)
    if cause is not None and str(cause) and str(cause) not in message:
        message = f"{message} ({cause})"  # what went wrong inside, e.g. the sandbox's refusal
    return StepFailed(message, element=element, line=line or None)


def _sandbox_limit(exc: BaseException) -> ScriptLimitExceeded | None:
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 10:
        if isinstance(current, ScriptLimitExceeded):
            return current
        current = current.__cause__ or current.__context__ or getattr(current, "exception", None)
        seen += 1
    return None


def parse_duration(expression: str, start: datetime) -> datetime:
    """Add an ISO 8601 duration such as P3D or PT4H to `start`, as BPMN timers do."""
    parsed = TimerEventDefinition.parse_iso_duration(expression)
    due: datetime = start + TimerEventDefinition.get_timedelta_from_start(parsed, start)
    return due
