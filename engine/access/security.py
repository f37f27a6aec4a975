"""Signing in: argon2 passwords, throttling and lockout, TOTP second factor, break-glass openings."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import timedelta

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit
from ..casefile.tables import BreakGlassRecord
from ..clock import Clock
from ..db import transaction
from ..errors import FieldError, Forbidden, FormInvalid, InvalidState, NotFound
from ..models import CaseRecord, UserRecord
from ..ops.notifications import notify_break_glass
from ..roles import Role
from .policy import case_access
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
        now = clock()
        if user is not None and user.locked_until is not None and user.locked_until > now:
            audit.record(session, clock, user, "login.locked")
            return LoginResult(LoginOutcome.LOCKED)
        if not verify_password(user.password_hash if user else None, password) or not user.active:
            if user is not None:
                _count_failure(session, clock, user)
            else:
                audit.record(session, clock, None, "login.failed",
                             username="".join(c for c in username[:80] if c.isprintable()))
            return LoginResult(LoginOutcome.BAD_CREDENTIALS)
        if user.totp_enabled:
            return LoginResult(LoginOutcome.NEEDS_TOTP, user)
        _succeed(session, clock, user)
        return LoginResult(LoginOutcome.OK, user)


def check_totp(session: Session, clock: Clock, user_id: int, code: str) -> LoginResult:
    """Second step for users with TOTP: the app's code or an unused recovery code; wrong ones count towards
    the same lockout."""
    with transaction(session):
        user = session.get(UserRecord, user_id)
        now = clock()
        if user is None or not user.active or not user.totp_enabled:
            return LoginResult(LoginOutcome.BAD_CREDENTIALS)
        if user.locked_until is not None and user.locked_until > now:
            return LoginResult(LoginOutcome.LOCKED)
        if looks_like_recovery_code(code):
            left = redeem_recovery_code(session, clock, user, code)
            if left is None:
                _count_failure(session, clock, user)
                return LoginResult(LoginOutcome.BAD_CREDENTIALS)
            _succeed(session, clock, user)
            return LoginResult(LoginOutcome.OK, user, recovery_codes_left=left)
        step = _accepted_step(user, code, now)
        if step is None:
            _count_failure(session, clock, user)
            return LoginResult(LoginOutcome.BAD_CREDENTIALS)
        user.totp_last_step = step
        _succeed(session, clock, user)
        return LoginResult(LoginOutcome.OK, user)


def _accepted_step(user: UserRecord, code: str, now) -> int | None:
    """The time step the code belongs to (now, or one step either side for clock drift), if it was not
    used before: a code seen by a shoulder-surfer or a proxy log cannot sign in a second time."""
    totp = pyotp.TOTP(user.totp_secret)
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if user.totp_last_step is not None and step <= user.totp_last_step:
            continue
        if pyotp.utils.strings_equal(totp.generate_otp(step), code.strip()):
            return step
    return None


def _count_failure(session: Session, clock: Clock, user: UserRecord) -> None:
    user.failed_logins += 1
    audit.record(session, clock, user, "login.failed", failures=user.failed_logins)
    if user.failed_logins >= MAX_FAILURES:
        user.locked_until, user.failed_logins = clock() + LOCKOUT, 0
        audit.record(session, clock, user, "login.lockout", until=user.locked_until.isoformat())


def _succeed(session: Session, clock: Clock, user: UserRecord) -> None:
    user.failed_logins, user.locked_until = 0, None
    audit.record(session, clock, user, "login.succeeded")


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
        notify_break_glass(session, clock, case, actor)
    return grant
