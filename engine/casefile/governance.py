"""Councils (協議会), their public notice (公示), and the secrecy pledge every user accepts first."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Date, ForeignKey, String, Text, UniqueConstraint, exists, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .. import audit
from ..clock import Clock
from ..db import transaction
from ..errors import Forbidden, InvalidState, NotFound
from ..models import Base, MunicipalityRecord, UserRecord
from ..roles import Role
from .tables import OrganisationRecord

PLEDGE_MAX_LENGTH = 10000


class CouncilRecord(Base):
    """孤独・孤立対策地域協議会: set up by one municipality or jointly by several (共同設置)."""

    __tablename__ = "councils"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    established_on: Mapped[date] = mapped_column(Date)
    coordinating_body_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    coordinating_designated_on: Mapped[date | None] = mapped_column(Date)  # the mayor's designation (Art. 17)

    coordinating_body: Mapped[OrganisationRecord | None] = relationship(lazy="joined")


class CouncilMunicipalityRecord(Base):
    __tablename__ = "council_municipalities"

    council_id: Mapped[int] = mapped_column(ForeignKey("councils.id"), primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"), primary_key=True)


class CouncilMemberRecord(Base):
    """A member body (構成機関等) of a council."""

    __tablename__ = "council_members"

    council_id: Mapped[int] = mapped_column(ForeignKey("councils.id"), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)


class PledgeTextRecord(Base):
    """A version of the secrecy duty and penalty notice (Act Art. 18) users must accept."""

    __tablename__ = "pledge_texts"
    __table_args__ = (UniqueConstraint("municipality_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"))
    version: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class PledgeAcceptanceRecord(Base):
    """Kept for good: the record survives the account being closed."""

    __tablename__ = "pledge_acceptances"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    pledge_id: Mapped[int] = mapped_column(ForeignKey("pledge_texts.id"), primary_key=True)
    accepted_at: Mapped[datetime]


DEFAULT_PLEDGE = (
    "孤独・孤立対策推進法第18条により、協議会の事務に従事する者又は従事していた者は、正当な理由がなく、"
    "協議会の事務に関して知り得た秘密を漏らしてはなりません。これに違反した者は、同法により1年以下の拘禁刑"
    "又は50万円以下の罰金に処せられることがあります。私は、この守秘義務と罰則を理解し、業務上必要な範囲でのみ"
    "当事者等の情報を閲覧・利用することを誓約します。"
)


def current_pledge(session: Session, municipality_id: int) -> PledgeTextRecord | None:
    return session.scalar(select(PledgeTextRecord).where(PledgeTextRecord.municipality_id == municipality_id)
                          .order_by(PledgeTextRecord.version.desc()).limit(1))


def publish_pledge(session: Session, clock: Clock, municipality_id: int, text: str) -> PledgeTextRecord:
    """A new version of the pledge: every user accepts it again before their next case access."""
    latest = current_pledge(session, municipality_id)
    pledge = PledgeTextRecord(municipality_id=municipality_id, version=(latest.version + 1) if latest else 1,
                              text=text, created_at=clock())
    session.add(pledge)
    session.flush()
    return pledge


def has_accepted_pledge(session: Session, user: UserRecord) -> bool:
    """True when the user accepted the current pledge of their municipality; False while none is published."""
    return bool(session.scalar(select(pledge_accepted(user.id, user.municipality_id))))


def pledge_accepted(user_id: Any, municipality_id: Any) -> ColumnElement[bool]:
    """Whether the user accepted the latest version of their municipality's pledge, as an SQL expression
    (of values or of columns: the request's sign-in lookup reads it with the user, in the same statement)."""
    latest = (select(PledgeTextRecord.id).where(PledgeTextRecord.municipality_id == municipality_id)
              .order_by(PledgeTextRecord.version.desc()).limit(1)
              .correlate_except(PledgeTextRecord).scalar_subquery())  # the outer query's user, two levels up
    return exists().where(PledgeAcceptanceRecord.user_id == user_id, PledgeAcceptanceRecord.pledge_id == latest)


def accept_pledge(session: Session, clock: Clock, user: UserRecord, pledge_id: int) -> PledgeAcceptanceRecord:
    """Record the user's acceptance of the pledge text they were shown."""
    with transaction(session):
        pledge = current_pledge(session, user.municipality_id)
        if pledge is None or pledge.id != pledge_id:
            raise InvalidState("the pledge shown is not the current one; read it again", element=str(pledge_id))
        acceptance = session.get(PledgeAcceptanceRecord, (user.id, pledge.id))
        if acceptance is None:
            acceptance = PledgeAcceptanceRecord(user_id=user.id, pledge_id=pledge.id, accepted_at=clock())
            session.add(acceptance)
            audit.record(session, clock, user, "pledge.accepted", pledge=pledge.id, version=pledge.version)
    return acceptance


def council_of(session: Session, municipality_id: int) -> CouncilRecord | None:
    return session.scalar(select(CouncilRecord).join(CouncilMunicipalityRecord).where(
        CouncilMunicipalityRecord.municipality_id == municipality_id).limit(1))


def public_notice(session: Session, council_id: int) -> str:
    """The notice (公示) of the council's establishment with the four items the Act requires."""
    council = session.get(CouncilRecord, council_id)
    if council is None:
        raise NotFound("no such council", element=str(council_id))
    towns = session.scalars(select(MunicipalityRecord).join(
        CouncilMunicipalityRecord, CouncilMunicipalityRecord.municipality_id == MunicipalityRecord.id)
        .where(CouncilMunicipalityRecord.council_id == council.id).order_by(MunicipalityRecord.code)).all()
    members = session.scalars(select(OrganisationRecord).join(
        CouncilMemberRecord, CouncilMemberRecord.organisation_id == OrganisationRecord.id)
        .where(CouncilMemberRecord.council_id == council.id).order_by(OrganisationRecord.name)).all()
    founders = "、".join(t.name for t in towns)
    how = "共同して" if len(towns) > 1 else "単独で"
    lines = [
        f"{council.name}の設置について（公示）",
        "",
        f"孤独・孤立対策推進法の規定により、{founders}は{how}孤独・孤立対策地域協議会を設置したので、"
        "次のとおり公示する。",
        "",
        f"1 設置した旨及び設置年月日　{council.established_on.year}年{council.established_on.month}月"
        f"{council.established_on.day}日に設置",
        f"2 協議会の名称　{council.name}",
        f"3 孤独・孤立対策調整機関　{_coordinating_body(council)}",
        "4 構成機関等　" + ("、".join(m.name for m in members) if members else "（なし）"),
    ]
    return "\n".join(lines)


def _coordinating_body(council: CouncilRecord) -> str:
    body = council.coordinating_body
    if body is None:
        return "指定なし"
    day = council.coordinating_designated_on
    return body.name + (f"（{day.year}年{day.month}月{day.day}日指定）" if day else "")


def notice_for(session: Session, user: UserRecord) -> str | None:
    """The public notice (公示) of the user's council, for coordinators and administrators; None without one."""
    if not (user.active and user.role_codes & {Role.COORDINATOR.value, Role.ADMIN.value}):
        raise Forbidden("only the coordinating body and administrators manage the public notice")
    council = council_of(session, user.municipality_id)
    return public_notice(session, council.id) if council is not None else None
