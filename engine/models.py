"""ORM tables: the case file, its workflow state and the inbox projection lists read from."""
from __future__ import annotations

import enum
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, defaultload, mapped_column, relationship
from sqlalchemy.orm.strategy_options import _AbstractLoad


class UTCDateTime(TypeDecorator[datetime]):
    """Store aware datetimes as UTC and always hand back aware datetimes (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a timezone-aware column")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


# The largest id either database stores (PostgreSQL `integer`): a larger one names no row, and PostgreSQL
# refuses to compare an integer column with it.
MAX_ID = 2**31 - 1
# Characters PostgreSQL cannot keep in a text column.
UNSTORABLE = ("\x00",)


def unstorable(text: str) -> bool:
    """Whether text holds a character neither database can store."""
    return any(char in text for char in UNSTORABLE)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict: JSON}


class CaseStatus(str, enum.Enum):
    RUNNING = "running"
    WAITING = "waiting"
    COMPLETED = "completed"
    ERROR = "error"
    SUSPENDED = "suspended"


class TaskStatus(str, enum.Enum):
    OPEN = "open"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


class MunicipalityRecord(Base):
    __tablename__ = "municipalities"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    is_demo: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime | None]
    # Security settings an administrator chooses (the municipal security guideline expects a second
    # factor for every staff member); administrators always need one.
    require_second_factor: Mapped[bool] = mapped_column(default=False)
    idle_minutes: Mapped[int | None]  # None: the installation's TSUNAGU_SESSION_MINUTES
    # After closure, consent-, council- and lead-body-based access ends this many days later.
    closure_grace_days: Mapped[int] = mapped_column(default=30, server_default="30")
    # Council members read a meeting's tabled papers from the tabling until this many days after it.
    council_window_days: Mapped[int] = mapped_column(default=30, server_default="30")
    # The role that works a task drawn outside any lane (models made elsewhere often have no lanes).
    default_role: Mapped[str] = mapped_column(String(32), default="caseworker", server_default="caseworker")


class UserRecord(Base):
    __tablename__ = "users"
    __allow_unmapped__ = True  # for `_role_scope`, a per-request attribute, not a column

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"))
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    password_hash: Mapped[str] = mapped_column(String(200))
    locale: Mapped[str | None] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled: Mapped[bool] = mapped_column(default=False)
    totp_last_step: Mapped[int | None]  # the last accepted time step: a code works once
    team: Mapped[str | None] = mapped_column(String(100))  # 係
    # A one-time password handed out by an administrator must be replaced at the first sign-in.
    must_change_password: Mapped[bool] = mapped_column(default=False)
    password_changed_at: Mapped[datetime | None]
    # Stored in the session at sign-in; raising it ends every session of the user at once
    # (deactivation, password change or reset), so a copied cookie cannot outlive them.
    session_generation: Mapped[int] = mapped_column(default=0)
    deactivated_at: Mapped[datetime | None]
    created_at: Mapped[datetime]

    roles: Mapped[list["UserRoleRecord"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="UserRoleRecord.role"
    )
    municipality: Mapped[MunicipalityRecord] = relationship(lazy="joined")

    # For one request made with an API token: the roles the token may use (None: every role held).
    _role_scope: frozenset[str] | None = None

    @property
    def role_codes(self) -> set[str]:
        """The roles the user acts with: those held, cut to an API token's scope for a request made with one."""
        held = {r.role for r in self.roles}
        return held & self._role_scope if self._role_scope is not None else held

    def limit_roles(self, scope: set[str]) -> None:
        """Act with at most these roles for the rest of this request (the user object lives no longer)."""
        self._role_scope = frozenset(scope)


class UserRoleRecord(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)


class SignInSessionRecord(Base):
    """One signed-in session: the cookie holds a random id whose hash is stored here, so logout,
    a password change, a reset or deactivation can end every copy of the cookie at once."""

    __tablename__ = "sign_in_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The user's session generation at sign-in: raising it ends this session even if never presented again.
    generation: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(32))


