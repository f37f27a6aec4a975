"""Scripts, conditions and decision entries run sandboxed: known Python escapes are refused."""
from __future__ import annotations

import pytest

from tsunagu.engine.runtime.sandbox import SandboxEnvironment, ScriptRefused, ScriptTooLong, check_source
from tsunagu.engine.runtime.scripting import SCRIPT_GLOBALS

ESCAPES = {
    "import builtin": "__import__('os').system('id')",
    "import statement": "import os",
    "from import": "from subprocess import run",
    "subclass walk": "().__class__.__base__.__subclasses__()",
    "globals of a helper": "add_duration.__globals__['__builtins__']",
    "globals of a lambda": "f = lambda: 0\ng = f.__globals__",
    "open a file": "open('/etc/passwd').read()",
    "eval": "eval('1 + 1')",
    "exec": "exec('x = 1')",
    "getattr by name": "getattr(now, '__globals__')",
    "format string attribute walk": "'{0.__class__}'.format(1)",
    "class statement": "class A:\n    pass",
    "compile": "compile('1', 'x', 'eval')",
    "globals builtin": "globals()",
    "type introspection": "type(1).__mro__",
}


@pytest.fixture
def sandbox():
    return SandboxEnvironment(SCRIPT_GLOBALS, max_seconds=0.3)


@pytest.mark.parametrize("script", ESCAPES.values(), ids=ESCAPES.keys())
def test_known_python_escapes_are_refused(sandbox, script):
    context = {"x": 1}
    with pytest.raises((ScriptRefused, NameError, AttributeError, TypeError, ImportError,
                        NotImplementedError)) as refused:
        sandbox.execute(script, context)
    assert refused.value is not None
    assert set(context) <= {"x", "f"}  # nothing leaked back into task data except the script's own names


def test_refusals_of_dunder_access_happen_before_anything_runs():
    assert "invalid attribute name" in check_source("().__class__")
    assert "imports are not allowed" in check_source("import os")
    assert check_source("total = a + b") is None


@pytest.mark.parametrize("script", [
    "while True:\n    x = 1",
    "n = 0\nfor i in range(1000000):\n    for j in range(1000000):\n        n += 1",
])
def test_a_script_that_runs_too_long_is_stopped(sandbox, script):
    with pytest.raises(ScriptTooLong):
        sandbox.execute(script, {})


@pytest.mark.parametrize("script", ["x = 10 ** 10 ** 10", "s = 'a' * 10 ** 9", "r = list(range(10 ** 9))",
                                    "x = 2\nx **= 100000"])
def test_arithmetic_that_would_exhaust_memory_is_refused(sandbox, script):
    with pytest.raises(ValueError):
        sandbox.execute(script, {})


def test_ordinary_scripts_read_and_write_task_data(sandbox):
    context = {"risk_level": "high", "items": [1, 2]}
    sandbox.execute("total = sum(items)\nlabels = {'high': 1}\nlabels['x'] = 2\nlevel = labels[risk_level]\n"
                    "next_review_at = add_duration('2026-11-27T09:00:00+09:00', 'P1M')", context)
    assert context["total"] == 3 and context["level"] == 1
    assert context["next_review_at"].startswith("2026-12-27T00:00:00")
    assert "add_duration" not in context and "_getattr_" not in context


def test_conditions_evaluate_against_task_data(sandbox):
    assert sandbox.evaluate('risk_level == "urgent" or "suicidal_thoughts" in flags',
                            {"risk_level": "normal", "flags": ["suicidal_thoughts"]}) is True


def test_a_script_may_delete_its_own_variables(sandbox):
    context = {"tmp": 1, "keep": 2}
    sandbox.execute("del tmp", context)
    assert context == {"keep": 2}
