"""The case file beyond forms: people, bodies, assessments, consents, disclosures, actions, council."""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..models import Base, CaseRecord, _enum


class OrganisationKind(str, enum.Enum):
    DEPARTMENT = "department"  # a department of the municipality
    MEMBER_BODY = "member_body"  # 構成機関等


class OrganisationRecord(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[OrganisationKind] = mapped_column(_enum(OrganisationKind))
    is_coordinating_body: Mapped[bool] = mapped_column(default=False)  # 調整機関
    active: Mapped[bool] = mapped_column(default=True)  # a retired body keeps its history


# Tables whose ids a command reserves before it runs a process's scripts (engine.db.reserve_id): on
# SQLite they count with AUTOINCREMENT, so that an ordinary insert never takes a reserved id.
RESERVABLE = {"sqlite_autoincrement": True}


class PersonRecord(Base):
    """当事者: one person, who may have several case episodes over the years."""

    __tablename__ = "persons"
    # Prefix searches (LIKE 'key%'): PostgreSQL uses the index only with text_pattern_ops.
    __table_args__ = (Index("ix_persons_municipality_name_key", "municipality_id", "name_key",
                            postgresql_ops={"name_key": "text_pattern_ops"}),
                      Index("ix_persons_municipality_kana_key", "municipality_id", "kana_key",
                            postgresql_ops={"kana_key": "text_pattern_ops"}), RESERVABLE)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kana: Mapped[str | None] = mapped_column(String(200))
    birth_year: Mapped[int | None]
    created_at: Mapped[datetime]
    # engine.casefile.names.search_key of the name and the kana: how a returning person is found.
    name_key: Mapped[str | None] = mapped_column(String(200))
    kana_key: Mapped[str | None] = mapped_column(String(200))

    # Never read (lazy="raise"): tells the unit of work to insert a new person before the case naming it.
    cases: Mapped[list[CaseRecord]] = relationship(lazy="raise", passive_deletes="all")


class AssessmentRecord(Base):
    """One administration of one instrument; scores of different instruments are never mixed."""

    __tablename__ = "assessments"
    __table_args__ = (Index("ix_assessments_person_instrument", "person_id", "instrument", "recorded_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    instrument: Mapped[str] = mapped_column(String(64))
    instrument_version: Mapped[str] = mapped_column(String(32))
    stage: Mapped[str] = mapped_column(String(16))  # baseline, review
    # Only the person's own answers compare with the national survey; proxy answers are kept apart.
    respondent: Mapped[str] = mapped_column(String(16), default="self")  # self, proxy
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    score: Mapped[int | None]
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime]


class ConsentRecord(Base):
    """本人同意: the ledger row of one consent (or refusal) with its scope and withdrawal."""

    __tablename__ = "consents"
    __table_args__ = RESERVABLE

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    decision: Mapped[str] = mapped_column(String(16))  # given, refused
    purposes: Mapped[list[str]] = mapped_column(JSON, default=list)
    recipient_bodies: Mapped[str | None] = mapped_column(Text)
    # The member bodies the consent names: they may see the case while it is in force.
    recipient_body_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    method: Mapped[str | None] = mapped_column(String(16))  # written, oral
    witness: Mapped[str | None] = mapped_column(String(200))
    form_version: Mapped[str] = mapped_column(String(64))
    valid_from: Mapped[date | None] = mapped_column(Date)
    withdrawn_at: Mapped[datetime | None]
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime]


class DisclosureRecord(Base):
    """Every time case data reached another body, with the legal basis it reached it on."""

    __tablename__ = "disclosures"
    __table_args__ = (Index("ix_disclosures_action", "action_id"),)  # a partner's sharing of its action

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(300))
    # consent, council (Act Art. 16), life_protection, statute (named), internal (Art. 69(2)(ii)),
    # public_body (Art. 69(2)(iii)): see engine.casefile.sharing
    basis: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str | None] = mapped_column(String(32))  # what the data went for (a consent purpose)
    statute: Mapped[str | None] = mapped_column(String(200))  # the law named by a 'statute' basis
    consent_id: Mapped[int | None] = mapped_column(ForeignKey("consents.id"))
    action_id: Mapped[int | None] = mapped_column(ForeignKey("support_actions.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime]
    # An emergency (life_protection) disclosure is reviewed afterwards by a supervisor.
    reviewed_at: Mapped[datetime | None]
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    review_note: Mapped[str | None] = mapped_column(Text)

    # Never read (lazy="raise"): a command's rows are written together after its step has run, and
    # these tell the unit of work which rows must be inserted first; a bare foreign key does not.
    consent: Mapped[ConsentRecord | None] = relationship(lazy="raise")
    action: Mapped[SupportActionRecord | None] = relationship(lazy="raise")


class ActionTypeRecord(Base):
    """The municipality's catalogue of support actions (支援メニュー)."""

    __tablename__ = "action_types"
    __table_args__ = (UniqueConstraint("municipality_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    default_owner_body_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    service_days: Mapped[int] = mapped_column(default=14)
    active: Mapped[bool] = mapped_column(default=True)


class ActionStatus(str, enum.Enum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    IN_CONTACT = "in_contact"
    DELIVERED = "delivered"
    NOT_DELIVERED = "not_delivered"


CLOSED_ACTION_STATUSES = (ActionStatus.DELIVERED, ActionStatus.NOT_DELIVERED)


class SupportActionRecord(Base):
    __tablename__ = "support_actions"
    __table_args__ = RESERVABLE

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    action_type_id: Mapped[int] = mapped_column(ForeignKey("action_types.id"))
    owner_body_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("council_decisions.id"))
    status: Mapped[ActionStatus] = mapped_column(_enum(ActionStatus))
    note: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime | None]
    decline_reason: Mapped[str | None] = mapped_column(Text)
    first_contact_on: Mapped[date | None] = mapped_column(Date)
    outcome_note: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]

    action_type: Mapped[ActionTypeRecord] = relationship(lazy="joined")
    owner_body: Mapped[OrganisationRecord] = relationship(lazy="joined")
    decision: Mapped[CouncilDecisionRecord | None] = relationship(lazy="raise")  # insert order only


class CouncilMeetingRecord(Base):
    """個別ケース検討会議: one meeting of the regional council, deciding any number of cases."""

    __tablename__ = "council_meetings"
    __table_args__ = RESERVABLE

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"), index=True)
    # The council the meeting belongs to (a joint council's meetings reach members of every municipality in it).
    council_id: Mapped[int | None] = mapped_column(ForeignKey("councils.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    held_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime]
    # 'case': an individual case meeting (個別ケース検討会議); 'review': the regular review of every case.
    kind: Mapped[str] = mapped_column(String(16), default="case", server_default="case")
    minutes: Mapped[str | None] = mapped_column(Text)  # 議事録, recorded on or after the meeting day
    minutes_recorded_at: Mapped[datetime | None]
    minutes_recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class AgendaItemRecord(Base):
    """A case tabled at a meeting, with the legal basis its information is shared on."""

    __tablename__ = "agenda_items"
    __table_args__ = (UniqueConstraint("meeting_id", "case_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("council_meetings.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    basis: Mapped[str] = mapped_column(String(32))  # consent, council_art16
    # 'tabling': the caseworker tabled the case (its process waits for the decision); 'review': the
    # coordinating body put a case due for review on a meeting's agenda (engine.commands.agenda).
    purpose: Mapped[str] = mapped_column(String(16), default="tabling", server_default="tabling")
    note: Mapped[str | None] = mapped_column(Text)
    tabled_at: Mapped[datetime]
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("council_decisions.id"))

    meeting: Mapped[CouncilMeetingRecord] = relationship(lazy="joined")
    decision: Mapped[CouncilDecisionRecord | None] = relationship(lazy="raise")  # insert order only


class CouncilDecisionRecord(Base):
    """What the council decided for one case: situation, plan, lead body, key person, next review."""

    __tablename__ = "council_decisions"
    __table_args__ = RESERVABLE

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("council_meetings.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    situation: Mapped[str] = mapped_column(Text)
    risk: Mapped[str] = mapped_column(String(16))
    plan: Mapped[str] = mapped_column(Text)
    lead_body_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    key_person: Mapped[str | None] = mapped_column(String(200))
    next_review_on: Mapped[date] = mapped_column(Date)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime]

    lead_body: Mapped[OrganisationRecord] = relationship(lazy="joined")


class CaseStaffRecord(Base):
    """Municipal staff working a case (opened it, took or was given one of its tasks): their basis to read it."""

    __tablename__ = "case_staff"
    __table_args__ = (Index("ix_case_staff_user", "user_id", "case_id"),)  # the cases a user works

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    since: Mapped[datetime]


class AgendaAttendeeRecord(Base):
    """A body chosen to attend the deliberation of one tabled case; without any, the meeting's bodies attend."""

    __tablename__ = "agenda_attendees"

    agenda_item_id: Mapped[int] = mapped_column(ForeignKey("agenda_items.id"), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)


class TeamRecord(Base):
    """A team of municipal staff: its supervisors read the cases its caseworkers work (basis 'supervision')."""

    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("municipality_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]


class TeamMemberRecord(Base):
    __tablename__ = "team_members"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    supervises: Mapped[bool] = mapped_column(default=False)  # a supervisor of the team, not a member worked for


class MeetingBodyRecord(Base):
    """A member body attending a council meeting: its council members see that meeting's cases."""

    __tablename__ = "meeting_bodies"

    meeting_id: Mapped[int] = mapped_column(ForeignKey("council_meetings.id"), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    present: Mapped[bool | None]  # attendance as recorded with the minutes; None until then


class BreakGlassRecord(Base):
    """An emergency opening of a case without another basis: written reason, limited time, logged."""

    __tablename__ = "break_glass"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime]
    expires_at: Mapped[datetime]
