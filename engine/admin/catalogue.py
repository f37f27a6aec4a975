"""The municipality's support-action catalogue (支援メニュー): what a council or caseworker can ask a body to do.

An action type is never deleted: a retired one is no longer offered for new actions, while the actions
that already use it keep it.
"""
from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from ..access import permissions
from ..casefile.tables import ActionTypeRecord, OrganisationRecord
from ..clock import Clock
from ..db import transaction
from ..errors import FieldError, FormInvalid, NotFound
from ..models import UserRecord
from .checks import Checks, checked, owned, record_change, record_id
from .organisations import require_member_body

CODE = re.compile(r"[a-z0-9_]{1,64}")
SERVICE_DAYS = (1, 365)


def list_action_types(session: Session, actor: UserRecord | None,
                      municipality_id: int) -> list[tuple[ActionTypeRecord, OrganisationRecord | None]]:
    """The whole catalogue with each type's default owner body, active types first, in one query."""
    permissions.require_municipal_admin(actor, municipality_id)
    owner = aliased(OrganisationRecord)
    return [(kind, body) for kind, body in session.execute(
        select(ActionTypeRecord, owner).outerjoin(owner, owner.id == ActionTypeRecord.default_owner_body_id)
        .where(ActionTypeRecord.municipality_id == municipality_id)
        .order_by(ActionTypeRecord.active.desc(), ActionTypeRecord.code))]


def get_action_type(session: Session, actor: UserRecord | None, municipality_id: int,
                    action_type_id: object) -> ActionTypeRecord:
    """One action type of the municipality; `NotFound` for another municipality's or none."""
    permissions.require_municipal_admin(actor, municipality_id)
    return owned(session, ActionTypeRecord, action_type_id, municipality_id, "action type")


def action_type_with_code(session: Session, municipality_id: int, code: str) -> ActionTypeRecord:
    """The action type with this code in the municipality (the command line names types by code)."""
    kind = session.scalar(select(ActionTypeRecord).where(ActionTypeRecord.municipality_id == municipality_id,
                                                         ActionTypeRecord.code == (code or "").strip()[:64]))
    if kind is None:
        raise NotFound(f"action type '{code}' not found in this municipality", element=code)
    return kind


def _check_name(checks: Checks, session: Session, municipality_id: int, name: object, own_id: int | None = None) -> str:
    text = checks.text("name", name)
    if text:
        taken = session.scalar(select(ActionTypeRecord.id).where(
            ActionTypeRecord.municipality_id == municipality_id,
            func.lower(ActionTypeRecord.name) == text.lower()).limit(1))
        if taken is not None and taken != own_id:
            checks.fail("name", "name_taken")
    return text


def _check_owner(checks: Checks, session: Session, municipality_id: int,
                 owner_body_id: object) -> OrganisationRecord | None:
    found = record_id(owner_body_id)
    if found is None and (owner_body_id is None or str(owner_body_id).strip() == ""):
        checks.fail("owner_body_id", "required")
        return None
    body = session.get(OrganisationRecord, found) if found is not None else None
    if body is not None and body.municipality_id != municipality_id:
        body = None
    require_member_body(checks, "owner_body_id", body)
    return body


def add_action_type(session: Session, clock: Clock, actor: UserRecord | None, municipality_id: int, *, code: object,
                    name: object, owner_body_id: object, service_days: object,
                    operator: str | None = None) -> ActionTypeRecord:
    """Add a support action to the catalogue with its default owner body and service days; audited."""
    permissions.require_municipal_admin(actor, municipality_id)
    try:
        with transaction(session):
            checks = Checks()
            new_code = code.strip() if isinstance(code, str) else ""
            if not new_code:
                checks.fail("code", "required")
            elif not CODE.fullmatch(new_code):
                checks.fail("code", "pattern", pattern=CODE.pattern)
            elif session.scalar(select(ActionTypeRecord.id).where(ActionTypeRecord.municipality_id == municipality_id,
                                                                  ActionTypeRecord.code == new_code)) is not None:
                checks.fail("code", "code_taken")
            new_name = _check_name(checks, session, municipality_id, name)
            maybe_owner = _check_owner(checks, session, municipality_id, owner_body_id)
            maybe_days = checks.integer("service_days", service_days, *SERVICE_DAYS)
            checks.done("action_type")
            owner, days = checked(maybe_owner), checked(maybe_days)
            kind = ActionTypeRecord(municipality_id=municipality_id, code=new_code, name=new_name,
                                    default_owner_body_id=owner.id, service_days=days, active=True)
            session.add(kind)
            session.flush()
            record_change(session, clock, actor, "action_type.added", municipality_id, operator, action_type=kind.id,
                          code=new_code, name=new_name, owner=owner.id, service_days=days)
    except IntegrityError as error:  # the same code added at the same moment by someone else
        raise FormInvalid([FieldError("code", "code_taken")], element="action_type") from error
    return kind


