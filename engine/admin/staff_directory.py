"""Reading staff accounts: the administrators' list, the bodies a user may belong to, look-ups by name."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..casefile.tables import OrganisationRecord
from ..errors import FieldError, FormInvalid, NotFound
from ..models import UserRecord, UserRoleRecord
from ..roles import ROLE_CODES
from .staff import USERNAME, clean_text


def list_staff(session: Session, municipality_id: int, *, include_inactive: bool = True, inactive_only: bool = False,
               role: str | None = None, search: str | None = None) -> list[UserRecord]:
    """The municipality's users, active first, narrowed by role and by a part of the name or user name."""
    problems: list[FieldError] = []
    search = clean_text("search", search, problems)
    if role and role not in ROLE_CODES:
        problems.append(FieldError("role", "enum"))
    if problems:
        raise FormInvalid(problems, element="users")
    query = select(UserRecord).where(UserRecord.municipality_id == municipality_id)
    if inactive_only:
        query = query.where(UserRecord.active.is_(False))
    elif not include_inactive:
        query = query.where(UserRecord.active.is_(True))
    if role:
        query = query.where(UserRecord.roles.any(UserRoleRecord.role == role))
    if search:
        query = query.where(UserRecord.display_name.icontains(search, autoescape=True)
                            | UserRecord.username.icontains(search, autoescape=True))
    return list(session.scalars(query.order_by(UserRecord.active.desc(), UserRecord.username)))


def staff_organisations(session: Session, municipality_id: int) -> list[OrganisationRecord]:
    """The active departments and member bodies a user of the municipality may belong to."""
    return list(session.scalars(select(OrganisationRecord).where(
        OrganisationRecord.municipality_id == municipality_id, OrganisationRecord.active.is_(True))
        .order_by(OrganisationRecord.kind, OrganisationRecord.name)))


def user_by_username(session: Session, username: str) -> UserRecord:
    """The user with this user name, for the command line."""
    found = session.scalar(select(UserRecord).where(UserRecord.username == username)) \
        if USERNAME.fullmatch(username) else None
    if found is None:
        raise NotFound(f"user {username} not found", element=username)
    return found


def organisation_names(session: Session, municipality_id: int) -> dict[int, str]:
    """Every body and department of the municipality by id, retired ones too, to name a user's organisation."""
    return dict(session.execute(select(OrganisationRecord.id, OrganisationRecord.name).where(
        OrganisationRecord.municipality_id == municipality_id)).all())
