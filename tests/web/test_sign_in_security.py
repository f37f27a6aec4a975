"""Signing in safely: lockout after repeated failures, the TOTP second factor, administrators' forced
enrolment, and sessions that end on the server after a time without activity."""
from __future__ import annotations

import re
from datetime import timedelta

import pyotp
from conftest import accept_current_pledge, enrol_totp, reread, totp_code
from flask_babel import gettext
from markupsafe import escape
from page_text import element, text
from sqlalchemy import select

from tsunagu.engine.access import users
from tsunagu.engine.models import AuditRecord, UserRecord

# One answer for a locked account, an unknown name and a wrong password (web/auth.py `_refused`).
REFUSED_MSGID = ("The user name or password is wrong, or the account is locked for a while. "
                 "Please check them or try again later.")


def _refusal(app) -> str:
    """The refusal as the login page shows it, in the language the app is set up with (Japanese)."""
    with app.test_request_context():
        return escape(gettext(REFUSED_MSGID))


def _form(user, password):
    return {"username": user.username, "password": password}


def _signed_in(client) -> bool:
    return client.get("/").status_code == 200


def test_five_wrong_passwords_lock_the_account_even_against_the_right_one_for_fifteen_minutes(
        app, client, session, clock, caseworker, user_password):
    accept_current_pledge(session, clock, caseworker)
    for _attempt in range(5):
        assert client.post("/login", data=_form(caseworker, "wrong")).status_code == 401
    response = client.post("/login", data=_form(caseworker, user_password))
    assert response.status_code == 401  # the same answer as a wrong password: a lock reveals the name exists
    assert _refusal(app) in response.get_data(as_text=True)
    assert not _signed_in(client)

    clock.advance(timedelta(minutes=14, seconds=59))
    assert client.post("/login", data=_form(caseworker, user_password)).status_code == 401
    clock.advance(timedelta(seconds=2))
    assert client.post("/login", data=_form(caseworker, user_password)).status_code == 302
    assert _signed_in(client)
    reread(session)
    actions = session.scalars(select(AuditRecord.action).where(AuditRecord.actor_id == caseworker.id)).all()
    assert actions.count("login.failed") == 5 and "login.lockout" in actions and "login.locked" in actions


def test_a_user_with_a_second_factor_is_signed_in_only_after_the_right_code(client, session, clock, caseworker,
                                                                           user_password):
    accept_current_pledge(session, clock, caseworker)
    secret = enrol_totp(session, clock, caseworker)
    response = client.post("/login?next=/cases/new", data=_form(caseworker, user_password))
    assert response.status_code == 302 and response.headers["Location"].startswith("/login/totp")
    assert not _signed_in(client)  # the password alone opens nothing

    page = client.get("/login/totp").get_data(as_text=True)
    assert "2段階認証" in page and 'autocomplete="one-time-code"' in page
    wrong = f"{(int(totp_code(caseworker, clock)) + 1) % 1000000:06d}"
    response = client.post("/login/totp?next=/cases/new", data={"code": wrong})
    assert response.status_code == 401 and "確認コードが違います。" in text(element(response.get_data(as_text=True),
                                                                                     "field-code"))
    assert not _signed_in(client)

    clock.advance(timedelta(seconds=40))  # the app shows the next code by now
    code = pyotp.TOTP(secret).at(clock())
    response = client.post("/login/totp?next=/cases/new", data={"code": code})
    assert response.status_code == 302 and response.headers["Location"] == "/cases/new"
    assert _signed_in(client)


def test_the_code_page_without_a_password_first_sends_back_to_the_login(client):
    assert client.get("/login/totp").headers["Location"].startswith("/login")
    assert client.post("/login/totp", data={"code": "123456"}).headers["Location"].startswith("/login")


