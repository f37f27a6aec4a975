"""Read side: inbox lists and the case file, served from projection tables, never from workflows."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Row, Select, func, or_, select
from sqlalchemy.orm import QueryableAttribute, Session, defaultload, lazyload

from .. import audit
from ..access import permissions
from ..access.policy import Access, coordinated_councils, meetings_of_councils, supervised_caseworkers
from ..casefile.records import person_answers
from ..casefile.tables import (
    ActionTypeRecord,
    AgendaItemRecord,
    AssessmentRecord,
    CaseStaffRecord,
    ConsentRecord,
    CouncilDecisionRecord,
    CouncilMeetingRecord,
    DisclosureRecord,
    OrganisationKind,
    OrganisationRecord,
    PersonRecord,
    SupportActionRecord,
)
from ..clock import Clock
from ..db import transaction
from ..errors import NotFound
from ..models import (
    AuditRecord,
    Base,
    CaseRecord,
    CaseStatus,
    FormSubmissionRecord,
    TaskRecord,
    TaskStatus,
    UserRecord,
    with_case_state,
)
from ..roles import Role
from ..runtime.forms import JAPAN, mask_special_care
from ..runtime.stored_versions import files_of

INBOX_LIMIT = 200


def _open_tasks(user: UserRecord) -> Select[TaskRecord]:
    return (
        select(TaskRecord)
        .options(defaultload(TaskRecord.case).lazyload(CaseRecord.process_version))  # lists show no version
        .where(TaskRecord.status == TaskStatus.OPEN, TaskRecord.municipality_id == user.municipality_id)
        .order_by(TaskRecord.due_at.is_(None), TaskRecord.due_at, TaskRecord.priority.desc(), TaskRecord.id)
        .limit(INBOX_LIMIT)
    )


def my_tasks(session: Session, user: UserRecord) -> list[TaskRecord]:
    """Open tasks claimed by the user, soonest due first."""
    return list(session.scalars(_open_tasks(user).where(TaskRecord.assignee_id == user.id)))


def offered_to(user: UserRecord) -> ColumnElement[bool]:
    """Tasks offered to no body in particular, or to the user's own; whether a body's basis still holds is
    `permissions.can_work_task`'s to say, per task."""
    return or_(TaskRecord.candidate_body_id.is_(None), TaskRecord.candidate_body_id == user.organisation_id)


def available_tasks(session: Session, user: UserRecord, now: datetime | None = None) -> list[TaskRecord]:
    """Unclaimed open tasks of the user's roles, soonest due first."""
    rows = session.scalars(_open_tasks(user).where(
        TaskRecord.assignee_id.is_(None), TaskRecord.role.in_(user.role_codes), offered_to(user)))
    # A body's task is offered only while the body's basis to see the case holds (consent not withdrawn).
    return [t for t in rows if t.candidate_body_id is None or permissions.can_work_task(user, t, now)]


RECENT_DAYS = 90  # "recent" on the inbox: changed within this many days


def recent_cases(session: Session, user: UserRecord, today: date,
                 limit: int = 50) -> list[Row[int, str | None, str, CaseStatus, datetime]]:
    """The most recently changed cases (within RECENT_DAYS) the user works, supervises, or coordinates at
    the council: the columns the inbox shows (id, reference, title, status, updated_at).

    The window keeps the list as fast with eight years of history as with one: the cases changed lately
    are read newest first (an index) and each is checked against the user's bases, never the other way
    round (a caseworker's whole history gathered and sorted to show fifty).

    Listing a case tells that it exists, which is itself sensitive: a coordinator sees only the cases
    tabled at meetings of a council their organisation coordinates, never every tabled case by role.
    """
    visible: ColumnElement[bool] = select(CaseStaffRecord.case_id).where(
        CaseStaffRecord.case_id == CaseRecord.id, CaseStaffRecord.user_id == user.id).exists()
    if Role.SUPERVISOR.value in user.role_codes:
        visible = visible | select(CaseStaffRecord.case_id).where(
            CaseStaffRecord.case_id == CaseRecord.id,
            CaseStaffRecord.user_id.in_(supervised_caseworkers(user))).exists()
    councils = coordinated_councils(session, user, today)
    if councils:
        visible = visible | select(AgendaItemRecord.case_id).join(
            CouncilMeetingRecord, CouncilMeetingRecord.id == AgendaItemRecord.meeting_id).where(
            AgendaItemRecord.case_id == CaseRecord.id, meetings_of_councils(councils)).exists()
    since = datetime.combine(today - timedelta(days=RECENT_DAYS), time(), tzinfo=JAPAN)
    return list(session.execute(
        select(CaseRecord.id, CaseRecord.reference, CaseRecord.title, CaseRecord.status, CaseRecord.updated_at)
        .where(CaseRecord.municipality_id == user.municipality_id, CaseRecord.updated_at >= since, visible,
               CaseRecord.anonymised_at.is_(None))
        .order_by(CaseRecord.updated_at.desc(), CaseRecord.id.desc()).limit(limit)
    ).all())


