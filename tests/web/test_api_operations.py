"""/api/v1 operations: correlating a message to a waiting case, incidents and their retry, validating and
deploying a process package, and a process's versions, under the same permissions and audit as the pages."""
from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
import schemathesis
from api_helpers import TWO_FORMS, bearer
from conftest import complete_element, reread
from hypothesis import HealthCheck, settings
from schemathesis import checks
from sqlalchemy import select

from tsunagu.engine.access import users
from tsunagu.engine.commands import cases
from tsunagu.engine.commands.scheduler import TimerPolicy, run_pass
from tsunagu.engine.models import AuditRecord, CaseStatus, MunicipalityRecord, ProcessDraftRecord, ProcessVersionRecord
from tsunagu.engine.ops.tables import IncidentRecord
from tsunagu.processes.deployment import deploy
from tsunagu.processes.loader import load_definition
from tsunagu.processes.package import MAX_TOTAL_BYTES

FAILING_TIMER = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn" / "failing_timer"


def actions(session, since: int = 0) -> list[tuple[str, int | None]]:
    reread(session)
    return [(a.action, a.actor_id) for a in session.scalars(
        select(AuditRecord).where(AuditRecord.id > since).order_by(AuditRecord.id))]


def last_audit_id(session) -> int:
    reread(session)
    return session.scalar(select(AuditRecord.id).order_by(AuditRecord.id.desc()).limit(1)) or 0


@pytest.fixture
def neighbour(session, clock):
    """Another municipality's staff member holding every role the operations routes ask for."""
    town = MunicipalityRecord(code="139998", name="となり町")
    session.add(town)
    session.commit()
    user = users.create_user(session, clock, municipality_id=town.id, username="neighbour", display_name="隣 一郎",
                             password="correct horse battery staple", roles=["caseworker", "designer", "admin"])
    session.commit()
    return user


# --- Messages ------------------------------------------------------------------------------------------


def test_a_review_requested_message_brings_the_review_of_the_named_case_forward(
        client, session, clock, caseworker, council_version):
    case = cases.start_case(session, clock, caseworker, council_version, "山田さん")
    headers, since = bearer(session, clock, caseworker), last_audit_id(session)
    answered = client.post("/api/v1/message", headers=headers,
                           json={"messageName": "review_requested", "processInstanceId": case.id})
    assert answered.status_code == 200 and answered.json["id"] == case.id
    assert sorted(t["elementId"] for t in answered.json["openTasks"]) == ["early_review", "intake"]
    assert ("review.requested", caseworker.id) in actions(session, since)

    by_reference = client.post("/api/v1/message", headers=headers,
                               json={"messageName": "review_requested", "businessKey": case.reference})
    assert [t["elementId"] for t in by_reference.json["openTasks"]].count("early_review") == 2


def test_a_message_no_case_waits_for_is_refused_as_missing_or_not_expected(
        client, session, clock, caseworker, partner, neighbour, two_forms, council_version):
    waiting = cases.start_case(session, clock, caseworker, council_version, "山田さん")
    not_listening = cases.start_case(session, clock, caseworker, two_forms, "電話の相談")
    headers, since = bearer(session, clock, caseworker), last_audit_id(session)

    def sent(body, headers=headers):
        return client.post("/api/v1/message", headers=headers, json={"messageName": "review_requested", **body})

    refused = sent({"processInstanceId": not_listening.id})
    assert (refused.status_code, refused.json["code"]) == (409, "message_not_expected")
    assert session.get(type(not_listening), not_listening.id).status == CaseStatus.RUNNING
    for body in ({"processInstanceId": 999_999}, {"businessKey": "2026-999999"}):
        assert (sent(body).status_code, sent(body).json["code"]) == (404, "not_found"), body
    for user in (neighbour, partner):  # another municipality's case, a case the user has no basis for
        assert sent({"processInstanceId": waiting.id}, bearer(session, clock, user)).status_code == 404, user
        assert sent({"businessKey": waiting.reference}, bearer(session, clock, user)).status_code == 404, user
    assert not [a for a in actions(session, since) if a[0] == "review.requested"]


