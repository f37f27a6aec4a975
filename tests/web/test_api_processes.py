"""/api/v1/process-definitions: the live versions, and starting a case by process key, as the page does."""
from __future__ import annotations

from api_helpers import bearer
from sqlalchemy import select

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
