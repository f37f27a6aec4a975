"""API tokens: a machine client signs in with a secret tied to one user, scoped to some of their roles.

Only the secret's sha256 is stored, as for sign-in sessions, so a copy of the table hands out no working
token. Administrators create and revoke tokens in the pages, the operator at the command line (actor
None, audited `via: cli`). A token acts as its user, with at most the roles its scope names.
"""
from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, joinedload, mapped_column, relationship

from .. import audit
from ..clock import Clock
from ..db import transaction
from ..errors import FieldError, Forbidden, FormInvalid, NotFound
from ..models import MAX_ID, Base, UserRecord
from ..roles import ROLE_CODES
from .permissions import require_municipal_admin
from .sessions import TOUCH_INTERVAL

# Every secret starts so, for people and secret scanners to recognise it in a configuration file.
TOKEN_PREFIX = "tsunagu_"  # noqa: S105  (a public marker, not a secret)
# The shown part of a token: the fixed start and six random characters (36 of its 256 random bits).
SHOWN_LENGTH = len(TOKEN_PREFIX) + 6
# A presented token longer than this names no token: it is refused before it is hashed.
RAW_MAX_LENGTH = 200
NAME_MAX_LENGTH = 100
EXPIRES_MAX_DAYS = 3650


class ApiTokenRecord(Base):
    """One API token: the hash of its secret, whose it is, which of the user's roles it carries, and its life."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    # Role codes, comma-separated and sorted; empty: every role the user holds at the time of each request.
    roles: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the command line
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    user: Mapped[UserRecord] = relationship(foreign_keys=[user_id])

    @property
    def role_scope(self) -> set[str]:
        """The roles the token is limited to; empty when it carries all of its user's roles."""
        return set(self.roles.split(",")) - {""}

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at


class TokenRefused(Forbidden):
    """A presented API token does not sign anyone in; the subclass's code says why."""

    code = "token_refused"


class TokenUnknown(TokenRefused):
    code = "token_unknown"


class TokenRevoked(TokenRefused):
    code = "token_revoked"


class TokenExpired(TokenRefused):
    code = "token_expired"


class UserInactive(TokenRefused):
    code = "user_inactive"


class TokenRolesWithdrawn(TokenRefused):
    """The user no longer holds any role the token's scope names, so it could do nothing."""

    code = "token_roles_withdrawn"


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "replace")).hexdigest()


def _checked_name(name: object, problems: list[FieldError]) -> str:
    value = name.strip() if isinstance(name, str) else ""
    if not value:
        problems.append(FieldError("name", "required"))
    elif len(value) > NAME_MAX_LENGTH:
        problems.append(FieldError("name", "maxLength", {"limit": NAME_MAX_LENGTH}))
    elif any(ord(ch) < 32 or ord(ch) == 127 for ch in value):  # NUL is refused by PostgreSQL, line breaks break lists
        problems.append(FieldError("name", "pattern"))
    return value


def _checked_days(days: int | str | None, problems: list[FieldError]) -> int | None:
    """Whole days from now to expiry, given as an int or as digits (a form field); None or "": never."""
    if isinstance(days, str):
        days = days.strip()
        if not days:
            return None
        if not (days.isascii() and days.isdigit() and len(days) <= 6):
            problems.append(FieldError("expires_days", "type", {"type": "integer"}))
            return None
        days = int(days)
    if days is None:
        return None
    if days < 1:
        problems.append(FieldError("expires_days", "minimum", {"limit": 1}))
    elif days > EXPIRES_MAX_DAYS:
        problems.append(FieldError("expires_days", "maximum", {"limit": EXPIRES_MAX_DAYS}))
    else:
        return days
    return None


def _checked_scope(user: UserRecord | None, roles: Iterable[str] | None, problems: list[FieldError]) -> list[str]:
    scope = sorted(set(roles or ()))
    unknown = [r for r in scope if r not in ROLE_CODES]
    if unknown:
        problems.append(FieldError("roles", "enum", {"values": unknown}))
    problems.extend(FieldError("roles", "role_not_held", {"role": r})
                    for r in scope if user is not None and r in ROLE_CODES and r not in user.role_codes)
    return scope


def _administered(actor: UserRecord | None, municipality_id: int, what: str, element: str) -> None:
    """Refuse a non-administrator; another municipality's user or token is simply not found."""
    if actor is None:
        return
    require_municipal_admin(actor, actor.municipality_id)
    if municipality_id != actor.municipality_id:
        raise NotFound(f"no such {what}", element=element)


def _via(actor: UserRecord | None, operator: str | None) -> dict[str, Any]:
    return {"via": "cli", "operator": operator} if actor is None else {"via": "web"}


