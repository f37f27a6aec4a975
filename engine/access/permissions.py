"""Who may see a case and who may work a task; every read and command asks here first.

Case reads are decided by `policy.case_access` from the case's own state; these helpers add the
role checks of each command and turn a refusal into `Forbidden`.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import object_session

from ..errors import Forbidden
from ..models import CaseRecord, TaskRecord, UserRecord
from ..roles import Role
from ..runtime.timers import engine_now
from .policy import Access, case_access

CASE_STARTERS = {Role.CASEWORKER, Role.SUPERVISOR}
CASE_COORDINATORS = {Role.CASEWORKER, Role.SUPERVISOR, Role.COORDINATOR}
OPERATORS = {Role.SUPERVISOR, Role.ADMIN}


def _holds(user: UserRecord, roles) -> bool:
    return bool(user.role_codes & {r.value for r in roles})


def access_to(user: UserRecord, case: CaseRecord, now: datetime | None = None) -> Access:
    """The user's access to the case now (see `policy.case_access`)."""
    return case_access(object_session(case), user, case, now or engine_now())


def can_view_case(user: UserRecord, case: CaseRecord, now: datetime | None = None) -> bool:
    return access_to(user, case, now).allowed


def can_work_task(user: UserRecord, task: TaskRecord, now: datetime | None = None) -> bool:
    """A task is worked by someone of its municipality who holds the role its lane names; a task
    offered to one member body only by that body's people, and only while their basis holds."""
    if not (user.active and user.municipality_id == task.municipality_id and task.role in user.role_codes):
        return False
    if task.candidate_body_id is None:
        return True
    return task.candidate_body_id == user.organisation_id and access_to(user, task.case, now).allowed


def is_operator(user: UserRecord) -> bool:
    """Supervisors and administrators may retry a case stopped on an error."""
    return user.active and _holds(user, OPERATORS)


def require_case_view(user: UserRecord, case: CaseRecord, now: datetime | None = None) -> Access:
    found = access_to(user, case, now)
    if not found.allowed:
        raise Forbidden("you have no basis to see this case", element=case.reference)
    return found


def require_case_file(user: UserRecord, case: CaseRecord, now: datetime | None = None) -> Access:
    """The whole case file, not only an action's packet."""
    found = require_case_view(user, case, now)
    if not found.full:
        raise Forbidden("your basis covers only your support action's information", element=case.reference)
    return found


def require_task_work(user: UserRecord, task: TaskRecord, now: datetime | None = None) -> None:
    if can_work_task(user, task, now):
        return
    if task.role in user.role_codes and task.candidate_body_id == user.organisation_id:
        raise Forbidden(f"your body no longer has a basis to work task '{task.element_id}'", element=task.element_id)
    raise Forbidden(f"task '{task.element_id}' needs the role '{task.role}'", element=task.element_id)


def require_case_coordination(user: UserRecord, case: CaseRecord, now: datetime | None = None) -> None:
    """Adding actions, recording consent changes and asking for reviews: case staff with the whole file."""
    if not _holds(user, CASE_COORDINATORS):
        raise Forbidden("only case staff may change this case", element=case.reference)
    require_case_file(user, case, now)


def can_coordinate_case(user: UserRecord, case: CaseRecord, now: datetime | None = None) -> bool:
    """Whether the case page offers adding actions, recording withdrawal and early reviews."""
    return _holds(user, CASE_COORDINATORS) and access_to(user, case, now).full


def can_start_case(user: UserRecord) -> bool:
    return user.active and _holds(user, CASE_STARTERS)


def require_council_work(user: UserRecord) -> None:
    """Running council business is the coordinating body's work."""
    if not (user.active and _holds(user, {Role.COORDINATOR})):
        raise Forbidden("only the coordinating body may run council business")


def require_council_case(user: UserRecord, case: CaseRecord, now: datetime | None = None) -> None:
    """A coordinator may act on cases of their own municipality tabled at the council."""
    require_council_work(user)
    require_case_file(user, case, now)


def require_admin(user: UserRecord, case: CaseRecord | None = None) -> None:
    """Operations on the system itself: incidents, audit export."""
    if not (user.active and _holds(user, {Role.ADMIN})):
        raise Forbidden("only administrators may do this")
    if case is not None and case.municipality_id != user.municipality_id:
        raise Forbidden("this case belongs to another municipality", element=case.reference)


def require_task_assignment(user: UserRecord, task: TaskRecord) -> None:
    """Supervisors of the task's municipality hand tasks to people."""
    if not (user.active and user.municipality_id == task.municipality_id and _holds(user, {Role.SUPERVISOR})):
        raise Forbidden("only supervisors may assign tasks to others", element=task.element_id)


def require_referral(user: UserRecord) -> None:
    """Lay referrers (つなぎ手) may hand a concern to the municipality, and nothing else."""
    if not (user.active and _holds(user, {Role.REFERRER})):
        raise Forbidden("only referrers submit concerns")


def require_case_start(user: UserRecord) -> None:
    if not (user.active and _holds(user, CASE_STARTERS)):
        raise Forbidden("only caseworkers and supervisors may open a case")


def require_operator(user: UserRecord, case: CaseRecord | None = None) -> None:
    if not is_operator(user) or (case is not None and case.municipality_id != user.municipality_id):
        raise Forbidden("only supervisors and administrators may retry a failed case")


def require_municipal_admin(actor: UserRecord | None, municipality_id: int) -> None:
    """Setting up a municipality: its own active administrators in the pages. `None` is the operator at
    the command line, who holds the database itself; the audit row then says `via: cli`."""
    if actor is None:
        return
    if not (actor.active and _holds(actor, {Role.ADMIN}) and actor.municipality_id == municipality_id):
        raise Forbidden("only administrators of this municipality may do this")
