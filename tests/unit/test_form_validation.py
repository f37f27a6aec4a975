"""Server-side form checks: each problem is reported against the field a user has to fix."""
from __future__ import annotations

import json

import pytest

from tsunagu.engine.errors import FieldError, FormInvalid
from tsunagu.engine.runtime.forms import validate_form

INTAKE = {
    "consultation_date": "2026-11-27",
    "channel": "counter",
    "person_name": "佐藤 一郎",
    "concern": "退職後、人と話す機会がない",
    "birth_year": 1958,
    "household": "alone",
    "special_care": ["mental_health"],
    "immediate_danger": False,
    "existing_scheme": "none",
}
ASSESSMENT = {
    "assessed_on": "2026-11-27", "respondent": "self", "loneliness_direct": 3, "ucla_1": 2, "ucla_2": 3,
    "ucla_3": 2, "contact_frequency": "weekly", "participation": "no", "support_received": "yes",
    "helps_others": "no",
}


def schema(definition, name):
    return json.loads(definition.files[name])


@pytest.fixture
def intake_schema(standard_definition):
    return schema(standard_definition, "intake-schema.json")


@pytest.fixture
def assessment_schema(standard_definition):
    return schema(standard_definition, "assessment-schema.json")


def errors_for(form_schema, data, element="intake"):
    with pytest.raises(FormInvalid) as caught:
        validate_form(form_schema, data, element=element)
    assert caught.value.element == element
    return caught.value.errors


def test_a_complete_intake_form_passes(intake_schema):
    validate_form(intake_schema, dict(INTAKE), element="intake")


def test_a_complete_assessment_form_passes(assessment_schema):
    validate_form(assessment_schema, dict(ASSESSMENT), element="baseline_assessment")


@pytest.mark.parametrize("missing", ["consultation_date", "channel", "person_name", "concern", "existing_scheme"])
def test_a_missing_required_intake_field_is_named(intake_schema, missing):
    data = {k: v for k, v in INTAKE.items() if k != missing}

    assert errors_for(intake_schema, data) == [FieldError(field=missing, code="required")]


def test_every_missing_field_is_reported_at_once(intake_schema):
    errors = errors_for(intake_schema, {"channel": "phone"})

    assert {(e.field, e.code) for e in errors} == {
        ("consultation_date", "required"), ("person_name", "required"),
        ("concern", "required"), ("existing_scheme", "required"),
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [("channel", "fax"), ("household", "commune"), ("existing_scheme", "welfare")],
)
def test_a_value_outside_the_choices_is_an_enum_error_on_that_field(intake_schema, field, value):
    assert errors_for(intake_schema, dict(INTAKE, **{field: value})) == [FieldError(field=field, code="enum")]


@pytest.mark.parametrize(
    ("field", "value"),
    # The direct question has five answers, each UCLA item four: a UK 1-3 score or a 5 on UCLA is refused.
    [("loneliness_direct", 6), ("loneliness_direct", 0), ("ucla_1", 5), ("ucla_3", 0), ("respondent", "neighbour")],
)
def test_an_answer_outside_the_national_surveys_scale_is_an_enum_error(assessment_schema, field, value):
    errors = errors_for(assessment_schema, dict(ASSESSMENT, **{field: value}), element="baseline_assessment")

    assert errors == [FieldError(field=field, code="enum")]


def test_a_bad_choice_inside_a_list_names_the_item(intake_schema):
    errors = errors_for(intake_schema, dict(INTAKE, special_care=["mental_health", "astrology"]))

    assert errors == [FieldError(field="special_care.1", code="enum")]


@pytest.mark.parametrize(
    ("year", "code", "limit"),
    [(1899, "minimum", 1900), (2101, "maximum", 2100)],
)
def test_a_number_out_of_range_reports_the_limit(intake_schema, year, code, limit):
    errors = errors_for(intake_schema, dict(INTAKE, birth_year=year))

    assert errors == [FieldError("birth_year", code, {"limit": limit})]


