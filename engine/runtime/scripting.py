"""What BPMN scripts, conditions and decision tables may call, and the engine that runs them."""
from __future__ import annotations

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine

from .helpers import SCRIPT_GLOBALS, add_duration, now
from .sandbox import SandboxEnvironment

__all__ = ["SCRIPT_GLOBALS", "SandboxedScriptEngine", "add_duration", "make_script_engine", "now"]


class SandboxedScriptEngine(PythonScriptEngine):
    """SpiffWorkflow's engine, with the line of an error taken from the worker's report."""

    def get_error_line_number_and_content(self, script: str, err: Exception) -> tuple[int, str]:
        line = getattr(err, "line", None) or getattr(err, "lineno", None)
        if isinstance(line, int) and line > 0:
            lines = script.splitlines()
            return line, lines[line - 1] if line <= len(lines) else ""
        found: tuple[int, str] = super().get_error_line_number_and_content(script, err)
        return found


def make_script_engine() -> SandboxedScriptEngine:
    """The engine that evaluates scripts, conditions and decision tables of every case, sandboxed."""
    return SandboxedScriptEngine(environment=SandboxEnvironment(SCRIPT_GLOBALS))
