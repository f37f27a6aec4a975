"""/api/v1/process-definitions: the live versions, and starting a case by process key, as the page does."""
from __future__ import annotations

from api_helpers import bearer
from sqlalchemy import func, select

from tsunagu.engine.models import AuditRecord


def test_a_client_lists_the_definitions_starts_a_case_by_key_and_finds_its_first_task(
        client, session, clock, caseworker, two_forms):
    headers = bearer(session, clock, caseworker)
    definitions = client.get("/api/v1/process-definitions", headers=headers).json
    assert [(d["key"], d["version"], d["scope"]) for d in definitions] == [("two_forms", 1, "template")]

    started = client.post("/api/v1/process-definitions/key/two_forms/start", json={"title": "電話の相談"},
                          headers=headers)
    assert started.status_code == 201 and started.json["status"] == "running"
    [first] = started.json["openTasks"]
    assert first["name"] == "タスクA" and first["caseId"] == started.json["id"]
    assert [t["id"] for t in client.get(f"/api/v1/tasks?caseId={first['caseId']}", headers=headers).json] == [
        first["id"]]
    assert session.scalar(select(AuditRecord.action).where(AuditRecord.case_id == first["caseId"])
                          .order_by(AuditRecord.id).limit(1)) == "case.started"


def test_starting_is_refused_for_unknown_keys_bad_bodies_and_people_who_open_no_cases(
        client, session, clock, caseworker, partner, two_forms):
    headers = bearer(session, clock, caseworker)
    unknown = client.post("/api/v1/process-definitions/key/nothing/start", headers=headers)
    assert (unknown.status_code, unknown.json["code"]) == (404, "not_found")
    bad = client.post("/api/v1/process-definitions/key/two_forms/start", headers=headers,
                      json={"title": "x" * 301, "personId": "someone"})
    assert bad.status_code == 422
    assert {d["field"] for d in bad.json["details"]} == {"title", "personId"}
    refused = client.post("/api/v1/process-definitions/key/two_forms/start", headers=bearer(session, clock, partner))
    assert (refused.status_code, refused.json["code"]) == (403, "forbidden")


def test_a_start_with_the_intake_form_opens_the_case_with_its_first_task_done_and_the_person_recorded(
        client, session, clock, caseworker, standard_version, catalogue):
    from conftest import STANDARD_INTAKE

    from tsunagu.engine.casefile.tables import PersonRecord
    from tsunagu.engine.models import CaseRecord, FormSubmissionRecord, TaskRecord

    headers = bearer(session, clock, caseworker)
    started = client.post(f"/api/v1/process-definitions/key/{standard_version.process_id}/start", headers=headers,
                          json={"title": "電話の相談", "form": STANDARD_INTAKE})
    assert started.status_code == 201, started.json
    assert [t["elementId"] for t in started.json["openTasks"]] == ["baseline_assessment"]
    case = session.get(CaseRecord, started.json["id"])
    person = session.get(PersonRecord, case.person_id)
    assert (person.name, person.birth_year, case.channel) == ("山田 花子", 1956, "phone")
    intake = session.scalar(select(TaskRecord).where(TaskRecord.case_id == case.id, TaskRecord.element_id == "intake"))
    assert (intake.status.value, intake.completed_by_id) == ("completed", caseworker.id)
    submitted = session.scalar(select(FormSubmissionRecord).where(FormSubmissionRecord.task_id == intake.id))
    assert submitted.data["concern"] == STANDARD_INTAKE["concern"]
    assert list(session.scalars(select(AuditRecord.action).where(AuditRecord.case_id == case.id)
                                .order_by(AuditRecord.id)))[:2] == ["case.started", "task.completed"]


def test_a_start_with_an_invalid_form_opens_nothing_and_names_every_bad_field(
        client, session, clock, caseworker, standard_version, catalogue):
    from conftest import STANDARD_INTAKE

    from tsunagu.engine.casefile.tables import PersonRecord
    from tsunagu.engine.models import CaseRecord

    headers = bearer(session, clock, caseworker)
    bad = dict(STANDARD_INTAKE, birth_year="nineteen", channel="pigeon")
    del bad["person_name"]
    refused = client.post(f"/api/v1/process-definitions/key/{standard_version.process_id}/start", headers=headers,
                          json={"form": bad})
    assert (refused.status_code, refused.json["code"]) == (422, "form_invalid")
    assert {d["field"] for d in refused.json["details"]} == {"birth_year", "channel", "person_name"}
    assert session.scalar(select(CaseRecord.id)) is None and session.scalar(select(PersonRecord.id)) is None
    not_an_object = client.post(f"/api/v1/process-definitions/key/{standard_version.process_id}/start",
                                headers=headers, json={"form": ["a list"]})
    assert not_an_object.status_code == 422 and [d["field"] for d in not_an_object.json["details"]] == ["form"]


def test_a_start_with_a_form_is_refused_when_the_first_task_is_not_the_starters(
        client, session, clock, supervisor, two_forms):
    """The supervisor may open cases, but task A is the caseworkers' (the municipality's default role)."""
    from tsunagu.engine.models import CaseRecord

    headers = bearer(session, clock, supervisor)
    opened = client.post("/api/v1/process-definitions/key/two_forms/start", headers=headers)
    assert opened.status_code == 201 and opened.json["openTasks"][0]["role"] == "caseworker"
    refused = client.post("/api/v1/process-definitions/key/two_forms/start", headers=headers,
                          json={"form": {"text": "a", "number": 1}})
    assert (refused.status_code, refused.json["code"]) == (403, "forbidden")
    assert refused.json["details"][0]["element"] == opened.json["openTasks"][0]["elementId"]
    assert session.scalar(select(func.count()).select_from(CaseRecord)) == 1
