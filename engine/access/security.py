"""Signing in: argon2 passwords, throttling and lockout, TOTP second factor, break-glass openings."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pyotp
from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from .. import audit
from ..casefile.tables import BreakGlassRecord
from ..clock import Clock
from ..db import transaction
from ..errors import FieldError, Forbidden, FormInvalid, InvalidState, NotFound
from ..models import CaseRecord, UserRecord
from ..ops.notifications import notify_break_glass
from ..roles import Role
from .policy import case_access, coordinating_staff
from .recovery import looks_like_recovery_code, redeem_recovery_code
from .users import verify_password

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
BREAK_GLASS_HOURS = (1, 2, 4, 8)
TOTP_ISSUER = "Tsunagu"


class LoginOutcome(str, enum.Enum):
    OK = "ok"
    NEEDS_TOTP = "needs_totp"
    BAD_CREDENTIALS = "bad_credentials"
    LOCKED = "locked"


@dataclass(frozen=True)
class LoginResult:
    outcome: LoginOutcome
    user: UserRecord | None = None
    recovery_codes_left: int | None = None  # set when a recovery code stood in for the app's code


def check_password(session: Session, clock: Clock, username: str, password: str) -> LoginResult:
    """First step of signing in; failures count towards a lockout, and every attempt is audited."""
    with transaction(session):
        # A name no account can have (NUL, control characters, over-long) is not even looked up:
        # PostgreSQL refuses NUL in a query, and the answer is the same "wrong name or password".
        plausible = len(username) <= 80 and username.isprintable()
        user = session.scalar(select(UserRecord).where(UserRecord.username == username)) if plausible else None
        # The slow hash check runs first, also for a locked account or an unknown name, so the time taken
        # does not tell them apart; and before any write, so it never holds SQLite's write lock. The lock
        # is decided again by the conditional UPDATEs below, not only by what was read here.
        matches = verify_password(user.password_hash if user else None, password)
        if user is not None and user.locked_until is not None and user.locked_until > clock():
            audit.record(session, clock, user, "login.locked")
            return LoginResult(LoginOutcome.LOCKED)
        if user is None or not matches or not user.active:
            if user is None:
                audit.record(session, clock, None, "login.failed",
                             username="".join(c for c in username[:80] if c.isprintable()))
            elif not _count_failure(session, clock, user):
                return LoginResult(LoginOutcome.LOCKED)
            return LoginResult(LoginOutcome.BAD_CREDENTIALS)
        if user.totp_enabled:
            return LoginResult(LoginOutcome.NEEDS_TOTP, user)
        if not _succeed(session, clock, user):
            return LoginResult(LoginOutcome.LOCKED)
        return LoginResult(LoginOutcome.OK, user)


def check_totp(session: Session, clock: Clock, user_id: int, code: str) -> LoginResult:
    """Second step for users with TOTP: the app's code or an unused recovery code; wrong ones count towards
    the same lockout."""
    with transaction(session):
        user = session.get(UserRecord, user_id)
        if user is None or not user.active or not user.totp_enabled:
            return LoginResult(LoginOutcome.BAD_CREDENTIALS)
        # Checking a code is quick: take the user's row first, so parallel codes are judged one at a time.
        if not _hold_unlocked(session, clock, user):
            audit.record(session, clock, user, "login.locked", step="totp")
            return LoginResult(LoginOutcome.LOCKED)
        if looks_like_recovery_code(code):
            left = redeem_recovery_code(session, clock, user, code)
            if left is None:
                _count_failure(session, clock, user)
                return LoginResult(LoginOutcome.BAD_CREDENTIALS)
            _succeed(session, clock, user)
            return LoginResult(LoginOutcome.OK, user, recovery_codes_left=left)
        step = _accepted_step(user, code, clock())
        if step is None:
            _count_failure(session, clock, user)
            return LoginResult(LoginOutcome.BAD_CREDENTIALS)
        user.totp_last_step = step
        _succeed(session, clock, user)
        return LoginResult(LoginOutcome.OK, user)


def _accepted_step(user: UserRecord, code: str, now: datetime) -> int | None:
    """The time step the code belongs to (now, or one step either side for clock drift), if it was not
    used before: a code seen by a shoulder-surfer or a proxy log cannot sign in a second time."""
    if user.totp_secret is None:  # enrolment never started: no code can match
        return None
    totp = pyotp.TOTP(user.totp_secret)
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if user.totp_last_step is not None and step <= user.totp_last_step:
            continue
        if pyotp.utils.strings_equal(totp.generate_otp(step), code.strip()):
            return step
    return None


def _unlocked(clock: Clock) -> ColumnElement[bool]:
    return or_(UserRecord.locked_until.is_(None), UserRecord.locked_until <= clock())


def _update_unlocked(session: Session, clock: Clock, user: UserRecord, **values: Any) -> int | None:
    """One conditional UPDATE of the user's row unless it is locked: the database, not an earlier read,
    decides, so parallel attempts are counted one after the other. Returns the failure count, or None."""
    statement = (update(UserRecord).where(UserRecord.id == user.id, _unlocked(clock)).values(**values)
                 .returning(UserRecord.failed_logins))
    count = session.execute(statement, execution_options={"synchronize_session": False}).scalar_one_or_none()
    session.expire(user, ["failed_logins", "locked_until"])
    return count


def _hold_unlocked(session: Session, clock: Clock, user: UserRecord) -> bool:
    """Take the user's row for this transaction if it is not locked (an UPDATE that changes nothing)."""
    return _update_unlocked(session, clock, user, failed_logins=UserRecord.failed_logins) is not None


