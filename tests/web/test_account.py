"""The user's own account: the first sign-in with a one-time password, changing the password, sessions that end
on deactivation, a municipality's second-factor and idle-time rules, and recovery codes that work once."""
from __future__ import annotations

import re
from datetime import timedelta

from conftest import accept_current_pledge, enrol_totp, reread, totp_code
from page_text import element, text
from sqlalchemy import select

from tsunagu.engine.admin.staff import create_staff_user, deactivate_user, reset_credentials
from tsunagu.engine.casefile.tables import OrganisationKind, OrganisationRecord
from tsunagu.engine.models import AuditRecord, UserRecord

NEW_PASSWORD = "夕焼けの商店街をゆっくり歩く"


def _signed_in(client) -> bool:
    return client.get("/").status_code == 200


def _new_user(session, clock, municipality, username="hanako", roles=("caseworker",), **fields):
    user, initial = create_staff_user(session, clock, None, municipality_id=municipality.id, username=username,
                                      roles=list(roles), **fields)
    return user, initial


def _change(client, current, new=NEW_PASSWORD, confirm=None, next_url=""):
    return client.post(f"/account/password{next_url}", data={
        "current_password": current, "new_password": new, "confirm_password": new if confirm is None else confirm})


def test_a_user_with_a_one_time_password_must_change_it_before_reaching_the_inbox(client, login, session, clock,
                                                                                  municipality):
    hanako, initial = _new_user(session, clock, municipality)
    accept_current_pledge(session, clock, hanako)
    login(hanako, password=initial, pledge=False)
    for url in ("/", "/cases/new", "/notifications", "/account", "/account/totp", "/pledge"):
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].startswith("/account/password"), url
    page = client.get("/account/password").get_data(as_text=True)
    assert element(page, "first-sign-in")  # the page says why
    assert 'autocomplete="new-password"' in page

    response = _change(client, initial, new=initial)
    assert response.status_code == 422
    assert "今のパスワードとは違うパスワードにしてください。" in text(element(response.get_data(as_text=True),
                                                                  "field-new_password"))
    assert client.get("/").headers["Location"].startswith("/account/password")

    response = _change(client, initial, next_url="?next=/cases/new")
    assert response.status_code == 302 and response.headers["Location"] == "/cases/new"
    assert _signed_in(client)  # this session goes on after the change
    reread(session)
    assert not session.get(UserRecord, hanako.id).must_change_password


def test_the_gates_come_in_order_password_then_second_factor_then_pledge(client, login, session, clock,
                                                                         municipality):
    kanri, initial = _new_user(session, clock, municipality, username="kanri2", roles=("admin",))
    login(kanri, password=initial, pledge=False)
    assert client.get("/").headers["Location"].startswith("/account/password")
    assert _change(client, initial).status_code == 302
    assert client.get("/").headers["Location"] == "/account/totp"
    reread(session)
    enrol_totp(session, clock, session.get(UserRecord, kanri.id))
    assert client.get("/").headers["Location"].startswith("/pledge")


def test_a_wrong_current_password_or_a_mismatch_is_shown_beside_its_field(client, login, caseworker):
    login(caseworker)
    response = _change(client, "not my password", confirm="something else entirely")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "現在のパスワードが違います。" in text(element(page, "field-current_password"))
    assert "新しいパスワードが2回とも同じではありません。" in text(element(page, "field-confirm_password"))
    assert 'aria-invalid="true"' in element(page, "field-current_password")


def test_changing_the_password_ends_the_users_other_sessions_but_not_this_one(app, client, login, session, clock,
                                                                                caseworker, user_password):
    login(caseworker)
    laptop = app.test_client()
    assert laptop.post("/login", data={"username": "caseworker", "password": user_password}).status_code == 302
    assert laptop.get("/").status_code == 200
    assert _change(client, user_password).status_code == 302
    assert _signed_in(client)
    response = laptop.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert "アカウントが変更されたため" in laptop.get("/login").get_data(as_text=True)
    reread(session)
    assert session.scalar(select(AuditRecord).where(AuditRecord.action == "password.changed")).actor_id == caseworker.id


def test_a_deactivated_users_signed_in_session_is_refused_on_its_next_request(client, login, session, clock,
                                                                              caseworker):
    login(caseworker)
    assert _signed_in(client)
    deactivate_user(session, clock, None, caseworker.id)
    response = client.get("/cases/new")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert not _signed_in(client)


