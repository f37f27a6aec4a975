"""A municipality's bodies: its departments and the member bodies (構成機関等) that take part in councils.

A body is never deleted: a retired one keeps its cases, actions and decisions, and is no longer offered
for new work. It cannot be retired while a council or the action catalogue still relies on it.
"""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..access import permissions
from ..casefile.governance import CouncilMemberRecord, CouncilRecord
from ..casefile.tables import ActionTypeRecord, OrganisationKind, OrganisationRecord
from ..clock import Clock
from ..db import transaction
from ..errors import InUse
from ..models import UserRecord
from .checks import Checks, checked, named, owned, record_change

KINDS = tuple(kind.value for kind in OrganisationKind)


def list_organisations(session: Session, actor: UserRecord | None, municipality_id: int) -> list[OrganisationRecord]:
    """Every body of the municipality, active ones first, by name."""
    permissions.require_municipal_admin(actor, municipality_id)
    return list(session.scalars(select(OrganisationRecord).where(OrganisationRecord.municipality_id == municipality_id)
                                .order_by(OrganisationRecord.active.desc(), OrganisationRecord.name,
                                          OrganisationRecord.id)))


def get_organisation(session: Session, actor: UserRecord | None, municipality_id: int,
                     organisation_id: object) -> OrganisationRecord:
    """One body of the municipality; `NotFound` for an id of another municipality or none at all."""
    permissions.require_municipal_admin(actor, municipality_id)
    return owned(session, OrganisationRecord, organisation_id, municipality_id, "organisation")


def organisation_named(session: Session, municipality_id: int, name: str) -> OrganisationRecord:
    """The body with exactly this name in the municipality (the command line names bodies by name)."""
    return named(session, OrganisationRecord, municipality_id, name, "organisation")


def _check_name(checks: Checks, session: Session, municipality_id: int, name: object, own_id: int | None = None) -> str:
    text = checks.text("name", name)
    if text:
        taken = session.scalar(select(OrganisationRecord.id).where(
            OrganisationRecord.municipality_id == municipality_id,
            func.lower(OrganisationRecord.name) == text.lower()).limit(1))
        if taken is not None and taken != own_id:
            checks.fail("name", "name_taken")
    return text


def _check_kind(checks: Checks, kind: object) -> OrganisationKind | None:
    value = kind.value if isinstance(kind, OrganisationKind) else kind
    if value in (None, ""):
        checks.fail("kind", "required")
        return None
    if value not in KINDS:
        checks.fail("kind", "enum")
        return None
    return OrganisationKind(value)


def add_organisation(session: Session, clock: Clock, actor: UserRecord | None, municipality_id: int, *, name: object,
                     kind: object, operator: str | None = None) -> OrganisationRecord:
    """Add a department or member body to the municipality; audited."""
    permissions.require_municipal_admin(actor, municipality_id)
    with transaction(session):
        checks = Checks()
        new_name = _check_name(checks, session, municipality_id, name)
        new_kind = _check_kind(checks, kind)
        checks.done("organisation")
        new_kind = checked(new_kind)
        body = OrganisationRecord(municipality_id=municipality_id, name=new_name, kind=new_kind,
                                  is_coordinating_body=False, active=True)
        session.add(body)
        session.flush()
        record_change(session, clock, actor, "organisation.added", municipality_id, operator,
                      organisation=body.id, name=new_name, kind=new_kind.value)
    return body