def update_action_type(session: Session, clock: Clock, actor: UserRecord | None, municipality_id: int,
                       action_type_id: object, *, name: object = None, owner_body_id: object = None,
                       service_days: object = None,
                       operator: str | None = None) -> ActionTypeRecord:
    """Rename an action type, change its default owner body or its service days (None keeps each); audited."""
    permissions.require_municipal_admin(actor, municipality_id)
    with transaction(session):
        kind = owned(session, ActionTypeRecord, action_type_id, municipality_id, "action type")
        checks = Checks()
        new_name = kind.name if name is None else _check_name(checks, session, municipality_id, name, kind.id)
        owner = None if owner_body_id is None else _check_owner(checks, session, municipality_id, owner_body_id)
        maybe_days = kind.service_days if service_days is None else checks.integer("service_days", service_days,
                                                                                  *SERVICE_DAYS)
        checks.done("action_type")
        days = checked(maybe_days)
        if new_name != kind.name:
            record_change(session, clock, actor, "action_type.renamed", municipality_id, operator,
                          action_type=kind.id, code=kind.code, old=kind.name, new=new_name)
            kind.name = new_name
        if owner is not None and owner.id != kind.default_owner_body_id:
            record_change(session, clock, actor, "action_type.owner_changed", municipality_id, operator,
                          action_type=kind.id, code=kind.code, old=kind.default_owner_body_id, new=owner.id)
            kind.default_owner_body_id = owner.id
        if days != kind.service_days:
            record_change(session, clock, actor, "action_type.service_days_changed", municipality_id, operator,
                          action_type=kind.id, code=kind.code, old=kind.service_days, new=days)
            kind.service_days = days
    return kind


def retire_action_type(session: Session, clock: Clock, actor: UserRecord | None, municipality_id: int,
                       action_type_id: object, *, operator: str | None = None) -> ActionTypeRecord:
    """Stop offering an action type for new actions; actions that use it keep it. Audited."""
    permissions.require_municipal_admin(actor, municipality_id)
    with transaction(session):
        kind = owned(session, ActionTypeRecord, action_type_id, municipality_id, "action type")
        if kind.active:
            kind.active = False
            record_change(session, clock, actor, "action_type.retired", municipality_id, operator,
                          action_type=kind.id, code=kind.code)
    return kind


def reactivate_action_type(session: Session, clock: Clock, actor: UserRecord | None, municipality_id: int,
                           action_type_id: object, *, operator: str | None = None) -> ActionTypeRecord:
    """Offer a retired action type again; its default owner body must still be an active member body."""
    permissions.require_municipal_admin(actor, municipality_id)
    with transaction(session):
        kind = owned(session, ActionTypeRecord, action_type_id, municipality_id, "action type")
        if not kind.active:
            checks = Checks()
            owner = session.get(OrganisationRecord, kind.default_owner_body_id) if kind.default_owner_body_id else None
            if owner is None or not owner.active:
                checks.fail("owner_body_id", "owner_retired")
            else:
                require_member_body(checks, "owner_body_id", owner)
            checks.done("action_type")
            kind.active = True
            record_change(session, clock, actor, "action_type.reactivated", municipality_id, operator,
                          action_type=kind.id, code=kind.code)
    return kind
