"""Staff accounts: administrators create, change, deactivate and reset them; users change their own password.

Every command is one transaction with one audit row. `actor` None is the operator at the command line
(see `access.require_municipal_admin`); the audit row then says `via: cli` and names the OS account.
"""
from __future__ import annotations

import enum
import re
import unicodedata

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import audit
from ..access.permissions import require_municipal_admin
from ..access.users import hash_password, one_time_password, password_problems, verify_password
from ..casefile.tables import OrganisationRecord
from ..clock import Clock
from ..db import transaction
from ..errors import CannotDemoteSelf, FieldError, FormInvalid, LastAdmin, NotFound
from ..models import MunicipalityRecord, RecoveryCodeRecord, UserRecord, UserRoleRecord
from ..roles import ROLE_CODES, Role
from .checks import checked, record_change, record_id

USERNAME = re.compile(r"[A-Za-z0-9._@-]{3,80}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
LIMITS = {"display_name": 200, "email": 320, "team": 100, "search": 100, "organisation": 200}


class Keep(enum.Enum):
    """Leave a field of `update_staff_user` as it is (None would mean: clear it)."""

    KEEP = "keep"


KEEP = Keep.KEEP


def clean_text(field: str, value: str | None, problems: list[FieldError]) -> str | None:
    """The trimmed value (None when empty), adding a problem for control characters or excess length."""
    value = (value or "").strip()
    limit = LIMITS.get(field.rsplit(": ", 1)[-1], 200)  # a CSV field is named "line 3: team"
    if any(unicodedata.category(c) == "Cc" for c in value):  # NUL and friends: PostgreSQL refuses them
        problems.append(FieldError(field, "pattern"))
        return None
    if len(value) > limit:
        problems.append(FieldError(field, "maxLength", {"limit": limit}))
        return None
    return value or None


def username_problems(session: Session, username: str, field: str = "username") -> list[FieldError]:
    """3-80 letters, digits and `._@-`, and not yet taken anywhere in the installation (in any letter case)."""
    if not USERNAME.fullmatch(username):
        return [FieldError(field, "username_invalid", {"min": 3, "max": 80})]
    taken = session.scalar(select(func.count()).select_from(UserRecord)
                           .where(func.lower(UserRecord.username) == username.lower()))
    return [FieldError(field, "username_taken")] if taken else []


def profile_problems(session: Session, municipality_id: int, *, roles: list[str], email: str | None,
                     organisation_id: int | None, current_organisation_id: int | None = None) -> list[FieldError]:
    """What is wrong with roles, e-mail and organisation (a body of this municipality, still active)."""
    problems = []
    if not roles:
        problems.append(FieldError("roles", "required"))
    elif set(roles) - ROLE_CODES:
        problems.append(FieldError("roles", "enum", {"values": sorted(set(roles) - ROLE_CODES)}))
    if email is not None and not EMAIL.fullmatch(email):
        problems.append(FieldError("email", "email_invalid"))
    if organisation_id is not None:
        body = session.get(OrganisationRecord, record_id(organisation_id)) if record_id(organisation_id) else None
        if body is None or body.municipality_id != municipality_id:
            problems.append(FieldError("organisation", "organisation_unknown"))
        elif not body.active and organisation_id != current_organisation_id:  # a retired body may stay, not be chosen
            problems.append(FieldError("organisation", "organisation_inactive"))
    return problems


def organisation_named(session: Session, municipality_id: int, name: str | None,
                       problems: list[FieldError], field: str = "organisation") -> int | None:
    """The id of the municipality's body or department of exactly this name (the command line names them)."""
    name = clean_text(field, name, problems)
    if name is None:
        return None
    found = session.scalar(select(OrganisationRecord.id).where(
        OrganisationRecord.municipality_id == municipality_id, OrganisationRecord.name == name))
    if found is None:
        problems.append(FieldError(field, "organisation_unknown", {"name": name}))
    return found


def add_staff_user(session: Session, clock: Clock, municipality_id: int, *, username: str, roles: list[str],
                   display_name: str, email: str | None, organisation_id: int | None, team: str | None,
                   password: str | None) -> tuple[UserRecord, str | None]:
    """Add an already validated user to the current transaction, with a one-time password if none is given."""
    secret = one_time_password() if password is None else password
    initial = secret if password is None else None
    now = clock()
    user = UserRecord(municipality_id=municipality_id, username=username, display_name=display_name, email=email,
                      organisation_id=organisation_id, team=team, password_hash=hash_password(secret),
                      must_change_password=password is None, password_changed_at=None if initial else now,
                      created_at=now, roles=[UserRoleRecord(role=r) for r in sorted(set(roles))])
    session.add(user)
    session.flush()
    return user, initial


def create_staff_user(session: Session, clock: Clock, actor: UserRecord | None, *, municipality_id: int,
                      username: str, roles: list[str], display_name: str | None = None, email: str | None = None,
                      organisation_id: int | None = None, team: str | None = None, password: str | None = None,
                      organisation_name: str | None = None,
                      operator: str | None = None) -> tuple[UserRecord, str | None]:
    """Create a staff account; without `password` it gets a one-time password (returned) to change at first sign-in.

    The organisation is given by id (the pages) or by its exact name (the command line)."""
    require_municipal_admin(actor, municipality_id)
    try:
        with transaction(session):
            username = (username or "").strip()
            problems = username_problems(session, username)
            name = clean_text("display_name", display_name, problems) or username
            email = clean_text("email", email, problems)
            team = clean_text("team", team, problems)
            if organisation_name is not None:
                organisation_id = organisation_named(session, municipality_id, organisation_name, problems)
            problems += profile_problems(session, municipality_id, roles=roles, email=email,
                                         organisation_id=organisation_id)
            if password is not None:
                problems += password_problems(password, username=username)
            if problems:
                raise FormInvalid(problems, element="user")
            user, initial = add_staff_user(session, clock, municipality_id, username=username, roles=roles,
                                           display_name=name, email=email, organisation_id=organisation_id,
                                           team=team, password=password)
            record_change(session, clock, actor, "user.created", user.municipality_id, operator, user=user.id, username=username,
                                roles=sorted(set(roles)), organisation=organisation_id, team=team,
                                one_time_password=bool(initial))
    except IntegrityError as exc:  # the same name created by someone else a moment ago
        raise FormInvalid([FieldError("username", "username_taken")], element="user") from exc
    return user, initial


def staff_member(session: Session, actor: UserRecord | None, user_id: int) -> UserRecord:
    """A user the actor administers; any other id, of another municipality too, is simply not found."""
    if actor is not None:
        require_municipal_admin(actor, actor.municipality_id)
    user = session.get(UserRecord, record_id(user_id)) if record_id(user_id) else None
    if user is None or (actor is not None and user.municipality_id != actor.municipality_id):
        raise NotFound("no such user", element=str(user_id))
    return user


def _other_active_admins(session: Session, user: UserRecord) -> int:
    # Locking the municipality's row makes two administrators demoting each other at once take turns.
    session.execute(select(MunicipalityRecord.id).where(MunicipalityRecord.id == user.municipality_id)
                    .with_for_update())
    return session.scalar(select(func.count()).select_from(UserRecord).join(UserRoleRecord).where(
        UserRecord.municipality_id == user.municipality_id, UserRecord.active.is_(True),
        UserRoleRecord.role == Role.ADMIN.value, UserRecord.id != user.id)) or 0


def update_staff_user(session: Session, clock: Clock, actor: UserRecord | None, user_id: int, *,
                      roles: list[str] | Keep = KEEP, organisation_id: int | None | Keep = KEEP,
                      team: str | None | Keep = KEEP, display_name: str | Keep = KEEP,
                      email: str | None | Keep = KEEP, organisation_name: str | None | Keep = KEEP,
                      operator: str | None = None) -> UserRecord:
    """Change a user's roles, organisation, team, name or e-mail; nobody demotes themselves or the last admin."""
    with transaction(session):
        user = staff_member(session, actor, user_id)
        problems: list[FieldError] = []
        if organisation_name is not KEEP:  # '' clears it
            organisation_id = organisation_named(session, user.municipality_id, organisation_name, problems)
        new_roles = sorted(set(roles)) if roles is not KEEP else sorted(user.role_codes)
        new_organisation = user.organisation_id if organisation_id is KEEP else organisation_id
        new_team = user.team if team is KEEP else clean_text("team", team, problems)
        new_display_name = user.display_name if display_name is KEEP else clean_text("display_name", display_name,
                                                                                     problems)
        new_email = user.email if email is KEEP else clean_text("email", email, problems)
        new: dict[str, object] = {"roles": new_roles, "organisation": new_organisation, "team": new_team,
                                  "display_name": new_display_name, "email": new_email}
        if new_display_name is None and not any(p.field == "display_name" for p in problems):
            problems.append(FieldError("display_name", "required"))
        problems += profile_problems(session, user.municipality_id, roles=new_roles, email=new_email,
                                     organisation_id=new_organisation,
                                     current_organisation_id=user.organisation_id)
        if Role.ADMIN.value in user.role_codes and Role.ADMIN.value not in new_roles:
            if actor is not None and actor.id == user.id:
                problems.append(FieldError("roles", "cannot_demote_self"))
            elif user.active and _other_active_admins(session, user) == 0:
                problems.append(FieldError("roles", "last_admin"))
        if problems:
            raise FormInvalid(problems, element="user")
        old_roles = sorted(user.role_codes)
        old: dict[str, object] = {"roles": old_roles, "organisation": user.organisation_id, "team": user.team,
               "display_name": user.display_name, "email": user.email}
        changes = {key: [old[key], new[key]] for key in old if old[key] != new[key]}
        if "roles" in changes:  # row by row: the same (user, role) key deleted and added in one flush would clash
            user.roles = [r for r in user.roles if r.role in new_roles]
            user.roles.extend(UserRoleRecord(role=r) for r in new_roles if r not in old_roles)
        user.organisation_id, user.team = new_organisation, new_team
        user.display_name, user.email = checked(new_display_name), new_email
        if changes:
            record_change(session, clock, actor, "user.updated", user.municipality_id, operator, user=user.id,
                                username=user.username, changes=changes)
    return user


def deactivate_user(session: Session, clock: Clock, actor: UserRecord | None, user_id: int,
                    operator: str | None = None) -> UserRecord:
    """Close an account: it cannot sign in and every session of it ends at once; its history stays."""
    with transaction(session):
        user = staff_member(session, actor, user_id)
        if actor is not None and actor.id == user.id:
            raise CannotDemoteSelf("you cannot deactivate your own account", element=user.username)
        if not user.active:
            return user
        if Role.ADMIN.value in user.role_codes and _other_active_admins(session, user) == 0:
            raise LastAdmin("the last active administrator cannot be deactivated", element=user.username)
        user.active, user.deactivated_at = False, clock()
        user.session_generation += 1
        record_change(session, clock, actor, "user.deactivated", user.municipality_id, operator, user=user.id, username=user.username)
    return user


def reactivate_user(session: Session, clock: Clock, actor: UserRecord | None, user_id: int,
                    operator: str | None = None) -> UserRecord:
    """Open a closed account again, with its roles, password and second factor as they were."""
    with transaction(session):
        user = staff_member(session, actor, user_id)
        if user.active:
            return user
        user.active, user.deactivated_at = True, None
        user.failed_logins, user.locked_until = 0, None
        record_change(session, clock, actor, "user.reactivated", user.municipality_id, operator, user=user.id, username=user.username)
    return user


def reset_credentials(session: Session, clock: Clock, actor: UserRecord | None, user_id: int,
                      operator: str | None = None) -> str:
    """A new one-time password, the second factor and recovery codes cleared, every session ended; returned once."""
    with transaction(session):
        user = staff_member(session, actor, user_id)
        if actor is not None and actor.id == user.id:
            raise CannotDemoteSelf("change your own password on your account page", element=user.username)
        initial = one_time_password()
        user.password_hash, user.must_change_password = hash_password(initial), True
        user.totp_secret, user.totp_enabled, user.totp_last_step = None, False, None
        user.failed_logins, user.locked_until = 0, None
        user.session_generation += 1
        session.execute(delete(RecoveryCodeRecord).where(RecoveryCodeRecord.user_id == user.id))
        record_change(session, clock, actor, "user.credentials_reset", user.municipality_id, operator,
                            user=user.id, username=user.username)
    return initial


def change_own_password(session: Session, clock: Clock, user: UserRecord, current: str, new: str,
                        confirm: str | None = None) -> None:
    """The user replaces their password; every other session of theirs ends (the caller re-stamps its own)."""
    with transaction(session):
        problems = []
        if not verify_password(user.password_hash, current or ""):
            problems.append(FieldError("current_password", "password_wrong"))
        problems += password_problems(new or "", username=user.username, current_hash=user.password_hash,
                                      field="new_password")
        if confirm is not None and confirm != new:
            problems.append(FieldError("confirm_password", "password_mismatch"))
        if problems:
            raise FormInvalid(problems, element="password")
        user.password_hash, user.must_change_password = hash_password(new), False
        user.password_changed_at = clock()
        user.session_generation += 1
        audit.record(session, clock, user, "password.changed")
