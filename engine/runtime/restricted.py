"""The first layer of the sandbox: RestrictedPython and size checks, run inside a worker process.

A designer uploads diagrams; uploading one must not give code execution on the server. Scripts are
compiled with RestrictedPython (no imports, no names or attributes starting with `_`, no `open`,
`eval`, `exec`, `getattr` tricks) and arithmetic that could exhaust memory is checked. What this layer
cannot stop (work done inside C, memory built by padding) the worker process's limits stop.
"""
from __future__ import annotations

import ast
import operator
from collections.abc import Sequence
from types import CodeType
from typing import Any, Callable

from RestrictedPython.compile import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Eval import default_guarded_getitem
from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence, safe_builtins, safer_getattr
from RestrictedPython.Limits import limited_builtins
from RestrictedPython.transformer import RestrictingNodeTransformer

MAX_SIZE = 1_000_000  # items in a sequence or digits-ish bits in a number a script may build at once


class ScriptRefused(SyntaxError):
    """The script uses something the sandbox does not allow; raised before anything runs."""


class ScriptLimitExceeded(RuntimeError):
    """A script hit one of the worker's hard limits; `code` names the limit, `line` where it was."""

    code = "script_limit"

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


class ScriptTooLong(ScriptLimitExceeded):
    """The script ran longer than the sandbox allows."""

    code = "script_timeout"


class ScriptMemory(ScriptLimitExceeded):
    """The script tried to use more memory than the sandbox allows."""

    code = "script_memory"


class ScriptCrashed(ScriptLimitExceeded):
    """The worker running the script died without an answer."""

    code = "script_crashed"


class ScriptOutputTooLarge(ScriptLimitExceeded):
    """The data a script returned is larger than the sandbox allows."""

    code = "script_output_too_large"


class ScriptInputTooLarge(ScriptLimitExceeded):
    """The task data handed to a script is larger than the sandbox allows."""

    code = "script_input_too_large"


class ScriptBusy(ScriptLimitExceeded):
    """No sandbox worker became free in time."""

    code = "script_busy"


class ScriptFailed(RuntimeError):
    """A script raised something other than an ordinary error (e.g. `SystemExit`); `line` where."""

    code = "script_error"

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


LIMIT_ERRORS = {cls.code: cls for cls in (ScriptTooLong, ScriptMemory, ScriptCrashed, ScriptOutputTooLarge,
                                          ScriptInputTooLarge, ScriptBusy)}


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's policy, plus `*` and `**` routed through size checks."""

    def visit_Import(self, node: ast.Import) -> None:
        self.error(node, "imports are not allowed")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self.error(node, "imports are not allowed")

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.error(node, "class statements are not allowed")

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = self.node_contents_visit(node)
        guard = {ast.Pow: "_pow_", ast.Mult: "_mul_", ast.LShift: "_lshift_"}.get(type(node.op))
        if guard is None:
            return node
        call = ast.Call(func=ast.Name(id=guard, ctx=ast.Load()), args=[node.left, node.right], keywords=[])
        return ast.fix_missing_locations(ast.copy_location(call, node))


def _checked_pow(base: Any, exponent: Any, modulo: Any = None) -> Any:
    if isinstance(exponent, int) and isinstance(base, int) and modulo is None:
        if abs(exponent) > 10_000 or (abs(base) > 1 and exponent * max(abs(base).bit_length(), 1) > MAX_SIZE):
            raise ValueError("the number would be too large")
    return pow(base, exponent) if modulo is None else pow(base, exponent, modulo)


def _checked_mul(left: Any, right: Any) -> Any:
    for sequence, count in ((left, right), (right, left)):
        if isinstance(sequence, (str, bytes, list, tuple)) and isinstance(count, int):
            if len(sequence) * count > MAX_SIZE:
                raise ValueError("the sequence would be too large")
    return left * right


def _checked_lshift(left: Any, right: Any) -> Any:
    if isinstance(right, int) and right > MAX_SIZE:
        raise ValueError("the number would be too large")
    return left << right


def _checked_range(*args: int) -> range:
    result = range(*args)
    if len(result) > MAX_SIZE:
        raise ValueError("the range is too large")
    return result


_INPLACE: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.add, "-=": operator.sub, "*=": _checked_mul, "/=": operator.truediv,
    "//=": operator.floordiv, "%=": operator.mod, "**=": _checked_pow, "<<=": _checked_lshift}


