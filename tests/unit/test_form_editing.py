"""The form editor's model: a package's forms read into fields, changes written back touching only what
changed, and refusals that name the field (and the element that still reads a removed one)."""
from __future__ import annotations

import copy
import difflib
import json
from pathlib import Path

import pytest

from tsunagu.engine.errors import FormInvalid
from tsunagu.processes import drafts, loader
from tsunagu.processes.form_checks import check_model, readers
from tsunagu.processes.form_editing import apply_form, documents
from tsunagu.processes.form_model import Choice, FormField, forms, read_form

STANDARD = Path(__file__).resolve().parents[2] / "bpmn" / "kodoku_koritsu_case"
FORM, LAYOUT = "intake-schema.json", "intake-uischema.json"


@pytest.fixture(scope="module")
def files() -> dict[str, str]:
    return loader.read_folder(STANDARD)


def _changed_lines(old: str, new: str) -> list[str]:
    return [line for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_the_forms_are_listed_with_the_tasks_that_show_them(files):
    listed = {f.file: f for f in forms(files)}
    assert listed[FORM].tasks == [("intake", "相談受付")] and listed[FORM].title == "相談受付"
    assert [t for t, _ in listed["assessment-schema.json"].tasks] == ["baseline_assessment", "review_assessment"]
    assert LAYOUT not in listed and listed["concern-schema.json"].tasks == []  # the referral form


def test_a_form_is_read_in_the_order_the_task_page_shows_it_with_types_choices_and_date_rules(files):
    model = read_form(files, FORM)
    assert model.ui_file == LAYOUT
    assert [f.name for f in model.fields][:4] == ["consultation_date", "channel", "referrer", "person_name"]
    date, channel = model.field("consultation_date"), model.field("channel")
    assert (date.type, date.required, date.not_after_today) == ("date", True, True)
    assert (channel.type, channel.widget, channel.choices[0]) == ("string", "radio", Choice("counter", "窓口"))
    assert model.field("special_care").type == "multiple" and model.field("immediate_danger").type == "boolean"
    bodies = read_form(files, "consent-schema.json").field("recipient_body_ids")
    assert bodies.locked == "field_dynamic_choices"  # choices from the member bodies: edited in the file


def test_every_shipped_form_read_and_written_back_unchanged_keeps_its_bytes(files):
    for use in forms(files):
        assert apply_form(files, use.file, read_form(files, use.file)) == files, use.file


def test_a_new_label_and_a_new_required_field_change_only_those_lines_and_pass_the_upload_check(files):
    model = read_form(files, FORM)
    model.field("person_name").title = "氏名（本人）"
    model.fields.insert(3, FormField("living_situation", "string", title="住まいの状況", required=True,
                                     choices=[Choice("own", "持ち家"), Choice("rent", "賃貸")], widget="radio"))
    changed = apply_form(files, FORM, model)
    assert {n for n in files if files[n] != changed[n]} == {FORM, LAYOUT}
    layout = _changed_lines(files[LAYOUT], changed[LAYOUT])
    assert layout == ['+    "living_situation",', '-  "existing_scheme": {"ui:widget": "radio"}',
                      '+  "existing_scheme": {"ui:widget": "radio"},', '+  "living_situation": {"ui:widget": "radio"}']
    schema = json.loads(changed[FORM])
    assert list(schema["properties"])[-1] == "living_situation" and schema["required"][-1] == "living_situation"
    assert '-      "title": "氏名",' in _changed_lines(files[FORM], changed[FORM])
    assert drafts.check_files(changed).definition.process_id == "kodoku_koritsu_case"


def test_refusals_name_each_field_at_once(files):
    stored = read_form(files, FORM)
    model = copy.deepcopy(stored)
    model.fields += [FormField("1st", "string", title="x"), FormField("channel", "string", title="x"),
                     FormField("tags", "multiple", title="タグ"), FormField("size", "integer", title="人数",
                                                                          choices=[Choice("1", "1人"), Choice("a", "?"),
                                                                                   Choice("1", "again")])]
    model.field("household").choices.append(Choice("alone", "ひとり"))
    found = {(e.field, e.code) for e in check_model(files, stored, model)}
    assert found == {("1st", "name_invalid"), ("channel", "name_taken"), ("tags", "choices_missing"),
                     ("size.choices.1", "choice_value_invalid"), ("size.choices.2", "choice_duplicate"),
                     ("household.choices.4", "choice_duplicate")}
    with pytest.raises(FormInvalid):
        apply_form(files, FORM, model)


def test_a_field_an_element_reads_cannot_be_removed_and_the_refusal_names_the_element(files):
    uses = readers(files, FORM)
    assert any(r.element == "risk_triage" and r.how == "decision" for r in uses["immediate_danger"])
    stored = read_form(files, FORM)
    model = copy.deepcopy(stored)
    model.fields = [f for f in model.fields if f.name not in ("immediate_danger", "person_kana")]
    refused = check_model(files, stored, model)
    assert [(e.field, e.code, e.params["element"]) for e in refused] == [
        ("immediate_danger", "field_in_use", "risk_triage")]
    attempt = read_form(files, "contact-attempt-schema.json")
    gone = copy.deepcopy(attempt)
    gone.fields = [f for f in gone.fields if f.name != "attempt_next_step"]
    assert {(e.code, e.params["how"]) for e in check_model(files, attempt, gone)} == {("field_in_use", "condition")}


def test_the_preview_documents_render_an_unsaved_invalid_model_without_failing(files):
    model = read_form(files, FORM)
    model.fields.append(FormField("", "integer", title="<script>", choices=[Choice("x", "")]))
    schema, ui = documents(files, model)
    assert schema["properties"][f"field_{len(model.fields)}"]["oneOf"] == [{"const": "x", "title": "x"}]
    assert ui["ui:order"][-1] == f"field_{len(model.fields)}"
