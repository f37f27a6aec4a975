"""Moving one workflow onto another version of its process, with SpiffWorkflow's own diff and migration.

`diff_workflow` aligns the workflow's tasks with the new specs (by element id) and `migrate_workflow`
swaps the specs and re-predicts what follows the tasks that wait. Around that this module decides what
may carry over: a task that waits (for a person, a timer or a message) must still exist, keep its type,
and change only in what a waiting task can take on (its name, documentation, flows, properties such as
the due period); a waiting task keeps its data and its timer's moment. A finished task whose element the
new version no longer has is taken out of the history (its children hang from its parent), as if the case
had run on the new version; the case's own records of it (submissions, audit rows) stay. The result must
serialize and restore with the new version's specs, waiting on exactly the same tasks.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.util.diff import WorkflowDiff, diff_workflow, migrate_workflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from .workflow import SERIALIZER, dump_state, load_state, ready_user_tasks

# What a waiting task may change and still carry over: its flows, words and properties (due period,
# priority, form, kind). Its type, lane, data mappings, scripts or event definition may not.
CARRIES_OVER = frozenset({"inputs", "outputs", "bpmn_name", "documentation", "description", "extensions",
                          "lookahead"})
WAITING = TaskState.READY | TaskState.WAITING | TaskState.STARTED
FINISHED = TaskState.COMPLETED | TaskState.CANCELLED

# Stable reasons a workflow cannot move.
TASK_REMOVED = "task_removed"  # a task that waits is not in the new version
TASK_CHANGED = "task_changed"  # a task that waits changed in a way it cannot take on
SUBPROCESS_REMOVED = "subprocess_removed"  # a running sub-process is not in the new version
HISTORY_NOT_CARRIED = "history_not_carried"  # a finished sub-process the new version lacks
NOT_RESTORABLE = "not_restorable"  # the moved state does not restore to the same waiting tasks


@dataclass(frozen=True)
class Obstacle:
    """Why a workflow cannot move: a stable code, the element concerned, and the changed attributes."""

    code: str
    element: str | None = None
    changes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Moved:
    """A workflow moved in memory: its new state, or the first obstacle met."""

    state: str | None
    obstacle: Obstacle | None


def move(spec_json: str, state: str, new_spec_json: str) -> Moved:
    """Move a saved workflow onto `new_spec_json`; nothing is written, the caller stores `state`."""
    workflow = load_state(spec_json, state)
    specs = json.loads(new_spec_json)
    registry = SERIALIZER.registry
    new_spec = registry.restore(specs["spec"])
    new_deps = {name: registry.restore(s) for name, s in specs["subprocess_specs"].items()}
    top, subs = diff_workflow(registry, workflow, new_spec, new_deps)
    parts: list[tuple[BpmnWorkflow, WorkflowDiff, Any]] = [(workflow, top, new_spec)]
    for sp_id, sp in workflow.subprocesses.items():
        diff = subs.get(sp_id)
        if diff is None:
            return Moved(None, Obstacle(SUBPROCESS_REMOVED, _element(workflow.get_task_from_id(sp_id))))
        parts.append((sp, diff, new_deps[sp.spec.name]))
    for _sp, diff, _spec in parts:
        obstacle = _waiting_obstacle(diff)
        if obstacle is not None:
            return Moved(None, obstacle)
    before = _snapshot(workflow)
    for sp, diff, spec in parts:
        obstacle = _prune_history(workflow, sp, diff)
        if obstacle is not None:
            return Moved(None, obstacle)
        migrate_workflow(diff, sp, spec)
    workflow.subprocess_specs = new_deps
    _restore_waiting(workflow, before, top, subs)
    moved = dump_state(workflow)
    if not _same_waiting(before, new_spec_json, moved):
        return Moved(None, Obstacle(NOT_RESTORABLE))
    return Moved(moved, None)


def _element(task: Task | None) -> str | None:
    if task is None:
        return None
    spec = task.task_spec
    return str(spec.bpmn_id or spec.name)


def _waiting_obstacle(diff: WorkflowDiff) -> Obstacle | None:
    """The first waiting task that is gone, or changed beyond what it can take on."""
    for task in diff.removed:
        if task.has_state(WAITING):
            return Obstacle(TASK_REMOVED, _element(task))
    for task in diff.changed:
        if not task.has_state(WAITING):
            continue
        new = diff.alignment.get(task)
        keys = tuple(_changes(task, new))
        if any(key not in CARRIES_OVER for key in keys):
            return Obstacle(TASK_CHANGED, _element(task), keys)
    return None


def _changes(task: Task, new: Any) -> list[str]:
    old_dict, new_dict = SERIALIZER.registry.convert(task.task_spec), SERIALIZER.registry.convert(new)
    if old_dict.get("typename") != new_dict.get("typename"):
        return ["typename"]
    return [key for key, value in old_dict.items() if new_dict.get(key) != value]


def _prune_history(top: BpmnWorkflow, workflow: BpmnWorkflow, diff: WorkflowDiff) -> Obstacle | None:
    """Take finished tasks of removed elements out of the tree, hanging their children from their parent."""
    for task in diff.removed:
        if task.id not in workflow.tasks or not task.has_state(FINISHED):
            continue  # waiting ones were refused; predicted ones go when what precedes them is re-predicted
        parent = task.parent
        if parent is None or task.id in top.subprocesses:
            return Obstacle(HISTORY_NOT_CARRIED, _element(task))
        at = parent._children.index(task.id)
        parent._children[at:at + 1] = list(task._children)
        for child in task.children:
            child._parent = parent.id
        del workflow.tasks[task.id]
        if workflow.last_task is task:
            workflow.last_task = parent
    return None


@dataclass(frozen=True)
class _Waiting:
    state: TaskState
    spec: str
    data: dict[str, Any]
    internal: dict[str, Any]


def _snapshot(workflow: BpmnWorkflow) -> dict[Any, _Waiting]:
    return {task.id: _Waiting(task.state, task.task_spec.name, task.data, dict(task.internal_data))
            for task in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING)}


def _restore_waiting(workflow: BpmnWorkflow, before: dict[Any, _Waiting], top: WorkflowDiff,
                     subs: dict[Any, WorkflowDiff | None]) -> None:
    """A task that waited before waits on with its own data, and an unchanged timer keeps its moment:
    `migrate_workflow` resets waiting tasks, which would restart a duration timer from now."""
    changed = {t.id for t in top.changed} | {t.id for d in subs.values() if d is not None for t in d.changed}
    for task in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING):
        old = before.get(task.id)
        if old is None or old.state != task.state:
            continue
        task.data = old.data
        if task.id not in changed:
            task.internal_data = dict(old.internal)


def _same_waiting(before: dict[Any, _Waiting], new_spec_json: str, state: str) -> bool:
    """The moved state restores with the new version's specs and waits on the same ready tasks."""
    try:
        restored = load_state(new_spec_json, state)
        if any(task.task_spec is None for task in restored.get_tasks()):
            return False
        ready = {task.id for task in restored.get_tasks(state=TaskState.READY)}
        ready_user_tasks(restored)  # the inbox projection must be able to read it too
    except Exception:  # noqa: BLE001 - whatever fails to restore is a state that must not be stored
        return False
    return ready == {task_id for task_id, old in before.items() if old.state == TaskState.READY}