def create_token(session: Session, clock: Clock, actor: UserRecord | None, user: UserRecord | None, name: str,
                 expires_days: int | str | None = None, roles: Iterable[str] | None = None,
                 operator: str | None = None) -> tuple[ApiTokenRecord, str]:
    """Give `user` a new API token and return it with its secret, which is shown this once and never stored.
    Every field's problem is reported at once (`user` None: no staff member was chosen)."""
    if user is not None:
        _administered(actor, user.municipality_id, "user", str(user.id))
    elif actor is not None:
        require_municipal_admin(actor, actor.municipality_id)
    with transaction(session):
        problems: list[FieldError] = []
        if user is None:
            problems.append(FieldError("user", "required"))
        elif not user.active:
            problems.append(FieldError("user", "user_inactive"))
        name = _checked_name(name, problems)
        days = _checked_days(expires_days, problems)
        scope = _checked_scope(user, roles, problems)
        if problems or user is None:
            raise FormInvalid(problems, element="token")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = clock()
        record = ApiTokenRecord(municipality_id=user.municipality_id, user_id=user.id, name=name,
                                token_hash=_hash(secret), prefix=secret[:SHOWN_LENGTH], roles=",".join(scope),
                                created_at=now, created_by_id=actor.id if actor else None,
                                expires_at=now + timedelta(days=days) if days is not None else None)
        session.add(record)
        session.flush()
        audit.record(session, clock, actor, "token.created", municipality=user.municipality_id, token=record.id,
                     name=name, prefix=record.prefix, user=user.id, username=user.username, roles=scope,
                     expires_at=record.expires_at.isoformat() if record.expires_at else None,
                     **_via(actor, operator))
    return record, secret


def token_of_municipality(session: Session, actor: UserRecord | None, token_id: int) -> ApiTokenRecord:
    """The token with this id, if the actor administers its municipality; `NotFound` alike otherwise."""
    if actor is not None:
        require_municipal_admin(actor, actor.municipality_id)
    token = session.get(ApiTokenRecord, token_id) if 0 < token_id <= MAX_ID else None
    if token is None:
        raise NotFound("no such token", element=str(token_id))
    _administered(actor, token.municipality_id, "token", str(token.id))
    return token


def revoke_token(session: Session, clock: Clock, actor: UserRecord | None, token_id: int,
                 operator: str | None = None) -> ApiTokenRecord:
    """End a token for good: no request signs in with it again. Revoking a revoked token changes nothing."""
    with transaction(session):
        token = token_of_municipality(session, actor, token_id)
        if token.revoked_at is not None:
            return token
        token.revoked_at, token.revoked_by_id = clock(), actor.id if actor else None
        audit.record(session, clock, actor, "token.revoked", municipality=token.municipality_id, token=token.id,
                     name=token.name, prefix=token.prefix, user=token.user_id, **_via(actor, operator))
    return token


def tokens_of_municipality(session: Session, actor: UserRecord | None, municipality_id: int) -> list[ApiTokenRecord]:
    """Every token of the municipality with its user, newest first, revoked and expired ones too."""
    require_municipal_admin(actor, municipality_id)
    return list(session.scalars(
        select(ApiTokenRecord).options(joinedload(ApiTokenRecord.user))
        .where(ApiTokenRecord.municipality_id == municipality_id)
        .order_by(ApiTokenRecord.created_at.desc(), ApiTokenRecord.id.desc())))


def authenticate(session: Session, clock: Clock, raw: object) -> tuple[UserRecord, ApiTokenRecord, set[str]]:
    """The user a presented token signs in, the token, and the roles it may act with now (its scope, cut
    to the user's current roles); raises a `TokenRefused` whose code says why not."""
    if not (isinstance(raw, str) and raw.startswith(TOKEN_PREFIX) and len(raw) <= RAW_MAX_LENGTH):
        raise TokenUnknown("the token is not valid")
    # Read afresh even if this session already holds the row: a revocation elsewhere counts at once.
    token = session.scalar(select(ApiTokenRecord).options(joinedload(ApiTokenRecord.user))
                           .where(ApiTokenRecord.token_hash == _hash(raw))
                           .execution_options(populate_existing=True))
    if token is None:
        raise TokenUnknown("the token is not valid")
    now = clock()
    user = token.user
    if token.revoked_at is not None:
        raise TokenRevoked("the token was revoked", element=token.prefix)
    if token.expired(now):
        raise TokenExpired("the token has expired", element=token.prefix)
    if not user.active:
        raise UserInactive("the token's user account is deactivated", element=token.prefix)
    held = user.role_codes
    effective = held & token.role_scope if token.role_scope else held
    if not effective:
        raise TokenRolesWithdrawn("the user no longer holds any role of the token's scope", element=token.prefix)
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_INTERVAL:
        with transaction(session):
            token.last_used_at = now
    return user, token, effective
