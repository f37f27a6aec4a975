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
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..casefile.tables import (
    CLOSED_ACTION_STATUSES,
    ActionStatus,
    AgendaItemRecord,
    BreakGlassRecord,
    CaseStaffRecord,
    ConsentRecord,
    CouncilDecisionRecord,
    CouncilMeetingRecord,
    DisclosureRecord,
    MeetingBodyRecord,
    SupportActionRecord,
)
from ..models import CaseRecord, UserRecord
from ..roles import Role

# Council members keep seeing a tabled case for this long after the meeting.
COUNCIL_ACCESS_AFTER_MEETING = timedelta(days=30)
# Roles whose work needs special-care personal information (要配慮個人情報).
SPECIAL_CARE_ROLES = {Role.CASEWORKER.value, Role.SUPERVISOR.value}


class Basis(str, enum.Enum):
    STAFF = "staff"  # opened the case or works one of its tasks
    COUNCIL = "council"  # Act Arts. 16 and 18
    LEAD_BODY = "lead_body"
    ACTION = "action"  # an open support action of the user's body
    CONSENT = "consent"  # the user's body is named in a consent in force
    BREAK_GLASS = "break_glass"


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
    if not user.active or user.municipality_id != case.municipality_id:
        return DENIED
    roles = user.role_codes
    care = bool(roles & SPECIAL_CARE_ROLES)
    staff_roles = roles & {Role.CASEWORKER.value, Role.SUPERVISOR.value}
    if staff_roles and session.get(CaseStaffRecord, (case.id, user.id)) is not None:
        return Access(True, Basis.STAFF, Scope.FULL, care)
    if Role.COORDINATOR.value in roles and _tabled(session, case.id):
        return Access(True, Basis.COUNCIL, Scope.FULL, False)
    if Role.COUNCIL_MEMBER.value in roles and user.organisation_id and _on_member_agenda(session, user, case, now):
        return Access(True, Basis.COUNCIL, Scope.FULL, False)
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


def _tabled(session: Session, case_id: int) -> bool:
    return session.scalar(select(AgendaItemRecord.id).where(AgendaItemRecord.case_id == case_id).limit(1)) is not None


def _on_member_agenda(session: Session, user: UserRecord, case: CaseRecord, now: datetime) -> bool:
    earliest = (now - COUNCIL_ACCESS_AFTER_MEETING).date()
    return session.scalar(
        select(AgendaItemRecord.id)
        .join(CouncilMeetingRecord, CouncilMeetingRecord.id == AgendaItemRecord.meeting_id)
        .join(MeetingBodyRecord, MeetingBodyRecord.meeting_id == CouncilMeetingRecord.id)
        .where(AgendaItemRecord.case_id == case.id, MeetingBodyRecord.organisation_id == user.organisation_id,
               CouncilMeetingRecord.held_on >= earliest).limit(1)) is not None


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