def test_a_copied_cookie_from_before_a_reset_no_longer_works(app, client, login, session, clock, caseworker):
    login(caseworker)
    cookie = client.get_cookie("session").value
    reset_credentials(session, clock, None, caseworker.id)
    replay = app.test_client()
    replay.set_cookie("session", cookie)
    assert replay.get("/").headers["Location"].startswith("/login")


def test_a_municipality_requiring_a_second_factor_sends_a_caseworker_to_enrolment(client, login, session, clock,
                                                                                   municipality, caseworker):
    municipality.require_second_factor = True
    session.commit()
    login(caseworker)
    for url in ("/", "/cases/new"):
        assert client.get(url).headers["Location"] == "/account/totp", url
    page = client.get("/account/totp").get_data(as_text=True)
    assert "すべての職員に2段階認証が必須です" in text(element(page, "totp-required"))
    reread(session)
    enrol_totp(session, clock, session.get(UserRecord, caseworker.id))
    assert _signed_in(client)


def test_the_municipalitys_shorter_idle_limit_signs_a_user_out_sooner(client, login, session, clock, municipality,
                                                                       caseworker):
    municipality.idle_minutes = 10
    session.commit()
    login(caseworker)
    clock.advance(timedelta(minutes=9))
    assert _signed_in(client)
    clock.advance(timedelta(minutes=11))  # well within the installation's 30 minutes
    assert client.get("/").headers["Location"].startswith("/login")


def test_a_recovery_code_signs_in_once_and_only_once(client, login, session, clock, caseworker, user_password):
    enrol_totp(session, clock, caseworker)
    login(caseworker)
    assert "2段階認証を有効にしてください" not in client.get("/account/recovery-codes").get_data(as_text=True)
    page = client.post("/account/recovery-codes").get_data(as_text=True)
    codes = re.findall(r"<code>([2-9a-z]{4}-[2-9a-z]{4}-[2-9a-z]{4})</code>", element(page, "recovery-codes"))
    assert len(codes) == 10
    assert "未使用のリカバリーコードが 10 個あります。" in client.get("/account/recovery-codes").get_data(as_text=True)
    client.post("/logout")

    client.post("/login", data={"username": "caseworker", "password": user_password})
    response = client.post("/login/totp", data={"code": codes[0].upper()})
    assert response.status_code == 302
    home = client.get("/")
    assert home.status_code == 200 and "未使用のコードは残り 9 個です" in home.get_data(as_text=True)
    assert "未使用 9 個" in text(element(client.get("/account").get_data(as_text=True), "account-recovery"))
    client.post("/logout")

    client.post("/login", data={"username": "caseworker", "password": user_password})
    response = client.post("/login/totp", data={"code": codes[0]})
    assert response.status_code == 401
    assert "既に使用済み" in text(element(response.get_data(as_text=True), "field-recovery-code"))
    assert not _signed_in(client)
    clock.advance(timedelta(seconds=30))  # the app's next code (the one used at the first sign-in works once too)
    assert client.post("/login/totp", data={"code": totp_code(caseworker, clock)}).status_code == 302


def test_recovery_codes_need_a_second_factor_first(client, login, caseworker):
    login(caseworker)
    assert "先に2段階認証を有効にしてください" in client.get("/account/recovery-codes").get_data(as_text=True)
    assert client.post("/account/recovery-codes").status_code == 409


def test_the_account_page_shows_name_roles_organisation_and_team_and_is_linked_from_every_page(
        client, login, session, clock, municipality):
    body = OrganisationRecord(municipality_id=municipality.id, name="福祉課", kind=OrganisationKind.DEPARTMENT)
    session.add(body)
    session.commit()
    hanako, _ = _new_user(session, clock, municipality, roles=("caseworker", "supervisor"), display_name="佐藤 花子",
                          organisation_id=body.id, team="地域福祉係", password="a long chosen passphrase")
    login(hanako, password="a long chosen passphrase")
    home = client.get("/").get_data(as_text=True)
    assert 'href="/account"' in element(home, "account-link")
    page = client.get("/account").get_data(as_text=True)
    assert text(element(page, "account-name")) == "佐藤 花子"
    assert text(element(page, "account-roles")) == "相談支援員、スーパーバイザー"
    assert text(element(page, "account-organisation")) == "福祉課"
    assert text(element(page, "account-team")) == "地域福祉係"


def test_a_user_name_with_a_nul_byte_or_of_huge_length_is_just_a_wrong_sign_in(client, caseworker):
    for username in ("case\x00worker", "x" * 100_000):
        response = client.post("/login", data={"username": username, "password": "whatever"})
        assert response.status_code == 401
