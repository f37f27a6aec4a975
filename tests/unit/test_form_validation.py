"""Server-side form checks: each problem is reported against the field a user has to fix."""
from __future__ import annotations

import json

import pytest

from tsunagu.engine.errors import FieldError, FormInvalid
from tsunagu.engine.forms import validate_form

VALID = {
    "consultation_date": "2026-11-27",
    "channel": "counter",
    "person_name": "佐藤 一郎",
    "concern": "退職後、人と話す機会がない",
    "loneliness_direct": 3,
    "age": 67,
    "special_care": ["mental_health"],
    "suicidal_thoughts": False,
    "wishes_support": True,
}


@pytest.fixture
def intake_schema(standard_definition):
    return json.loads(standard_definition.files["intake-schema.json"])


def errors_for(schema, data):
    with pytest.raises(FormInvalid) as caught:
        validate_form(schema, data, element="intake")
    assert caught.value.element == "intake"
    return caught.value.errors


def test_a_complete_intake_form_passes(intake_schema):
    validate_form(intake_schema, dict(VALID), element="intake")


@pytest.mark.parametrize("missing", ["consultation_date", "channel", "person_name", "concern", "loneliness_direct"])
def test_a_missing_required_field_is_named(intake_schema, missing):
    data = {k: v for k, v in VALID.items() if k != missing}

    assert errors_for(intake_schema, data) == [FieldError(field=missing, code="required")]


def test_every_missing_field_is_reported_at_once(intake_schema):
    errors = errors_for(intake_schema, {"channel": "phone"})

    assert {(e.field, e.code) for e in errors} == {
        ("consultation_date", "required"), ("person_name", "required"),
        ("concern", "required"), ("loneliness_direct", "required"),
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [("channel", "fax"), ("household", "commune"), ("loneliness_direct", 6)],
)
def test_a_value_outside_the_choices_is_an_enum_error_on_that_field(intake_schema, field, value):
    assert errors_for(intake_schema, dict(VALID, **{field: value})) == [FieldError(field=field, code="enum")]


def test_a_bad_choice_inside_a_list_names_the_item(intake_schema):
    errors = errors_for(intake_schema, dict(VALID, special_care=["mental_health", "astrology"]))

    assert errors == [FieldError(field="special_care.1", code="enum")]


@pytest.mark.parametrize(
    ("age", "code", "limit"),
    [(-1, "minimum", 0), (131, "maximum", 130)],
)
def test_a_number_out_of_range_reports_the_limit(intake_schema, age, code, limit):
    assert errors_for(intake_schema, dict(VALID, age=age)) == [FieldError("age", code, {"limit": limit})]


def test_numbers_on_the_limits_are_accepted(intake_schema):
    validate_form(intake_schema, dict(VALID, age=0))
    validate_form(intake_schema, dict(VALID, age=130))


@pytest.mark.parametrize("value", ["2026-02-30", "27/11/2026", "2026-11-27T09:00:00", "昨日"])
def test_a_date_that_is_not_a_calendar_date_is_a_format_error(intake_schema, value):
    errors = errors_for(intake_schema, dict(VALID, consultation_date=value))

    assert errors == [FieldError("consultation_date", "format", {"format": "date"})]


@pytest.mark.parametrize(
    ("field", "value", "expected_type"),
    [("age", "sixty", "integer"), ("age", 6.5, "integer"), ("suicidal_thoughts", "yes", "boolean"),
     ("person_name", 42, "string")],
)
def test_a_value_of_the_wrong_type_is_a_type_error(intake_schema, field, value, expected_type):
    errors = errors_for(intake_schema, dict(VALID, **{field: value}))

    assert FieldError(field, "type", {"type": expected_type}) in errors
    assert {e.field for e in errors} == {field}


def test_form_errors_serialize_with_field_code_and_limit(intake_schema):
    with pytest.raises(FormInvalid) as caught:
        validate_form(intake_schema, dict(VALID, age=200, channel="fax"), element="intake")

    body = caught.value.to_dict()
    assert body["code"] == "form_invalid"
    assert body["element"] == "intake"
    assert sorted(body["fields"], key=lambda f: f["field"]) == [
        {"field": "age", "code": "maximum", "limit": 130},
        {"field": "channel", "code": "enum"},
    ]
