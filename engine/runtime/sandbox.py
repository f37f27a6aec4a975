"""The sandbox every BPMN script, gateway condition and decision-table entry runs in.

A designer uploads diagrams; uploading one must not give code execution on the server. Scripts are
compiled with RestrictedPython (no imports, no names or attributes starting with `_`, no `open`,
`eval`, `exec`, `getattr` tricks), arithmetic that could exhaust memory is checked, and a script
that runs too long is stopped.
"""
from __future__ import annotations

import ast
import operator
import sys
import time
from typing import Any, Callable

from RestrictedPython import compile_restricted_eval, compile_restricted_exec, limited_builtins, safe_builtins
from RestrictedPython.Eval import default_guarded_getitem
from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence, safer_getattr
from RestrictedPython.transformer import RestrictingNodeTransformer
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

MAX_SECONDS = 1.0
MAX_SIZE = 1_000_000  # items in a sequence or digits-ish bits in a number a script may build at once


class ScriptRefused(SyntaxError):
    """The script uses something the sandbox does not allow; raised before anything runs."""


class ScriptTooLong(RuntimeError):
    """The script ran longer than the sandbox allows."""


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's policy, plus `*` and `**` routed through size checks."""

    def visit_Import(self, node: ast.Import):
        self.error(node, "imports are not allowed")

    visit_ImportFrom = visit_Import

    def visit_BinOp(self, node: ast.BinOp):
        node = self.node_contents_visit(node)
        guard = {ast.Pow: "_pow_", ast.Mult: "_mul_"}.get(type(node.op))
        if guard is None:
            return node
        call = ast.Call(func=ast.Name(id=guard, ctx=ast.Load()), args=[node.left, node.right], keywords=[])
        return ast.fix_missing_locations(ast.copy_location(call, node))


def _checked_pow(base, exponent, modulo=None):
    if isinstance(exponent, int) and isinstance(base, int) and modulo is None:
        if abs(exponent) > 10_000 or (abs(base) > 1 and exponent * max(abs(base).bit_length(), 1) > MAX_SIZE):
            raise ValueError("the number would be too large")
    return pow(base, exponent) if modulo is None else pow(base, exponent, modulo)


def _checked_mul(left, right):
    for sequence, count in ((left, right), (right, left)):
        if isinstance(sequence, (str, bytes, list, tuple)) and isinstance(count, int):
            if len(sequence) * count > MAX_SIZE:
                raise ValueError("the sequence would be too large")
    return left * right


def _checked_range(*args):
    result = range(*args)
    if len(result) > MAX_SIZE:
        raise ValueError("the range is too large")
    return result


_INPLACE = {"+=": operator.add, "-=": operator.sub, "*=": _checked_mul, "/=": operator.truediv,
            "//=": operator.floordiv, "%=": operator.mod, "**=": _checked_pow}


def _inplace(op: str, target, value):
    if op not in _INPLACE:
        raise ScriptRefused(f"the operator {op} is not allowed")
    return _INPLACE[op](target, value)


def _write_guard(obj):
    # Scripts may fill in their own dicts and lists, never attributes of other objects.
    if isinstance(obj, (dict, list)):
        return obj
    raise TypeError(f"a script may not change a {type(obj).__name__}")


_BUILTINS = {
    **safe_builtins, **limited_builtins, "range": _checked_range, "pow": _checked_pow,
    "dict": dict, "list": list, "set": set, "sum": sum, "min": min, "max": max, "any": any, "all": all,
    "enumerate": enumerate, "sorted": sorted, "reversed": reversed, "map": map, "filter": filter, "zip": zip,
}
_BUILTINS.pop("__build_class__", None)  # no class statements: they are a route to dunder methods


def _guards() -> dict[str, Any]:
    return {
        "__builtins__": _BUILTINS, "_getattr_": safer_getattr, "_getitem_": default_guarded_getitem,
        "_getiter_": iter, "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_unpack_sequence_": guarded_unpack_sequence, "_write_": _write_guard, "_inplacevar_": _inplace,
        "_pow_": _checked_pow, "_mul_": _checked_mul,
    }


def _compile(source: str, mode: str):
    compiler = compile_restricted_eval if mode == "eval" else compile_restricted_exec
    result = compiler(source, policy=_Policy)
    if result.errors:
        message = "; ".join(result.errors)
        line = _first_line(result.errors)
        raise ScriptRefused(f"not allowed in a Tsunagu script: {message}", ("<string>", line, 0, ""))
    return result.code


def check_source(source: str, mode: str = "exec") -> str | None:
    """The sandbox's objection to a script or expression, or None; for validating uploads."""
    try:
        _compile(source, mode)
    except SyntaxError as error:
        return str(error.msg if isinstance(error, ScriptRefused) else error)
    return None


def _first_line(errors: list[str]) -> int:
    for error in errors:
        if error.startswith("Line "):
            head = error[5:].split(":", 1)[0]
            if head.isdigit():
                return int(head)
    return 1


def _run_bounded(run: Callable[[], Any], max_seconds: float) -> Any:
    """Run with a tracer that stops the script once it has used its time."""
    deadline = time.monotonic() + max_seconds
    counter = [0]

    def tracer(frame, event, arg):
        counter[0] += 1
        if counter[0] % 256 == 0 and time.monotonic() > deadline:
            raise ScriptTooLong(f"the script ran longer than {max_seconds:g} s and was stopped")
        return tracer

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        return run()
    finally:
        sys.settrace(previous)


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """SpiffWorkflow's script environment, restricted: task data in, new or changed values out."""

    def __init__(self, helpers: dict[str, Any], max_seconds: float = MAX_SECONDS):
        super().__init__(dict(helpers))
        self.max_seconds = max_seconds

    def _namespace(self, context: dict, external_context: dict | None) -> dict:
        namespace = _guards()
        namespace.update(self.globals)
        namespace.update(external_context or {})
        namespace.update(context)
        return namespace

    def evaluate(self, expression, context, external_context=None):
        code = _compile(expression, "eval")
        namespace = self._namespace(context, external_context)
        return _run_bounded(lambda: eval(code, namespace), self.max_seconds)  # noqa: S307  (RestrictedPython-compiled)

    def execute(self, script, context, external_context=None):
        code = _compile(script, "exec")
        namespace = self._namespace(context, external_context)
        before = set(namespace)
        _run_bounded(lambda: exec(code, namespace), self.max_seconds)  # noqa: S102  (RestrictedPython-compiled)
        provided = set(_guards()) | set(self.globals) | set(external_context or {})
        for name in list(context):
            if name not in namespace:  # `del name` in the script
                del context[name]
        for name, value in namespace.items():
            if name in provided or name.startswith("_") or callable(value):
                continue
            if name in context or name not in before:
                context[name] = value
        return True
