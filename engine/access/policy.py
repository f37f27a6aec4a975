"""Who may read a case, on what basis, and how much of it: decided from the case's own state.

Every case read and every command asks `case_access`. The bases follow the Act and the privacy law:
staff working the case, the coordinating body for tabled cases and council members for the cases
tabled to their meeting (Act Arts. 16-18), the lead body, a member body with an open support action
(minimum-necessary packet only, ending with the action or with the consent it relied on), bodies
named in a consent in force, and a supervisor's time-limited break-glass opening.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from ..casefile.governance import CouncilMunicipalityRecord, CouncilRecord
from ..casefile.tables import (
    CLOSED_ACTION_STATUSES,
    ActionStatus,
    AgendaAttendeeRecord,
    AgendaItemRecord,
    BreakGlassRecord,
    CaseStaffRecord,
    ConsentRecord,
    CouncilDecisionRecord,
    CouncilMeetingRecord,
    DisclosureRecord,
    MeetingBodyRecord,
    SupportActionRecord,
    TeamMemberRecord,
    TeamRecord,
)
from ..models import CaseRecord, MunicipalityRecord, TaskRecord, TaskStatus, UserRecord
from ..roles import Role

# Roles whose work needs special-care personal information (要配慮個人情報).
SPECIAL_CARE_ROLES = {Role.CASEWORKER.value, Role.SUPERVISOR.value}


class Basis(str, enum.Enum):
    STAFF = "staff"  # opened the case or works one of its tasks
    COUNCIL = "council"  # Act Arts. 16 and 18
    LEAD_BODY = "lead_body"
    ACTION = "action"  # an open support action of the user's body
    CONSENT = "consent"  # the user's body is named in a consent in force
    BREAK_GLASS = "break_glass"
    SUPERVISION = "supervision"  # supervises a team one of whose caseworkers works the case


class Scope(str, enum.Enum):
    FULL = "full"
    PACKET = "packet"  # what a support action needs, nothing more


@dataclass(frozen=True)
class Access:
    allowed: bool
    basis: Basis | None = None
    scope: Scope | None = None
    special_care: bool = False
    detail: str | None = None  # e.g. the consent or action id the basis rests on
    until: datetime | None = None  # when a time-limited basis (break-glass) runs out

    @property
    def full(self) -> bool:
        return self.allowed and self.scope == Scope.FULL


DENIED = Access(False)


def case_access(session: Session, user: UserRecord, case: CaseRecord, now: datetime) -> Access:
    """The strongest basis the user has to read this case now, or DENIED."""
    if not user.active or case.anonymised_at is not None:  # a disposed-of case file: no basis remains
        return DENIED
    if user.municipality_id != case.municipality_id:  # only a joint council's business crosses municipalities
        if _access_ended(session, case, now):
            return DENIED
        return _council_access(session, user, case, now) or DENIED
    roles = user.role_codes
    care = bool(roles & SPECIAL_CARE_ROLES)
    staff_roles = roles & {Role.CASEWORKER.value, Role.SUPERVISOR.value}
    if staff_roles and session.get(CaseStaffRecord, (case.id, user.id)) is not None:
        return Access(True, Basis.STAFF, Scope.FULL, care)
    supervised = _supervision(session, user, case)
    if supervised is not None:
        return supervised
    if _access_ended(session, case, now):
        return _break_glass_only(session, user, case, now, care)
    council = _council_access(session, user, case, now)
    if council is not None:
        return council
    body = user.organisation_id
    if body and roles & {Role.PARTNER.value, Role.CASEWORKER.value, Role.COUNCIL_MEMBER.value}:
        if _lead_body(session, case.id) == body:
            return Access(True, Basis.LEAD_BODY, Scope.FULL, False)
        consent = _consent_naming(session, case.id, body)
        if consent is not None:
            return Access(True, Basis.CONSENT, Scope.FULL, False, f"consent:{consent}")
        action = _open_action(session, case.id, body)
        if action is not None:
            return Access(True, Basis.ACTION, Scope.PACKET, False, f"action:{action}")
    grant = _break_glass(session, case.id, user.id, now)
    if grant is not None:
        grant_id, expires_at = grant
        return Access(True, Basis.BREAK_GLASS, Scope.FULL, care, f"break_glass:{grant_id}", until=expires_at)
    return DENIED


def coordinated_councils(session: Session, user: UserRecord, today: date) -> list[int]:
    """The councils whose designated coordinating body (調整機関, Act Art. 17(1)) is the user's organisation
    by today: the coordinator role alone, or a designation still to come, makes none."""
    if not (user.active and user.organisation_id and Role.COORDINATOR.value in user.role_codes):
        return []
    return list(session.scalars(select(CouncilRecord.id).where(
        CouncilRecord.coordinating_body_id == user.organisation_id,
        # a designation recorded before its date was kept (migration 0002) stands undated
        or_(CouncilRecord.coordinating_designated_on.is_(None), CouncilRecord.coordinating_designated_on <= today))
        .order_by(CouncilRecord.id)))


def coordinates_for(session: Session, user: UserRecord, municipality_id: int, today: date) -> bool:
    """Whether the user's organisation coordinates a council the municipality belongs to."""
    councils = coordinated_councils(session, user, today)
    return bool(councils) and _council_covers(session, councils, municipality_id)


