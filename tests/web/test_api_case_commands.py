"""/api/v1 commands on a case and its tasks with API tokens: the consent ledger and its withdrawal, adding a
support action and a supervisor assigning a task, each through the pages' engine command with its audit row,
and refused like the pages (missing without a basis, 403 for the wrong role, 422 naming each field)."""
from __future__ import annotations

import pytest
from api_helpers import bearer
from conftest import reread
from sqlalchemy import select

from tsunagu.engine.access import users
from tsunagu.engine.admin import teams
from tsunagu.engine.casefile.tables import ConsentRecord, SupportActionRecord
from tsunagu.engine.commands import cases, queries
from tsunagu.engine.models import AuditRecord, MunicipalityRecord, TaskRecord


def last_audit(session, user) -> AuditRecord:
    reread(session)
    return session.scalar(select(AuditRecord).where(AuditRecord.actor_id == user.id)
                          .order_by(AuditRecord.id.desc()).limit(1))


def consent_of(session, case) -> ConsentRecord:
    reread(session)
    return session.scalar(select(ConsentRecord).where(ConsentRecord.case_id == case.id))


@pytest.fixture
def neighbour(session, clock, user_password):
    """A caseworker of another municipality."""
    town = MunicipalityRecord(code="139997", name="隣町")
    session.add(town)
    session.commit()
    user = users.create_user(session, clock, municipality_id=town.id, username="neighbour", display_name="隣町 職員",
                             password=user_password, roles=["caseworker"])
    session.commit()
    return user


@pytest.fixture
def colleague(session, clock, municipality, user_password):
    """A caseworker of the municipality who does not work the case."""
    user = users.create_user(session, clock, municipality_id=municipality.id, username="colleague",
                             display_name="同僚 職員", password=user_password, roles=["caseworker"])
    session.commit()
    return user


# --- the consent ledger ---------------------------------------------------------------------------

def test_the_consent_ledger_is_read_like_the_case_page_with_its_read_audited(client, session, clock, caseworker,
                                                                              standard_case):
    case = standard_case()
    answer = client.get(f"/api/v1/cases/{case.id}/consents", headers=bearer(session, clock, caseworker))
    assert answer.status_code == 200
    [consent] = answer.json
    assert (consent["decision"], consent["method"], consent["validFrom"]) == ("given", "written", "2026-11-27")
    assert consent["purposes"] == ["support_planning", "information_sharing", "council"] and consent["withdrawn"] is None
    row = last_audit(session, caseworker)
    assert (row.action, row.case_id, row.detail["part"], row.detail["basis"]) == ("case.viewed", case.id, "consents",
                                                                                   "staff")
    empty_page = client.get(f"/api/v1/cases/{case.id}/consents?firstResult=1", headers=bearer(session, clock, caseworker))
    assert empty_page.json == []


def test_a_member_body_seeing_only_its_packet_gets_no_consent_ledger(client, session, clock, body_partners,
                                                                       standard_case):
    case = standard_case()
    answer = client.get(f"/api/v1/cases/{case.id}/consents", headers=bearer(session, clock, body_partners["npo_ibasho"]))
    assert (answer.status_code, answer.json["code"]) == (403, "forbidden")
    assert "information_sharing" not in answer.get_data(as_text=True)


def test_withdrawing_a_consent_stops_it_and_writes_the_audit_row(client, session, clock, caseworker, standard_case):
    case = standard_case()
    consent = consent_of(session, case)
    answer = client.post(f"/api/v1/cases/{case.id}/consents/{consent.id}/withdraw", json={"confirmed": True},
                         headers=bearer(session, clock, caseworker))
    assert answer.status_code == 200 and answer.json["id"] == consent.id and answer.json["withdrawn"] is not None
    assert consent_of(session, case).withdrawn_at is not None
    row = last_audit(session, caseworker)
    assert (row.action, row.case_id, row.detail["consent"]) == ("consent.withdrawn", case.id, consent.id)
    again = client.post(f"/api/v1/cases/{case.id}/consents/{consent.id}/withdraw", json={"confirmed": True},
                        headers=bearer(session, clock, caseworker))
    assert (again.status_code, again.json["code"]) == (409, "invalid_state")  # no longer in force