def test_numbers_on_the_limits_are_accepted(intake_schema):
    validate_form(intake_schema, dict(INTAKE, birth_year=1900))
    validate_form(intake_schema, dict(INTAKE, birth_year=2100))


@pytest.mark.parametrize("value", ["2026-02-30", "27/11/2026", "2026-11-27T09:00:00", "昨日"])
def test_a_date_that_is_not_a_calendar_date_is_a_format_error(intake_schema, value):
    errors = errors_for(intake_schema, dict(INTAKE, consultation_date=value))

    assert errors == [FieldError("consultation_date", "format", {"format": "date"})]


@pytest.mark.parametrize(
    ("field", "value", "expected_type"),
    [("birth_year", "sixty", "integer"), ("birth_year", 1958.5, "integer"), ("immediate_danger", "yes", "boolean"),
     ("person_name", 42, "string"), ("special_care", "mental_health", "array")],
)
def test_a_value_of_the_wrong_type_is_a_type_error(intake_schema, field, value, expected_type):
    errors = errors_for(intake_schema, dict(INTAKE, **{field: value}))

    assert FieldError(field, "type", {"type": expected_type}) in errors
    assert {e.field for e in errors} == {field}


def test_form_errors_serialize_with_field_code_and_limit(intake_schema):
    with pytest.raises(FormInvalid) as caught:
        validate_form(intake_schema, dict(INTAKE, birth_year=2200, channel="fax"), element="intake")

    body = caught.value.to_dict()
    assert body["code"] == "form_invalid"
    assert body["element"] == "intake"
    assert sorted(body["fields"], key=lambda f: f["field"]) == [
        {"field": "birth_year", "code": "maximum", "limit": 2100},
        {"field": "channel", "code": "enum"},
    ]


# --- Fields required only by an earlier answer -------------------------------------------------

CONSENT = {"consent_decision": "given", "purposes": ["council"], "recipient_body_ids": [1],
           "method": "written", "consent_date": "2026-11-28"}


def test_a_given_consent_names_its_purposes_recipients_and_method_and_a_refusal_needs_none(standard_definition):
    consent = schema(standard_definition, "consent-schema.json")
    validate_form(consent, {"consent_decision": "refused", "consent_date": "2026-11-28"})

    errors = errors_for(consent, {"consent_decision": "given", "consent_date": "2026-11-28", "purposes": []},
                        element="consent_capture")

    assert {(e.field, e.code) for e in errors} == {
        ("purposes", "minItems"), ("recipient_body_ids", "required"), ("method", "required")}


def test_an_oral_consent_needs_a_witness(standard_definition):
    consent = schema(standard_definition, "consent-schema.json")
    validate_form(consent, dict(CONSENT, method="oral", witness="係長 鈴木"))

    errors = errors_for(consent, dict(CONSENT, method="oral"), element="consent_capture")

    assert errors == [FieldError("witness", "required")]


def test_sharing_in_a_crisis_needs_the_life_protection_reason(standard_definition):
    crisis = schema(standard_definition, "crisis-schema.json")
    action = {"action_taken": "電話で安全を確認した", "action_date": "2026-11-27"}
    validate_form(crisis, action)  # nothing shared, nothing to justify

    errors = errors_for(crisis, dict(action, bodies_informed="警察"), element="crisis_safety_action")

    assert errors == [FieldError("life_protection_reason", "required")]


def test_declining_an_action_needs_a_reason(standard_definition):
    response = schema(standard_definition, "action-response-schema.json")
    validate_form(response, {"response": "accept"})

    assert errors_for(response, {"response": "decline"}, element="action_response") == [
        FieldError("decline_reason", "required")]
    assert errors_for(response, {"response": "decline", "decline_reason": ""}, element="action_response") == [
        FieldError("decline_reason", "minLength", {"limit": 1})]
