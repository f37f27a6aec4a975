"""Operational tables: scheduler leases, incidents and notifications (with their mail outbox state)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..models import Base, CaseRecord, UserRecord


class SchedulerLeaseRecord(Base):
    """A named lease: on SQLite only its holder runs scheduler passes (PostgreSQL uses row locks)."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime]


class IncidentRecord(Base):
    """A timer that kept failing: visible to administrators until one retries it."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_open", "resolved_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    element: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int]
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    case: Mapped[CaseRecord] = relationship(lazy="joined")


class NotificationRecord(Base):
    """One notice for one user: shown under the bell, and mailed when the user has an address.

    The row is its own outbox entry: it is written in the case's transaction, and the mail
    dispatcher sends it later, outside any case transaction, retrying until a server accepts it.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_unread", "user_id", "read_at"),
        Index("ix_notifications_mail", "mail_status", "mail_next_attempt_at"),
        # A task is announced once per kind and user, however often the scheduler passes over it.
        UniqueConstraint("user_id", "kind", "task_id", name="uq_notifications_once"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(32))  # task_assigned, task_due_soon, task_overdue, task_escalated
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    subject: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]
    mail_to: Mapped[str | None] = mapped_column(String(320))
    mail_status: Mapped[str | None] = mapped_column(String(16))  # pending, sent, failed; None: not mailed
    mail_attempts: Mapped[int] = mapped_column(default=0)
    mail_next_attempt_at: Mapped[datetime | None]
    mail_last_error: Mapped[str | None] = mapped_column(Text)
    mailed_at: Mapped[datetime | None]

    user: Mapped[UserRecord] = relationship()