def test_a_withdrawal_without_the_confirmation_or_through_another_case_changes_nothing(
        client, session, clock, caseworker, standard_case):
    case, other = standard_case(), standard_case(title="別の相談")
    consent = consent_of(session, case)
    headers = {**bearer(session, clock, caseworker), "Accept-Language": "en"}
    for body, field, code in (({}, "confirmed", "required"), ({"confirmed": False}, "confirmed", "invalid"),
                              ({"confirmed": True, "why": 1}, "why", "unknown_field")):
        answer = client.post(f"/api/v1/cases/{case.id}/consents/{consent.id}/withdraw", json=body, headers=headers)
        assert answer.status_code == 422 and [(d["field"], d["code"]) for d in answer.json["details"]] == [(field, code)]
    refused = client.post(f"/api/v1/cases/{case.id}/consents/{consent.id}/withdraw", json={"confirmed": False},
                          headers=headers)
    assert refused.json["details"][0]["message"] == "Confirm that the person asked to withdraw their consent."
    crossed = client.post(f"/api/v1/cases/{other.id}/consents/{consent.id}/withdraw", json={"confirmed": True},
                          headers=headers)
    assert (crossed.status_code, crossed.json["code"], crossed.json["details"]) == (404, "not_found", [])
    assert consent_of(session, case).withdrawn_at is None


def test_without_a_basis_or_as_a_packet_reader_no_consent_is_withdrawn(client, session, clock, colleague, neighbour,
                                                                        body_partners, standard_case):
    case = standard_case()
    consent = consent_of(session, case)
    url = f"/api/v1/cases/{case.id}/consents/{consent.id}/withdraw"
    for user in (colleague, neighbour):
        headers = bearer(session, clock, user)
        for answer in (client.get(f"/api/v1/cases/{case.id}/consents", headers=headers),
                       client.post(url, json={"confirmed": True}, headers=headers)):
            assert (answer.status_code, answer.json["code"], answer.json["details"]) == (404, "not_found", []), user
            assert case.reference not in answer.get_data(as_text=True)
    packet = client.post(url, json={"confirmed": True}, headers=bearer(session, clock, body_partners["npo_ibasho"]))
    assert (packet.status_code, packet.json["code"]) == (403, "forbidden")
    assert consent_of(session, case).withdrawn_at is None


# --- support actions ------------------------------------------------------------------------------

def test_a_support_action_is_added_like_the_pages_with_its_audit_row(client, session, clock, caseworker,
                                                                     start_council_case, action_types, bodies):
    case = start_council_case()
    answer = client.post(f"/api/v1/cases/{case.id}/actions", headers=bearer(session, clock, caseworker), json={
        "actionTypeId": action_types["ibasho"].id, "dueOn": "2027-01-15", "note": " 本人の希望で午後の居場所 "})
    assert answer.status_code == 201
    assert answer.json["actionType"] == "居場所へのつなぎ" and answer.json["status"] == "proposed"
    assert answer.json["ownerBody"] == {"id": bodies["npo"].id, "name": "NPO法人 つながる居場所"}
    assert answer.json["note"] == "本人の希望で午後の居場所" and answer.json["due"].startswith("2027-01-15T23:59")
    row = last_audit(session, caseworker)
    assert (row.action, row.case_id, row.detail["action_id"]) == ("action.added", case.id, answer.json["id"])
    assert session.get(SupportActionRecord, answer.json["id"]).owner_body_id == bodies["npo"].id


def test_a_bad_action_body_is_refused_naming_each_field_as_sent(client, session, clock, caseworker,
                                                                  start_council_case, action_types, bodies):
    case = start_council_case()
    headers = bearer(session, clock, caseworker)
    answer = client.post(f"/api/v1/cases/{case.id}/actions", headers=headers,
                         json={"ownerBodyId": "npo", "dueOn": "15/01/2027", "note": "x" * 2001, "colour": "red"})
    assert (answer.status_code, answer.json["code"]) == (422, "invalid_input")
    assert {(d["field"], d["code"]) for d in answer.json["details"]} == {
        ("actionTypeId", "required"), ("ownerBodyId", "integer"), ("dueOn", "date"), ("note", "maxLength"),
        ("colour", "unknown_field")}
    # What only the engine can judge: its own field errors, named as the request names the fields.
    engine = client.post(f"/api/v1/cases/{case.id}/actions", headers=headers, json={
        "actionTypeId": action_types["visit"].id, "ownerBodyId": bodies["department"].id, "dueOn": "2020-01-01"})
    assert (engine.status_code, engine.json["code"]) == (422, "form_invalid")
    assert {(d["field"], d["code"]) for d in engine.json["details"]} == {("dueOn", "x_not_before")}
    body = client.post(f"/api/v1/cases/{case.id}/actions", headers=headers, json={
        "actionTypeId": action_types["visit"].id, "ownerBodyId": bodies["department"].id})
    assert [(d["field"], d["code"]) for d in body.json["details"]] == [("ownerBodyId", "enum")]
    reread(session)
    assert session.scalar(select(SupportActionRecord).where(SupportActionRecord.case_id == case.id)) is None


