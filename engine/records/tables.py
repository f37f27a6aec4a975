"""The tables of a record's life: retention policies, removal times per case, legal holds, disposals,
data-subject requests and the file register's own entries."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..models import Base, _enum


class RecordType(str, enum.Enum):
    """The record types a municipality's records rules set a retention period for."""

    CASE_FILE = "case_file"  # the case, its forms, tasks, support actions, the person (the case file and forms)
    CONSENTS = "consents"  # the consent ledger
    ASSESSMENTS = "assessments"  # loneliness and isolation assessments
    COUNCIL_PAPERS = "council_papers"  # agenda items, the council's decisions, the meetings' minutes
    DISCLOSURE_LOG = "disclosure_log"  # who was given what, on which basis
    AUDIT_LOG = "audit_log"  # every command and every read


class CountedFrom(str, enum.Enum):
    CLOSURE = "closure"  # the case's completion (a case-bound record only)
    CREATION = "creation"  # the case's opening, or the row's own time for the logs


class RetentionPolicyRecord(Base):
    """A municipality's retention period for one record type; a type without a row uses the default."""

    __tablename__ = "retention_policies"

    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"), primary_key=True)
    record_type: Mapped[RecordType] = mapped_column(_enum(RecordType), primary_key=True)
    years: Mapped[int]
    counted_from: Mapped[CountedFrom] = mapped_column(_enum(CountedFrom))
    rule: Mapped[str | None] = mapped_column(String(200))  # the records rule it comes from (文書管理規程 ...)
    updated_at: Mapped[datetime]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class CaseRemovalRecord(Base):
    """When one record type of one case falls due for disposal: stamped when its clock starts (the case's
    opening or closure), so disposal finds its work by an index, never by scanning cases."""

    __tablename__ = "case_removals"
    __table_args__ = (Index("ix_case_removals_due", "municipality_id", "record_type", "removal_at"),)

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    record_type: Mapped[RecordType] = mapped_column(_enum(RecordType), primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"))
    removal_at: Mapped[datetime]
    disposed_at: Mapped[datetime | None]  # done: the row stays, so a case is never disposed of twice


class LegalHoldRecord(Base):
    """A case kept past its retention (litigation, an audit, a data-subject request in progress)."""

    __tablename__ = "legal_holds"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    reason: Mapped[str] = mapped_column(String(500))
    placed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    placed_at: Mapped[datetime]


class DisposalRecord(Base):
    """One disposal: what, how many, under which policy, when, by whom. Holds no personal data."""

    __tablename__ = "disposals"
    __table_args__ = (Index("ix_disposals_municipality_at", "municipality_id", "disposed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"))
    record_type: Mapped[RecordType] = mapped_column(_enum(RecordType))
    method: Mapped[str] = mapped_column(String(16))  # "deleted" or "anonymised"
    years: Mapped[int]
    counted_from: Mapped[CountedFrom] = mapped_column(_enum(CountedFrom))
    cases: Mapped[int]  # how many cases' records (0 for the logs)
    rows: Mapped[int]  # how many rows deleted or anonymised
    due_before: Mapped[datetime]  # the removal times it covered
    disposed_at: Mapped[datetime]
    run_by: Mapped[str] = mapped_column(String(100))  # "scheduler", "cli:<os account>" or a user's id


class RequestKind(str, enum.Enum):
    DISCLOSURE = "disclosure"  # 開示請求 (privacy law Art. 76)
    CORRECTION = "correction"  # 訂正請求 (Art. 90)
    SUSPENSION = "suspension"  # 利用停止請求 (Art. 98)


class RequestStatus(str, enum.Enum):
    RECEIVED = "received"
    DECIDED = "decided"  # granted, partly granted or refused: `outcome`
    WITHDRAWN = "withdrawn"


class SubjectRequestRecord(Base):
    """A data-subject request in the municipality's register, with its legal due date."""

    __tablename__ = "subject_requests"
    __table_args__ = (Index("ix_subject_requests_open", "municipality_id", "status", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"))
    kind: Mapped[RequestKind] = mapped_column(_enum(RequestKind))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"), index=True)
    requester: Mapped[str] = mapped_column(String(200))  # who asked (the person, or their agent: 代理人)
    received_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    details: Mapped[str | None] = mapped_column(Text)  # what is asked: the records, the correction, the use
    status: Mapped[RequestStatus] = mapped_column(_enum(RequestStatus))
    outcome: Mapped[str | None] = mapped_column(String(16))  # granted, partly, refused
    outcome_note: Mapped[str | None] = mapped_column(Text)
    decided_on: Mapped[date | None] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]


class InfoFileEntryRecord(Base):
    """What the file register (個人情報ファイル簿) cannot read from the data: the file's name, purpose and
    sources as the municipality words them. The rest is generated."""

    __tablename__ = "info_file_entries"

    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"), primary_key=True)
    file_name: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(Text)
    sources: Mapped[str] = mapped_column(Text)
    department: Mapped[str] = mapped_column(String(200))  # the office that keeps the file
    notes: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