def coordinating_staff(session: Session, municipality_id: int, today: date) -> list[UserRecord]:
    """The active coordinator-role staff of the bodies designated to coordinate a council the municipality
    belongs to: those told of an emergency opening of one of its cases."""
    bodies = select(CouncilRecord.coordinating_body_id).join(
        CouncilMunicipalityRecord, CouncilMunicipalityRecord.council_id == CouncilRecord.id).where(
        CouncilMunicipalityRecord.municipality_id == municipality_id,
        or_(CouncilRecord.coordinating_designated_on.is_(None), CouncilRecord.coordinating_designated_on <= today))
    candidates = session.scalars(select(UserRecord).where(
        UserRecord.active.is_(True), UserRecord.organisation_id.in_(bodies)).order_by(UserRecord.id)).all()
    return [user for user in candidates if Role.COORDINATOR.value in user.role_codes]


def meetings_of_councils(council_ids: list[int]) -> ColumnElement[bool]:
    """Meetings belonging to one of the councils; a meeting recorded without its council belongs to the
    council of its municipality."""
    of_towns = select(CouncilMunicipalityRecord.municipality_id).where(
        CouncilMunicipalityRecord.council_id.in_(council_ids))
    return or_(CouncilMeetingRecord.council_id.in_(council_ids),
               CouncilMeetingRecord.council_id.is_(None) & CouncilMeetingRecord.municipality_id.in_(of_towns))


def _council_access(session: Session, user: UserRecord, case: CaseRecord, now: datetime) -> Access | None:
    """The council basis (Act Arts. 16-18): the coordinating body's, then an attending member body's."""
    roles = user.role_codes
    if Role.COORDINATOR.value in roles:
        found = _coordinator_access(session, user, case, now)
        if found is not None:
            return found
    if Role.COUNCIL_MEMBER.value in roles and user.organisation_id and _on_member_agenda(session, user, case, now):
        return Access(True, Basis.COUNCIL, Scope.FULL, False, "council_member")
    return None


