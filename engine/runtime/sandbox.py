"""The sandbox every BPMN script, gateway condition, decision-table entry and timer expression runs in.

Two layers: RestrictedPython and size checks (`restricted`) refuse known escapes, and a pool of
worker processes (`workers`) with hard limits on memory, processor time and wall time guarantees that
nothing a script does reaches the web or scheduler process. This module is SpiffWorkflow's seam.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from . import workers
from .helpers import now
from .restricted import (
    LIMIT_ERRORS,
    ScriptCrashed,
    ScriptFailed,
    ScriptLimitExceeded,
    ScriptMemory,
    ScriptOutputTooLarge,
    ScriptRefused,
    ScriptTooLong,
    check_source,
)
from .workers import Limits

__all__ = ["LIMIT_ERRORS", "Limits", "SandboxEnvironment", "ScriptCrashed", "ScriptFailed", "ScriptLimitExceeded",
           "ScriptMemory", "ScriptOutputTooLarge", "ScriptRefused", "ScriptTooLong", "check_source"]


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """SpiffWorkflow's script environment, run in a worker: task data in, new or changed values out."""

    def __init__(self, helpers: dict[str, Any] | None = None, max_seconds: float | None = None,
                 limits: Limits | None = None):
        super().__init__(dict(helpers or {}))
        self.limits, self.max_seconds = limits, max_seconds

    def _limits(self) -> Limits:
        limits = self.limits or workers.current_limits()
        return limits if self.max_seconds is None else replace(limits, cpu_s=self.max_seconds)

    def evaluate(self, expression: str, context: dict[str, Any],
                 external_context: dict[str, Any] | None = None) -> Any:
        reply = workers.call("eval", expression, context, dict(external_context or {}), now(), self._limits())
        return reply["result"]

    def execute(self, script: str, context: dict[str, Any],
                external_context: dict[str, Any] | None = None) -> bool:
        reply = workers.call("exec", script, context, dict(external_context or {}), now(), self._limits())
        changed: dict[str, Any] = reply["context"]
        for name in list(context):
            if name not in changed:  # `del name` in the script
                del context[name]
        context.update(changed)
        return True