def _inplace(op: str, target: Any, value: Any) -> Any:
    if op not in _INPLACE:
        raise ScriptRefused(f"the operator {op} is not allowed")
    return _INPLACE[op](target, value)


def _write_guard(obj: object) -> object:
    # Scripts may fill in their own dicts and lists, never attributes of other objects.
    if isinstance(obj, (dict, list)):
        return obj
    raise TypeError(f"a script may not change a {type(obj).__name__}")


_C_IMPORTS = frozenset({"time", "_strptime"})


def _c_import(name: str, *args: Any, **kwargs: Any) -> Any:
    # `date.today()` and `datetime.strptime` import these from C through the frame's builtins;
    # scripts themselves cannot name `__import__` (underscore names are refused when compiling).
    if name not in _C_IMPORTS:
        raise ImportError(f"importing {name} is not allowed")
    return __import__(name, *args, **kwargs)


_BUILTINS: dict[str, Any] = {
    **safe_builtins, **limited_builtins, "range": _checked_range, "pow": _checked_pow,
    "dict": dict, "list": list, "set": set, "sum": sum, "min": min, "max": max, "any": any, "all": all,
    "enumerate": enumerate, "sorted": sorted, "reversed": reversed, "map": map, "filter": filter, "zip": zip,
}
_BUILTINS["__import__"] = _c_import
_BUILTINS.pop("__build_class__", None)  # no class statements: they are a route to dunder methods


def guards() -> dict[str, Any]:
    """The names RestrictedPython's compiled code calls for attribute, item and operator access."""
    return {
        "__builtins__": _BUILTINS, "_getattr_": safer_getattr, "_getitem_": default_guarded_getitem,
        "_getiter_": iter, "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_unpack_sequence_": guarded_unpack_sequence, "_write_": _write_guard, "_inplacevar_": _inplace,
        "_pow_": _checked_pow, "_mul_": _checked_mul, "_lshift_": _checked_lshift,
    }


def compile_source(source: str, mode: str) -> CodeType:
    """Compile a script (`exec`) or expression (`eval`) under the policy, or raise `ScriptRefused`."""
    compiler = compile_restricted_eval if mode == "eval" else compile_restricted_exec
    result = compiler(source, policy=_Policy)
    if result.errors:
        message = "; ".join(result.errors)
        line = _first_line(result.errors)
        raise ScriptRefused(f"not allowed in a Tsunagu script: {message}", ("<string>", line, 0, ""))
    if result.code is None:  # never: RestrictedPython gives code exactly when it reports no errors
        raise ScriptRefused("not allowed in a Tsunagu script", ("<string>", 1, 0, ""))
    return result.code


def check_source(source: str, mode: str = "exec") -> str | None:
    """The sandbox's objection to a script or expression, or None; for validating uploads."""
    try:
        compile_source(source, mode)
    except SyntaxError as error:
        return str(error.msg if isinstance(error, ScriptRefused) else error)
    except (ValueError, RecursionError, MemoryError) as error:  # NUL bytes, absurd nesting
        return f"not allowed in a Tsunagu script: {error}"
    return None


def _first_line(errors: Sequence[str]) -> int:
    for error in errors:
        if error.startswith("Line "):
            head = error[5:].split(":", 1)[0]
            if head.isdigit():
                return int(head)
    return 1


def run(mode: str, source: str, context: dict[str, Any], external: dict[str, Any], helpers: dict[str, Any]) -> Any:
    """Evaluate an expression (result) or execute a script (changes `context` in place), in-process."""
    return run_compiled(mode, compile_source(source, mode), context, external, helpers)


def run_compiled(mode: str, code: CodeType, context: dict[str, Any], external: dict[str, Any],
                 helpers: dict[str, Any]) -> Any:
    """`run` for code `compile_source` already compiled."""
    namespace = guards()
    namespace.update(helpers)
    namespace.update(external)
    namespace.update(context)
    if mode == "eval":
        return eval(code, namespace)  # noqa: S307  (RestrictedPython-compiled)
    before = set(namespace)
    exec(code, namespace)  # noqa: S102  (RestrictedPython-compiled)
    provided = set(guards()) | set(helpers) | set(external)
    for name in list(context):
        if name not in namespace:  # `del name` in the script
            del context[name]
    for name, value in namespace.items():
        if name in provided or name.startswith("_") or callable(value):
            continue
        if name in context or name not in before:
            context[name] = value
    return True