@pytest.mark.parametrize(("body", "fields"), [
    ({}, {"messageName", "processInstanceId"}),
    ({"messageName": "council_decision", "processInstanceId": 1}, {"messageName"}),
    ({"messageName": "review_requested", "processInstanceId": 2**31}, {"processInstanceId"}),
    ({"messageName": "review_requested", "processInstanceId": 1, "businessKey": "2026-000001"}, {"processInstanceId"}),
    ({"messageName": "review_requested", "businessKey": "2026-\x00"}, {"businessKey"}),
    ({"messageName": "review_requested", "processInstanceId": 1, "processVariables": {}}, {"processVariables"}),
])
def test_a_message_body_that_names_no_known_message_and_one_case_is_422(client, session, clock, caseworker,
                                                                         body, fields):
    refused = client.post("/api/v1/message", headers=bearer(session, clock, caseworker), json=body)
    assert (refused.status_code, refused.json["code"]) == (422, "invalid_input")
    assert {d["field"] for d in refused.json["details"]} == fields


def test_exactly_one_case_must_be_named_in_a_json_body(client, session, clock, caseworker):
    headers = {**bearer(session, clock, caseworker), "Accept-Language": "en"}
    refused = client.post("/api/v1/message", headers=headers, json={"messageName": "review_requested"})
    assert refused.json["details"] == [{"field": "processInstanceId", "code": "invalid",
                                        "message": "Give exactly one of processInstanceId and businessKey."}]
    not_json = client.post("/api/v1/message", headers=headers, data="review_requested", content_type="text/plain")
    assert (not_json.status_code, not_json.json["details"][0]["code"]) == (422, "json")


# --- Incidents -----------------------------------------------------------------------------------------


@pytest.fixture
def incident(session, session_factory, clock, caseworker):
    version = deploy(session, clock, load_definition(FAILING_TIMER)).version
    session.commit()
    case = cases.start_case(session, clock, caseworker, version, "タイマー失敗")
    complete_element(session, clock, caseworker, case, "prepare", {"note": "準備"})
    clock.advance(timedelta(days=1, minutes=1))
    [incident_id] = run_pass(session_factory, clock, TimerPolicy(max_attempts=1), "test").incidents
    return session.get(IncidentRecord, incident_id)


def test_an_administrator_lists_pages_and_retries_an_incident_once(client, session, clock, admin, incident):
    headers = bearer(session, clock, admin)
    [listed] = client.get("/api/v1/incidents", headers=headers).json
    assert (listed["id"], listed["caseReference"], listed["element"], listed["caseStatus"]) == (
        incident.id, incident.case.reference, "broken", "error")
    assert "missing_variable" in listed["error"] and listed["resolved"] is None
    assert client.get("/api/v1/incidents?firstResult=1", headers=headers).json == []
    too_many = client.get("/api/v1/incidents?maxResults=201", headers=headers)
    assert (too_many.status_code, too_many.json["details"][0]["field"]) == (422, "maxResults")

    since = last_audit_id(session)
    retried = client.post(f"/api/v1/incidents/{incident.id}/retry", headers=headers)
    assert retried.status_code == 200 and retried.json["resolvedById"] == admin.id
    assert retried.json["caseStatus"] != "error"
    assert actions(session, since) == [("incident.retried", admin.id)]
    assert client.get("/api/v1/incidents", headers=headers).json == []
    again = client.post(f"/api/v1/incidents/{incident.id}/retry", headers=headers)
    assert (again.status_code, again.json["code"]) == (409, "conflict")


def test_incidents_are_refused_to_other_roles_and_unknown_to_other_municipalities(
        client, session, clock, caseworker, neighbour, incident):
    worker = bearer(session, clock, caseworker)
    assert client.get("/api/v1/incidents", headers=worker).status_code == 403
    assert client.post(f"/api/v1/incidents/{incident.id}/retry", headers=worker).json["code"] == "forbidden"
    other = bearer(session, clock, neighbour)
    assert client.get("/api/v1/incidents", headers=other).json == []
    assert client.post(f"/api/v1/incidents/{incident.id}/retry", headers=other).status_code == 404
    for url in (f"/api/v1/incidents/{2**31}/retry", "/api/v1/incidents/99999999999999999999/retry"):
        assert client.post(url, headers=other).status_code == 404, url
    reread(session)
    assert session.get(IncidentRecord, incident.id).resolved_at is None


# --- Deployments ---------------------------------------------------------------------------------------


