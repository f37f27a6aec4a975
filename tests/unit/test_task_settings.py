"""Task settings without XML: the table read from a package and its changes written back into the BPMN,
touching nothing but what changed."""
from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from tsunagu.engine.errors import FormInvalid
from tsunagu.processes import loader
from tsunagu.processes.task_settings import apply_settings, effective_changes, read_table

STANDARD = Path(__file__).resolve().parents[2] / "bpmn" / "kodoku_koritsu_case"
BPMN = "kodoku_koritsu_case.bpmn"


@pytest.fixture(scope="module")
def files() -> dict[str, str]:
    return loader.read_folder(STANDARD)


def _changed_lines(old: str, new: str) -> list[str]:
    return [line for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_the_table_lists_every_user_task_with_its_role_form_and_due_time(files):
    table = read_table(files)
    intake = table.row("intake")
    assert intake is not None
    assert (intake.name, intake.role, intake.form, intake.due) == ("相談受付", "caseworker", "intake-schema.json", "P3D")
    assert table.row("action_response").role == "partner"  # a task inside the event subprocess
    assert table.row("triage") is None  # a business rule task is not a human task
    assert "intake-schema.json" in table.forms and "intake-uischema.json" not in table.forms


def test_a_changed_due_time_rewrites_that_attribute_and_nothing_else(files):
    changed = apply_settings(files, {"intake": {"due": "P14D"}})
    old = files[BPMN]
    first = old.index('<spiffworkflow:property name="dueIn" value="P3D" />')
    assert old.index('<bpmn:userTask id="intake"') < first < old.index('<bpmn:userTask id="baseline_assessment"')
    assert changed[BPMN] == old[:first] + old[first:].replace('value="P3D"', 'value="P14D"', 1)
    assert {n for n in files if files[n] != changed[n]} == {BPMN}
    assert read_table(changed).row("intake").due == "P14D"
    _, errors, _ = loader.check_files(changed)
    assert errors == []


def test_the_diff_of_a_changed_due_time_shows_exactly_that_change(files):
    """Checked with processes/version_diff.py (built alongside; skipped where it is not there)."""
    version_diff = pytest.importorskip("tsunagu.processes.version_diff")
    diff = version_diff.diff_files(files, apply_settings(files, {"intake": {"due": "P14D"}}))
    assert [(c.id, [(a.attribute, a.old, a.new) for a in c.changes]) for c in diff.elements] == [
        ("intake", [("properties.dueIn", "P3D", "P14D")])]
    assert (diff.flows, diff.decisions, diff.forms, diff.files, diff.layout_changed) == ((), (), (), (), False)
    moved = version_diff.diff_files(files, apply_settings(files, {"table_case": {"role": "supervisor"}}))
    assert [(c.id, [(a.attribute, a.old, a.new) for a in c.changes]) for c in moved.elements] == [
        ("table_case", [("lane", "coordinator", "supervisor")])]
    assert not moved.layout_changed


def test_moving_a_task_to_another_lane_changes_only_the_lanes_references(files):
    changed = apply_settings(files, {"table_case": {"role": "supervisor"}})
    lines = _changed_lines(files[BPMN], changed[BPMN])
    assert sorted(lines) == ["+        <bpmn:flowNodeRef>table_case</bpmn:flowNodeRef>",
                             "-        <bpmn:flowNodeRef>table_case</bpmn:flowNodeRef>"]
    assert read_table(changed).row("table_case").role == "supervisor"
    di = files[BPMN][files[BPMN].index("<bpmndi:BPMNDiagram"):]
    assert changed[BPMN].endswith(di)  # the shape stays where it was drawn
    _, errors, _ = loader.check_files(changed)
    assert errors == []


def test_settings_a_task_lacks_are_added_in_the_files_style_and_removing_them_restores_the_file(files):
    instructions = "本人に電話で<確認>する & 記録する\n\n- 留守なら翌日"
    added = apply_settings(files, {"intake": {"follow_up": "P2D", "priority": "07", "instructions": instructions}})
    row = read_table(added).row("intake")
    assert (row.follow_up, row.priority, row.instructions) == ("P2D", "7", instructions)
    lines = _changed_lines(files[BPMN], added[BPMN])
    assert '+          <spiffworkflow:property name="followUpIn" value="P2D" />' in lines
    assert "&lt;確認&gt;する &amp; 記録する" in added[BPMN]
    assert all(not line.startswith("-") or "</spiffworkflow:properties>" in line for line in lines)
    _, errors, _ = loader.check_files(added)
    assert errors == []
    removed = apply_settings(added, {"intake": {"follow_up": "", "priority": None, "instructions": " "}})
    assert removed[BPMN] == files[BPMN]


def test_a_new_form_brings_its_layout_and_an_unchanged_value_changes_nothing(files):
    changed = apply_settings(files, {"closure": {"form": "review-schema.json", "due": "P14D"}})
    row = read_table(changed).row("closure")
    assert (row.form, row.ui_form, row.due) == ("review-schema.json", "review-uischema.json", "P14D")
    assert len(_changed_lines(files[BPMN], changed[BPMN])) == 4
    assert apply_settings(files, {"closure": {"due": " P14D ", "role": "caseworker"}}) == files


def test_invalid_values_are_refused_naming_each_task_and_field_and_nothing_is_written(files):
    before = dict(files)
    with pytest.raises(FormInvalid) as refused:
        apply_settings(files, {"intake": {"due": "3 days", "form": "missing.json", "priority": "101"},
                               "closure": {"role": "mayor", "follow_up": "P1X", "instructions": "あ" * 10_001},
                               "review_escalation": {"priority": "high"},
                               "nope": {"due": "P1D"}})
    found = {(e.field, e.code) for e in refused.value.errors}
    assert found == {("intake.due", "duration_invalid"), ("intake.form", "form_file_unknown"),
                     ("intake.priority", "priority_invalid"), ("closure.role", "role_unknown"),
                     ("closure.follow_up", "duration_invalid"), ("closure.instructions", "maxLength"),
                     ("review_escalation.priority", "priority_invalid"), ("nope", "task_unknown")}
    assert all(e.params.get("task") for e in refused.value.errors)
    assert files == before
    with pytest.raises(FormInvalid) as no_lane:
        effective_changes(files, {"intake": {"role": "admin", "instructions": "a\x00b"}})
    assert {e.code for e in no_lane.value.errors} == {"role_has_no_lane", "characters_invalid"}


FOREIGN = """<?xml version="1.0" encoding="UTF-8"?>\r
<!-- written by hand -->\r
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"\r
             xmlns:camunda="http://camunda.org/schema/1.0/bpmn"\r
             id="d" targetNamespace="x">\r
  <process id="p" isExecutable="true">\r
    <laneSet id="ls">\r
      <lane id="A" name="caseworker"><flowNodeRef>s</flowNodeRef><flowNodeRef>t</flowNodeRef></lane>\r
      <lane id="B" name="supervisor"/>\r
    </laneSet>\r
    <startEvent id="s"/>\r
    <manualTask id="t" name="電話" camunda:foo="bar">\r
      <documentation>見守り</documentation>\r
      <!-- keep me -->\r
      <outgoing>f</outgoing>\r
    </manualTask>\r
    <endEvent id="e"/>\r
    <sequenceFlow id="f" sourceRef="t" targetRef="e"/>\r
    <sequenceFlow id="g" sourceRef="s" targetRef="t"/>\r
    <scriptTask id="x"><script><![CDATA[a = 1 < 2]]></script></scriptTask>\r
  </process>\r
</definitions>\r
"""


def test_a_file_from_another_modeller_keeps_its_comments_cdata_namespaces_and_line_endings():
    files = {"p.bpmn": FOREIGN}
    changed = apply_settings(files, {"t": {"due": "P1D", "instructions": "かけ直す", "role": "B"}})["p.bpmn"]
    assert changed.startswith(FOREIGN[:FOREIGN.index("  <process")])  # declaration, comment, root tag as they were
    assert "<!-- keep me -->" in changed and "<![CDATA[a = 1 < 2]]>" in changed and 'camunda:foo="bar"' in changed
    assert "\n" not in changed.replace("\r\n", "")  # still CRLF throughout
    lines = changed.split("\r\n")
    doc = lines.index("      <documentation>見守り</documentation>")
    assert lines[doc + 1] == "      <extensionElements>"  # after the documentation, as the schema orders it
    assert 'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"' in lines[doc + 2]
    assert '<lane id="A" name="caseworker"><flowNodeRef>s</flowNodeRef></lane>' in changed
    assert '<lane id="B" name="supervisor">\r\n        <flowNodeRef>t</flowNodeRef>\r\n      </lane>' in changed
    row = read_table({"p.bpmn": changed}).row("t")
    assert (row.kind, row.due, row.instructions, row.role, row.form) == ("manualTask", "P1D", "かけ直す", "supervisor",
                                                                         None)
    with pytest.raises(FormInvalid) as refused:
        apply_settings(files, {"t": {"form": "x.json"}})
    assert [e.code for e in refused.value.errors] == ["form_not_allowed"]