def test_an_administrator_reaches_nothing_but_the_enrolment_page_until_their_second_factor_is_on(
        client, session, clock, municipality, user_password):
    admin = users.create_user(session, clock, municipality_id=municipality.id, username="new-admin",
                              display_name="管理 新人", password=user_password, roles=["admin"])
    session.commit()
    accept_current_pledge(session, clock, admin)
    assert client.post("/login", data=_form(admin, user_password)).status_code == 302
    for url in ("/", "/admin", "/admin/audit.csv", "/notifications", "/pledge", "/cases/new"):
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"] == "/account/totp", url

    page = client.get("/account/totp").get_data(as_text=True)
    assert "システム管理者は2段階認証の利用が必須です。" in page
    client.post("/account/totp/start")
    page = client.get("/account/totp").get_data(as_text=True)
    qr = element(page, "totp-enrol")
    assert '<svg' in qr and 'class="qr"' in qr and "<path" in qr  # drawn inline, no image request
    reread(session)
    secret = session.get(UserRecord, admin.id).totp_secret
    assert re.sub(r"\s", "", text(element(page, "totp-secret"))) == secret

    response = client.post("/account/totp", data={"code": "000000" if totp_code(admin, clock) != "000000" else "111111"})
    assert response.status_code == 422
    assert "コードが正しくありません。" in text(element(response.get_data(as_text=True), "field-code"))
    assert client.get("/").headers["Location"] == "/account/totp"

    response = client.post("/account/totp", data={"code": pyotp.TOTP(secret).at(clock())})
    assert response.status_code == 302
    assert client.get("/admin").status_code == 200
    reread(session)
    assert session.get(UserRecord, admin.id).totp_enabled


def test_any_user_may_turn_on_a_second_factor_and_is_asked_for_it_next_time(client, login, session, clock,
                                                                           caseworker, user_password):
    login(caseworker)
    page = client.get("/account/totp").get_data(as_text=True)
    assert "必須" not in page and "2段階認証を設定する" in page
    client.post("/account/totp/start")
    reread(session)
    secret = session.get(UserRecord, caseworker.id).totp_secret
    assert client.post("/account/totp", data={"code": pyotp.TOTP(secret).at(clock())}).status_code == 302
    assert "このアカウントでは2段階認証が有効です。" in client.get("/account/totp").get_data(as_text=True)
    # Starting again would silently turn the second factor off: refused.
    assert client.post("/account/totp/start").status_code == 409
    reread(session)
    assert session.get(UserRecord, caseworker.id).totp_secret == secret

    client.post("/logout")
    response = client.post("/login", data=_form(caseworker, user_password))
    assert response.headers["Location"].startswith("/login/totp")


def test_a_session_idle_for_longer_than_the_limit_ends_on_the_server(client, login, clock, caseworker):
    login(caseworker)
    clock.advance(timedelta(minutes=29))
    assert client.get("/").status_code == 200
    clock.advance(timedelta(minutes=29))  # 58 minutes since signing in, but active 29 minutes ago
    assert client.get("/").status_code == 200

    clock.advance(timedelta(minutes=31))
    response = client.get("/cases/new")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=/cases/new")
    assert "一定時間操作がなかったため、ログアウトしました。" in client.get("/login").get_data(as_text=True)
    assert client.get("/").headers["Location"].startswith("/login")  # the session is gone, not only hidden


def test_signing_in_again_from_a_tab_left_open_after_the_limit_works_at_once(client, login, clock, caseworker,
                                                                             user_password):
    login(caseworker)
    clock.advance(timedelta(minutes=40))
    response = client.post("/login?next=/cases/new", data=_form(caseworker, user_password))
    assert response.status_code == 302 and response.headers["Location"] == "/cases/new"
    assert _signed_in(client)


def test_an_old_session_cookie_replayed_after_the_limit_is_refused(app, client, login, clock, caseworker):
    login(caseworker)
    cookie = client.get_cookie("session").value
    clock.advance(timedelta(minutes=45))
    replay = app.test_client()
    replay.set_cookie("session", cookie)
    response = replay.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_a_pending_second_step_also_expires(client, session, clock, caseworker, user_password):
    accept_current_pledge(session, clock, caseworker)
    enrol_totp(session, clock, caseworker)
    client.post("/login", data=_form(caseworker, user_password))
    clock.advance(timedelta(minutes=31))
    response = client.post("/login/totp", data={"code": totp_code(caseworker, clock)})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert not _signed_in(client)
