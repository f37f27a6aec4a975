"""Sessions live on the server: signing out, a password change, deactivation and the absolute lifetime
end every copy of the cookie, and the audit log shows who signed in and out."""
from __future__ import annotations

from datetime import timedelta

from conftest import accept_current_pledge, reread
from sqlalchemy import select

from tsunagu.engine.admin.staff import change_own_password, deactivate_user
from tsunagu.engine.models import AuditRecord, SignInSessionRecord

NEW_PASSWORD = "a-brand-new-password-2026"


def _copy_cookie(client, app):
    """A second browser holding a copy of the first one's session cookie (a stolen or copied cookie)."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def _signed_in(client) -> bool:
    return client.get("/").status_code == 200


def test_a_copied_cookie_is_refused_once_its_owner_has_signed_out(app, client, login, caseworker):
    login(caseworker)
    thief = _copy_cookie(client, app)
    assert _signed_in(thief)  # the copy works while the session lives: that is what a cookie is
    client.post("/logout")
    assert not _signed_in(client)
    assert not _signed_in(thief)


def test_a_copied_cookie_is_refused_after_a_password_change_but_the_changing_session_goes_on(
        app, client, login, caseworker, user_password):
    login(caseworker)
    thief = _copy_cookie(client, app)
    other_device = app.test_client()
    other_device.post("/login", data={"username": caseworker.username, "password": user_password})
    assert _signed_in(other_device)
    response = client.post("/account/password", data={"current_password": user_password,
                                                       "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert response.status_code == 302
    assert _signed_in(client)
    assert not _signed_in(other_device)
    # The copy of the changing session's cookie still carries the old generation, so it ends too.
    assert not _signed_in(thief)


def test_a_password_changed_elsewhere_ends_this_session(client, login, session, clock, caseworker, user_password):
    login(caseworker)
    change_own_password(session, clock, caseworker, user_password, NEW_PASSWORD, NEW_PASSWORD)
    assert not _signed_in(client)


def test_a_deactivated_users_copied_cookie_is_refused(app, client, login, session, clock, caseworker, admin):
    login(caseworker)
    thief = _copy_cookie(client, app)
    deactivate_user(session, clock, admin, caseworker.id)
    assert not _signed_in(thief)
    assert not _signed_in(client)


def test_a_session_ends_after_its_absolute_lifetime_however_active_its_user_is(client, login, clock, caseworker):
    login(caseworker)
    for _ in range(35):  # a request every 20 minutes keeps the 30-minute idle limit happy for 11 h 40 min
        clock.advance(timedelta(minutes=20))
        assert _signed_in(client)
    clock.advance(timedelta(minutes=20))  # 12 h since sign-in
    clock.advance(timedelta(seconds=1))
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_the_absolute_lifetime_is_a_setting(database_url, clock, tmp_path, session, caseworker, user_password):
    from tsunagu.engine.config import Settings
    from tsunagu.web import create_app

    settings = Settings(database_url=database_url, secret_key="test-secret", instance_dir=str(tmp_path / "i"),
                        session_max_hours=1)
    app = create_app({"SETTINGS": settings, "CLOCK": clock, "TESTING": True, "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    accept_current_pledge(session, clock, caseworker)
    client.post("/login", data={"username": caseworker.username, "password": user_password})
    for _ in range(3):
        clock.advance(timedelta(minutes=20))
        assert _signed_in(client)
    clock.advance(timedelta(minutes=1))
    assert not _signed_in(client)
    assert Settings.from_env({"TSUNAGU_SESSION_MAX_HOURS": "8"}).session_max_hours == 8


def test_a_busy_session_writes_its_last_seen_time_at_most_once_a_minute(client, login, session, clock, caseworker):
    login(caseworker)
    reread(session)
    row = session.scalar(select(SignInSessionRecord).where(SignInSessionRecord.user_id == caseworker.id))
    signed_in_at = row.last_seen_at
    for _ in range(5):
        clock.advance(timedelta(seconds=10))
        assert _signed_in(client)
    reread(session)
    assert session.get(SignInSessionRecord, row.id).last_seen_at == signed_in_at
    clock.advance(timedelta(seconds=20))
    assert _signed_in(client)
    reread(session)
    assert session.get(SignInSessionRecord, row.id).last_seen_at == clock()


def test_the_audit_log_records_signing_in_and_signing_out(client, login, session, caseworker):
    login(caseworker)
    client.post("/logout")
    reread(session)
    actions = session.scalars(select(AuditRecord.action).where(AuditRecord.actor_id == caseworker.id)
                              .order_by(AuditRecord.id)).all()
    assert actions[-2:] == ["login.succeeded", "logout"]
    row = session.scalar(select(SignInSessionRecord).where(SignInSessionRecord.user_id == caseworker.id))
    assert row.ended_at is not None and row.end_reason == "logout"
