"""Recovery codes: ten one-time codes that stand in for the second factor when the phone is lost."""
from __future__ import annotations

from typing import Any, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.orm import Session

from .. import audit
from ..clock import Clock
from ..db import transaction
from ..errors import InvalidState
from ..models import RecoveryCodeRecord, UserRecord
from .users import readable_secret

CODE_COUNT = 10
# A code is 12 random characters (about 59 bits), not a chosen password: a light argon2 setting
# keeps it safe at rest while checking ten of them at sign-in stays quick.
_HASHER = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


def normalise(code: str) -> str:
    """The code as stored: what the user typed without spaces and hyphens, in lower case."""
    return "".join(c for c in code.lower() if c not in " -\t")


def looks_like_recovery_code(code: str) -> bool:
    """Twelve characters after `normalise`; a six-digit app code never does."""
    return len(normalise(code)) == 12


def issue_recovery_codes(session: Session, clock: Clock, user: UserRecord) -> list[str]:
    """Ten fresh codes replacing any earlier ones, for a user whose second factor is on; shown only once."""
    with transaction(session):
        if not user.totp_enabled:
            raise InvalidState("turn on two-step verification first", element="recovery_codes")
        codes = [readable_secret(3) for _ in range(CODE_COUNT)]
        session.execute(delete(RecoveryCodeRecord).where(RecoveryCodeRecord.user_id == user.id))
        session.add_all(RecoveryCodeRecord(user_id=user.id, code_hash=_HASHER.hash(normalise(code)),
                                           created_at=clock()) for code in codes)
        audit.record(session, clock, user, "recovery_codes.issued", count=CODE_COUNT)
    return codes


def unused_recovery_codes(session: Session, user: UserRecord) -> int:
    """How many of the user's recovery codes are still unused."""
    return session.scalar(select(func.count()).select_from(RecoveryCodeRecord).where(
        RecoveryCodeRecord.user_id == user.id, RecoveryCodeRecord.used_at.is_(None))) or 0


def redeem_recovery_code(session: Session, clock: Clock, user: UserRecord, code: str) -> int | None:
    """Use up the matching unused code inside the caller's transaction; the number left, or None if none matched."""
    typed = normalise(code)
    rows = session.scalars(select(RecoveryCodeRecord).where(
        RecoveryCodeRecord.user_id == user.id, RecoveryCodeRecord.used_at.is_(None))).all()
    for row in rows:
        try:
            _HASHER.verify(row.code_hash, typed)
        except (VerificationError, InvalidHashError):
            continue
        # Conditional, so two sign-ins racing with the same code cannot both use it.
        # An UPDATE without RETURNING gives a CursorResult, which `Session.execute`'s typing does not say.
        used = cast(CursorResult[Any], session.execute(update(RecoveryCodeRecord).where(
            RecoveryCodeRecord.id == row.id, RecoveryCodeRecord.used_at.is_(None)).values(used_at=clock())))
        if used.rowcount != 1:
            return None
        left = len(rows) - 1
        audit.record(session, clock, user, "login.recovery_code_used", remaining=left)
        return left
    return None
