"""A municipality's teams: which supervisor supervises which caseworkers (the 'supervision' access basis).

A supervisor marked in a team reads the cases its caseworkers work, audited with basis 'supervision';
outside their teams they still need a break-glass opening. A team is never deleted: a retired one
grants nothing and keeps its history in the audit log.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..access import permissions
from ..casefile.tables import TeamMemberRecord, TeamRecord
from ..clock import Clock
from ..db import transaction
from ..errors import NotFound
from ..models import UserRecord
from ..roles import Role
from .checks import Checks, checked, named, owned, record_change


@dataclass(frozen=True)
class Member:
    user: UserRecord
    supervises: bool


def list_teams(session: Session, actor: UserRecord | None, municipality_id: int) -> list[TeamRecord]:
    """Every team of the municipality, active ones first, by name."""
    permissions.require_municipal_admin(actor, municipality_id)
    return list(session.scalars(select(TeamRecord).where(TeamRecord.municipality_id == municipality_id)
                                .order_by(TeamRecord.active.desc(), TeamRecord.name, TeamRecord.id)))


def get_team(session: Session, actor: UserRecord | None, municipality_id: int, team_id: object) -> TeamRecord:
    """One team of the municipality; `NotFound` for an id of another municipality or none at all."""
    permissions.require_municipal_admin(actor, municipality_id)
    return owned(session, TeamRecord, team_id, municipality_id, "team")


def team_named(session: Session, municipality_id: int, name: str) -> TeamRecord:
    """The team with exactly this name in the municipality (the command line names teams by name)."""
    return named(session, TeamRecord, municipality_id, name, "team")


def members(session: Session, team: TeamRecord) -> list[Member]:
    """The team's people, supervisors first, by name."""
    rows = session.execute(select(UserRecord, TeamMemberRecord.supervises)
                           .join(TeamMemberRecord, TeamMemberRecord.user_id == UserRecord.id)
                           .where(TeamMemberRecord.team_id == team.id)
                           .order_by(TeamMemberRecord.supervises.desc(), UserRecord.display_name, UserRecord.id)).all()
    return [Member(user, supervises) for user, supervises in rows]


def _check_name(checks: Checks, session: Session, municipality_id: int, name: object, own_id: int | None = None) -> str:
    text = checks.text("name", name)
    if text:
        taken = session.scalar(select(TeamRecord.id).where(TeamRecord.municipality_id == municipality_id,
                                                           func.lower(TeamRecord.name) == text.lower()).limit(1))
        if taken is not None and taken != own_id:
            checks.fail("name", "name_taken")
    return text


def add_team(session: Session, clock: Clock, actor: UserRecord | None, municipality_id: int, *, name: object,
             operator: str | None = None) -> TeamRecord:
    """Add a team to the municipality; audited."""
    permissions.require_municipal_admin(actor, municipality_id)
    with transaction(session):
        checks = Checks()
        new_name = _check_name(checks, session, municipality_id, name)
        checks.done("team")
        team = TeamRecord(municipality_id=municipality_id, name=new_name, active=True, created_at=clock())
        session.add(team)
        session.flush()
        record_change(session, clock, actor, "team.added", municipality_id, operator, team=team.id, name=new_name)
    return team


def rename_team(session: Session, clock: Clock, actor: UserRecord | None, municipality_id: int, team_id: object, *,
                name: object, operator: str | None = None) -> TeamRecord:
    """Rename a team; audited."""
    permissions.require_municipal_admin(actor, municipality_id)
    with transaction(session):
        team = owned(session, TeamRecord, team_id, municipality_id, "team")
        checks = Checks()
        new_name = _check_name(checks, session, municipality_id, name, team.id)
        checks.done("team")
        if new_name != team.name:
            record_change(session, clock, actor, "team.renamed", municipality_id, operator, team=team.id,
                          old=team.name, new=new_name)
            team.name = new_name
    return team


def retire_team(session: Session, clock: Clock, actor: UserRecord | None, municipality_id: int, team_id: object, *,
                operator: str | None = None) -> TeamRecord:
    """Retire a team: its supervisors no longer read its caseworkers' cases on the supervision basis. Audited."""
    permissions.require_municipal_admin(actor, municipality_id)
    with transaction(session):
        team = owned(session, TeamRecord, team_id, municipality_id, "team")
        if team.active:
            team.active = False
            record_change(session, clock, actor, "team.retired", municipality_id, operator, team=team.id,
                          name=team.name)
    return team


def set_member(session: Session, clock: Clock, actor: UserRecord | None, municipality_id: int, team_id: object,
               user_id: object, *, supervises: bool = False, operator: str | None = None) -> TeamRecord:
    """Add a staff member to a team, or change whether they supervise it; a supervisor needs the supervisor
    role, a member worked for the caseworker role. Audited."""
    permissions.require_municipal_admin(actor, municipality_id)
    with transaction(session):
        team = owned(session, TeamRecord, team_id, municipality_id, "team")
        checks = Checks()
        user = _staff(session, municipality_id, user_id)
        if user is None:
            checks.fail("user", "enum")
        elif supervises and Role.SUPERVISOR.value not in user.role_codes:
            checks.fail("user", "not_supervisor")
        elif not supervises and Role.CASEWORKER.value not in user.role_codes:
            checks.fail("user", "not_caseworker")
        if not team.active:
            checks.fail("team", "retired")
        checks.done("team_member")
        user = checked(user)
        row = session.get(TeamMemberRecord, (team.id, user.id))
        if row is None:
            session.add(TeamMemberRecord(team_id=team.id, user_id=user.id, supervises=bool(supervises)))
            record_change(session, clock, actor, "team.member_added", municipality_id, operator, team=team.id,
                          user=user.id, supervises=bool(supervises))
        elif row.supervises != bool(supervises):
            row.supervises = bool(supervises)
            record_change(session, clock, actor, "team.member_changed", municipality_id, operator, team=team.id,
                          user=user.id, supervises=bool(supervises))
    return team


def remove_member(session: Session, clock: Clock, actor: UserRecord | None, municipality_id: int, team_id: object,
                  user_id: object, *, operator: str | None = None) -> TeamRecord:
    """Take a staff member off a team; audited. Removing someone who is not on it changes nothing."""
    permissions.require_municipal_admin(actor, municipality_id)
    with transaction(session):
        team = owned(session, TeamRecord, team_id, municipality_id, "team")
        user = _staff(session, municipality_id, user_id)
        row = session.get(TeamMemberRecord, (team.id, user.id)) if user is not None else None
        if row is not None and user is not None:
            session.delete(row)
            record_change(session, clock, actor, "team.member_removed", municipality_id, operator, team=team.id,
                          user=user.id)
    return team


def staff_choices(session: Session, actor: UserRecord | None, municipality_id: int) -> list[UserRecord]:
    """Active caseworkers and supervisors of the municipality, by name: who may be put on a team."""
    permissions.require_municipal_admin(actor, municipality_id)
    people = session.scalars(select(UserRecord).where(UserRecord.municipality_id == municipality_id,
                                                      UserRecord.active.is_(True))
                             .order_by(UserRecord.display_name, UserRecord.id)).all()
    return [u for u in people if u.role_codes & {Role.CASEWORKER.value, Role.SUPERVISOR.value}]


def _staff(session: Session, municipality_id: int, user_id: object) -> UserRecord | None:
    try:
        return owned(session, UserRecord, user_id, municipality_id, "user")
    except NotFound:
        return None