def _coordinator_access(session: Session, user: UserRecord, case: CaseRecord, now: datetime) -> Access | None:
    """The whole tabled papers while the case is on an agenda of a meeting of a council the user's body
    coordinates; before that, from the caseworker's request to table it (an open task of the coordinator
    lane), only the packet the tabling needs."""
    councils = coordinated_councils(session, user, now.date())
    if not councils or not _council_covers(session, councils, case.municipality_id):
        return None
    items = session.execute(
        select(AgendaItemRecord.decision_id, CouncilMeetingRecord.held_on, MunicipalityRecord.council_window_days)
        .join(CouncilMeetingRecord, CouncilMeetingRecord.id == AgendaItemRecord.meeting_id)
        .join(MunicipalityRecord, MunicipalityRecord.id == CouncilMeetingRecord.municipality_id)
        .where(AgendaItemRecord.case_id == case.id, meetings_of_councils(councils))).all()
    # On the agenda: tabled and not yet decided, or decided at a meeting whose window has not ended. The
    # council's later business on the case (a reassignment, a review) opens a coordinator task, as below.
    if any(decision is None or (now.date() - held_on).days <= window for decision, held_on, window in items):
        return Access(True, Basis.COUNCIL, Scope.FULL, False, "coordinating_body")
    task = session.scalar(select(TaskRecord.id).where(
        TaskRecord.case_id == case.id, TaskRecord.status == TaskStatus.OPEN,
        TaskRecord.role == Role.COORDINATOR.value).limit(1))
    if task is not None:
        return Access(True, Basis.COUNCIL, Scope.PACKET, False, f"tabling:{task}")
    return None


def _council_covers(session: Session, councils: list[int], municipality_id: int) -> bool:
    return session.scalar(select(CouncilMunicipalityRecord.council_id).where(
        CouncilMunicipalityRecord.council_id.in_(councils),
        CouncilMunicipalityRecord.municipality_id == municipality_id).limit(1)) is not None


def _on_member_agenda(session: Session, user: UserRecord, case: CaseRecord, now: datetime) -> bool:
    """The case is tabled at a meeting of a council of the user's municipality, the user's body attends its
    deliberation (chosen for the case, or else the meeting's bodies), and the meeting's window is open."""
    member_councils = select(CouncilMunicipalityRecord.council_id).where(
        CouncilMunicipalityRecord.municipality_id == user.municipality_id)
    own_meeting = CouncilMeetingRecord.municipality_id == user.municipality_id
    in_council = CouncilMeetingRecord.council_id.in_(member_councils)
    reachable = or_(in_council, own_meeting & CouncilMeetingRecord.council_id.is_(None)) \
        if user.municipality_id == case.municipality_id else in_council
    items = session.execute(
        select(AgendaItemRecord.id, CouncilMeetingRecord.id, CouncilMeetingRecord.held_on,
               MunicipalityRecord.council_window_days)
        .join(CouncilMeetingRecord, CouncilMeetingRecord.id == AgendaItemRecord.meeting_id)
        .join(MunicipalityRecord, MunicipalityRecord.id == CouncilMeetingRecord.municipality_id)
        .where(AgendaItemRecord.case_id == case.id, reachable)).all()
    for item_id, meeting_id, held_on, window in items:  # from tabling (the item exists) to the window's end
        if (now.date() - held_on).days <= window and user.organisation_id in attending_bodies(
                session, item_id, meeting_id):
            return True
    return False


def attending_bodies(session: Session, agenda_item_id: int, meeting_id: int) -> set[int]:
    """The bodies deliberating one tabled case: those chosen for it, or else the meeting's."""
    chosen = set(session.scalars(select(AgendaAttendeeRecord.organisation_id).where(
        AgendaAttendeeRecord.agenda_item_id == agenda_item_id)))
    return chosen or set(session.scalars(select(MeetingBodyRecord.organisation_id).where(
        MeetingBodyRecord.meeting_id == meeting_id)))


def _lead_body(session: Session, case_id: int) -> int | None:
    return session.scalar(select(CouncilDecisionRecord.lead_body_id).where(CouncilDecisionRecord.case_id == case_id)
                          .order_by(CouncilDecisionRecord.id.desc()).limit(1))


def _consent_naming(session: Session, case_id: int, body_id: int) -> int | None:
    for consent in session.scalars(select(ConsentRecord).where(
            ConsentRecord.case_id == case_id, ConsentRecord.decision == "given", ConsentRecord.withdrawn_at.is_(None))):
        if body_id in (consent.recipient_body_ids or []):
            return consent.id
    return None