@dataclass
class CaseFile:
    case: CaseRecord
    tasks: list[TaskRecord]
    submissions: list[FormSubmissionRecord]
    timeline: list[AuditRecord]
    person: PersonRecord | None = None
    episodes: list[CaseRecord] = field(default_factory=list)
    assessments: list[AssessmentRecord] = field(default_factory=list)
    consents: list[ConsentRecord] = field(default_factory=list)
    actions: list[SupportActionRecord] = field(default_factory=list)
    decisions: list[CouncilDecisionRecord] = field(default_factory=list)
    agenda: list[AgendaItemRecord] = field(default_factory=list)
    disclosures: list[DisclosureRecord] = field(default_factory=list)
    access: Access | None = None
    # What each submission shows this reader: special-care fields masked unless their role needs them.
    submission_data: dict[int, dict[str, Any]] = field(default_factory=dict)
    wishes: str | None = None  # the person's wishes (意向), which every support action must follow


def view_case(session: Session, clock: Clock, user: UserRecord, case_id: int, part: str = "summary") -> CaseFile:
    """Open a case file for reading; the read is audited with its basis, allowed or not."""
    with transaction(session):
        case = session.get(CaseRecord, case_id)
        if case is None or case.anonymised_at is not None:  # disposed of at the end of its retention: gone
            raise NotFound("no such case", element=str(case_id))
        found = permissions.access_to(user, case, clock())
        audit.record(session, clock, user, "case.viewed" if found.allowed else "case.view_refused", case_id=case.id,
                     part=part if found.full or not found.allowed else "packet",
                     basis=found.basis.value if found.basis else None, on=found.detail)
    permissions.require_case_view(user, case, clock())
    if not found.full:
        return _packet(session, user, case, found)
    submissions = rows(session, FormSubmissionRecord, FormSubmissionRecord.case_id == case.id,
                        FormSubmissionRecord.submitted_at)
    return CaseFile(
        case=case,
        tasks=rows(session, TaskRecord, TaskRecord.case_id == case.id, TaskRecord.created_at),
        submissions=submissions,
        timeline=audit.case_timeline(session, case.id),
        person=session.get(PersonRecord, case.person_id) if case.person_id else None,
        episodes=rows(session, CaseRecord, CaseRecord.person_id == case.person_id, CaseRecord.episode)
        if case.person_id else [case],
        assessments=rows(session, AssessmentRecord, AssessmentRecord.person_id == case.person_id,
                          AssessmentRecord.recorded_at) if case.person_id else [],
        consents=rows(session, ConsentRecord, ConsentRecord.case_id == case.id, ConsentRecord.recorded_at),
        actions=rows(session, SupportActionRecord, SupportActionRecord.case_id == case.id,
                      SupportActionRecord.created_at),
        decisions=rows(session, CouncilDecisionRecord, CouncilDecisionRecord.case_id == case.id,
                        CouncilDecisionRecord.recorded_at),
        agenda=rows(session, AgendaItemRecord, AgendaItemRecord.case_id == case.id, AgendaItemRecord.tabled_at),
        disclosures=rows(session, DisclosureRecord, DisclosureRecord.case_id == case.id,
                          DisclosureRecord.recorded_at),
        access=found,
        submission_data={s.id: _visible(case, s, found.special_care) for s in submissions},
        wishes=_wishes(submissions),
    )


def _visible(case: CaseRecord, submission: FormSubmissionRecord, special_care: bool) -> dict[str, Any]:
    if special_care:
        return dict(submission.data)
    schema = json.loads(files_of(case.process_version).get(submission.form_id, "{}"))
    return mask_special_care(schema, submission.data)


def _wishes(submissions: list[FormSubmissionRecord]) -> str | None:
    for submission in reversed(submissions):
        if submission.data.get("wishes"):
            wishes: str = submission.data["wishes"]
            return wishes
    return None


def _packet(session: Session, user: UserRecord, case: CaseRecord, found: Access) -> CaseFile:
    """The minimum-necessary packet for a member body acting on a support action: who, what they
    asked for, the plan and the body's own actions; no history, assessments or special-care data."""
    body = user.organisation_id
    own_actions = rows(session, SupportActionRecord, (SupportActionRecord.case_id == case.id)
                        & (SupportActionRecord.owner_body_id == body), SupportActionRecord.created_at)
    submissions = rows(session, FormSubmissionRecord, FormSubmissionRecord.case_id == case.id,
                        FormSubmissionRecord.submitted_at)
    return CaseFile(
        case=case,
        tasks=[t for t in rows(session, TaskRecord, TaskRecord.case_id == case.id, TaskRecord.created_at)
               if t.candidate_body_id == body],
        submissions=[], timeline=[],
        person=session.get(PersonRecord, case.person_id) if case.person_id else None,
        actions=own_actions,
        decisions=rows(session, CouncilDecisionRecord, CouncilDecisionRecord.case_id == case.id,
                        CouncilDecisionRecord.recorded_at)[-1:],
        access=found,
        wishes=_wishes(submissions),
    )