def _count_failure(session: Session, clock: Clock, user: UserRecord) -> bool:
    """Count a wrong attempt and lock at the limit; False if the account was locked meanwhile (not counted)."""
    failures = _update_unlocked(session, clock, user, failed_logins=UserRecord.failed_logins + 1)
    if failures is None:
        audit.record(session, clock, user, "login.locked")
        return False
    audit.record(session, clock, user, "login.failed", failures=failures)
    if failures >= MAX_FAILURES:
        until = clock() + LOCKOUT
        # Still inside the transaction that took the row: no other attempt counts in between.
        session.execute(update(UserRecord).where(UserRecord.id == user.id).values(locked_until=until, failed_logins=0),
                        execution_options={"synchronize_session": False})
        session.expire(user, ["failed_logins", "locked_until"])
        audit.record(session, clock, user, "login.lockout", until=until.isoformat())
    return True


def _succeed(session: Session, clock: Clock, user: UserRecord) -> bool:
    """Clear the failure count and audit the sign-in, unless a parallel attempt locked the account first."""
    if _update_unlocked(session, clock, user, failed_logins=0, locked_until=None) is None:
        audit.record(session, clock, user, "login.locked")
        return False
    audit.record(session, clock, user, "login.succeeded")
    return True


def totp_required(user: UserRecord) -> bool:
    """Whether the user must still enrol a second factor: administrators always, everyone where the
    municipality requires it; others may choose to."""
    if user.totp_enabled:
        return False
    return Role.ADMIN.value in user.role_codes or bool(user.municipality.require_second_factor)


def start_totp_enrolment(session: Session, user: UserRecord) -> str:
    """A new secret for the user to scan; it takes effect once confirmed with a code."""
    if user.totp_enabled:  # starting again would silently switch the second factor off
        raise InvalidState("two-step verification is already on", element="totp")
    with transaction(session):
        user.totp_secret = pyotp.random_base32()
        user.totp_enabled = False
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.username, issuer_name=TOTP_ISSUER)


def pending_totp_uri(user: UserRecord) -> str | None:
    """The provisioning URI of a secret started but not yet confirmed, to show it again."""
    if user.totp_enabled or not user.totp_secret:
        return None
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.username, issuer_name=TOTP_ISSUER)


def confirm_totp_enrolment(session: Session, clock: Clock, user: UserRecord, code: str) -> None:
    with transaction(session):
        if not user.totp_secret or not pyotp.TOTP(user.totp_secret).verify(code.strip(), for_time=clock(),
                                                                          valid_window=1):
            raise FormInvalid([FieldError("code", "totp_invalid")], element="totp")
        user.totp_enabled = True
        audit.record(session, clock, user, "totp.enabled")


def open_break_glass(session: Session, clock: Clock, actor: UserRecord, case_id: int, reason: str,
                     hours: int) -> BreakGlassRecord:
    """A supervisor opens a case they have no basis for: written reason, limited time, coordinator told."""
    with transaction(session):
        case = session.get(CaseRecord, case_id)
        if case is None or case.municipality_id != actor.municipality_id:
            raise NotFound("no such case", element=str(case_id))
        if Role.SUPERVISOR.value not in actor.role_codes:
            raise Forbidden("only supervisors may open a case by break-glass", element=case.reference)
        if len(reason.strip()) < 10:
            raise FormInvalid([FieldError("reason", "minLength", {"limit": 10})], element="break_glass")
        if hours not in BREAK_GLASS_HOURS:
            raise FormInvalid([FieldError("hours", "enum")], element="break_glass")
        if case_access(session, actor, case, clock()).allowed:
            raise InvalidState("you can already see this case; break-glass is not needed", element=case.reference)
        now = clock()
        grant = BreakGlassRecord(case_id=case.id, user_id=actor.id, reason=reason.strip(), opened_at=now,
                                 expires_at=now + timedelta(hours=hours))
        session.add(grant)
        session.flush()
        audit.record(session, clock, actor, "case.break_glass", case_id=case.id, grant=grant.id, hours=hours,
                     reason=grant.reason)
        notify_break_glass(session, clock, case, actor,
                           coordinating_staff(session, case.municipality_id, now.date()))
    return grant
