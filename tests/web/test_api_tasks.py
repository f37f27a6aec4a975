"""/api/v1 tasks with API tokens: the same rules, audit and errors as the pages, in one JSON error format."""
from __future__ import annotations

import re
import threading
from dataclasses import replace

import pytest
from api_helpers import bearer
from sqlalchemy import select

from tsunagu.engine.access import tokens, users
from tsunagu.engine.commands import cases
from tsunagu.engine.models import AuditRecord, MunicipalityRecord
from tsunagu.web.api.limits import SlidingWindow


@pytest.fixture
def case(session, clock, caseworker, two_forms):
    return cases.start_case(session, clock, caseworker, two_forms, "電話の相談")


def open_task_id(client, headers) -> int:
    listed = client.get("/api/v1/tasks", headers=headers).json
    return listed[0]["id"]


def test_without_a_valid_token_nothing_is_answered_but_401_with_a_reason(client, session, clock, caseworker, case):
    missing = client.get("/api/v1/tasks")
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert missing.json["code"] == "token_missing" and missing.json["status"] == 401
    unknown = client.get("/api/v1/tasks", headers={"Authorization": "Bearer tsunagu_nothing", "Accept-Language": "en"})
    assert (unknown.status_code, unknown.json["code"]) == (401, "token_unknown")
    assert unknown.json["message"] == "The API token is not valid."
    headers = bearer(session, clock, caseworker)
    assert client.get("/api/v1/tasks", headers=headers).status_code == 200
    token = session.scalar(select(tokens.ApiTokenRecord))
    tokens.revoke_token(session, clock, None, token.id)
    revoked = client.get("/api/v1/tasks", headers=headers)
    assert (revoked.status_code, revoked.json["code"]) == (401, "token_revoked")
    assert revoked.json["message"] == "APIトークンは失効しています。管理者に新しいトークンを依頼してください。"


def test_a_signed_in_browser_cookie_does_not_sign_an_api_request_in(client, login, caseworker, case):
    login(caseworker)
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/tasks").status_code == 401


def test_tasks_are_listed_counted_filtered_and_paged_like_camundas(client, session, clock, caseworker, two_forms):
    for n in range(3):
        cases.start_case(session, clock, caseworker, two_forms, f"相談 {n}")
    headers = bearer(session, clock, caseworker)
    listed = client.get("/api/v1/tasks?sortBy=id&sortOrder=desc", headers=headers).json
    assert [t["name"] for t in listed] == ["タスクA"] * 3 and listed[0]["id"] > listed[-1]["id"]
    assert listed[0]["processKey"] == "two_forms" and listed[0]["caseReference"].endswith(f"{listed[0]['caseId']:06d}")
    assert client.get("/api/v1/tasks/count?processKey=two_forms", headers=headers).json == {"count": 3}
    assert client.get("/api/v1/tasks/count?processKey=other", headers=headers).json == {"count": 0}
    page = client.get("/api/v1/tasks?sortBy=id&firstResult=1&maxResults=1", headers=headers).json
    assert [t["id"] for t in page] == [listed[1]["id"]]

    bad = client.get("/api/v1/tasks?maxResults=0&sortBy=name&colour=red", headers=headers)
    assert bad.status_code == 422 and bad.json["code"] == "invalid_input"
    assert {(d["field"], d["code"]) for d in bad.json["details"]} == {
        ("maxResults", "range"), ("sortBy", "enum"), ("colour", "unknown_field")}
    limits = next(d for d in bad.json["details"] if d["field"] == "maxResults")
    assert (limits["minimum"], limits["maximum"], limits["message"]) == (1, 200, "1から200までの値を指定してください。")


def test_a_task_is_read_with_its_form_claimed_and_completed_once(client, session, clock, caseworker, case):
    headers = bearer(session, clock, caseworker)
    task_id = open_task_id(client, headers)
    task = client.get(f"/api/v1/tasks/{task_id}", headers=headers).json
    assert task["formSchema"]["required"] == ["note", "count"] and task["status"] == "open"
    assert session.scalar(select(AuditRecord.action).where(AuditRecord.task_id == task_id)
                          .order_by(AuditRecord.id.desc()).limit(1)) == "task.viewed"

    claimed = client.post(f"/api/v1/tasks/{task_id}/claim", headers=headers).json
    assert claimed["assigneeId"] == caseworker.id
    assert client.post(f"/api/v1/tasks/{task_id}/unclaim", headers=headers).json["assigneeId"] is None

    invalid = client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": {"count": "many"}}, headers=headers)
    assert invalid.status_code == 422 and invalid.json["code"] == "form_invalid"
    assert {(d["field"], d["code"]) for d in invalid.json["details"]} == {("note", "required"), ("count", "type")}

    done = client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": {"note": "電話", "count": 2}},
                       headers=headers)
    assert done.status_code == 200 and done.json["status"] == "running"
    assert [t["name"] for t in done.json["openTasks"]] == ["タスクB"]
    again = client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": {"note": "電話", "count": 2}},
                        headers=headers)
    assert (again.status_code, again.json["code"]) == (409, "conflict")


