"""A DMN decision table read into rows, edited and written back: ids and the diagram survive, every entry
is checked as the sandbox runs it, and the "try it" box evaluates the table through the runtime's engine."""
from __future__ import annotations

from copy import deepcopy
from pathlib import Path

import pytest
from lxml import etree

from tsunagu.processes import decision_tables as dt
from tsunagu.processes import decision_trial
from tsunagu.processes.loader import check_files, read_folder

STANDARD = Path(__file__).resolve().parents[2] / "bpmn" / "kodoku_koritsu_case"
NORMAL_PERSON = {"suicidal_thoughts": False, "special_care": [], "immediate_danger": False,
                 "existing_scheme": "none", "ucla_total": 7, "loneliness_direct": 3}


@pytest.fixture(scope="module")
def files() -> dict[str, str]:
    return read_folder(STANDARD)


def _ids(text: str) -> list[str]:
    root = etree.fromstring(text.encode())
    return [e.get("id") for e in root.iter() if isinstance(e.tag, str) and e.get("id")]


def test_the_standard_tables_are_read_with_their_columns_rules_and_hit_policy(files):
    tables = {t.decision_id: t for t in dt.decisions(files)}
    assert sorted(tables) == ["review_interval", "risk_triage"]
    triage = tables["risk_triage"]
    assert (triage.file, triage.hit_policy, len(triage.rules)) == ("risk_triage.dmn", "FIRST", 6)
    assert triage.inputs[3].expression == "ucla_total" and triage.outputs[0].name == "risk_level"
    high = triage.rules[3]
    assert (high.id, high.inputs[3], high.outputs, high.annotation[:7]) == (
        "Rule_high_ucla", ">= 9", ['"high"'], "UCLA合計が")


def test_an_unchanged_table_writes_back_every_id_and_the_diagram(files):
    table = dt.find_table(files, "risk_triage")
    written = dt.apply_table(files, "risk_triage.dmn", "risk_triage", table)["risk_triage.dmn"]
    assert _ids(written) == _ids(files["risk_triage.dmn"])
    assert "DMNShape_risk_triage" in written and written.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    assert dt.read_table({"risk_triage.dmn": written}, "risk_triage.dmn", "risk_triage") == table


def test_added_removed_and_reordered_rules_keep_the_ids_of_the_rules_untouched(files):
    table = deepcopy(dt.find_table(files, "risk_triage"))
    table.rules.pop(2)  # refer out
    table.rules[2], table.rules[3] = table.rules[3], table.rules[2]  # direct question before UCLA
    table.rules.insert(4, dt.Rule(inputs=["-", "-", "-", ">= 7", "-"], outputs=['"high"'], annotation="当市の基準"))
    written = dt.apply_table(files, "risk_triage.dmn", "risk_triage", table)
    back = dt.read_table(written, "risk_triage.dmn", "risk_triage")
    assert [r.id for r in back.rules][:4] == ["Rule_urgent_suicidal", "Rule_urgent_danger", "Rule_high_direct",
                                              "Rule_high_ucla"]
    assert back.rules[4].id.startswith("DecisionRule_") and back.rules[4].annotation == "当市の基準"
    assert back.rules[5].id == "Rule_normal"
    ids = _ids(written["risk_triage.dmn"])
    assert "Rule_refer_out" not in ids and "Rule_refer_out_existing_scheme" not in ids
    assert "Rule_high_ucla_ucla_total" in ids and len(ids) == len(set(ids))
    assert "DMNShape_risk_triage" in ids
    definition, errors, _warnings = check_files(written)
    assert errors == [] and definition is not None  # the whole package still passes the validator


@pytest.mark.parametrize("entry, column", [("__import__('os')", 3), ("().__class__", 0), ("open('/etc/passwd')", 4)])
def test_a_hostile_entry_is_refused_naming_its_rule_and_column(files, entry, column):
    table = deepcopy(dt.find_table(files, "risk_triage"))
    table.rules[1].inputs[column] = entry
    with pytest.raises(dt.DecisionTableInvalid) as refused:
        dt.apply_table(files, "risk_triage.dmn", "risk_triage", table)
    (problem,) = refused.value.problems
    assert (problem.code, problem.rule, problem.column) == ("entry_refused", 2, table.inputs[column].heading)
    assert "not allowed in a Tsunagu script" in problem.message


