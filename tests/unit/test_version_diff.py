"""The difference between two versions of a process, worked out from their files alone: each change once,
with the attribute that changed, and nothing for what did not."""
from __future__ import annotations

import json
import re
from pathlib import Path

from tsunagu.processes.loader import read_folder
from tsunagu.processes.version_diff import AttributeChange, ChangeStatus, VersionDiff, diff_files

ROOT = Path(__file__).resolve().parents[2]
STANDARD = read_folder(ROOT / "bpmn" / "kodoku_koritsu_case")
BPMN_FILE = "kodoku_koritsu_case.bpmn"


def _with(name: str, text: str) -> dict[str, str]:
    return {**STANDARD, name: text}


def _schema(name: str) -> dict:
    return json.loads(STANDARD[name])


def test_the_same_files_make_no_difference():
    diff = diff_files(STANDARD, dict(STANDARD))
    assert diff == VersionDiff() and diff.empty


def test_a_changed_due_time_is_exactly_one_changed_element_with_one_changed_attribute():
    changed = STANDARD[BPMN_FILE].replace('name="dueIn" value="P3D"', 'name="dueIn" value="P5D"', 1)
    diff = diff_files(STANDARD, _with(BPMN_FILE, changed))
    assert [(e.id, e.status) for e in diff.elements] == [("intake", ChangeStatus.CHANGED)]
    assert diff.elements[0].changes == (AttributeChange("properties.dueIn", "P3D", "P5D"),)
    assert (diff.flows, diff.decisions, diff.forms, diff.files, diff.layout_changed) == ((), (), (), (), False)
    assert diff.marked() == {"intake": ChangeStatus.CHANGED}


def test_the_same_model_written_differently_is_no_change():
    # what a tool writing the file again does: another prefix, attributes reordered, other spacing
    rewritten = STANDARD[BPMN_FILE].replace("bpmn:", "model:").replace("xmlns:bpmn=", "xmlns:model=")
    rewritten = re.sub(r'<model:userTask id="intake" name="相談受付">', '<model:userTask  name="相談受付"\n id="intake">',
                       rewritten)
    assert rewritten != STANDARD[BPMN_FILE]
    assert diff_files(STANDARD, _with(BPMN_FILE, rewritten)).empty


def test_a_changed_rule_output_names_the_decision_the_rule_and_the_output_column():
    changed = STANDARD["review_interval.dmn"].replace("<text>\"P3M\"</text>", "<text>\"P4M\"</text>")
    diff = diff_files(STANDARD, _with("review_interval.dmn", changed))
    assert [(d.id, d.status, d.changes) for d in diff.decisions] == [("review_interval", ChangeStatus.CHANGED, ())]
    (rule,) = diff.decisions[0].rules
    assert (rule.id, rule.number, rule.status) == ("Rule_default", 3, ChangeStatus.CHANGED)
    assert rule.changes == (AttributeChange("output.Output_review_interval", '"P3M"', '"P4M"', "間隔（ISO 8601）"),)
    assert diff.elements == () and diff.files == ()


def test_a_renamed_column_heading_is_a_change_of_the_decision_and_not_of_its_rules():
    changed = STANDARD["review_interval.dmn"].replace('label="リスク区分"', 'label="リスクの区分"')
    (decision,) = diff_files(STANDARD, _with("review_interval.dmn", changed)).decisions
    assert decision.changes == (AttributeChange("input_label.Input_risk_level", "リスク区分", "リスクの区分"),)
    assert decision.rules == ()


def test_a_rule_added_and_the_hit_policy_changed_are_listed_with_the_new_rules_entries():
    rule = ('<rule id="Rule_low"><inputEntry id="a"><text>"low"</text></inputEntry><inputEntry id="b"><text>-</text>'
            '</inputEntry><outputEntry id="c"><text>"P6M"</text></outputEntry></rule>\n      <rule id="Rule_default">')
    changed = STANDARD["review_interval.dmn"].replace('<rule id="Rule_default">', rule)
    changed = changed.replace('hitPolicy="FIRST"', 'hitPolicy="UNIQUE"')
    (decision,) = diff_files(STANDARD, _with("review_interval.dmn", changed)).decisions
    assert decision.changes == (AttributeChange("hit_policy", "FIRST", "UNIQUE"),)
    (added,) = decision.rules
    assert (added.id, added.number, added.status) == ("Rule_low", 3, ChangeStatus.ADDED)
    assert {c.attribute: c.new for c in added.changes} == {
        "input.Input_risk_level": '"low"', "input.Input_ucla_total": "-", "output.Output_review_interval": '"P6M"'}