def folder(**changed: bytes) -> list[tuple[io.BytesIO, str]]:
    """The two_forms process folder's files as an upload, with any file's content replaced."""
    files = {p.name: p.read_bytes() for p in sorted(TWO_FORMS.iterdir())}
    return [(io.BytesIO(data), name) for name, data in {**files, **changed}.items()]


def zipped() -> list[tuple[io.BytesIO, str]]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(TWO_FORMS.iterdir()):
            archive.write(path, f"two_forms/{path.name}")
    return [(io.BytesIO(buffer.getvalue()), "two_forms.zip")]


def upload(client, url, headers, package, **fields):
    return client.post(url, headers=headers, data={"package": package, **fields}, content_type="multipart/form-data")


def test_a_package_is_validated_without_storing_anything(client, session, clock, designer):
    headers, since = bearer(session, clock, designer), last_audit_id(session)
    checked = upload(client, "/api/v1/deployments/validate", headers, folder())
    assert checked.status_code == 200
    assert (checked.json["key"], checked.json["name"]) == ("two_forms", "二つのフォーム")
    assert {(w["element"], w["elementName"], w["code"]) for w in checked.json["warnings"]} == {
        ("task_a", "タスクA", "due_missing"), ("task_b", "タスクB", "due_missing")}
    assert upload(client, "/api/v1/deployments/validate", headers, zipped()).json == checked.json
    reread(session)
    assert actions(session, since) == [] and session.scalar(select(ProcessDraftRecord)) is None


def test_a_designer_deploys_a_zip_as_the_next_live_version_and_lists_the_versions(
        client, session, clock, designer, two_forms):
    headers, since = bearer(session, clock, designer), last_audit_id(session)
    deployed = upload(client, "/api/v1/deployments", headers, zipped(), note="APIから登録")
    assert deployed.status_code == 200
    assert {k: deployed.json[k] for k in ("key", "version", "outcome", "note")} == {
        "key": "two_forms", "version": 1, "outcome": "created", "note": "APIから登録"}
    assert {(w["element"], w["elementName"]) for w in deployed.json["warnings"]} == {
        ("task_a", "タスクA"), ("task_b", "タスクB")}
    assert actions(session, since) == [("process.draft_saved", designer.id), ("process.deployed", designer.id)]
    version = session.get(ProcessVersionRecord, deployed.json["id"])
    assert (version.municipality_id, version.deployed_via) == (designer.municipality_id, "api")
    assert session.scalar(select(ProcessDraftRecord)) is None

    again = upload(client, "/api/v1/deployments", headers, folder())
    assert (again.json["outcome"], again.json["id"]) == ("unchanged", version.id)
    versions = client.get("/api/v1/process-definitions/key/two_forms/versions", headers=headers).json
    assert [(v["scope"], v["version"], v["live"], v["deployedVia"]) for v in versions] == [
        ("template", 1, False, "cli"), ("municipal", 1, True, "api")]
    assert versions[1]["deployedBy"] == "設計 太郎" and versions[0]["deployedBy"] is None
    page = client.get("/api/v1/process-definitions/key/two_forms/versions?firstResult=1&maxResults=1",
                      headers=headers).json
    assert [v["id"] for v in page] == [version.id]


@pytest.mark.parametrize(("package", "problem"), [
    (lambda: folder(**{"two_forms.bpmn": b"<bpmn:definitions><bpmn:process"}), ("two_forms.bpmn", "xml_invalid")),
    (lambda: folder(**{"a-schema.json": b'{"type": "object"\x00}'}), ("a-schema.json", "file_unreadable")),
    (lambda: folder(**{"two_forms.bpmn": b"\xff\xfe<xml"}), ("two_forms.bpmn", "file_unreadable")),
    (lambda: [(io.BytesIO(b"PK not a zip"), "process.zip")], ("upload.zip", "zip_invalid")),
    (lambda: [], ("", "package_empty")),
    (lambda: [(io.BytesIO(b" " * MAX_TOTAL_BYTES), "a.bpmn"), (io.BytesIO(b"{}"), "a.json")],
     ("", "package_too_large")),
])
def test_a_broken_package_is_422_naming_each_problem_and_stores_nothing(client, session, clock, designer,
                                                                         package, problem):
    headers, since = bearer(session, clock, designer), last_audit_id(session)
    for url in ("/api/v1/deployments/validate", "/api/v1/deployments"):
        refused = upload(client, url, headers, package())
        assert (refused.status_code, refused.json["code"]) == (422, "definition_invalid"), url
        assert problem in {(d["file"], d["code"]) for d in refused.json["details"]}, refused.json
    assert actions(session, since) == []
    assert session.scalar(select(ProcessVersionRecord)) is None