def test_a_hostile_output_and_a_nul_byte_are_refused_too(files):
    table = deepcopy(dt.find_table(files, "review_interval"))
    table.rules[0].outputs[0] = "().__class__.__mro__"
    table.rules[2].inputs[1] = ">= 9\x00"
    with pytest.raises(dt.DecisionTableInvalid) as refused:
        dt.apply_table(files, "review_interval.dmn", "review_interval", table)
    assert [(p.code, p.rule, p.index) for p in refused.value.problems] == [
        ("entry_refused", 1, 2), ("entry_control_character", 3, 1)]


@pytest.mark.parametrize("policy", ["ANY", "PRIORITY", "RULE ORDER", "OUTPUT ORDER", "NOPE"])
def test_a_hit_policy_the_engine_does_not_run_is_refused(files, policy):
    table = deepcopy(dt.find_table(files, "risk_triage"))
    table.hit_policy = policy
    with pytest.raises(dt.DecisionTableInvalid) as refused:
        dt.apply_table(files, "risk_triage.dmn", "risk_triage", table)
    assert [(p.code, p.column) for p in refused.value.problems] == [("hit_policy_unsupported", "hit_policy")]


def test_a_table_without_rules_is_refused(files):
    table = deepcopy(dt.find_table(files, "risk_triage"))
    table.rules = []
    with pytest.raises(dt.DecisionTableInvalid) as refused:
        dt.apply_table(files, "risk_triage.dmn", "risk_triage", table)
    assert [p.code for p in refused.value.problems] == ["rules_missing"]


def test_a_broken_decision_file_is_a_problem_not_a_crash(files):
    broken = {**files, "risk_triage.dmn": "<definitions><decision"}
    with pytest.raises(dt.DecisionTableInvalid) as refused:
        dt.read_table(broken, "risk_triage.dmn", "risk_triage")
    assert refused.value.problems[0].code == "xml_invalid"
    assert [t.decision_id for t in dt.decisions(broken)] == ["review_interval"]


def test_trying_the_table_reports_the_output_and_the_rule_that_decided(files):
    assert decision_trial.input_names(dt.find_table(files, "risk_triage")) == list(NORMAL_PERSON)
    trial = decision_trial.evaluate(files, "risk_triage.dmn", "risk_triage", NORMAL_PERSON)
    assert (trial.outputs, trial.applied) == ({"risk_level": "normal"}, [6])
    table = deepcopy(dt.find_table(files, "risk_triage"))
    table.rules[3].inputs[3] = ">= 7"
    edited = dt.apply_table(files, "risk_triage.dmn", "risk_triage", table)
    trial = decision_trial.evaluate(edited, "risk_triage.dmn", "risk_triage", NORMAL_PERSON)
    assert (trial.outputs, trial.applied, trial.matched) == ({"risk_level": "high"}, [4], [4, 6])


def test_a_collect_table_lists_every_match(files):
    table = deepcopy(dt.find_table(files, "review_interval"))
    table.hit_policy = "COLLECT"
    edited = dt.apply_table(files, "review_interval.dmn", "review_interval", table)
    trial = decision_trial.evaluate(edited, "review_interval.dmn", "review_interval",
                                    {"risk_level": "high", "ucla_total": 10})
    assert (trial.outputs, trial.applied) == ({"review_interval": ["P1M", "P1M", "P3M"]}, [1, 2, 3])


def test_a_trial_that_fails_in_the_engine_says_so(files):
    with pytest.raises(decision_trial.TrialFailed):
        decision_trial.evaluate(files, "review_interval.dmn", "review_interval",
                                {"risk_level": "normal", "ucla_total": "many"})


def test_sample_values_are_read_as_python_literals_else_as_text():
    assert [decision_trial.parse_value(v) for v in ("True", "false", "9", '"none"', "none", "", "[1, 2]")] == [
        True, False, 9, "none", "none", None, [1, 2]]


def test_an_uploaded_table_with_a_hit_policy_the_engine_does_not_run_is_refused_by_the_validator(files):
    uploaded = dict(files)
    uploaded["risk_triage.dmn"] = files["risk_triage.dmn"].replace('hitPolicy="FIRST"', 'hitPolicy="RULE ORDER"', 1)
    assert uploaded["risk_triage.dmn"] != files["risk_triage.dmn"]
    _definition, errors, _warnings = check_files(uploaded)
    assert [(p.code, p.element) for p in errors] == [("dmn_hit_policy_unsupported", "risk_triage")]