def test_another_municipalitys_task_is_not_found_and_a_scoped_token_lacks_the_other_roles(
        client, session, clock, caseworker, case, user_password):
    other_town = MunicipalityRecord(code="139997", name="隣町")
    session.add(other_town)
    session.commit()
    neighbour = users.create_user(session, clock, municipality_id=other_town.id, username="neighbour",
                                  display_name="隣町 職員", password=user_password, roles=["caseworker"])
    session.commit()
    task_id = open_task_id(client, bearer(session, clock, caseworker))
    outsider = bearer(session, clock, neighbour)
    assert client.get("/api/v1/tasks", headers=outsider).json == []
    for answer in (client.get(f"/api/v1/tasks/{task_id}", headers=outsider),
                   client.post(f"/api/v1/tasks/{task_id}/claim", headers=outsider)):
        assert (answer.status_code, answer.json["code"], answer.json["details"]) == (404, "not_found", [])

    both = users.create_user(session, clock, municipality_id=caseworker.municipality_id, username="both",
                             display_name="兼務 職員", password=user_password, roles=["caseworker", "supervisor"])
    session.commit()
    supervising_only = bearer(session, clock, both, roles=["supervisor"])
    assert client.get("/api/v1/tasks", headers=supervising_only).json == []
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=supervising_only).status_code in (403, 404)
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=bearer(session, clock, both)).status_code == 200


def test_the_openapi_document_describes_every_route_and_needs_no_token(app, client):
    document = client.get("/api/v1/openapi.json").json
    assert document["openapi"].startswith("3.") and "token" in document["components"]["securitySchemes"]
    routes = {re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
              for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")}
    routes -= {"/openapi.json", "/docs", "/docs/assets/{name}"}  # the description itself, not the API
    assert routes == set(document["paths"])
    assert {"Task", "Error", "TaskWithForm"} <= set(document["components"]["schemas"])


def test_a_body_that_is_not_json_is_refused_naming_the_body(client, session, clock, caseworker, case):
    headers = bearer(session, clock, caseworker)
    task_id = open_task_id(client, headers)
    for answer in (client.post(f"/api/v1/tasks/{task_id}/complete", data="note=x", headers=headers,
                               content_type="application/x-www-form-urlencoded"),
                   client.post(f"/api/v1/tasks/{task_id}/complete", data="{broken", headers=headers,
                               content_type="application/json")):
        assert answer.status_code == 422
        assert [(d["field"], d["code"]) for d in answer.json["details"]] == [("_body", "json")]
    listed = client.post(f"/api/v1/tasks/{task_id}/complete", json=[1, 2], headers=headers)
    assert listed.status_code == 422 and listed.json["code"] == "invalid_input"


def test_a_token_over_its_rate_limit_is_answered_429_with_retry_after(app, client, session, clock, caseworker):
    app.extensions["tsunagu.settings"] = replace(app.extensions["tsunagu.settings"], api_requests_per_minute=3)
    headers, other = bearer(session, clock, caseworker), bearer(session, clock, caseworker)
    assert [client.get("/api/v1/tasks/count", headers=headers).status_code for _ in range(3)] == [200] * 3
    refused = client.get("/api/v1/tasks/count", headers=headers)
    assert (refused.status_code, refused.json["code"]) == (429, "rate_limited")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert client.get("/api/v1/tasks/count", headers=other).status_code == 200  # each token counts alone


def test_the_sliding_window_admits_again_once_the_oldest_request_is_a_minute_old():
    window = SlidingWindow()
    assert [window.admit(1, t, 2) for t in (0.0, 10.0)] == [None, None]
    assert window.admit(1, 30.0, 2) == 30.0  # the request at 0 leaves the window at 60
    assert window.admit(1, 60.0, 2) is None


def test_two_clients_completing_one_task_at_once_get_one_200_and_one_409(app, session, clock, caseworker, case,
                                                                          user_password):
    colleague = users.create_user(session, clock, municipality_id=caseworker.municipality_id, username="colleague",
                                  display_name="同僚 職員", password=user_password, roles=["caseworker"])
    session.commit()
    clients = [(app.test_client(), bearer(session, clock, person)) for person in (caseworker, colleague)]
    task_id = open_task_id(*clients[0])
    start = threading.Barrier(2)
    answers: list[int] = []

    def complete(client, headers) -> None:
        start.wait()
        answers.append(client.post(f"/api/v1/tasks/{task_id}/complete", headers=headers,
                                   json={"data": {"note": "電話", "count": 1}}).status_code)

    threads = [threading.Thread(target=complete, args=pair) for pair in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(answers) == [200, 409]
    after = clients[0][0].get(f"/api/v1/tasks?caseId={case.id}", headers=clients[0][1]).json
    assert [t["name"] for t in after] == ["タスクB"]  # the case moved on once


def test_a_nul_anywhere_in_a_json_body_is_refused_naming_where(client, session, clock, caseworker, case):
    headers = bearer(session, clock, caseworker)
    task_id = open_task_id(client, headers)
    answer = client.post(f"/api/v1/tasks/{task_id}/complete", headers=headers,
                         json={"data": {"note": "電話\x00", "count": 1, "extra": ["ok", "x\x00"]}})
    assert answer.status_code == 422
    assert [(d["field"], d["code"]) for d in answer.json["details"]] == [
        ("data.extra.1", "unstorable_input"), ("data.note", "unstorable_input")]
    started = client.post("/api/v1/process-definitions/key/two_forms/start", headers=headers, json={"title": "a\x00"})
    assert started.status_code == 422 and started.json["details"][0]["field"] == "title"