class RecoveryCodeRecord(Base):
    """A one-time code that stands in for the second factor when the phone is lost; hashed at rest."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class ProcessVersionRecord(Base):
    """One deployed version of a process model, stored once per scope and keyed by the hash of its files.

    The scope is the whole installation (the national template, `municipality_id` None) or one
    municipality, whose own version wins for its new cases.
    """

    __tablename__ = "process_versions"
    __table_args__ = (
        Index("uq_process_versions_template", "process_id", "content_hash", unique=True,
              sqlite_where=text("municipality_id IS NULL"), postgresql_where=text("municipality_id IS NULL")),
        Index("uq_process_versions_municipal", "municipality_id", "process_id", "content_hash", unique=True,
              sqlite_where=text("municipality_id IS NOT NULL"),
              postgresql_where=text("municipality_id IS NOT NULL")),
        # Two deploys at the same moment cannot both become "version 2": one gets a conflict.
        Index("uq_process_versions_template_number", "process_id", "version_number", unique=True,
              sqlite_where=text("municipality_id IS NULL"), postgresql_where=text("municipality_id IS NULL")),
        Index("uq_process_versions_municipal_number", "municipality_id", "process_id", "version_number",
              unique=True, sqlite_where=text("municipality_id IS NOT NULL"),
              postgresql_where=text("municipality_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(200), index=True)
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("municipalities.id"))
    version_number: Mapped[int] = mapped_column(default=1)  # 1, 2, ... per process and scope
    name: Mapped[str] = mapped_column(String(300))
    content_hash: Mapped[str] = mapped_column(String(64))
    # The two large columns (the standard process's are about 140 KB each) load only when read: a list of
    # tasks or cases joins their versions for the names and must not decode every file and spec per row.
    files: Mapped[dict[str, str]] = mapped_column(JSON, deferred=True)  # file name -> text, exactly as deployed
    spec: Mapped[str] = mapped_column(Text, deferred=True)  # SpiffWorkflow's serialization of the parsed specs
    deployed_at: Mapped[datetime]
    # The live version of a scope is the one activated last (deploying an older version again re-activates it).
    activated_at: Mapped[datetime] = mapped_column(
        default=lambda context: context.get_current_parameters()["deployed_at"])
    deployed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    deployed_via: Mapped[str] = mapped_column(String(16), default="cli")  # cli, web
    note: Mapped[str | None] = mapped_column(Text)

    deployed_by: Mapped["UserRecord | None"] = relationship(foreign_keys=[deployed_by_id])


class ProcessDraftRecord(Base):
    """A municipality's uploaded, validated package of one process, waiting to be deployed (one per process).

    Its files are exactly what a deploy stores as the next version; `warnings` are the validator's
    non-blocking findings (a task with no due time) as problem dicts, shown beside the draft.
    """

    __tablename__ = "process_drafts"
    __table_args__ = (Index("uq_process_drafts_scope", "municipality_id", "process_id", unique=True),
                      {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"))
    process_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300))
    content_hash: Mapped[str] = mapped_column(String(64))
    files: Mapped[dict[str, str]] = mapped_column(JSON)
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_via: Mapped[str] = mapped_column(String(16), default="cli")  # cli, web
    uploaded_at: Mapped[datetime]

    uploaded_by: Mapped["UserRecord | None"] = relationship(foreign_keys=[uploaded_by_id])


class MigrationBatchRecord(Base):
    """One run of moving a process's running cases of a municipality to another version (`tsunagu migrate`)."""

    __tablename__ = "migration_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(200))
    to_version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    status: Mapped[str] = mapped_column(String(16))  # running, finished, failed
    total: Mapped[int] = mapped_column(default=0)  # movable cases found by the dry run
    moved: Mapped[int] = mapped_column(default=0)
    refused: Mapped[int] = mapped_column(default=0)  # found movable, refused when moved (changed meanwhile)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    started_via: Mapped[str] = mapped_column(String(16), default="web")  # web, cli
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class CaseMigrationRecord(Base):
    """A case moved from one process version to another, with what it was, so that it can be moved back
    while it has not advanced since (its lock version is still the one the move left)."""

    __tablename__ = "case_migrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("migration_batches.id"), index=True)
    from_version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    to_version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    previous_state: Mapped[str] = mapped_column(Text)  # the serialized workflow before the move
    lock_version_after: Mapped[int]  # the case's lock version right after the move
    migrated_at: Mapped[datetime]
    migrated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    moved_back_at: Mapped[datetime | None]