def test_a_form_field_added_and_another_made_required_with_a_new_choice():
    schema = _schema("consent-schema.json")
    schema["properties"]["phone"] = {"type": "string", "title": "連絡先電話番号"}
    schema["required"].append("method")
    schema["properties"]["method"]["oneOf"].append({"const": "online", "title": "オンライン"})
    diff = diff_files(STANDARD, _with("consent-schema.json", json.dumps(schema, ensure_ascii=False, indent=1)))
    (form,) = diff.forms
    assert (form.file, form.title, form.status, form.changes) == (
        "consent-schema.json", "本人同意の確認", ChangeStatus.CHANGED, ())
    fields = {f.path: f for f in form.fields}
    assert set(fields) == {"method", "phone"}
    assert fields["phone"].status == ChangeStatus.ADDED and fields["phone"].title == "連絡先電話番号"
    assert fields["method"].changes == (AttributeChange("required", "false", "true"),
                                        AttributeChange("option.online", None, "オンライン"))
    assert diff.elements == () and diff.decisions == () and diff.files == ()


def test_a_date_rule_and_a_widget_change_are_form_changes_and_a_reformatted_form_is_none():
    schema = _schema("consent-schema.json")
    schema["properties"]["consent_date"]["x-not-after"] = "today"
    ui = json.loads(STANDARD["consent-uischema.json"])
    ui["method"]["ui:widget"] = "select"
    diff = diff_files(STANDARD, {**STANDARD, "consent-schema.json": json.dumps(schema),
                                 "consent-uischema.json": json.dumps(ui)})
    (form,) = diff.forms
    assert {(f.path, c.attribute, c.old, c.new) for f in form.fields for c in f.changes} == {
        ("consent_date", "x-not-after", None, "today"), ("method", "ui:widget", "radio", "select")}
    reformatted = json.dumps(_schema("consent-schema.json"), ensure_ascii=True, sort_keys=True)
    assert diff_files(STANDARD, _with("consent-schema.json", reformatted)).empty


def test_moving_shapes_is_reported_once_as_a_layout_change_and_nothing_else():
    moved = re.sub(r'x="(\d+)"', lambda m: f'x="{int(m.group(1)) + 40}"', STANDARD[BPMN_FILE])
    diff = diff_files(STANDARD, _with(BPMN_FILE, moved))
    assert diff.layout_changed and diff.empty


def test_elements_and_flows_added_and_removed_with_their_ends():
    bpmn = STANDARD[BPMN_FILE]
    removed = re.sub(r'\s*<bpmn:sequenceFlow id="flow_intake_assessment"[^>]*/>', "", bpmn)
    assert removed != bpmn
    diff = diff_files(STANDARD, _with(BPMN_FILE, removed))
    assert [(f.id, f.status) for f in diff.flows] == [("flow_intake_assessment", ChangeStatus.REMOVED)]
    ends = {c.attribute: c.old for c in diff.flows[0].changes}
    assert (ends["source"], ends["target"]) == ("intake", "baseline_assessment")
    back = diff_files(_with(BPMN_FILE, removed), STANDARD)
    assert [(f.id, f.status) for f in back.flows] == [("flow_intake_assessment", ChangeStatus.ADDED)]
    assert back.marked() == {"flow_intake_assessment": ChangeStatus.ADDED}


def test_a_renamed_task_a_new_lane_and_other_files():
    bpmn = STANDARD[BPMN_FILE].replace('name="相談受付"', 'name="相談の受付"', 1)
    new = {**STANDARD, BPMN_FILE: bpmn, "notes.txt": "メモ", "tsunagu.json": '{"lane_roles": {}}'}
    old = {**STANDARD, "tsunagu.json": '{"lane_roles":{}}', "old.txt": "x"}
    diff = diff_files(old, new)
    assert [(e.id, e.changes) for e in diff.elements] == [("intake", (AttributeChange("name", "相談受付", "相談の受付"),))]
    assert diff.flows == ()  # the flows into and out of the renamed task are unchanged
    assert [(f.name, f.status) for f in diff.files] == [("notes.txt", ChangeStatus.ADDED),
                                                        ("old.txt", ChangeStatus.REMOVED)]


def test_an_unreadable_file_is_listed_as_changed_rather_than_hidden():
    diff = diff_files(STANDARD, _with("review_interval.dmn", "<definitions><oops"))
    assert [(f.name, f.status) for f in diff.files] == [("review_interval.dmn", ChangeStatus.CHANGED)]
    assert [(d.id, d.status) for d in diff.decisions] == [("review_interval", ChangeStatus.REMOVED)]
