"""Which JSON Schema constructs a task form may use, local references resolved, and errors inside
repeatable groups named by their row."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tsunagu.engine.errors import FormInvalid
from tsunagu.engine.runtime.forms import resolve_refs, unsupported_constructs, validate_form

SHIPPED = Path(__file__).resolve().parents[2] / "bpmn"

CONTACTS = {
    "type": "object",
    "$defs": {"contact": {"type": "object", "required": ["name"],
                          "properties": {"name": {"type": "string"}, "phone": {"type": "string"}}}},
    "properties": {
        "contacts": {"type": "array", "items": {"$ref": "#/$defs/contact"}},
        "kind": {"type": "string", "oneOf": [{"const": "a", "title": "A"}, {"const": "b", "title": "B"}]},
        "note": {"type": ["string", "null"]},
        "when": {"type": "string", "format": "date"},
        "office": {"type": "string", "readOnly": True, "default": "福祉課"},
    },
}


def codes(schema, ui=None):
    return [(path, code) for path, code, _message in unsupported_constructs(schema, ui)]


def test_the_constructs_spiffarena_forms_use_are_all_accepted():
    ui = {"ui:order": ["kind", "*"], "kind": {"ui:widget": "radio", "ui:help": "…"},
          "contacts": {"items": {"phone": {"ui:placeholder": "090-…"}}, "ui:options": {"addable": True}},
          "note": {"ui:widget": "textarea", "ui:options": {"rows": 3}}, "when": {"ui:widget": "date"}}
    assert unsupported_constructs(CONTACTS, ui) == []


def test_every_shipped_form_is_accepted():
    forms = [path for path in SHIPPED.rglob("*-schema.json")]
    assert forms
    for path in forms:
        ui_path = path.with_name(path.name.replace("-schema.json", "-uischema.json"))
        ui = json.loads(ui_path.read_text(encoding="utf-8")) if ui_path.exists() else {}
        assert unsupported_constructs(json.loads(path.read_text(encoding="utf-8")), ui) == [], path.name


def test_rules_that_only_add_checks_to_existing_fields_are_accepted():
    schema = {"type": "object", "properties": {"decision": {"type": "string"}, "reason": {"type": "string"}},
              "allOf": [{"if": {"properties": {"decision": {"const": "no"}}},
                         "then": {"required": ["reason"], "properties": {"reason": {"minLength": 1}}}}],
              "dependencies": {"decision": ["reason"]}}
    assert unsupported_constructs(schema, {}) == []


@pytest.mark.parametrize(("prop", "code"), [
    ({"$ref": "https://example.org/person.json"}, "form_ref_unresolved"),
    ({"$ref": "#/definitions/missing"}, "form_ref_unresolved"),
    ({"type": "object", "patternProperties": {"^x": {"type": "string"}}}, "form_construct_unsupported"),
    ({"type": "object", "additionalProperties": {"type": "string"}}, "form_construct_unsupported"),
    ({"type": "array", "items": {"type": "array", "items": {"type": "string"}}}, "form_nested_array_unsupported"),
    ({"type": ["string", "integer"]}, "form_type_list_unsupported"),
    ({"type": "string", "format": "data-url"}, "form_file_upload_unsupported"),
    ({"oneOf": [{"type": "string"}, {"type": "integer"}]}, "form_choice_unsupported"),
    ({"type": "object", "properties": {"a": {"type": "string"}},
      "if": {"properties": {"a": {"const": "x"}}}, "then": {"properties": {"b": {"type": "string"}}}},
     "form_construct_unsupported"),
    ({"type": "object", "allOf": [{"properties": {"extra": {"type": "string"}}}]}, "form_construct_unsupported"),
])
def test_a_construct_the_page_cannot_show_is_refused_with_the_field_named(prop, code):
    schema = {"type": "object", "properties": {"family": {"type": "object", "properties": {"member": prop}}}}
    assert codes(schema) == [("family.member", code)]


def test_a_widget_or_custom_field_outside_the_supported_set_is_refused_with_its_name():
    schema = {"type": "object", "properties": {"pin": {"type": "string"}, "who": {"type": "string"},
                                               "doc": {"type": "string"}}}
    problems = unsupported_constructs(schema, {"pin": {"ui:widget": "password"}, "who": {"ui:field": "typeahead"},
                                               "doc": {"ui:widget": "file"}})
    assert [(p, c) for p, c, _m in problems] == [("pin", "form_widget_unsupported"), ("who", "form_widget_unsupported"),
                                                 ("doc", "form_file_upload_unsupported")]
    assert "'password'" in problems[0][2] and "'typeahead'" in problems[1][2]


def test_a_field_inside_a_repeatable_group_is_named_by_its_path():
    schema = {"type": "object", "properties": {"contacts": {"type": "array", "items": {
        "type": "object", "properties": {"phone": {"type": "string", "format": "data-url"}}}}}}
    assert codes(schema) == [("contacts.items.phone", "form_file_upload_unsupported")]


def test_local_references_are_resolved_and_a_circular_one_is_refused():
    resolved = resolve_refs(CONTACTS)
    assert resolved["properties"]["contacts"]["items"]["required"] == ["name"]
    looped = {"type": "object", "definitions": {"node": {"type": "object", "properties": {
        "child": {"$ref": "#/definitions/node"}}}}, "properties": {"root": {"$ref": "#/definitions/node"}}}
    assert codes(looped) == [("root.child", "form_ref_unresolved")]


def test_an_error_in_the_second_row_names_that_row_and_its_field():
    data = {"contacts": [{"name": "山田"}, {"phone": "090"}], "kind": "c"}
    with pytest.raises(FormInvalid) as raised:
        validate_form(CONTACTS, data)
    assert {(e.field, e.code) for e in raised.value.errors} == {("contacts.1.name", "required"), ("kind", "enum")}


def test_spiffarenas_choices_from_case_data_are_refused_with_their_reason():
    schema = {"type": "object", "definitions": {"Color": {"type": "string", "anyOf": [
        "options_from_task_data_var:awesome_color_options"]}},
              "properties": {"selectedColor": {"$ref": "#/definitions/Color", "title": "Select color"}}}
    [(path, code, message)] = unsupported_constructs(schema, {})
    assert (path, code) == ("selectedColor", "form_choice_unsupported") and "options_from_task_data_var" in message