class CaseRecord(Base):
    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_municipality_status", "municipality_id", "status"),
                      Index("ix_cases_municipality_updated", "municipality_id", "updated_at"),
                      # The ledger's sort keys and the reports' months (engine.commands.ledger, .reports).
                      Index("ix_cases_municipality_status_review", "municipality_id", "status", "next_review_on"),
                      Index("ix_cases_municipality_status_contact", "municipality_id", "status", "last_contact_at"),
                      Index("ix_cases_municipality_opened", "municipality_id", "opened_on"))

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(32), unique=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"))
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    title: Mapped[str] = mapped_column(String(300))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), index=True)
    episode: Mapped[int] = mapped_column(default=1)
    previous_case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    status: Mapped[CaseStatus] = mapped_column(_enum(CaseStatus))
    closure_reason: Mapped[str | None] = mapped_column(String(32))
    # The earliest pending BPMN timer: the scheduler's due index, so it never loads idle workflows.
    next_timer_at: Mapped[datetime | None] = mapped_column(index=True)
    timer_attempts: Mapped[int] = mapped_column(default=0)  # failed firings since the last success
    # Deferred: loaded (undefer) only by the commands that run the case; lists and pages never read a workflow.
    workflow_state: Mapped[str] = mapped_column(Text, deferred=True)
    lock_version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    error_element: Mapped[str | None] = mapped_column(String(200))
    error_message: Mapped[str | None] = mapped_column(Text)
    error_line: Mapped[int | None]
    # After a withdrawal of consent the person's case may go on only as council business (Arts. 16, 18):
    # from this moment sharing rests on the council basis alone, with the person's wishes on record.
    secrecy_since: Mapped[datetime | None]
    secrecy_wishes: Mapped[str | None] = mapped_column(Text)
    # A data-subject request to stop use (利用停止請求) suspends the case (status SUSPENDED) with its reason;
    # lifting it resumes the case where its workflow waits.
    suspended_at: Mapped[datetime | None]
    suspended_reason: Mapped[str | None] = mapped_column(Text)
    # The case file was disposed of at the end of its retention: what remains is the anonymous skeleton
    # the reports count (dates, channel, risk, closure reason, task kinds and times, assessment scores).
    anonymised_at: Mapped[datetime | None]
    # Facts lists sort and count by, kept on the case as they change so that no list reads a workflow
    # or searches a case's history: how the consultation came in and on which day (the intake),
    # the council's latest decision with its risk and next review, the person's latest contact.
    channel: Mapped[str | None] = mapped_column(String(16))
    opened_on: Mapped[date | None] = mapped_column(Date)
    # No foreign key: the decision is inserted in the flush that updates the case, and a key each way
    # between the two tables would make that a cycle; only council.record_decision writes it.
    latest_decision_id: Mapped[int | None]
    risk: Mapped[str | None] = mapped_column(String(16))  # the triage's level until the council decides one
    next_review_on: Mapped[date | None] = mapped_column(Date)
    last_contact_at: Mapped[datetime | None]

    process_version: Mapped[ProcessVersionRecord] = relationship(lazy="joined")
    created_by: Mapped[UserRecord] = relationship(foreign_keys=[created_by_id])

    __mapper_args__ = {"version_id_col": lock_version}


