"""BPMN timers on Tsunagu's clock, and the due index the scheduler reads.

SpiffWorkflow's timer events read the wall clock (`datetime.now(timezone.utc)` in its timer module).
Tests and the scheduler must control "now", so while the engine runs a case it publishes its clock in
a context variable and SpiffWorkflow's timer module is given a `datetime` whose `now()` reads it.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone

from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from .clock import Clock, system_clock

_CURRENT_CLOCK: ContextVar[Clock] = ContextVar("tsunagu_engine_clock", default=system_clock)


class _EngineDateTime(datetime):
    """`datetime` whose `now()` is the engine clock of the running command."""

    @classmethod
    def now(cls, tz=None):
        moment = _CURRENT_CLOCK.get()()
        return moment.astimezone(tz) if tz is not None else moment.astimezone().replace(tzinfo=None)


def _install() -> None:
    if spiff_timer.datetime is not _EngineDateTime:
        spiff_timer.datetime = _EngineDateTime


@contextmanager
def engine_time(clock: Clock):
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


def next_timer_at(workflow) -> datetime | None:
    """The earliest moment a waiting timer of this workflow falls due, or None if none waits."""
    earliest = None
    for pending in workflow.waiting_events():
        value = pending.value
        if pending.event_type.endswith("TimerEventDefinition") and value is not None:
            if isinstance(value, dict):  # cycle timers keep their next occurrence
                value = value.get("next")
            moment = TimerEventDefinition.get_datetime(value) if isinstance(value, str) else None
            if moment is not None and (earliest is None or moment < earliest):
                earliest = moment
    return earliest