_R = TypeVar("_R", bound=Base)


def rows(session: Session, model: type[_R], condition: ColumnElement[bool], order: QueryableAttribute[Any]) -> list[_R]:
    """Rows of `model` matching `condition`, in `order` then by id."""
    return list(session.scalars(select(model).where(condition).order_by(order, model.__table__.c.id)))


def member_bodies(session: Session, municipality_id: int) -> list[OrganisationRecord]:
    """The municipality's active member bodies (構成機関等), for choosing an owner or lead body."""
    return list(session.scalars(select(OrganisationRecord).where(
        OrganisationRecord.municipality_id == municipality_id, OrganisationRecord.active.is_(True),
        OrganisationRecord.kind == OrganisationKind.MEMBER_BODY).order_by(OrganisationRecord.name)))


def action_types(session: Session, municipality_id: int) -> list[ActionTypeRecord]:
    """The municipality's catalogue of support actions that can be added now."""
    return list(session.scalars(select(ActionTypeRecord).where(
        ActionTypeRecord.municipality_id == municipality_id, ActionTypeRecord.active.is_(True))
        .order_by(ActionTypeRecord.id)))


def case_id_by_reference(session: Session, user: UserRecord, reference: str) -> int | None:
    """The id of the user's municipality's case with this reference (e.g. 2026-000123), or None:
    a reference of another municipality is answered exactly as an unknown one."""
    return session.scalar(select(CaseRecord.id).where(
        CaseRecord.municipality_id == user.municipality_id, CaseRecord.reference == reference.strip()))


def view_task(session: Session, clock: Clock, user: UserRecord, task_id: int) -> TaskRecord:
    """Open a task to work it or to read what was answered; like a case read, the view is audited, allowed
    or not, and a task the user has no basis for is refused exactly as a missing one."""
    with transaction(session):
        task = session.get(TaskRecord, task_id)
        if task is None:
            raise NotFound("no such task", element=str(task_id))
        allowed = permissions.can_view_task(user, task, clock())
        audit.record(session, clock, user, "task.viewed" if allowed else "task.view_refused",
                     case_id=task.case_id, task_id=task.id, part="task")
    permissions.require_task_view(user, task, clock())
    return task


# The supervisor's after-the-fact review of an emergency sharing shows what was shared, with whom, why.
CRISIS_REVIEW_FORM = "crisis-review-schema.json"


def disclosures_to_review(session: Session, task: TaskRecord) -> list[DisclosureRecord]:
    """For a crisis review task, the case's life-protection disclosures (recipient, reason, when); else none."""
    if task.form_file != CRISIS_REVIEW_FORM:
        return []
    return list(session.scalars(select(DisclosureRecord).where(
        DisclosureRecord.case_id == task.case_id, DisclosureRecord.basis == "life_protection")
        .order_by(DisclosureRecord.recorded_at, DisclosureRecord.id)))


def workable_task(session: Session, user: UserRecord, task_id: int) -> TaskRecord:
    """A task the user may work, for a command that audits itself (completion): its case comes with its
    workflow state, which the command runs."""
    task = session.get(TaskRecord, task_id, options=[with_case_state()])
    if task is None:
        raise NotFound("no such task", element=str(task_id))
    permissions.require_task_work(user, task)
    return task


def open_tasks_of_case(session: Session, case_id: int) -> list[TaskRecord]:
    """The tasks a case is waiting on now, oldest first. Their case is not joined in: a caller who just
    moved the case holds it already (and `task.case` reads it from the session then, without a statement)."""
    return list(session.scalars(
        select(TaskRecord).options(lazyload(TaskRecord.case))
        .where(TaskRecord.case_id == case_id, TaskRecord.status == TaskStatus.OPEN)
        .order_by(TaskRecord.id)
    ))


# What a referral's concern form answers for the intake form (same names pass through as they are).
REFERRAL_TO_INTAKE = {"referred_on": "consultation_date"}


def task_prefill(session: Session, task: TaskRecord) -> dict[str, Any]:
    """Answers a task's form can start from: the first task of a referred case starts from the concern,
    and that of a reopened episode from who the person is (not from what they said last time)."""
    first = session.scalar(select(func.min(TaskRecord.id)).where(TaskRecord.case_id == task.case_id))
    if first != task.id:
        return {}
    values: dict[str, Any] = {}
    if task.case.person_id is not None:
        values.update(person_answers(session.get_one(PersonRecord, task.case.person_id)))
    referral = session.scalar(select(FormSubmissionRecord).where(
        FormSubmissionRecord.case_id == task.case_id, FormSubmissionRecord.task_id.is_(None))
        .order_by(FormSubmissionRecord.id).limit(1))
    if referral is not None:
        values.update({REFERRAL_TO_INTAKE.get(name, name): value for name, value in referral.data.items()})
        values.update(channel="supporter", referrer=referral.submitted_by.display_name)
    return values
