"""Sessions kept on the server end when signed out, when the account changes, when idle and at their
absolute lifetime, and only a hash of the cookie's token is stored."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tsunagu.engine.access import sessions
from tsunagu.engine.admin.staff import deactivate_user, reset_credentials
from tsunagu.engine.models import AuditRecord, SignInSessionRecord

LIMITS = {"idle_minutes": 30, "max_hours": 12}


def test_a_signed_out_session_is_never_live_again(session, clock, caseworker):
    token = sessions.start_session(session, clock, caseworker)
    assert sessions.current_session(session, clock, token, **LIMITS) is not None
    sessions.end_session(session, clock, token)
    assert sessions.current_session(session, clock, token, **LIMITS) is None
    assert session.scalars(select(AuditRecord.action)).all()[-1] == "logout"


def test_only_a_hash_of_the_token_is_stored(session, clock, caseworker):
    token = sessions.start_session(session, clock, caseworker)
    stored = session.scalars(select(SignInSessionRecord.token_hash)).one()
    assert token not in stored and len(stored) == 64


def test_deactivation_and_a_credentials_reset_end_every_session_of_the_user(session, clock, caseworker, supervisor):
    first, second = (sessions.start_session(session, clock, caseworker) for _ in range(2))
    other = sessions.start_session(session, clock, supervisor)
    reset_credentials(session, clock, None, caseworker.id)
    assert sessions.current_session(session, clock, first, **LIMITS) is None
    assert sessions.current_session(session, clock, second, **LIMITS) is None
    assert sessions.current_session(session, clock, other, **LIMITS) is not None
    deactivate_user(session, clock, None, supervisor.id)
    assert sessions.current_session(session, clock, other, **LIMITS) is None
    ended = session.scalars(select(SignInSessionRecord.end_reason)).all()
    assert ended == ["account_changed"] * 3


def test_a_session_ends_when_idle_and_at_its_absolute_lifetime(session, clock, caseworker):
    idle = sessions.start_session(session, clock, caseworker)
    busy = sessions.start_session(session, clock, caseworker)
    for _ in range(3):
        clock.advance(timedelta(minutes=20))
        assert sessions.current_session(session, clock, busy, **LIMITS) is not None
    assert sessions.current_session(session, clock, idle, **LIMITS) is None
    clock.advance(timedelta(hours=11, minutes=1))
    assert sessions.current_session(session, clock, busy, **{**LIMITS, "idle_minutes": 24 * 60}) is None
    reasons = {row.end_reason for row in session.scalars(select(SignInSessionRecord))}
    assert reasons == {"idle", "lifetime"}


def test_tokens_that_are_not_even_plausible_name_no_session(session, clock, caseworker):
    for token in (None, "", 12, "x" * 1000, "bad\x00token"):
        assert sessions.current_session(session, clock, token, **LIMITS) is None
        sessions.end_session(session, clock, token)