def update_organisation(session: Session, clock: Clock, actor: UserRecord | None, municipality_id: int,
                        organisation_id: object, *, name: object = None, kind: object = None,
                        operator: str | None = None) -> OrganisationRecord:
    """Rename a body and/or change its kind (None keeps what it is); each change is audited."""
    permissions.require_municipal_admin(actor, municipality_id)
    with transaction(session):
        body = owned(session, OrganisationRecord, organisation_id, municipality_id, "organisation")
        checks = Checks()
        new_name = body.name if name is None else _check_name(checks, session, municipality_id, name, body.id)
        maybe_kind = body.kind if kind is None else _check_kind(checks, kind)
        checks.done("organisation")
        new_kind = checked(maybe_kind)
        if new_kind != body.kind and new_kind == OrganisationKind.DEPARTMENT:
            _refuse_if_used(session, body, "change_kind")
        if new_name != body.name:
            record_change(session, clock, actor, "organisation.renamed", municipality_id, operator,
                          organisation=body.id, old=body.name, new=new_name)
            body.name = new_name
        if new_kind != body.kind:
            record_change(session, clock, actor, "organisation.kind_changed", municipality_id, operator,
                          organisation=body.id, old=body.kind.value, new=new_kind.value)
            body.kind = new_kind
    return body


def retire_organisation(session: Session, clock: Clock, actor: UserRecord | None, municipality_id: int,
                        organisation_id: object, *, operator: str | None = None) -> OrganisationRecord:
    """Stop offering a body for new work; refused (`in_use`) while a council or the catalogue relies on it."""
    permissions.require_municipal_admin(actor, municipality_id)
    with transaction(session):
        body = owned(session, OrganisationRecord, organisation_id, municipality_id, "organisation")
        if body.active:
            _refuse_if_used(session, body, "retire")
            body.active = False
            record_change(session, clock, actor, "organisation.retired", municipality_id, operator,
                          organisation=body.id, name=body.name)
    return body


def reactivate_organisation(session: Session, clock: Clock, actor: UserRecord | None, municipality_id: int,
                            organisation_id: object, *, operator: str | None = None) -> OrganisationRecord:
    """Offer a retired body for new work again; audited."""
    permissions.require_municipal_admin(actor, municipality_id)
    with transaction(session):
        body = owned(session, OrganisationRecord, organisation_id, municipality_id, "organisation")
        if not body.active:
            body.active = True
            record_change(session, clock, actor, "organisation.reactivated", municipality_id, operator,
                          organisation=body.id, name=body.name)
    return body


def uses_of(session: Session, body: OrganisationRecord) -> list[tuple[str, str]]:
    """What relies on a body, as (use, name) pairs: councils it coordinates or belongs to, active action types
    it carries out by default."""
    membership = select(CouncilMemberRecord.council_id).where(CouncilMemberRecord.organisation_id == body.id)
    councils = session.execute(select(CouncilRecord.name, CouncilRecord.coordinating_body_id).where(
        (CouncilRecord.coordinating_body_id == body.id) | CouncilRecord.id.in_(membership))
        .order_by(CouncilRecord.id)).all()
    kinds = session.scalars(select(ActionTypeRecord.name).where(
        ActionTypeRecord.default_owner_body_id == body.id, ActionTypeRecord.active.is_(True))
        .order_by(ActionTypeRecord.id)).all()
    return ([("coordinating_body" if coordinator == body.id else "council_member", name)
             for name, coordinator in councils] + [("action_type_owner", name) for name in kinds])


def _refuse_if_used(session: Session, body: OrganisationRecord, what: str) -> None:
    used = uses_of(session, body)
    if used:
        raise InUse(f"'{body.name}' is still used: " + ", ".join(f"{use} '{name}'" for use, name in used),
                    element=body.name, used_by=[{"use": use, "name": name} for use, name in used], action=what)


def active_member_bodies(session: Session, municipality_ids: list[int]) -> list[OrganisationRecord]:
    """Active member bodies of the given municipalities, by name: what a council or an action may name."""
    return list(session.scalars(select(OrganisationRecord).where(
        OrganisationRecord.municipality_id.in_(municipality_ids), OrganisationRecord.active.is_(True),
        OrganisationRecord.kind == OrganisationKind.MEMBER_BODY).order_by(OrganisationRecord.name,
                                                                          OrganisationRecord.id)))


def require_member_body(checks: Checks, field: str, body: OrganisationRecord | None) -> None:
    """Record a field error unless `body` is an active member body."""
    if body is None or not body.active or body.kind != OrganisationKind.MEMBER_BODY:
        checks.fail(field, "enum")

