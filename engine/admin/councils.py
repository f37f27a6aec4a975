"""Setting up regional councils (協議会): founding one alone or jointly (共同設置), its member bodies, and the
one coordinating body (調整機関) the mayor designates (Act Art. 17(1)).

An administrator manages the councils their municipality belongs to; meetings and decisions are in
`engine.council`.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..access import permissions
from ..casefile.governance import CouncilMemberRecord, CouncilMunicipalityRecord, CouncilRecord, public_notice
from ..casefile.tables import OrganisationRecord
from ..clock import Clock
from ..db import transaction
from ..errors import InUse, NotFound
from ..models import MunicipalityRecord, UserRecord
from .checks import Checks, checked, record_change, record_id
from .organisations import active_member_bodies, require_member_body

MAX_JOINT = 30  # more founding municipalities than any joint council in Japan has
_SEPARATORS = re.compile(r"[\s,、，]+")


@dataclass
class CouncilView:
    """A council with the municipalities that set it up, its members and the bodies that may still join."""

    council: CouncilRecord
    municipalities: list[MunicipalityRecord]
    members: list[OrganisationRecord]
    candidates: list[OrganisationRecord]


def split_codes(text: object) -> list[str]:
    """Municipality codes typed in one field, separated by spaces or commas."""
    return [code for code in _SEPARATORS.split(text if isinstance(text, str) else "") if code]


def councils_of(session: Session, actor: UserRecord | None,
                municipality_id: int) -> list[tuple[CouncilRecord, list[MunicipalityRecord]]]:
    """The councils the municipality belongs to, each with all its founding municipalities (two queries)."""
    permissions.require_municipal_admin(actor, municipality_id)
    mine = select(CouncilMunicipalityRecord.council_id).where(CouncilMunicipalityRecord.municipality_id == municipality_id)
    councils = list(session.scalars(select(CouncilRecord).where(CouncilRecord.id.in_(mine))
                                    .order_by(CouncilRecord.established_on, CouncilRecord.id)))
    towns: dict[int, list[MunicipalityRecord]] = {c.id: [] for c in councils}
    for council_id, town in session.execute(select(CouncilMunicipalityRecord.council_id, MunicipalityRecord).join(
            MunicipalityRecord, MunicipalityRecord.id == CouncilMunicipalityRecord.municipality_id)
            .where(CouncilMunicipalityRecord.council_id.in_(mine)).order_by(MunicipalityRecord.code)):
        towns[council_id].append(town)
    return [(council, towns[council.id]) for council in councils]


def _council(session: Session, municipality_id: int, council_id: object) -> CouncilRecord:
    """A council the municipality belongs to; `NotFound` alike for another's council and for none."""
    found = record_id(council_id)
    belongs = found is not None and session.get(CouncilMunicipalityRecord, (found, municipality_id)) is not None
    if not belongs:
        raise NotFound("no such council", element=str(council_id)[:40])
    return session.get_one(CouncilRecord, found)


def _town_ids(session: Session, council_id: int) -> list[int]:
    return list(session.scalars(select(CouncilMunicipalityRecord.municipality_id)
                                .where(CouncilMunicipalityRecord.council_id == council_id)))


def council_view(session: Session, actor: UserRecord | None, municipality_id: int, council_id: object) -> CouncilView:
    """One council of the municipality with its founders, members and possible new members."""
    permissions.require_municipal_admin(actor, municipality_id)
    council = _council(session, municipality_id, council_id)
    town_ids = _town_ids(session, council.id)
    towns = list(session.scalars(select(MunicipalityRecord).where(MunicipalityRecord.id.in_(town_ids))
                                 .order_by(MunicipalityRecord.code)))
    members = list(session.scalars(select(OrganisationRecord).join(
        CouncilMemberRecord, CouncilMemberRecord.organisation_id == OrganisationRecord.id)
        .where(CouncilMemberRecord.council_id == council.id).order_by(OrganisationRecord.name, OrganisationRecord.id)))
    joined = {m.id for m in members}
    candidates = [b for b in active_member_bodies(session, town_ids) if b.id not in joined]
    return CouncilView(council, towns, members, candidates)


