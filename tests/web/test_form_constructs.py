"""Task forms with the JSON Schema constructs SpiffArena's forms use: repeatable groups, nested objects,
choices, read-only fields, lists of single inputs; rendered on the server, read back, kept on errors."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from page_text import element, text
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from tsunagu.engine.models import FormSubmissionRecord, TaskRecord
from tsunagu.processes.deployment import deploy
from tsunagu.processes.loader import build_definition
from tsunagu.web.formschema import build_fields, display_value, draft_values, parse_submission

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn" / "failing_script"

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "連絡先の登録",
    "type": "object",
    "required": ["contacts", "kind", "address"],
    "definitions": {
        "contact": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "title": "氏名"},
                "phone": {"type": "string", "title": "電話番号"},
                "relation": {"type": "string", "title": "続柄", "enum": ["family", "friend"],
                             "enumNames": ["家族", "友人"]},
            },
        },
    },
    "properties": {
        "contacts": {"type": "array", "title": "連絡先", "minItems": 1, "items": {"$ref": "#/definitions/contact"}},
        "address": {"type": "object", "title": "住所", "required": ["city"],
                    "properties": {"city": {"type": "string", "title": "市区町村"},
                                   "street": {"type": "string", "title": "番地"}}},
        "kind": {"type": "string", "title": "相談の種類",
                 "oneOf": [{"const": "visit", "title": "訪問"}, {"const": "phone", "title": "電話"}]},
        "office": {"type": "string", "title": "担当窓口", "readOnly": True, "default": "福祉課"},
        "keywords": {"type": "array", "title": "キーワード", "items": {"type": "string"}},
        "email": {"type": "string", "title": "メール", "format": "email"},
    },
}
UI_SCHEMA = {"ui:order": ["kind", "*", "email"], "email": {"ui:placeholder": "name@example.jp"},
             "address": {"street": {"ui:help": "建物名まで"}}}


@pytest.fixture
def group_version(session, clock):
    """The fixture process whose first task asks for the form above; its script counts the contacts."""
    files = {path.name: path.read_text(encoding="utf-8") for path in FIXTURE.iterdir()}
    files["failing_script.bpmn"] = files["failing_script.bpmn"].replace("result = 10 / divisor",
                                                                        "result = len(contacts)")
    files["value-schema.json"] = json.dumps(SCHEMA, ensure_ascii=False)
    files["value-uischema.json"] = json.dumps(UI_SCHEMA, ensure_ascii=False)
    version = deploy(session, clock, build_definition(files, "failing_script")).version
    session.commit()
    return version


def _task_url(client, version) -> str:
    response = client.post("/cases/new", data={"version_id": version.id, "title": "山田さん"})
    assert response.status_code == 302
    return response.headers["Location"]


VALID = {"kind": "visit", "contacts.0.name": "山田 一郎", "contacts.0.phone": "090-1111-2222",
         "contacts.0.relation": "family", "contacts.1.name": "佐藤 花子", "contacts.1.relation": "friend",
         "contacts.2.name": "", "contacts.2.phone": "", "address.city": "つながり市", "keywords.0": "見守り",
         "keywords.1": "", "office": "書き換え", "email": "ichiro@example.jp"}


def test_the_task_page_shows_a_repeatable_group_a_nested_object_and_every_other_construct(
        client, login, caseworker, group_version):
    login(caseworker)
    html = client.get(_task_url(client, group_version)).get_data(as_text=True)
    group = element(html, "field-contacts")
    assert "連絡先" in text(group) and "必須" in text(group)
    # One row to fill (minItems 1) and a spare one, each with a heading, the row's own required mark and labels.
    assert "1件目" in group and "2件目" in group and "3件目" not in group
    assert 'name="contacts.0.name"' in group and 'name="contacts.1.phone"' in group
    assert '<label for="contacts.0.name">氏名 <span class="req">必須</span>' in group
    assert 'data-spare' in element(html, "field-contacts").split('data-row="1"', 1)[1].split(">", 1)[0]
    assert "家族" in element(html, "field-contacts.0.relation")
    assert '<script src="/static/repeat.js" defer>' in html
    nested = element(html, "field-address")
    assert "<legend>住所" in nested and 'name="address.city"' in nested and "建物名まで" in nested
    kind = element(html, "field-kind")
    assert "訪問" in kind and 'value="phone"' in kind and "<select" in kind
    office = element(html, "field-office")
    assert 'value="福祉課"' in office and "readonly" in office
    keywords = element(html, "field-keywords")
    assert 'name="keywords.0"' in keywords and "キーワード 1件目" in text(keywords)
    assert 'type="email"' in element(html, "field-email") and 'placeholder="name@example.jp"' in html
    # ui:order with "*": kind first, email last, the rest in schema order between them.
    order = [html.index(f'id="field-{name}"') for name in ("kind", "contacts", "address", "office", "keywords", "email")]
    assert order == sorted(order)


def test_a_row_missing_a_required_field_is_refused_beside_that_row_and_every_row_is_kept(
        client, login, caseworker, group_version, session):
    login(caseworker)
    task_url = _task_url(client, group_version)
    response = client.post(task_url, data={**VALID, "contacts.1.name": "", "contacts.1.phone": "080-3333-4444"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "この項目は必須です。" in element(html, "field-contacts.1.name")
    assert "この項目は必須です。" not in element(html, "field-contacts.0.name")
    assert 'aria-invalid="true"' in element(html, "field-contacts.1.name")
    assert 'value="山田 一郎"' in element(html, "field-contacts.0.name")
    assert 'value="080-3333-4444"' in element(html, "field-contacts.1.phone")
    assert "selected" in element(html, "field-contacts.1.relation").split('value="friend"', 1)[1].split(">", 1)[0]
    assert 'name="contacts.2.name"' in html and 'value="見守り"' in html  # a spare row again; the list is kept
    assert session.scalar(select(FormSubmissionRecord)) is None


def test_a_valid_form_stores_the_rows_as_a_list_of_objects_and_keeps_the_read_only_default(
        client, login, caseworker, group_version, session):
    login(caseworker)
    client.post(_task_url(client, group_version), data=VALID)
    submission = session.scalar(select(FormSubmissionRecord))
    assert submission is not None
    assert submission.data["contacts"] == [
        {"name": "山田 一郎", "phone": "090-1111-2222", "relation": "family"},
        {"name": "佐藤 花子", "relation": "friend"},
    ]
    assert submission.data["address"] == {"city": "つながり市"}
    assert submission.data["keywords"] == ["見守り"]
    assert submission.data["office"] == "福祉課"  # the posted "書き換え" is ignored
    assert submission.data["kind"] == "visit"


def test_an_empty_required_nested_object_names_its_own_required_field(client, login, caseworker, group_version):
    login(caseworker)
    data = {k: v for k, v in VALID.items() if not k.startswith("address.")}
    response = client.post(_task_url(client, group_version), data=data)
    assert response.status_code == 422
    assert "この項目は必須です。" in element(response.get_data(as_text=True), "field-address.city")


def test_group_rows_survive_a_draft_round_trip(client, login, caseworker, group_version, session):
    login(caseworker)
    task_url = _task_url(client, group_version)
    token = client.get(task_url).get_data(as_text=True).split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    typed = {"csrf_token": token, "contacts.0.name": "山田 一郎", "contacts.1.name": "", "contacts.1.phone": "0120",
             "keywords.0": "見守り"}
    assert client.post(f"{task_url}/draft", data=typed).status_code == 200
    html = client.get(task_url).get_data(as_text=True)
    assert 'value="山田 一郎"' in element(html, "field-contacts.0.name")
    assert 'value="0120"' in element(html, "field-contacts.1.phone")
    assert 'name="contacts.2.name"' in html  # and a spare row after the two typed ones
    assert 'value="見守り"' in element(html, "field-keywords.0")
    task = session.scalar(select(TaskRecord).where(TaskRecord.element_id == "enter_value"))
    assert task is not None


# --- The form functions themselves ----------------------------------------------------------------

def test_without_script_an_empty_form_offers_the_minimum_rows_and_one_spare():
    schema = {"type": "object", "properties": {"people": {"type": "array", "minItems": 2, "items": {
        "type": "object", "properties": {"name": {"type": "string", "default": "—"}}}}}}
    people = build_fields(schema, {})[0]
    assert people.widget == "repeat" and len(people.rows) == 3 and people.spare_rows == 1
    assert [row[0].name for row in people.rows] == ["people.0.name", "people.1.name", "people.2.name"]
    assert people.rows[0][0].value == "—" and people.rows[2][0].value is None  # no default in the spare row


def test_a_group_at_its_maximum_offers_no_spare_and_a_fixed_group_no_add():
    schema = {"type": "object", "properties": {"people": {"type": "array", "maxItems": 1, "items": {
        "type": "object", "properties": {"name": {"type": "string"}}}}}}
    assert build_fields(schema, {})[0].spare_rows == 0
    fixed = build_fields({**schema, "properties": {"people": {**schema["properties"]["people"], "maxItems": 5}}},
                         {"people": {"ui:options": {"addable": False}}})[0]
    assert fixed.spare_rows == 0 and not fixed.addable


def test_wholly_empty_rows_are_dropped_and_rows_keep_their_posted_order():
    schema = {"type": "object", "properties": {"people": {"type": "array", "items": {
        "type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"},
                                         "alone": {"type": "boolean"}}}}}}
    form = MultiDict([("people.10.name", "C"), ("people.0.name", ""), ("people.0.age", " "),
                      ("people.2.age", "70"), ("people.1.alone", "on")])
    assert parse_submission(schema, form) == {"people": [
        {"alone": True}, {"age": 70, "alone": False}, {"name": "C", "alone": False}]}


def test_ui_readonly_and_disabled_fields_are_ignored_when_posted():
    schema = {"type": "object", "properties": {"a": {"type": "string", "default": "x"}, "b": {"type": "string"}}}
    ui = {"a": {"ui:readonly": True}, "b": {"ui:disabled": True}}
    assert parse_submission(schema, MultiDict([("a", "forged"), ("b", "forged")]), ui) == {}
    fields = build_fields(schema, ui)
    assert fields[0].readonly and fields[0].value == "x" and fields[1].readonly


def test_defaults_fill_a_first_display_but_not_an_emptied_draft():
    schema = {"type": "object", "properties": {"city": {"type": "string", "default": "つながり市"},
                                               "kind": {"type": "string", "enum": ["a", "b"], "default": "b"}}}
    assert [f.value for f in build_fields(schema, {})] == ["つながり市", "b"]
    values = draft_values(schema, {"city": [""], "kind": ["a"]})
    assert [f.value for f in build_fields(schema, {}, values=values)] == [None, "a"]


def test_widgets_follow_the_ui_schema_and_string_formats():
    schema = {"type": "object", "properties": {
        "when": {"type": "string", "format": "date-time"}, "at": {"type": "string", "format": "time"},
        "site": {"type": "string", "format": "uri"}, "memo": {"type": "string"},
        "secret": {"type": "string"}, "pick": {"type": "string", "enum": ["a", "b"]},
        "count": {"type": "integer", "minimum": 1, "maximum": 9}, "tags": {"type": "array", "uniqueItems": True,
                                                                         "items": {"type": "string", "enum": ["x"]}}}}
    ui = {"memo": {"ui:widget": "textarea", "ui:options": {"rows": 3}, "ui:title": "メモ", "ui:description": "自由記述"},
          "secret": {"ui:widget": "hidden"}, "pick": {"ui:widget": "radio"}, "count": {"ui:widget": "updown"}}
    by_name = {f.name: f for f in build_fields(schema, ui, values={"when": "2026-11-27T10:30:00+09:00"})}
    assert by_name["when"].input_type == "datetime-local" and by_name["when"].value == "2026-11-27T10:30"
    assert by_name["at"].input_type == "time" and by_name["site"].input_type == "url"
    assert (by_name["memo"].widget, by_name["memo"].text_rows, by_name["memo"].title) == ("textarea", 3, "メモ")
    assert by_name["memo"].description == "自由記述"
    assert by_name["secret"].widget == "hidden" and by_name["pick"].widget == "radio"
    assert by_name["count"].widget == "integer" and by_name["count"].limits == {"minimum": 1, "maximum": 9}
    assert by_name["tags"].widget == "checkboxes"


def test_an_error_without_an_input_of_its_own_shows_on_the_nearest_one_above():
    schema = {"type": "object", "properties": {
        "tags": {"type": "array", "items": {"type": "string", "enum": ["x", "y"]}},
        "people": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}}}}
    fields = build_fields(schema, {}, values={"people": [{"name": "A"}]},
                          errors={"tags.0": ["選択肢から選んでください。"], "people": ["1件以上"],
                                  "people.0.name": ["長すぎます"], "_form": ["全体"]})
    tags, people = fields
    assert tags.errors == ["選択肢から選んでください。", "全体"]
    assert people.errors == ["1件以上"] and people.rows[0][0].errors == ["長すぎます"]


def test_a_submitted_group_reads_as_titled_rows_with_choice_titles():
    value = [{"name": "山田 一郎", "relation": "family"}, {"name": "佐藤 花子", "phone": ""}]
    shown = display_value(SCHEMA, "contacts", value)  # outside a request: the English source words
    assert shown == "Item 1 氏名: 山田 一郎、続柄: 家族 / Item 2 氏名: 佐藤 花子"
    assert display_value(SCHEMA, "address", {"city": "つながり市"}) == "市区町村: つながり市"


def test_a_yes_no_question_may_be_asked_with_radio_buttons():
    schema = {"type": "object", "properties": {"alone": {"type": "boolean", "default": True}}}
    [alone] = build_fields(schema, {"alone": {"ui:widget": "radio"}})
    assert alone.widget == "radio" and [v for v, _label in alone.options] == ["true", "false"]
    assert alone.is_selected("true") and not alone.is_selected("false")
    assert parse_submission(schema, MultiDict([("alone", "false")])) == {"alone": False}
    assert parse_submission(schema, MultiDict([("alone", "true")])) == {"alone": True}
