"""BPMN timers on Tsunagu's clock, and the due index the scheduler reads.

SpiffWorkflow's timer events read the wall clock (`datetime.now(timezone.utc)` in its timer module).
Tests and the scheduler must control "now", so while the engine runs a case it publishes its clock in
a context variable and SpiffWorkflow's timer module is given a `datetime` whose `now()` reads it.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone, tzinfo
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

from ..clock import Clock, system_clock

_CURRENT_CLOCK: ContextVar[Clock] = ContextVar("tsunagu_engine_clock", default=system_clock)


class _EngineDateTime(datetime):
    """`datetime` whose `now()` is the engine clock of the running command."""

    # A plain `datetime` on purpose, so nothing of this class reaches workflow data; typeshed's `now`
    # promises an instance of the subclass.
    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        moment = _CURRENT_CLOCK.get()()
        return moment.astimezone(tz) if tz is not None else moment.astimezone().replace(tzinfo=None)


def _install() -> None:
    if spiff_timer.datetime is not _EngineDateTime:
        spiff_timer.datetime = _EngineDateTime


@contextmanager
def engine_time(clock: Clock) -> Iterator[None]:
    """Run workflow code with `clock` as the time every timer and script helper sees."""
    _install()
    token = _CURRENT_CLOCK.set(clock)
    try:
        yield
    finally:
        _CURRENT_CLOCK.reset(token)


def engine_now() -> datetime:
    """The current engine time (UTC, aware)."""
    return _CURRENT_CLOCK.get()().astimezone(timezone.utc)


def _has_timer(definition: Any) -> bool:
    if isinstance(definition, TimerEventDefinition):
        return True
    return isinstance(definition, MultipleEventDefinition) and any(
        isinstance(d, TimerEventDefinition) for d in definition.event_definitions)


def next_timer_at(workflow: BpmnWorkflow) -> datetime | None:
    """The earliest moment a waiting timer of this workflow falls due, or None if none waits.

    Read from each waiting task's own timer value, which also covers timers behind an event-based
    gateway (SpiffWorkflow reports those only as a 'MultipleEventDefinition' without a time).
    """
    earliest: datetime | None = None
    for task in workflow.event_manager.tasks.values():
        if not _has_timer(task.task_spec.event_definition):
            continue
        value = task.internal_data.get("event_value")
        if isinstance(value, dict):  # cycle timers keep their next occurrence
            value = value.get("next") if value.get("cycles") else None
        if not isinstance(value, str):
            continue
        moment: datetime = TimerEventDefinition.get_datetime(value)
        if earliest is None or moment < earliest:
            earliest = moment
    return earliest
