"""Parallel sign-in attempts cannot beat the lockout: the database counts each failure in one
conditional UPDATE, so among 40 simultaneous wrong attempts at most 5 are counted, for the password
and for the second factor alike; and the three refusals are audited apart."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pyotp
from sqlalchemy import select

from tsunagu.engine.access import security
from tsunagu.engine.access.security import MAX_FAILURES, LoginOutcome
from tsunagu.engine.models import AuditRecord, UserRecord

ATTEMPTS = 40


def _in_parallel(session_factory, attempt):
    """Run `attempt(session)` 40 times at once, each on its own connection, released together."""
    start = Barrier(ATTEMPTS)

    def run(_):
        with session_factory() as own:
            start.wait()
            return attempt(own).outcome

    with ThreadPoolExecutor(max_workers=ATTEMPTS) as pool:
        return list(pool.map(run, range(ATTEMPTS)))


def _actions(session, user):
    session.expire_all()
    return session.scalars(select(AuditRecord.action).where(AuditRecord.actor_id == user.id)).all()


def test_forty_parallel_wrong_passwords_count_five_and_the_right_one_is_then_refused(
        session_factory, session, clock, caseworker, user_password):
    outcomes = _in_parallel(session_factory,
                            lambda own: security.check_password(own, clock, caseworker.username, "wrong"))
    assert LoginOutcome.OK not in outcomes
    actions = _actions(session, caseworker)
    assert actions.count("login.failed") == MAX_FAILURES
    assert actions.count("login.lockout") == 1
    assert actions.count("login.locked") == ATTEMPTS - MAX_FAILURES
    assert security.check_password(session, clock, caseworker.username, user_password).outcome == LoginOutcome.LOCKED
    session.expire_all()
    assert session.get(UserRecord, caseworker.id).locked_until is not None


def test_forty_parallel_wrong_codes_of_the_second_factor_count_five(session_factory, session, clock, caseworker):
    security.start_totp_enrolment(session, caseworker)
    totp = pyotp.TOTP(caseworker.totp_secret)
    security.confirm_totp_enrolment(session, clock, caseworker, totp.at(clock()))
    wrong = "000000" if totp.at(clock()) != "000000" else "111111"
    outcomes = _in_parallel(session_factory, lambda own: security.check_totp(own, clock, caseworker.id, wrong))
    assert LoginOutcome.OK not in outcomes
    actions = _actions(session, caseworker)
    assert actions.count("login.failed") == MAX_FAILURES and actions.count("login.lockout") == 1
    assert security.check_totp(session, clock, caseworker.id, totp.at(clock())).outcome == LoginOutcome.LOCKED


def test_an_unknown_name_a_wrong_password_and_a_locked_account_are_audited_apart(session, clock, caseworker,
                                                                                user_password):
    assert security.check_password(session, clock, "nobody", "wrong").outcome == LoginOutcome.BAD_CREDENTIALS
    unknown = session.scalars(select(AuditRecord).where(AuditRecord.action == "login.failed",
                                                        AuditRecord.actor_id.is_(None))).one()
    assert unknown.detail == {"username": "nobody"}
    for _ in range(MAX_FAILURES):
        security.check_password(session, clock, caseworker.username, "wrong")
    security.check_password(session, clock, caseworker.username, user_password)
    assert _actions(session, caseworker) == ["login.failed"] * MAX_FAILURES + ["login.lockout", "login.locked"]
