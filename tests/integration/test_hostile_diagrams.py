"""Hostile diagrams, as an attacker would write them: each is refused by validation or, when a case
runs it, stops that case in its error state naming the element and the limit, within the deadline."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from tsunagu.engine.commands import cases
from tsunagu.engine.errors import DefinitionInvalid
from tsunagu.engine.models import CaseStatus, TaskRecord, TaskStatus
from tsunagu.engine.runtime import workers
from tsunagu.processes.loader import build_definition

from .hostile import ELEMENT, diagram, smuggle

C_HANG = "sum([[0] * 1000] * 30000, [])"
EXPRESSIONS = {
    "c hang, list sum": C_HANG,
    "c hang, endless iterator": "any(iter(int, 1))",
    "c hang, max of endless iterator": "max(iter(int, 1))",
    "big integer power": "10 ** 10 ** 8",
    "padding ljust": "'x'.ljust(10 ** 9)",
    "padding center": "'x'.center(10 ** 9)",
    "padding zfill": "'1'.zfill(10 ** 9)",
    "expandtabs": "'\\t'.expandtabs(10 ** 9)",
    "percent width": "'%*d' % (10 ** 9, 1)",
    "format width": "'{:>1000000000}'.format(1)",
    "format builtin width": "format(1, '1000000000')",
    "shift": "1 << 10 ** 9",
    "repeat": "'a' * 10 ** 9",
    "list repeat": "[0] * 10 ** 9",
    "to bytes": "(1).to_bytes(10 ** 9, 'big')",
    "endless list": "list(iter(int, 1))",
    "endless sort": "sorted(iter(int, 1))",
    "self recursion": "(lambda f: f(f))(lambda f: f(f))",
    "attribute traversal": "().__class__.__base__.__subclasses__()",
    "helper globals": "now.__globals__",
    "format attribute walk": "'{0.__class__}'.format(1)",
}
SCRIPTS = {
    "raise SystemExit": "raise SystemExit(1)",
    "raise KeyboardInterrupt": "raise KeyboardInterrupt",
    "raise BaseException": "raise BaseException('gone')",
    "raise GeneratorExit": "raise GeneratorExit",
    "SystemExit past except Exception": "try:\n    raise SystemExit(2)\nexcept Exception:\n    pass",
    "caught timeout loops on": "while True:\n    try:\n        while True:\n            pass\n    except BaseException:\n        pass",
    "busy loop": "n = 0\nwhile True:\n    n += 1",
    "string doubling": "s = 'a'\nwhile True:\n    s += s",
    "list growth": "x = []\nwhile True:\n    x.append('a' * 100000)",
    "recursion": "f = lambda n: f(n + 1)\nresult = f(0)",
    "output too large": "block = 'x' * 900000\nresult = [block] * 10",
    "padding kept in data": "pad = 'x'.ljust(50000000)",
    "import": "import os",
    "class statement": "class A:\n    pass",
    "c hang": f"x = {C_HANG}",
}
CORPUS = (
    [("script", name, source) for name, source in SCRIPTS.items()]
    + [("script", f"script: {name}", f"x = {source}") for name, source in list(EXPRESSIONS.items())[:8]]
    + [("condition", f"condition: {name}", source) for name, source in EXPRESSIONS.items()]
    + [("dmn_input", f"decision input: {name}", source) for name, source in list(EXPRESSIONS.items())[::3]]
    + [("dmn_entry", f"decision entry: {name}", source) for name, source in list(EXPRESSIONS.items())[1::4]]
    + [("dmn_output", f"decision output: {name}", source) for name, source in list(EXPRESSIONS.items())[2::4]]
    + [("timer", f"timer: {name}", source) for name, source in list(EXPRESSIONS.items())[::2]]
)
SLACK_S = 2.0  # starting a fresh worker after a killed one, and the database round trips


def _run(session, clock, caseworker, version):
    case = cases.start_case(session, clock, caseworker, version, "hostile")
    task = session.scalar(select(TaskRecord).where(TaskRecord.case_id == case.id, TaskRecord.status == TaskStatus.OPEN))
    return cases.complete_task(session, clock, caseworker, task.id, {"value": 1})


def test_the_corpus_holds_at_least_forty_hostile_diagrams():
    assert len(CORPUS) >= 40
    assert {kind for kind, _, _ in CORPUS} == set(ELEMENT)


@pytest.mark.parametrize(("kind", "source"), [(k, s) for k, _, s in CORPUS], ids=[n for _, n, _ in CORPUS])
def test_a_hostile_diagram_is_refused_or_stops_its_case_within_the_deadline(session, clock, caseworker, kind, source):
    files = diagram(kind, source)
    try:
        build_definition(files)
    except DefinitionInvalid as refused:
        assert any(p.element == ELEMENT[kind] for p in refused.problems)
        return
    version = smuggle(session, clock, files)
    started = time.monotonic()
    case = _run(session, clock, caseworker, version)
    elapsed = time.monotonic() - started
    assert case.status == CaseStatus.ERROR
    assert case.error_element == ELEMENT[kind]
    assert case.error_message
    assert elapsed < workers.current_limits().wall_s + SLACK_S


@pytest.mark.parametrize(("source", "code"), [
    ("n = 0\nwhile True:\n    n += 1", "script_timeout"),
    (f"x = {C_HANG}", "script_timeout"),
    ("s = 'a'\nwhile True:\n    s += s", "script_memory"),
    ("block = 'x' * 900000\nresult = [block] * 10", "script_output_too_large"),
])
def test_the_error_names_the_limit_and_the_line(session, clock, caseworker, source, code):
    case = _run(session, clock, caseworker, smuggle(session, clock, diagram("script", "first = 1\n" + source)))
    assert case.status == CaseStatus.ERROR
    assert case.error_message.startswith(code)
    if code in ("script_timeout", "script_memory") and "while" in source:
        assert case.error_line in (3, 4)


def test_a_case_stopped_by_a_script_leaves_other_cases_running(session, clock, caseworker):
    hostile = _run(session, clock, caseworker, smuggle(session, clock, diagram("script", "raise SystemExit(1)")))
    healthy = _run(session, clock, caseworker, smuggle(session, clock, diagram("script", "total = value + 1"), 2))
    assert hostile.status == CaseStatus.ERROR and "SystemExit" in hostile.error_message
    assert healthy.status == CaseStatus.RUNNING


@pytest.mark.parametrize(("kind", "code"), [
    ("dmn_input", "decision_refused"), ("dmn_entry", "decision_refused"), ("dmn_output", "decision_refused"),
    ("timer", "timer_refused"), ("condition", "condition_refused"), ("script", "script_refused"),
])
def test_validation_checks_decision_and_timer_expressions_like_scripts(kind, code):
    with pytest.raises(DefinitionInvalid) as refused:
        build_definition(diagram(kind, "now.__globals__"))
    assert [(p.code, p.element) for p in refused.value.problems] == [(code, ELEMENT[kind])]


@pytest.mark.parametrize("kind", sorted(ELEMENT))
def test_an_ordinary_expression_passes_validation_everywhere(kind):
    source = "total = value + 1" if kind == "script" else ("'PT1H'" if kind == "timer" else "value > 0")
    if kind == "dmn_output":
        source = "'ok'"
    assert build_definition(diagram(kind, source)).process_id == "hostile"
