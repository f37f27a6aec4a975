"""The administrators' API token page: the municipality's tokens without their secrets, creating one with its
secret shown once, revoking one after a confirmation; nobody else may use it."""
from __future__ import annotations

import re

import pytest
from conftest import enrol_totp, reread
from page_text import element
from sqlalchemy import select

from tsunagu.engine.access import users
from tsunagu.engine.access.tokens import ApiTokenRecord, TokenRevoked, authenticate, create_token
from tsunagu.engine.models import AuditRecord, MunicipalityRecord

SECRET = re.compile(r"tsunagu_[A-Za-z0-9_-]{43}")


@pytest.fixture
def system_user(session, clock, municipality, user_password):
    person = users.create_user(session, clock, municipality_id=municipality.id, username="soudan-system",
                               display_name="相談窓口システム", password=user_password, roles=["caseworker"])
    session.commit()
    return person


def _tokens(session):
    reread(session)
    return list(session.scalars(select(ApiTokenRecord).order_by(ApiTokenRecord.id)))


def _form(user, **fields):
    return {"user": str(user.id), "name": "相談窓口", "expires_days": "", "roles": []} | fields


def test_the_token_list_is_linked_from_the_admin_page_and_never_shows_a_secret(
        client, login, session, clock, admin, system_user):
    record, secret = create_token(session, clock, None, system_user, "夜間連携", operator="root")
    login(admin)

    assert 'href="/admin/tokens"' in element(client.get("/admin").get_data(as_text=True), "admin-links")
    page = client.get("/admin/tokens").get_data(as_text=True)
    row = element(page, f"token-{record.id}")
    assert "夜間連携" in row and record.prefix in row and "soudan-system" in row
    assert secret not in page and secret[len(record.prefix):] not in page
    assert f'/admin/tokens/{record.id}/revoke' in row


def test_creating_a_token_shows_its_secret_once_and_the_token_signs_its_user_in(
        client, login, session, clock, admin, system_user):
    login(admin)
    response = client.post("/admin/tokens", data=_form(system_user, expires_days="30", roles=["caseworker"]))

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    [secret] = SECRET.findall(element(response.get_data(as_text=True), "token-secret"))
    user, token, roles = authenticate(session, clock, secret)
    assert (user.id, token.name, roles) == (system_user.id, "相談窓口", {"caseworker"})
    assert token.created_by_id == admin.id and token.expires_at is not None
    assert secret not in client.get("/admin/tokens").get_data(as_text=True)
    created = session.scalar(select(AuditRecord).where(AuditRecord.action == "token.created"))
    assert created.actor_id == admin.id and created.detail["via"] == "web"


def test_a_role_the_staff_member_lacks_and_a_missing_name_are_refused_beside_their_fields(
        client, login, session, admin, system_user):
    login(admin)
    response = client.post("/admin/tokens", data=_form(system_user, name="", roles=["supervisor"]))

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert element(page, "err-roles") and element(page, "err-name")
    assert not SECRET.search(page) and _tokens(session) == []


def test_a_staff_member_of_another_municipality_cannot_be_given_a_token(client, login, session, clock, admin):
    town = MunicipalityRecord(code="131016", name="千代田区")
    session.add(town)
    session.commit()
    stranger = users.create_user(session, clock, municipality_id=town.id, username="chiyoda-staff",
                                 display_name="千代田 太郎", password="x" * 12, roles=["caseworker"])
    session.commit()
    login(admin)

    response = client.post("/admin/tokens", data=_form(stranger))
    assert response.status_code == 422 and element(response.get_data(as_text=True), "err-user")
    assert "chiyoda-staff" not in element(client.get("/admin/tokens").get_data(as_text=True), "user")
    assert _tokens(session) == []


def test_revoking_asks_first_and_then_the_token_is_refused(client, login, session, clock, admin, system_user):
    record, secret = create_token(session, clock, admin, system_user, "CSV連携")
    login(admin)

    confirm = client.get(f"/admin/tokens/{record.id}/revoke").get_data(as_text=True)
    assert element(confirm, "confirm-button") and record.prefix in element(confirm, "confirm")
    assert _tokens(session)[0].revoked_at is None  # the question alone changes nothing

    response = client.post(f"/admin/tokens/{record.id}/revoke")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/tokens"
    with pytest.raises(TokenRevoked):
        authenticate(session, clock, secret)
    row = element(client.get("/admin/tokens").get_data(as_text=True), f"token-{record.id}")
    assert f"/admin/tokens/{record.id}/revoke" not in row
    assert element(client.get(f"/admin/tokens/{record.id}/revoke").get_data(as_text=True), "already-revoked")


def test_staff_who_are_not_administrators_are_refused_every_token_page(
        client, login, session, clock, admin, caseworker, system_user):
    record, _secret = create_token(session, clock, admin, system_user, "連携")
    login(caseworker)

    assert client.get("/admin/tokens").status_code == 403
    assert client.post("/admin/tokens", data=_form(caseworker)).status_code == 403
    assert client.get(f"/admin/tokens/{record.id}/revoke").status_code == 403
    assert client.post(f"/admin/tokens/{record.id}/revoke").status_code == 403
    assert [(t.id, t.revoked_at) for t in _tokens(session)] == [(record.id, None)]


def test_another_municipalitys_administrator_finds_no_such_token(client, login, session, clock, admin, system_user):
    record, _secret = create_token(session, clock, admin, system_user, "連携")
    town = MunicipalityRecord(code="131016", name="千代田区")
    session.add(town)
    session.commit()
    other = users.create_user(session, clock, municipality_id=town.id, username="chiyoda-admin",
                              display_name="千代田 管理", password="chiyoda admin passphrase", roles=["admin"])
    session.commit()
    enrol_totp(session, clock, other)
    login(other, password="chiyoda admin passphrase")

    assert "連携" not in client.get("/admin/tokens").get_data(as_text=True)
    assert client.get(f"/admin/tokens/{record.id}/revoke").status_code == 404
    assert client.post(f"/admin/tokens/{record.id}/revoke").status_code == 404
    assert _tokens(session)[0].revoked_at is None
