"""Scripts, gateway conditions, timer expressions and decision-table entries, checked as the sandbox runs them.

What the sandbox refuses when a case runs is refused here at upload: the same RestrictedPython policy
(`check_source`), and every builtin name of Python that the sandbox does not give a script.
"""
from __future__ import annotations

import ast
import builtins
import re

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from tsunagu.engine.errors import DefinitionProblem
from tsunagu.engine.runtime.helpers import SCRIPT_GLOBALS
from tsunagu.engine.runtime.restricted import guards
from tsunagu.engine.runtime.sandbox import check_source

from .dialects import is_juel

SCRIPT_ATTRIBUTES = ("script", "prescript", "postscript")  # script tasks, and Spiff's pre/post scripts
# Python's builtins that the sandbox does not give a script: using one fails in a case, so refuse it here.
SANDBOX_NAMES = frozenset(guards()["__builtins__"]) | frozenset(SCRIPT_GLOBALS)
MISSING_BUILTINS = frozenset(n for n in dir(builtins) if not n.startswith("_")) - SANDBOX_NAMES


def _objection(source: str, mode: str) -> str | None:
    """What the sandbox refuses in a script or expression: at compile time, or names it does not provide."""
    objection = check_source(source, mode)
    if objection:
        return objection
    try:
        tree = ast.parse(source, mode=mode)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    names = list(ast.walk(tree))
    assigned = {n.id for n in names if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    assigned |= {n.name for n in names if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    missing = sorted({n.id for n in names if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
                     & MISSING_BUILTINS - assigned)
    if not missing:
        return None
    return f"not allowed in a Tsunagu script: the sandbox does not provide {', '.join(missing)}"


def check_scripts(spec, source) -> list[DefinitionProblem]:
    problems = []
    for attribute in SCRIPT_ATTRIBUTES:
        script = getattr(spec, attribute, None)
        wanted = isinstance(script, str) and script.strip() and not is_juel(script)
        objection = _objection(script, "exec") if wanted else None
        if objection:
            problems.append(DefinitionProblem(source, spec.bpmn_id, "script_refused", f"{attribute}: {objection}"))
    return problems


def check_conditions(spec, source) -> list[DefinitionProblem]:
    problems = []
    for condition, target in getattr(spec, "cond_task_specs", []):
        expression = condition.args[0] if condition is not None and getattr(condition, "args", None) else None
        objection = _objection(expression, "eval") if isinstance(expression, str) and not is_juel(expression) else None
        if objection:
            problems.append(DefinitionProblem(source, spec.bpmn_id, "condition_refused",
                                              f"condition towards '{target}': {objection}"))
    return problems


def _timer_definitions(definition) -> list[TimerEventDefinition]:
    if isinstance(definition, TimerEventDefinition):
        return [definition]
    return [d for d in getattr(definition, "event_definitions", None) or [] if isinstance(d, TimerEventDefinition)]


def check_timers(spec, source) -> list[DefinitionProblem]:
    # Timer expressions are evaluated by the same sandbox as conditions, so they are checked alike.
    problems = []
    for timer in _timer_definitions(getattr(spec, "event_definition", None)):
        expression = getattr(timer, "expression", None)
        objection = _objection(expression, "eval") if isinstance(expression, str) and not is_juel(expression) else None
        if objection:
            problems.append(DefinitionProblem(source, spec.bpmn_id, "timer_refused", f"timer expression: {objection}"))
    return problems


def check_decision(spec, source) -> list[DefinitionProblem]:
    engine = getattr(spec, "dmnEngine", None)
    table = getattr(engine, "decision_table", None)
    if table is None:
        return []
    problems = []

    def check(what: str, expression) -> None:
        objection = _objection(expression, "eval") if isinstance(expression, str) and expression.strip() else None
        if objection:
            problems.append(DefinitionProblem(source, spec.bpmn_id, "decision_refused",
                                              f"decision '{table.id}', {what}: {objection}"))

    for table_input in table.inputs:
        check(f"input '{table_input.label or table_input.id}'", table_input.expression)
    for rule in table.rules:
        for entry in rule.inputEntries:
            for lhs in entry.lhs:
                if isinstance(lhs, str) and lhs.strip():
                    check(f"rule {rule.row_number} input entry", _decision_match(lhs))
        for entry in rule.outputEntries:
            check(f"rule {rule.row_number} output entry", getattr(entry, "text", None))
    return problems


def _decision_match(match: str) -> str:
    """The expression SpiffWorkflow's DMN engine evaluates for an input entry, the input as a plain name."""
    if "?" in match:  # as DMNEngine.evaluate rewrites it
        return re.sub(r"(\?)(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)", "dmninputexpr", match)
    return f"(dmninputexpr) == ({match})" if check_source(match, "eval") is None else f"dmninputexpr {match}"
