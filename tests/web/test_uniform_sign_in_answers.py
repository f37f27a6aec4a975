"""A sign-in page that answers differently for a locked account, an unknown name and a wrong password
tells an attacker which user names exist: all three get the same status and the same message."""
from __future__ import annotations

import re

import pyotp
from conftest import accept_current_pledge, enrol_totp, reread
from sqlalchemy import select

from tsunagu.engine.models import AuditRecord


def _answer(response) -> tuple[int, list[str]]:
    """What a person sees of a refusal: the status and the flashed messages."""
    return response.status_code, re.findall(r'<li class="flash [a-z]+">(.*?)</li>', response.get_data(as_text=True))


def _try(client, username, password):
    return _answer(client.post("/login", data={"username": username, "password": password}))


def test_an_unknown_name_a_wrong_password_and_a_locked_account_get_the_same_answer(
        client, session, clock, caseworker, supervisor, user_password):
    accept_current_pledge(session, clock, caseworker)
    unknown = _try(client, "no-such-person", "wrong")
    wrong = _try(client, caseworker.username, "wrong")
    for _ in range(4):
        _try(client, caseworker.username, "wrong")
    locked_right_password = _try(client, caseworker.username, user_password)
    locked_wrong_password = _try(client, caseworker.username, "wrong")
    assert unknown[0] == 401 and len(unknown[1]) == 1
    assert unknown == wrong == locked_right_password == locked_wrong_password
    reread(session)
    actions = session.scalars(select(AuditRecord.action).where(AuditRecord.actor_id == caseworker.id)).all()
    assert "login.lockout" in actions and actions.count("login.locked") == 2


def test_a_lock_reached_at_the_second_factor_gets_the_same_answer_and_starts_again_from_the_password(
        client, session, clock, caseworker, user_password):
    accept_current_pledge(session, clock, caseworker)
    secret = enrol_totp(session, clock, caseworker)
    now = pyotp.TOTP(secret).at(clock())
    bad_code = "000000" if now != "000000" else "111111"
    wrong = _try(client, caseworker.username, "wrong")
    assert client.post("/login", data={"username": caseworker.username,
                                       "password": user_password}).status_code == 302
    for _ in range(4):  # with the wrong password before, the fifth failure: the account is now locked
        assert client.post("/login/totp", data={"code": bad_code}).status_code == 401
    assert _answer(client.post("/login/totp", data={"code": bad_code})) == wrong  # the lock, worded as any refusal
    locked = _try(client, caseworker.username, user_password)
    assert locked == wrong
    assert client.get("/").status_code == 302