def _open_action(session: Session, case_id: int, body_id: int) -> int | None:
    """An open action of the body whose sharing basis still holds (a withdrawn consent ends it;
    a body that declined the action has no reason to see the case any more)."""
    actions = session.scalars(select(SupportActionRecord).where(
        SupportActionRecord.case_id == case_id, SupportActionRecord.owner_body_id == body_id,
        SupportActionRecord.status.not_in((*CLOSED_ACTION_STATUSES, ActionStatus.DECLINED)))).all()
    for action in actions:
        if _sharing_still_valid(session, action):
            return action.id
    return None


def _sharing_still_valid(session: Session, action: SupportActionRecord) -> bool:
    disclosure = session.scalar(select(DisclosureRecord).where(
        DisclosureRecord.case_id == action.case_id, DisclosureRecord.action_id == action.id)
        .order_by(DisclosureRecord.id.desc()).limit(1))
    if disclosure is None or disclosure.basis != "consent":
        return True  # shared under the council's statutory basis: not ended by consent withdrawal
    consent = session.get(ConsentRecord, disclosure.consent_id) if disclosure.consent_id else None
    return consent is not None and consent.withdrawn_at is None


def _break_glass(session: Session, case_id: int, user_id: int, now: datetime) -> tuple[int, datetime] | None:
    row = session.execute(select(BreakGlassRecord.id, BreakGlassRecord.expires_at).where(
        BreakGlassRecord.case_id == case_id, BreakGlassRecord.user_id == user_id,
        BreakGlassRecord.expires_at > now).order_by(BreakGlassRecord.id.desc()).limit(1)).first()
    return (row.id, row.expires_at) if row is not None else None


def supervised_caseworkers(user: UserRecord) -> Select[int]:
    """The active caseworkers of the active teams of the user's municipality that the user supervises:
    the cases they work are the ones the user reads on the supervision basis."""
    teams = select(TeamMemberRecord.team_id).join(TeamRecord, TeamRecord.id == TeamMemberRecord.team_id).where(
        TeamMemberRecord.user_id == user.id, TeamMemberRecord.supervises.is_(True), TeamRecord.active.is_(True),
        TeamRecord.municipality_id == user.municipality_id)
    return (select(TeamMemberRecord.user_id).join(UserRecord, UserRecord.id == TeamMemberRecord.user_id)
            .where(TeamMemberRecord.team_id.in_(teams), TeamMemberRecord.supervises.is_(False),
                   UserRecord.active.is_(True)))


def _supervision(session: Session, user: UserRecord, case: CaseRecord) -> Access | None:
    """A supervisor reads the cases a caseworker of a team they supervise works (basis 'supervision').
    Reached only for a case of the user's own municipality."""
    if Role.SUPERVISOR.value not in user.role_codes:
        return None
    worker = session.scalar(select(CaseStaffRecord.user_id).where(
        CaseStaffRecord.case_id == case.id, CaseStaffRecord.user_id.in_(supervised_caseworkers(user))).limit(1))
    if worker is None:
        return None
    return Access(True, Basis.SUPERVISION, Scope.FULL, True, f"caseworker:{worker}")


def _access_ended(session: Session, case: CaseRecord, now: datetime) -> bool:
    """Closed longer ago than the municipality's grace period: only staff, supervisors and break-glass remain."""
    if case.completed_at is None:
        return False
    grace = session.scalar(select(MunicipalityRecord.closure_grace_days)
                           .where(MunicipalityRecord.id == case.municipality_id))
    return now > case.completed_at + timedelta(days=grace if grace is not None else 30)


def _break_glass_only(session: Session, user: UserRecord, case: CaseRecord, now: datetime, care: bool) -> Access:
    grant = _break_glass(session, case.id, user.id, now)
    if grant is None:
        return DENIED
    grant_id, expires_at = grant
    return Access(True, Basis.BREAK_GLASS, Scope.FULL, care, f"break_glass:{grant_id}", until=expires_at)