class TaskRecord(Base):
    """The inbox projection: one row per user task, open or done, so lists never load workflows."""

    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_open_role", "status", "role", "due_at"),
        Index("ix_tasks_open_assignee", "status", "assignee_id", "due_at"),
        Index("ix_tasks_open_due", "status", "due_at"),
        # The overdue query: open tasks not yet announced, so announced ones are never read again.
        Index("ix_tasks_overdue_unnoticed", "status", "overdue_noticed_at", "due_at"),
        # A case's open work and its latest contacts and reviews (case list, dashboard, ledger).
        Index("ix_tasks_case_status_due", "case_id", "status", "due_at"),
        Index("ix_tasks_case_status_element", "case_id", "status", "element_id", "completed_at"),
        # Cases waiting at an element (the designer's heat map, the case list's stage filter).
        Index("ix_tasks_status_element", "status", "element_id", "case_id"),
        # A team's work (the supervisor's dashboard).
        Index("ix_tasks_municipality_status_assignee", "municipality_id", "status", "assignee_id"),
        # Work of one kind (reviews, tablings) whatever the element is called in a municipality's model.
        Index("ix_tasks_status_kind_due", "status", "kind", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"))
    spiff_task_id: Mapped[str] = mapped_column(String(36), unique=True)
    element_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300))
    role: Mapped[str | None] = mapped_column(String(32))
    # A partner task is offered only to the member body the process names (e.g. an action's owner).
    candidate_body_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    subject_id: Mapped[int | None]  # the support action a task is about, if any
    # What the task is for, whatever its element is called: the element's `kind` property, else the
    # case-file writer its `record` property names (engine.runtime.kinds).
    kind: Mapped[str | None] = mapped_column(String(32))
    form_file: Mapped[str | None] = mapped_column(String(300))
    ui_file: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[TaskStatus] = mapped_column(_enum(TaskStatus))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    priority: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    due_at: Mapped[datetime | None]
    follow_up_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Set once the scheduler announced the task as due soon / overdue, so it is announced only once.
    due_soon_noticed_at: Mapped[datetime | None]
    overdue_noticed_at: Mapped[datetime | None]

    case: Mapped[CaseRecord] = relationship(lazy="joined")
    assignee: Mapped[UserRecord | None] = relationship(foreign_keys=[assignee_id])
    # The support action a task is about, so two actions' tasks can be told apart in lists.
    subject = relationship("SupportActionRecord", viewonly=True,
                           primaryjoin="foreign(TaskRecord.subject_id) == SupportActionRecord.id")
    completed_by: Mapped[UserRecord | None] = relationship(foreign_keys=[completed_by_id])


def with_case_state() -> _AbstractLoad:
    """Load a task's case with its workflow state (deferred elsewhere): for commands that run the case."""
    return defaultload(TaskRecord.case).undefer(CaseRecord.workflow_state)


class TaskDraftRecord(Base):
    """What one user has typed into an open task's form so far, kept on the server so that a session
    ending mid-form loses nothing; only ever shown to that user, and only while they may work the task."""

    __tablename__ = "task_drafts"

    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    # field name -> the strings the form posted, exactly as typed (not yet valid)
    data: Mapped[dict[str, list[str]]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    saved_at: Mapped[datetime]


class ParkedInputRecord(Base):
    """A form posted just after its session ended, held for the browser that posted it: it becomes the
    user's draft only when that browser (which holds the token in its cookie) signs in again as that user."""

    __tablename__ = "parked_inputs"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    data: Mapped[dict[str, list[str]]] = mapped_column(JSON)
    parked_at: Mapped[datetime]


class FormSubmissionRecord(Base):
    """What a user submitted on a task: the case file itself, not only workflow data."""

    __tablename__ = "form_submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"), unique=True)  # None: a referral
    form_id: Mapped[str] = mapped_column(String(300))
    form_version: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime]

    task: Mapped[TaskRecord] = relationship()
    submitted_by: Mapped[UserRecord] = relationship()


class AuditRecord(Base):
    """Who did or saw what, when; the case timeline is read from here too."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_case_at", "case_id", "at"), Index("ix_audit_municipality_at", "municipality_id", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Whose log the row belongs to, also for commands run at the command line (no actor) and sign-in
    # attempts: the municipality's audit export reads it.
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("municipalities.id"))
    action: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    actor: Mapped[UserRecord | None] = relationship()
