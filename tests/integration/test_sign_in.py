"""Second factor codes work once, and only inside their time window."""
from __future__ import annotations

from datetime import timedelta

import pyotp

from tsunagu.engine.access import security


def _enrolled(session, clock, user):
    security.start_totp_enrolment(session, user)
    totp = pyotp.TOTP(user.totp_secret)
    security.confirm_totp_enrolment(session, clock, user, totp.at(clock()))
    return totp


def test_a_totp_code_signs_in_once_and_never_again(session, clock, caseworker):
    totp = _enrolled(session, clock, caseworker)
    clock.advance(timedelta(seconds=30))
    code = totp.at(clock())
    assert security.check_totp(session, clock, caseworker.id, code).outcome == security.LoginOutcome.OK
    assert security.check_totp(session, clock, caseworker.id, code).outcome == security.LoginOutcome.BAD_CREDENTIALS
    clock.advance(timedelta(seconds=30))
    assert security.check_totp(session, clock, caseworker.id, totp.at(clock())).outcome == security.LoginOutcome.OK


def test_a_code_from_long_ago_is_refused(session, clock, caseworker):
    totp = _enrolled(session, clock, caseworker)
    old = totp.at(clock())
    clock.advance(timedelta(minutes=5))
    assert security.check_totp(session, clock, caseworker.id, old).outcome == security.LoginOutcome.BAD_CREDENTIALS
