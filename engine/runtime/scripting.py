"""What BPMN scripts, conditions and decision tables may call, and the engine that runs them."""
from __future__ import annotations

from datetime import date, datetime

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from .sandbox import SandboxEnvironment
from .timers import engine_now


def now() -> str:
    """The engine's current time as an ISO 8601 string (timers and tests control it)."""
    return engine_now().isoformat()


def add_duration(moment, duration: str) -> str:
    """`moment` (ISO string, date or datetime) plus an ISO 8601 duration such as P3M, as an ISO string."""
    if isinstance(moment, str):
        moment = TimerEventDefinition.get_datetime(moment) if "T" in moment else date.fromisoformat(moment)
    if isinstance(moment, date) and not isinstance(moment, datetime):
        moment = TimerEventDefinition.get_datetime(moment.isoformat() + "T00:00:00+09:00")
    parsed = TimerEventDefinition.parse_iso_duration(duration)
    return (moment + TimerEventDefinition.get_timedelta_from_start(parsed, moment)).isoformat()


SCRIPT_GLOBALS = {"date": date, "datetime": datetime, "now": now, "add_duration": add_duration}


def make_script_engine() -> PythonScriptEngine:
    """The engine that evaluates scripts, conditions and decision tables of every case, sandboxed."""
    return PythonScriptEngine(environment=SandboxEnvironment(SCRIPT_GLOBALS))
