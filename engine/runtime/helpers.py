"""What BPMN scripts, conditions and decision tables may call besides Python's safe builtins."""
from __future__ import annotations

from contextvars import ContextVar
from datetime import date, datetime

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from .timers import engine_now

# The engine's "now" of the call being run: a worker has no engine clock, so each call brings it.
MOMENT: ContextVar[str | None] = ContextVar("tsunagu_script_moment", default=None)


def now() -> str:
    """The engine's current time as an ISO 8601 string (timers and tests control it)."""
    return MOMENT.get() or engine_now().isoformat()


def add_duration(moment: str | date, duration: str) -> str:
    """`moment` (ISO string, date or datetime) plus an ISO 8601 duration such as P3M, as an ISO string."""
    if isinstance(moment, str):
        moment = TimerEventDefinition.get_datetime(moment) if "T" in moment else date.fromisoformat(moment)
    if isinstance(moment, date) and not isinstance(moment, datetime):
        moment = TimerEventDefinition.get_datetime(moment.isoformat() + "T00:00:00+09:00")
    parsed = TimerEventDefinition.parse_iso_duration(duration)
    shifted: datetime = moment + TimerEventDefinition.get_timedelta_from_start(parsed, moment)
    return shifted.isoformat()


SCRIPT_GLOBALS = {"date": date, "datetime": datetime, "now": now, "add_duration": add_duration}
