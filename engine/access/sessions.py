"""Signed-in sessions kept on the server, so that signing out ends every copy of the cookie."""
from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeGuard

from sqlalchemy import Select, and_, bindparam, select, update
from sqlalchemy.orm import Session, joinedload

from .. import audit
from ..casefile.governance import pledge_accepted
from ..clock import Clock
from ..db import transaction
from ..models import SignInSessionRecord, UserRecord

# The last-seen time is written at most this often: a database write on every request would cost more
# than the idle limit gains from a finer clock.
TOUCH_INTERVAL = timedelta(minutes=1)


def _hash(token: str) -> str:
    # Only a hash is stored: a copy of the table does not hand out working cookies.
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def start_session(session: Session, clock: Clock, user: UserRecord) -> str:
    """Record a new session for `user` and return the random token the cookie carries."""
    token = secrets.token_urlsafe(32)
    with transaction(session):
        now = clock()
        session.add(SignInSessionRecord(token_hash=_hash(token), user_id=user.id, generation=user.session_generation,
                                        created_at=now, last_seen_at=now))
    return token


def _usable(token: object) -> TypeGuard[str]:
    return isinstance(token, str) and bool(token) and len(token) <= 100


@dataclass(frozen=True)
class SignedIn:
    """What every request needs to know about the person its cookie names, read in one statement: the user
    with their roles, the server-side session the cookie's token names if it is theirs, and whether
    they accepted their municipality's latest secrecy pledge."""

    user: UserRecord
    row: SignInSessionRecord | None
    pledge_accepted: bool


def signed_in(session: Session, user_id: int, token: object) -> SignedIn | None:
    """The user `user_id` with the session `token` names (None when it is not theirs); None with no such user."""
    hashed = _hash(token) if _usable(token) else None
    found = session.execute(_signed_in_statement(), {"user_id": user_id, "token_hash": hashed}).unique().first()
    return SignedIn(found[0], found[1], bool(found[2])) if found is not None else None


@functools.cache
def _signed_in_statement() -> Select[UserRecord, SignInSessionRecord, bool]:
    # Built once: making this statement anew on every request cost more than running it.
    return (select(UserRecord, SignInSessionRecord, pledge_accepted(UserRecord.id, UserRecord.municipality_id))
            .options(joinedload(UserRecord.roles))  # with the user's roles: one statement, not two
            .outerjoin(SignInSessionRecord, and_(SignInSessionRecord.token_hash == bindparam("token_hash"),
                                                 SignInSessionRecord.user_id == UserRecord.id))
            .where(UserRecord.id == bindparam("user_id")))


_UNREAD = object()


def current_session(session: Session, clock: Clock, token: object, *, idle_minutes: int,
                    max_hours: int, found: SignInSessionRecord | None | object = _UNREAD) -> SignInSessionRecord | None:
    """The live session the token names, its last-seen time refreshed; None (and the row ended) when it
    was signed out, ended by an account change, idle too long or past its absolute lifetime. `found` is the
    row already read for this token by `signed_in` (None: there is none), saving a statement."""
    if not _usable(token):
        return None
    if found is _UNREAD:
        found = session.scalar(select(SignInSessionRecord).where(SignInSessionRecord.token_hash == _hash(token)))
    row = found if isinstance(found, SignInSessionRecord) else None
    if row is None or row.ended_at is not None:
        return None
    now = clock()
    user = session.get(UserRecord, row.user_id)
    reason = None
    if user is None or not user.active or user.session_generation != row.generation:
        reason = "account_changed"
    elif now - row.created_at > timedelta(hours=max_hours):
        reason = "lifetime"
    elif now - row.last_seen_at > timedelta(minutes=idle_minutes) + TOUCH_INTERVAL:  # last-seen lags by up to that
        reason = "idle"
    if reason is not None:
        with transaction(session):
            row.ended_at, row.end_reason = now, reason
            audit.record(session, clock, user, "session.ended", reason=reason, sign_in_session=row.id)
        return None
    if now - row.last_seen_at >= TOUCH_INTERVAL:
        with transaction(session):
            row.last_seen_at = now
    return row


def end_session(session: Session, clock: Clock, token: object, *, reason: str = "logout") -> None:
    """Sign out: the session the token names ends, and no copy of its cookie works again."""
    if not isinstance(token, str) or not token or len(token) > 100:
        return
    with transaction(session):
        row = session.scalar(select(SignInSessionRecord).where(SignInSessionRecord.token_hash == _hash(token)))
        if row is None or row.ended_at is not None:
            return
        row.ended_at, row.end_reason = clock(), reason
        audit.record(session, clock, session.get(UserRecord, row.user_id), "logout", sign_in_session=row.id)


def keep_session(session: Session, token: object, user: UserRecord) -> None:
    """Let this session go on after the user raised their own session generation (a password change)."""
    if not isinstance(token, str) or not token or len(token) > 100:
        return
    with transaction(session):
        session.execute(update(SignInSessionRecord)
                        .where(SignInSessionRecord.token_hash == _hash(token),
                               SignInSessionRecord.ended_at.is_(None))
                        .values(generation=user.session_generation),
                        execution_options={"synchronize_session": False})