def test_the_problems_name_the_line_and_element_in_the_clients_language(client, session, clock, designer):
    broken = (TWO_FORMS / "two_forms.bpmn").read_bytes().replace(b'targetRef="task_b"', b'targetRef="task_c"')
    refused = upload(client, "/api/v1/deployments/validate",
                     {**bearer(session, clock, designer), "Accept-Language": "en"}, folder(**{"two_forms.bpmn": broken}))
    assert refused.json["message"] == "The package has problems; each is listed in details."
    assert all(d["file"] == "two_forms.bpmn" and d["line"] and d["message"] for d in refused.json["details"])
    bad_xml = upload(client, "/api/v1/deployments/validate", {**bearer(session, clock, designer)},
                     folder(**{"two_forms.bpmn": b"<a>\n<b></a>"}))
    [problem] = bad_xml.json["details"]
    assert (problem["line"], problem["message"]) == (2, "XML として正しくありません。表示された行を修正してください。")


def test_deploying_refuses_other_roles_a_scoped_token_bad_fields_and_a_nul_file_name(
        client, session, clock, caseworker, designer, municipality):
    both = users.create_user(session, clock, municipality_id=municipality.id, username="both", display_name="両方",
                             password="correct horse battery staple", roles=["caseworker", "designer"])
    session.commit()
    for headers in (bearer(session, clock, caseworker), bearer(session, clock, both, roles=["caseworker"])):
        for url in ("/api/v1/deployments/validate", "/api/v1/deployments"):
            refused = upload(client, url, headers, folder())
            assert (refused.status_code, refused.json["code"]) == (403, "forbidden"), url
        assert client.get("/api/v1/process-definitions/key/two_forms/versions", headers=headers).status_code == 403
    headers = bearer(session, clock, designer)
    long_note = upload(client, "/api/v1/deployments", headers, folder(), note="x" * 2001)
    assert [(d["field"], d["code"]) for d in long_note.json["details"]] == [("note", "maxLength")]
    assert upload(client, "/api/v1/deployments/validate", headers, folder(), note="x").status_code == 422
    nul_name = upload(client, "/api/v1/deployments", headers, [(io.BytesIO(b"<a/>"), "a\x00.bpmn")])
    assert (nul_name.status_code, nul_name.json["details"][0]["field"]) == (422, "package")
    nul_note = upload(client, "/api/v1/deployments", headers, folder(), note="a\x00")
    assert (nul_note.status_code, nul_note.json["code"]) == (422, "unstorable_input")
    reread(session)
    assert session.scalar(select(ProcessVersionRecord)) is None


def test_versions_of_a_process_another_municipality_deployed_are_not_found(client, session, clock, designer,
                                                                           neighbour):
    deployed = upload(client, "/api/v1/deployments", bearer(session, clock, designer), folder())
    assert deployed.json["outcome"] == "created"
    other = bearer(session, clock, neighbour)
    for key in ("two_forms", "nothing", "x" * 300, "a%00b"):
        found = client.get(f"/api/v1/process-definitions/key/{key}/versions", headers=other)
        assert (found.status_code, found.json["code"]) == (404, "not_found"), key


# --- A bounded fuzz run of these routes with a token that may use all of them ----------------------------


@pytest.fixture
def operations_schema(app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


fuzzed = schemathesis.pytest.from_fixture("operations_schema").include(
    path_regex="^/(message|incidents|deployments)|/versions$")
CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_headers_conformance, checks.response_schema_conformance]


@pytest.fixture
def operator(session, clock, municipality):
    """A staff member who may use every operations route: caseworker, process designer and administrator."""
    user = users.create_user(session, clock, municipality_id=municipality.id, username="operator",
                             display_name="運用", password="correct horse battery staple",
                             roles=["caseworker", "designer", "admin"])
    session.commit()
    return user


@fuzzed.parametrize()
@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_no_generated_operations_request_gets_a_server_error_or_an_undocumented_answer(
        case, session, clock, operator, council_version):
    cases.start_case(session, clock, operator, council_version, "fuzz")  # a case that waits for the message
    case.call_and_validate(headers=bearer(session, clock, operator), checks=CHECKS)
