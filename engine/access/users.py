"""Accounts: creation, the password policy, one-time secrets and password checks with argon2."""
from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..clock import Clock
from ..errors import FieldError
from ..models import UserRecord, UserRoleRecord
from ..roles import ROLE_CODES

PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 200
# No 0/o, 1/l/i: a one-time password is read off a screen or a slip of paper and typed in.
READABLE_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"

_HASHER = PasswordHasher()
# Verified against when the user does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("tsunagu-no-such-user")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def readable_secret(groups: int, size: int = 4) -> str:
    """A random secret like `k7pq-3mzv-...` from `secrets`, in groups easy to read aloud and type."""
    return "-".join("".join(secrets.choice(READABLE_ALPHABET) for _ in range(size)) for _ in range(groups))


def one_time_password() -> str:
    """An initial password an administrator hands over; about 79 bits, so it must be changed, not guessed."""
    return readable_secret(4)


def password_problems(password: str, *, username: str, current_hash: str | None = None,
                      field: str = "password") -> list[FieldError]:
    """Every way `password` breaks the policy: 12 characters or more, not the user name, not the current one."""
    if len(password) < PASSWORD_MIN_LENGTH:
        return [FieldError(field, "password_too_short", {"limit": PASSWORD_MIN_LENGTH})]
    if len(password) > PASSWORD_MAX_LENGTH:
        return [FieldError(field, "maxLength", {"limit": PASSWORD_MAX_LENGTH})]
    if password.strip().casefold() == username.strip().casefold():
        return [FieldError(field, "password_is_username")]
    if current_hash is not None and verify_password(current_hash, password):
        return [FieldError(field, "password_unchanged")]
    return []


def create_user(session: Session, clock: Clock, *, municipality_id: int, username: str, display_name: str,
                password: str, roles: list[str], email: str | None = None,
                organisation_id: int | None = None) -> UserRecord:
    """Add a user with the given roles to the current transaction."""
    unknown = set(roles) - ROLE_CODES
    if unknown:
        raise ValueError(f"unknown roles: {sorted(unknown)}")
    user = UserRecord(municipality_id=municipality_id, username=username, display_name=display_name,
                      email=email, organisation_id=organisation_id, password_hash=hash_password(password), created_at=clock(),
                      roles=[UserRoleRecord(role=r) for r in roles])
    session.add(user)
    session.flush()
    return user


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password in constant-ish time, also when there is no such user."""
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def authenticate(session: Session, username: str, password: str) -> UserRecord | None:
    """Return the active user whose password matches, else None."""
    user = session.scalar(select(UserRecord).where(UserRecord.username == username))
    try:
        _HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    return user