def create_council(session: Session, clock: Clock, actor: UserRecord | None, municipality_id: int, *, name: object,
                   established_on: object, joint_with: str | Iterable[object] = (),
                   operator: str | None = None) -> CouncilRecord:
    """Found a council, alone or jointly with the municipalities of `joint_with` (codes); audited."""
    permissions.require_municipal_admin(actor, municipality_id)
    with transaction(session):
        checks = Checks()
        council_name = checks.text("name", name)
        if council_name and session.scalar(select(CouncilRecord.id).join(CouncilMunicipalityRecord).where(
                CouncilMunicipalityRecord.municipality_id == municipality_id,
                func.lower(CouncilRecord.name) == council_name.lower()).limit(1)) is not None:
            checks.fail("name", "name_taken")
        established = checks.day("established_on", established_on)
        codes = split_codes(joint_with) if isinstance(joint_with, str) else [str(c).strip() for c in joint_with]
        founders = {municipality_id: session.get_one(MunicipalityRecord, municipality_id)}
        if len(codes) > MAX_JOINT:
            checks.fail("joint_with", "maxItems", limit=MAX_JOINT)
            codes = []
        for code in dict.fromkeys(codes):
            wellformed = code.isascii() and code.isdigit() and len(code) <= 16
            town = session.scalar(select(MunicipalityRecord).where(MunicipalityRecord.code == code)) \
                if wellformed else None
            if town is None:
                checks.fail("joint_with", "unknown_municipality", code="".join(c for c in code[:16] if c.isprintable()))
            else:
                founders[town.id] = town
        checks.done("council")
        established = checked(established)
        council = CouncilRecord(name=council_name, established_on=established)
        session.add(council)
        session.flush()
        session.add_all(CouncilMunicipalityRecord(council_id=council.id, municipality_id=town_id)
                        for town_id in founders)
        record_change(session, clock, actor, "council.created", municipality_id, operator, council=council.id,
                      name=council_name, established_on=established.isoformat(),
                      municipalities=sorted(t.code for t in founders.values()))
    return council


def _member_candidate(session: Session, council: CouncilRecord, organisation_id: object,
                      checks: Checks) -> OrganisationRecord | None:
    found = record_id(organisation_id)
    body = session.get(OrganisationRecord, found) if found is not None else None
    if body is not None and body.municipality_id not in _town_ids(session, council.id):
        body = None
    require_member_body(checks, "organisation_id", body)
    return body


def add_council_member(session: Session, clock: Clock, actor: UserRecord | None, municipality_id: int,
                       council_id: object, organisation_id: object, *, operator: str | None = None) -> OrganisationRecord:
    """Make an active member body of any of the council's municipalities a member (構成機関等); audited."""
    permissions.require_municipal_admin(actor, municipality_id)
    with transaction(session):
        council = _council(session, municipality_id, council_id)
        checks = Checks()
        body = _member_candidate(session, council, organisation_id, checks)
        if body is not None and session.get(CouncilMemberRecord, (council.id, body.id)) is not None:
            checks.fail("organisation_id", "already_member")
        checks.done("council_member")
        body = checked(body)
        session.add(CouncilMemberRecord(council_id=council.id, organisation_id=body.id))
        record_change(session, clock, actor, "council.member_added", municipality_id, operator, council=council.id,
                      organisation=body.id, name=body.name)
    return body