def test_adding_an_action_is_refused_without_a_basis_and_for_a_packet_reader(
        client, session, clock, colleague, neighbour, body_partners, standard_case):
    case = standard_case()
    kinds = {k.code: k.id for k in queries.action_types(session, case.municipality_id)}
    body = {"actionTypeId": kinds["phone_check"]}
    for user in (colleague, neighbour):
        answer = client.post(f"/api/v1/cases/{case.id}/actions", json=body, headers=bearer(session, clock, user))
        assert (answer.status_code, answer.json["code"], answer.json["details"]) == (404, "not_found", []), user
    packet = client.post(f"/api/v1/cases/{case.id}/actions", json=body,
                         headers=bearer(session, clock, body_partners["npo_ibasho"]))
    assert (packet.status_code, packet.json["code"]) == (403, "forbidden")
    reread(session)
    assert len(session.scalars(select(SupportActionRecord).where(SupportActionRecord.case_id == case.id)).all()) == 2


# --- assigning a task -----------------------------------------------------------------------------

@pytest.fixture
def team_task(session, clock, admin, municipality, caseworker, supervisor, colleague, two_forms):
    """An unassigned task of a case the supervisor's team works (its caseworker opened it)."""
    team = teams.add_team(session, clock, admin, municipality.id, name="相談第1班")
    for member in (caseworker, colleague):
        teams.set_member(session, clock, admin, municipality.id, team.id, member.id)
    teams.set_member(session, clock, admin, municipality.id, team.id, supervisor.id, supervises=True)
    case = cases.start_case(session, clock, caseworker, two_forms, "電話の相談")
    return session.scalar(select(TaskRecord).where(TaskRecord.case_id == case.id))


def test_a_supervisor_assigns_a_team_task_with_its_reason_audited(client, session, clock, supervisor, colleague,
                                                                  team_task):
    answer = client.post(f"/api/v1/tasks/{team_task.id}/assignee", headers=bearer(session, clock, supervisor),
                         json={"userId": colleague.id, "reason": "電話の担当者のため"})
    assert answer.status_code == 200 and answer.json["assigneeId"] == colleague.id
    row = last_audit(session, supervisor)
    assert (row.action, row.task_id, row.detail["after"], row.detail["reason"]) == (
        "task.assigned", team_task.id, colleague.id, "電話の担当者のため")
    again = client.post(f"/api/v1/tasks/{team_task.id}/assignee", headers=bearer(session, clock, supervisor),
                        json={"userId": colleague.id, "reason": "再度"})
    assert (again.status_code, again.json["code"]) == (409, "task_already_claimed")


def test_assigning_is_refused_for_a_caseworker_another_municipality_and_bad_bodies(
        client, session, clock, caseworker, supervisor, colleague, neighbour, team_task):
    url = f"/api/v1/tasks/{team_task.id}/assignee"
    body = {"userId": colleague.id, "reason": "休暇のため"}
    role = client.post(url, json=body, headers=bearer(session, clock, caseworker))
    assert (role.status_code, role.json["code"]) == (403, "supervisor_only")
    other_town = users.create_user(session, clock, municipality_id=neighbour.municipality_id, username="neighbour-lead",
                                   display_name="隣町 係長", password="pw-neighbour-lead-1", roles=["supervisor"])
    session.commit()
    outside = client.post(url, json=body, headers=bearer(session, clock, other_town))
    assert (outside.status_code, outside.json["code"], outside.json["details"]) == (404, "not_found", [])

    headers = bearer(session, clock, supervisor)
    bad = client.post(url, json={"userId": "colleague", "reason": "  "}, headers=headers)
    assert (bad.status_code, bad.json["code"]) == (422, "invalid_input")
    assert {(d["field"], d["code"]) for d in bad.json["details"]} == {("userId", "integer"), ("reason", "required")}
    ineligible = client.post(url, json={"userId": neighbour.id, "reason": "休暇のため"}, headers=headers)
    assert (ineligible.status_code, ineligible.json["code"]) == (422, "form_invalid")
    [detail] = ineligible.json["details"]
    assert (detail["field"], detail["code"]) == ("userId", "not_eligible") and "担当" in detail["message"]
    reread(session)
    assert session.get(TaskRecord, team_task.id).assignee_id is None


def test_the_openapi_document_describes_the_commands_and_their_refusals(client):
    document = client.get("/api/v1/openapi.json").json
    paths = document["paths"]
    assert {"200", "401", "403", "404", "422"} <= set(paths["/cases/{case_id}/consents"]["get"]["responses"])
    for path, status in (("/cases/{case_id}/consents/{consent_id}/withdraw", "200"),
                         ("/cases/{case_id}/actions", "201"), ("/tasks/{task_id}/assignee", "200")):
        assert {status, "401", "403", "404", "409", "422"} == set(paths[path]["post"]["responses"]), path
    inputs = document["components"]["schemas"]
    assert set(inputs["SupportActionInput"]["properties"]) == {"actionTypeId", "ownerBodyId", "dueOn", "note"}
    assert set(inputs["Assignee"]["required"]) == {"userId", "reason"}
