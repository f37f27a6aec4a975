"""SpiffWorkflow behind one seam: serialization, running engine steps, reading user tasks.

Workflow state is stored without its specs: the specs live once per process version and are
joined back on load, so a thousand cases on one version do not carry a thousand copies.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition as BaseMessageDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.service_task import ServiceTask
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException, TaskNotFoundException, WorkflowException
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

# The Spiff dialect parses messages into its own class; events match on exact class.
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from ..errors import TsunaguError
from ..models import CaseStatus
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
    candidate_groups: tuple[str, ...] = ()


def ready_user_tasks(workflow: BpmnWorkflow) -> list[UserTaskView]:
    """Every task waiting for a person (user, manual or plain task), in the main process and its sub-processes."""
    views = []
    for task in workflow.get_tasks(state=TaskState.READY, manual=True):
        spec = task.task_spec
        extensions = getattr(spec, "extensions", None) or {}
        views.append(
            UserTaskView(
                spiff_id=str(task.id),
                element_id=spec.bpmn_id or spec.name,
                name=spec.bpmn_name or spec.bpmn_id or spec.name,
                lane=getattr(spec, "lane", None),
                properties=dict(extensions.get("properties", {})),
                data=task.data,
                candidate_groups=_candidate_groups(spec, extensions),
            )
        )
    return views


def _candidate_groups(spec: Any, extensions: dict[str, Any]) -> tuple[str, ...]:
    # The Camunda dialect names groups on the task (camunda:candidateGroups="a, b"); keep them in order.
    raw = extensions.get("candidateGroups") or getattr(spec, "candidate_groups", None) or ""
    if isinstance(raw, (list, tuple)):
        raw = ",".join(str(g) for g in raw)
    return tuple(g.strip() for g in str(raw).split(",") if g.strip())


class NotWaiting(TsunaguError):
    """A message arrived that no event of the case is waiting for."""

    code = "message_not_expected"


class StepFailed(TsunaguError):
    """A script, condition or decision raised while the engine ran; carries element and line."""

    code = "workflow_error"


class ServiceTaskUnsupported(StepFailed):
    """A service task reached the runtime: no operator is registered to call an outside system."""

    code = "service_task_unsupported"


class SignalNotOffered(TsunaguError):
    """A person raised a signal that is not attached to the task, or the task no longer waits."""

    code = "signal_not_offered"


MAX_ENGINE_ROUNDS = 100


def run_engine_steps(workflow: BpmnWorkflow) -> None:
    """Advance every automatic task until people or timers must act; raise `StepFailed` on error."""
    running: list[Task] = []
    with _guarded(running):
        _engine_steps(workflow, running)


def _engine_steps(workflow: BpmnWorkflow, running: list[Task]) -> None:
    def starting(task: Task) -> None:
        running[:] = [task]
        if isinstance(task.task_spec, ServiceTask):
            # Nothing may call an outside system: the validator refuses these, so one here is a stray.
            raise ServiceTaskUnsupported(
                f"service_task_unsupported: service task '{task.task_spec.bpmn_id}' cannot run; "
                "no operator is registered for it", element=task.task_spec.bpmn_id)

    workflow.do_engine_steps(will_complete_task=starting)
    # do_engine_steps ends with refresh_timers(): a timer already due turns READY there but is not
    # run, and a READY timer is no waiting event, so nothing would ever wake the case for it.
    rounds = 0
    while workflow.get_tasks(state=TaskState.READY, manual=False) and rounds < MAX_ENGINE_ROUNDS:
        workflow.do_engine_steps(will_complete_task=starting)
        rounds += 1
    running.clear()


def start_workflow(workflow: BpmnWorkflow) -> None:
    """Run a new workflow to its first wait; a process that only starts on a message starts now.

    A case is opened by a person, who is the message: a process whose start events are all
    message start events (SpiffArena's way to carry a start form) would otherwise wait forever.
    """
    run_engine_steps(workflow)
    waiting = [t for t in workflow.get_tasks(state=TaskState.WAITING)
               if t.workflow is workflow and isinstance(t.task_spec, StartEvent)
               and isinstance(t.task_spec.event_definition, BaseMessageDefinition)]
    started = [t for t in workflow.get_tasks(state=TaskState.COMPLETED)
               if t.workflow is workflow and isinstance(t.task_spec, StartEvent)]
    if waiting and not started:
        task = waiting[0]
        running = [task]
        with _guarded(running):
            task.task_spec.catch(task, BpmnEvent(task.task_spec.event_definition, payload={}))
            task.task_spec._update(task)
            _engine_steps(workflow, running)


def complete_user_task(workflow: BpmnWorkflow, spiff_id: str, data: dict[str, Any]) -> None:
    """Merge submitted data into a ready user task, complete it, and run what follows."""
    task = _ready_task(workflow, spiff_id)
    running = [task]
    with _guarded(running):
        task.set_data(**data)
        task.run()
        _engine_steps(workflow, running)


def deliver_message(workflow: BpmnWorkflow, name: str, payload: dict[str, Any]) -> None:
    """Hand a message to the workflow (correlation is by case: the caller chose this workflow)."""
    try:
        workflow.send_event(BpmnEvent(MessageEventDefinition(name), payload=payload))
    except WorkflowException as exc:
        if "not waiting" in str(exc):
            raise NotWaiting(f"the case is not waiting for the message '{name}'", element=name) from exc
        raise _step_failed(exc) from exc
    except Exception as exc:  # noqa: BLE001 - whatever a foreign model raises stops the case, not the request
        raise _step_failed(exc) from exc
    run_engine_steps(workflow)


def sent_messages(workflow: BpmnWorkflow) -> list[BpmnEvent]:
    """Take the messages the last steps threw that no event of this workflow caught (for other cases)."""
    return [e for e in workflow.get_events() if isinstance(e.event_definition, BaseMessageDefinition)]


def waits_for_message(workflow: BpmnWorkflow, event: BpmnEvent) -> bool:
    """Whether another case's workflow waits for this message under the same correlation.

    Only a correlated message crosses cases: with no correlation keys it belongs to its own case.
    """
    if not event.correlations:
        return False
    if any(workflow.correlations.get(key) != value for key, value in event.correlations.items()):
        return False
    return any(isinstance(t.task_spec, CatchingEvent) and t.task_spec.event_definition == event.event_definition
               for t in workflow.event_manager.tasks.values())


def catch_message(workflow: BpmnWorkflow, event: BpmnEvent) -> None:
    """Let a waiting workflow catch a message another case sent, and run what follows."""
    running: list[Task] = []
    with _guarded(running):
        workflow.send_event(BpmnEvent(event.event_definition, payload=event.payload,
                                      correlations=event.correlations))
        _engine_steps(workflow, running)


def offered_signals(workflow: BpmnWorkflow, spiff_id: str) -> list[str]:
    """The names of the signal boundary events attached to a ready human task, which a person may raise."""
    try:
        task = _ready_task(workflow, spiff_id)
    except KeyError:
        return []
    parent = task.parent
    if parent is None:
        return []
    names = []
    for sibling in parent.children:
        definition = getattr(sibling.task_spec, "event_definition", None)
        if sibling is not task and sibling.state == TaskState.WAITING and isinstance(definition, SignalEventDefinition):
            names.append(str(definition.name))
    return names


@dataclass(frozen=True)
class HumanTaskDetails:
    """What a task page shows beyond the task row: the task's data and the signals one may raise on it."""

    data: dict[str, Any]
    signals: list[str]


def human_task_details(spec_json: str, state: str, spiff_id: str) -> HumanTaskDetails:
    """Read a ready human task of a saved workflow; an unknown or finished task has no data and no signals."""
    workflow = load_state(spec_json, state)
    try:
        task = _ready_task(workflow, spiff_id)
    except (KeyError, ValueError):
        return HumanTaskDetails({}, [])
    return HumanTaskDetails(dict(task.data), offered_signals(workflow, spiff_id))


def raise_signal(workflow: BpmnWorkflow, spiff_id: str, name: str) -> None:
    """Raise a signal offered on a ready human task (its boundary event) and run the boundary path."""
    task = _ready_task(workflow, spiff_id)
    if name not in offered_signals(workflow, spiff_id):
        raise SignalNotOffered(f"the signal '{name}' is not offered on this task", element=task.task_spec.bpmn_id)
    boundary = next(t for t in task.parent.children  # offered_signals checked the parent
                    if isinstance(getattr(t.task_spec, "event_definition", None), SignalEventDefinition)
                    and t.task_spec.event_definition.name == name and t.state == TaskState.WAITING)
    running = [boundary]
    with _guarded(running):
        workflow.catch(BpmnEvent(boundary.task_spec.event_definition, payload={}))
        _engine_steps(workflow, running)


def fire_timers(workflow: BpmnWorkflow) -> None:
    """Let every timer whose moment has passed (on the engine clock) fire, and run what follows."""
    running: list[Task] = []
    with _guarded(running):
        workflow.refresh_timers()
        _engine_steps(workflow, running)


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


@contextmanager
def _guarded(running: list[Task]) -> Iterator[None]:
    """Turn anything raised while the engine runs into `StepFailed` naming the element that ran.

    Not only SpiffWorkflow's own exceptions: a model made elsewhere can make SpiffWorkflow itself
    raise a KeyError or TypeError, and that must stop the case, never the request.
    """
    try:
        yield
    except StepFailed:
        raise
    except Exception as exc:  # noqa: BLE001 - see the docstring
        raise _step_failed(exc, running[0] if running else None) from exc


def _step_failed(exc: BaseException, running: Task | None = None) -> StepFailed:
    element = None
    line = getattr(exc, "line_number", None)
    task = getattr(exc, "task", None) or running
    if not isinstance(exc, SpiffWorkflowException):
        # A bare Python error names only its type and value; say which element was running.
        detail = str(exc)
        message = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
        limit = _sandbox_limit(exc)
        if limit is not None:
            message = f"{limit.code}: {limit}"
        spec = task.task_spec if task is not None else None
        element = (spec.bpmn_id or spec.name) if spec is not None else None
        return StepFailed(message, element=element, line=getattr(limit, "line", None) if limit else None,
                          limit=limit.code if limit else None)
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


def status_of(workflow: BpmnWorkflow) -> CaseStatus:
    """Completed, running (people have tasks) or waiting (only timers or messages can move it)."""
    if workflow.is_completed():
        return CaseStatus.COMPLETED
    if ready_user_tasks(workflow):
        return CaseStatus.RUNNING
    return CaseStatus.WAITING
