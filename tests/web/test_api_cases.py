"""/api/v1 cases with API tokens: the summary, timeline and case file read exactly as the case page reads them,
audited with their part, refused as missing without a basis, and a member body gets only its action's packet."""
from __future__ import annotations

import json

import pytest
from conftest import reread
from sqlalchemy import select

from tsunagu.engine.access import tokens, users
from tsunagu.engine.models import AuditRecord, MunicipalityRecord, TaskRecord, TaskStatus
from tsunagu.engine.runtime.forms import MASK

PARTS = {"": "summary", "/history": "history", "/file": "file"}


def bearer(session, clock, user) -> dict[str, str]:
    _record, secret = tokens.create_token(session, clock, None, user, "integration")
    return {"Authorization": f"Bearer {secret}"}


def last_read(session, user, case_id) -> AuditRecord:
    reread(session)
    return session.scalar(select(AuditRecord).where(AuditRecord.actor_id == user.id, AuditRecord.case_id == case_id)
                          .order_by(AuditRecord.id.desc()).limit(1))


@pytest.fixture
def decided(standard_case):
    """A case of the shipped process decided by the council: the NPO and the 民生委員 act on it."""
    return standard_case()


def test_a_caseworker_reads_the_summary_history_and_file_each_audited_with_its_part(
        client, session, clock, caseworker, decided):
    headers = bearer(session, clock, caseworker)
    for suffix, part in PARTS.items():
        assert client.get(f"/api/v1/cases/{decided.id}{suffix}", headers=headers).status_code == 200
        row = last_read(session, caseworker, decided.id)
        assert (row.action, row.detail["part"], row.detail["basis"]) == ("case.viewed", part, "staff")

    summary = client.get(f"/api/v1/cases/{decided.id}", headers=headers).json
    assert summary["reference"] == decided.reference and summary["processKey"] == "kodoku_koritsu_case"
    assert (summary["risk"], summary["nextReviewOn"], summary["episode"]) == ("high", "2027-03-01", 1)
    assert summary["access"] == {"basis": "staff", "scope": "full", "until": None}
    open_ids = session.scalars(select(TaskRecord.id).where(TaskRecord.case_id == decided.id,
                                                           TaskRecord.status == TaskStatus.OPEN)).all()
    assert sorted(t["id"] for t in summary["openTasks"]) == sorted(open_ids) and open_ids

    history = client.get(f"/api/v1/cases/{decided.id}/history", headers=headers).json
    actions = [entry["action"] for entry in history]
    assert actions[0] == "case.started" and "council.decided" in actions and "case.viewed" not in actions
    intake = next(e for e in history if e["action"] == "task.completed")
    assert intake["element"] == "intake" and intake["actor"] == {"id": caseworker.id, "displayName": "caseworker"}
    assert all(set(entry) == {"id", "action", "at", "actor", "taskId", "element", "name"} for entry in history)

    case_file = client.get(f"/api/v1/cases/{decided.id}/file", headers=headers).json
    intake_data = next(s for s in case_file["submissions"] if s["taskName"] == "相談受付")["data"]
    assert intake_data["special_care"] == ["mental_health"]  # a caseworker's role needs it
    assert case_file["person"] == {"name": "山田 花子", "kana": "ヤマダ ハナコ", "birthYear": 1956}
    assert {a["actionType"] for a in case_file["actions"]} == {"居場所へのつなぎ", "定期的な電話での安否確認"}
    assert [d["risk"] for d in case_file["decisions"]] == ["high"] and case_file["consents"][0]["decision"] == "given"
    assert case_file["assessments"] and all("answers" not in a for a in case_file["assessments"])


def test_special_care_answers_are_masked_in_the_file_for_the_coordinator(client, session, clock, coordinator, decided):
    response = client.get(f"/api/v1/cases/{decided.id}/file", headers=bearer(session, clock, coordinator))
    assert response.status_code == 200 and response.json["access"]["basis"] == "council"
    intake = next(s for s in response.json["submissions"] if s["taskName"] == "相談受付")
    assert intake["data"]["special_care"] == MASK
    assert "mental_health" not in response.get_data(as_text=True)


