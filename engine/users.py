"""Accounts: creation and password checks with argon2."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from .clock import Clock
from .models import UserRecord, UserRoleRecord
from .roles import ROLE_CODES

_HASHER = PasswordHasher()
# Verified against when the user does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("tsunagu-no-such-user")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


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
