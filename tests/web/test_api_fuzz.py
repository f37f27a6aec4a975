"""A bounded fuzz run of /api/v1 with schemathesis against the served OpenAPI document: whatever the
generated input (odd ids, strings, bodies), no answer is a 5xx and every answer matches the document
(status listed, JSON, body matching its schema)."""
from __future__ import annotations

import pytest
import schemathesis
from api_helpers import bearer
from hypothesis import HealthCheck, settings
from schemathesis import checks

from tsunagu.engine.commands import cases


@pytest.fixture
def api_schema(app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")
# What the issue asks of every answer: no server error, and the status, content type, headers and body the
# document gives. (Not "schema-valid input is accepted": a task's form is checked against its own JSON
# Schema, which the document cannot list, so `{"data": {}}` is rightly refused with 422.)
CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_headers_conformance, checks.response_schema_conformance]


@schema.parametrize()
@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_no_generated_request_gets_a_server_error_or_an_undocumented_answer(
        case, session, clock, caseworker, two_forms):
    cases.start_case(session, clock, caseworker, two_forms, "fuzz")  # something to find, claim and complete
    case.call_and_validate(headers=bearer(session, clock, caseworker), checks=CHECKS)