def test_a_member_body_acting_on_the_case_gets_its_packet_not_the_whole_file(
        client, session, clock, body_partners, decided):
    npo = body_partners["npo_ibasho"]
    headers = bearer(session, clock, npo)
    response = client.get(f"/api/v1/cases/{decided.id}/file", headers=headers)
    assert response.status_code == 200
    packet = response.json
    assert set(packet) == {"id", "reference", "access", "person", "wishes", "tasks", "actions", "decisions"}
    assert packet["access"]["scope"] == "packet" and packet["access"]["basis"] == "action"
    assert [a["actionType"] for a in packet["actions"]] == ["居場所へのつなぎ"]  # not the 民生委員's action
    assert packet["wishes"] == "近所で気軽に話せる場がほしい" and len(packet["decisions"]) == 1
    body = response.get_data(as_text=True)
    assert "mental_health" not in body and "一人暮らしで話し相手がいない" not in body  # the intake stays out
    assert last_read(session, npo, decided.id).detail["part"] == "packet"

    summary = client.get(f"/api/v1/cases/{decided.id}", headers=headers).json
    assert summary["risk"] is None and summary["nextReviewOn"] is None
    offered = {t.id for t in session.scalars(select(TaskRecord).where(TaskRecord.case_id == decided.id))
               if t.candidate_body_id == npo.organisation_id}
    assert {t["id"] for t in summary["openTasks"]} <= offered and summary["openTasks"]

    history = client.get(f"/api/v1/cases/{decided.id}/history", headers=headers)
    assert (history.status_code, history.json["code"]) == (403, "forbidden")  # the page shows them no timeline
    assert "case.started" not in history.get_data(as_text=True)


def test_another_municipalitys_caseworker_and_a_user_without_basis_get_404_naming_nothing(
        client, session, clock, municipality, partner, decided, user_password):
    other_town = MunicipalityRecord(code="139997", name="隣町")
    session.add(other_town)
    session.commit()
    neighbour = users.create_user(session, clock, municipality_id=other_town.id, username="neighbour",
                                  display_name="隣町 職員", password=user_password, roles=["caseworker"])
    colleague = users.create_user(session, clock, municipality_id=municipality.id, username="colleague",
                                  display_name="別の 職員", password=user_password, roles=["caseworker"])
    session.commit()
    for user in (neighbour, colleague, partner):
        headers = bearer(session, clock, user)
        for suffix in PARTS:
            answer = client.get(f"/api/v1/cases/{decided.id}{suffix}", headers=headers)
            assert (answer.status_code, answer.json["code"], answer.json["details"]) == (404, "not_found", []), user
            assert decided.reference not in answer.get_data(as_text=True)
        assert last_read(session, user, decided.id).action == "case.view_refused"


@pytest.mark.parametrize("case_id", ["{missing}", "99999999999"])
def test_an_unknown_or_huge_case_id_is_a_404_in_the_error_format(client, session, clock, caseworker, decided,
                                                                 case_id):
    headers = bearer(session, clock, caseworker)
    for suffix in PARTS:
        answer = client.get(f"/api/v1/cases/{case_id.format(missing=decided.id + 1000)}{suffix}", headers=headers)
        assert answer.status_code == 404 and answer.mimetype == "application/json"
        assert (answer.json["code"], answer.json["details"]) == ("not_found", [])


def test_without_a_token_no_case_is_answered(client, decided):
    for suffix in PARTS:
        answer = client.get(f"/api/v1/cases/{decided.id}{suffix}")
        assert (answer.status_code, answer.json["code"]) == (401, "token_missing")


def test_the_openapi_document_describes_the_case_routes_and_their_refusals(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for suffix in PARTS:
        responses = paths[f"/cases/{{case_id}}{suffix}"]["get"]["responses"]
        assert {"200", "401", "404"} <= set(responses)
    assert "403" in paths["/cases/{case_id}/history"]["get"]["responses"]
    schemas = json.dumps(client.get("/api/v1/openapi.json").json["components"]["schemas"]["CaseFile"])
    assert "submissions" in schemas and "answers" not in schemas