def remove_council_member(session: Session, clock: Clock, actor: UserRecord | None, municipality_id: int,
                          council_id: object, organisation_id: object, *,
                          operator: str | None = None) -> OrganisationRecord:
    """Take a body off the council; the coordinating body stays until another is designated (`in_use`)."""
    permissions.require_municipal_admin(actor, municipality_id)
    with transaction(session):
        council = _council(session, municipality_id, council_id)
        found = record_id(organisation_id)
        membership = session.get(CouncilMemberRecord, (council.id, found)) if found is not None else None
        if membership is None:
            raise NotFound("this body is not a member of the council", element=str(organisation_id)[:40])
        body = session.get_one(OrganisationRecord, found)
        if council.coordinating_body_id == body.id:
            raise InUse(f"'{body.name}' is the coordinating body of '{council.name}'; designate another first",
                        element=body.name, used_by=[{"use": "coordinating_body", "name": council.name}],
                        action="remove_member")
        session.delete(membership)
        record_change(session, clock, actor, "council.member_removed", municipality_id, operator, council=council.id,
                      organisation=body.id, name=body.name)
    return body


def designate_coordinating_body(session: Session, clock: Clock, actor: UserRecord | None, municipality_id: int,
                                council_id: object, organisation_id: object, designated_on: object, *,
                                operator: str | None = None) -> CouncilRecord:
    """Designate the council's one coordinating body (調整機関), which must be a member; the previous one
    stops being the coordinating body unless it still coordinates another council."""
    permissions.require_municipal_admin(actor, municipality_id)
    with transaction(session):
        council = _council(session, municipality_id, council_id)
        checks = Checks()
        found = record_id(organisation_id)
        member = found is not None and session.get(CouncilMemberRecord, (council.id, found)) is not None
        body = session.get(OrganisationRecord, found) if member else None
        require_member_body(checks, "organisation_id", body)
        day = checks.day("designated_on", designated_on)
        if day is not None and day < council.established_on:
            checks.fail("designated_on", "minimum", limit=council.established_on.isoformat())
        checks.done("coordinating_body")
        body, day = checked(body), checked(day)
        previous = council.coordinating_body
        council.coordinating_body_id, council.coordinating_designated_on = body.id, day
        session.flush()
        _keep_one_coordinating_body(session, council, body)
        record_change(session, clock, actor, "council.coordinating_body_designated", municipality_id, operator,
                      council=council.id, organisation=body.id, name=body.name, designated_on=day.isoformat(),
                      previous=previous.id if previous is not None else None)
    session.refresh(council)
    return council


def _keep_one_coordinating_body(session: Session, council: CouncilRecord, body: OrganisationRecord) -> None:
    """Among the council's municipalities' bodies only the designated one (and bodies coordinating another
    council) keep the mark, so access that follows the coordinating body follows the designation."""
    still_coordinating = select(CouncilRecord.coordinating_body_id).where(
        CouncilRecord.id != council.id, CouncilRecord.coordinating_body_id.is_not(None))
    for other in session.scalars(select(OrganisationRecord).where(
            OrganisationRecord.municipality_id.in_(_town_ids(session, council.id)),
            OrganisationRecord.is_coordinating_body.is_(True), OrganisationRecord.id != body.id,
            OrganisationRecord.id.not_in(still_coordinating))):
        other.is_coordinating_body = False
    body.is_coordinating_body = True


def council_notice(session: Session, actor: UserRecord | None, municipality_id: int, council_id: object) -> str:
    """The public notice (公示) of one council the municipality belongs to."""
    permissions.require_municipal_admin(actor, municipality_id)
    return public_notice(session, _council(session, municipality_id, council_id).id)


def organisation_in_council(session: Session, council_id: int, name: str) -> OrganisationRecord:
    """A body of one of the council's municipalities, named exactly (for the command line)."""
    body = session.scalar(select(OrganisationRecord).where(
        OrganisationRecord.municipality_id.in_(_town_ids(session, council_id)),
        OrganisationRecord.name == (name or "").strip()).order_by(OrganisationRecord.id).limit(1))
    if body is None:
        raise NotFound(f"organisation '{name}' not found in the council's municipalities", element=name)
    return body

