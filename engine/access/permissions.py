"""Who may see a case and who may work a task; every read and command asks here first.

Case reads are decided by `policy.case_access` from the case's own state; these helpers add the
role checks of each command. A record the user has no basis for at all is refused with the same
`NotFound` as a missing one, so ids cannot be probed; `Forbidden` is kept for what the user can
already see (a role they lack, a packet instead of the whole file, a break-glass opening, which only reads).
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session, object_session

from ..errors import BreakGlassReadOnly, Forbidden, NotFound
from ..models import CaseRecord, TaskRecord, TaskStatus, UserRecord
from ..roles import Role
from ..runtime.timers import engine_now
from .policy import Access, Basis, case_access, coordinated_councils, coordinates_for

CASE_STARTERS = {Role.CASEWORKER, Role.SUPERVISOR}
CASE_COORDINATORS = {Role.CASEWORKER, Role.SUPERVISOR, Role.COORDINATOR}
OPERATORS = {Role.SUPERVISOR, Role.ADMIN}


def _holds(user: UserRecord, roles: Iterable[Role]) -> bool:
    return bool(user.role_codes & {r.value for r in roles})


def access_to(user: UserRecord, case: CaseRecord, now: datetime | None = None) -> Access:
    """The user's access to the case now (see `policy.case_access`)."""
    session = object_session(case)
    if session is None:  # a case is only ever judged as loaded by a command's session
        raise ValueError("the case is not attached to a session")
    return case_access(session, user, case, now or engine_now())


def can_view_case(user: UserRecord, case: CaseRecord, now: datetime | None = None) -> bool:
    return access_to(user, case, now).allowed


def can_work_task(user: UserRecord, task: TaskRecord, now: datetime | None = None) -> bool:
    """A task is worked by someone of its municipality who holds the role its lane names; a task
    offered to one member body only by that body's people, and only while their basis holds."""
    if not (user.active and user.municipality_id == task.municipality_id and task.role in user.role_codes):
        return False
    if task.role == Role.COORDINATOR.value and not _coordinating_body(user, task.case, now):
        return False  # the coordinator lane is the designated body's work, not a role's
    if task.candidate_body_id is None:
        return True
    return task.candidate_body_id == user.organisation_id and _acting_basis(access_to(user, task.case, now))


def _acting_basis(found: Access) -> bool:
    # Break-glass lets a supervisor read in an emergency; it is never a basis to act on the case.
    return found.allowed and found.basis != Basis.BREAK_GLASS


def can_view_task(user: UserRecord, task: TaskRecord, now: datetime | None = None) -> bool:
    """An open task is seen by those who may work it; a finished one, which shows the answers given,
    only by those who may read the whole case file now."""
    if not (user.active and user.municipality_id == task.municipality_id):
        return False
    if task.status == TaskStatus.OPEN:
        return can_work_task(user, task, now)
    return access_to(user, task.case, now).full


def require_task_known(user: UserRecord, task: TaskRecord, now: datetime | None = None) -> None:
    """Refuse a task exactly as a missing one unless the user may work it or read its whole case (where
    the case page lists it anyway)."""
    if not (user.active and user.municipality_id == task.municipality_id):
        raise NotFound("no such task", element=str(task.id))
    workable = task.status == TaskStatus.OPEN and can_work_task(user, task, now)
    if not (workable or access_to(user, task.case, now).full):
        raise NotFound("no such task", element=str(task.id))


def require_task_view(user: UserRecord, task: TaskRecord, now: datetime | None = None) -> None:
    """Allow opening the task's page, or refuse: as missing when the user has no basis for it at all."""
    if can_view_task(user, task, now):
        return
    require_task_known(user, task, now)
    raise Forbidden(f"task '{task.element_id}' needs the role '{task.role}'", element=task.element_id)


def is_operator(user: UserRecord) -> bool:
    """Supervisors and administrators may retry a case stopped on an error."""
    return user.active and _holds(user, OPERATORS)


def require_case_view(user: UserRecord, case: CaseRecord, now: datetime | None = None) -> Access:
    """The user's access, or the same `NotFound` a missing case gives when they have no basis."""
    found = access_to(user, case, now)
    if not found.allowed:
        raise NotFound("no such case", element=str(case.id))
    return found


def require_case_action(user: UserRecord, case: CaseRecord, now: datetime | None = None) -> Access:
    """A basis to act on the case (reopen it, export it): any basis but a break-glass opening."""
    found = require_case_view(user, case, now)
    if found.basis == Basis.BREAK_GLASS:
        raise BreakGlassReadOnly("an emergency opening allows reading only", element=case.reference)
    return found


def require_case_file(user: UserRecord, case: CaseRecord, now: datetime | None = None) -> Access:
    """The whole case file, not only an action's packet."""
    found = require_case_view(user, case, now)
    if not found.full:
        raise Forbidden("your basis covers only your support action's information", element=case.reference)
    return found


def require_task_work(user: UserRecord, task: TaskRecord, now: datetime | None = None) -> None:
    """Allow working the task, or refuse: as missing when the user may not even see it."""
    if can_work_task(user, task, now):
        return
    require_task_known(user, task, now)
    if task.role in user.role_codes and task.candidate_body_id == user.organisation_id:
        raise Forbidden(f"your body no longer has a basis to work task '{task.element_id}'", element=task.element_id)
    raise Forbidden(f"task '{task.element_id}' needs the role '{task.role}'", element=task.element_id)


def require_case_coordination(user: UserRecord, case: CaseRecord, now: datetime | None = None) -> None:
    """Adding actions, recording consent changes and asking for reviews: case staff with the whole file."""
    require_case_view(user, case, now)
    if not _case_staff(user, case, now):
        raise Forbidden("only case staff may change this case", element=case.reference)
    require_case_file(user, case, now)
    require_case_action(user, case, now)


def can_coordinate_case(user: UserRecord, case: CaseRecord, now: datetime | None = None) -> bool:
    """Whether the case page offers adding actions, recording withdrawal and early reviews."""
    found = access_to(user, case, now)
    return _case_staff(user, case, now) and found.full and _acting_basis(found)


def _case_staff(user: UserRecord, case: CaseRecord, now: datetime | None) -> bool:
    """Caseworkers and supervisors, and coordinators only as staff of the case's coordinating body."""
    return _holds(user, CASE_STARTERS) or (_holds(user, {Role.COORDINATOR}) and _coordinating_body(user, case, now))


def _coordinating_body(user: UserRecord, case: CaseRecord, now: datetime | None) -> bool:
    session = object_session(case)
    if session is None:
        raise ValueError("the case is not attached to a session")
    return coordinates_for(session, user, case.municipality_id, (now or engine_now()).date())


def can_start_case(user: UserRecord) -> bool:
    return user.active and _holds(user, CASE_STARTERS)


def council_work(session: Session, user: UserRecord, now: datetime | None = None) -> list[int]:
    """The councils whose business the user runs: those their organisation is the designated coordinating
    body of (Act Art. 17(1)); none for the coordinator role alone."""
    return coordinated_councils(session, user, (now or engine_now()).date())


def require_council_work(session: Session, user: UserRecord, now: datetime | None = None) -> list[int]:
    """Running council business is the coordinating body's work: the councils the user runs, or refused."""
    councils = council_work(session, user, now)
    if not councils:
        raise Forbidden("only the coordinating body may run council business")
    return councils


def require_council_case(user: UserRecord, case: CaseRecord, now: datetime | None = None) -> None:
    """The coordinating body of a council the case's municipality belongs to acts on the cases tabled there."""
    if not (user.active and _holds(user, {Role.COORDINATOR}) and _coordinating_body(user, case, now)):
        require_case_view(user, case, now)
        raise Forbidden("only the coordinating body may run council business", element=case.reference)
    require_case_file(user, case, now)
    require_case_action(user, case, now)


def require_admin(user: UserRecord, case: CaseRecord | None = None) -> None:
    """Operations on the system itself: incidents, audit export."""
    if not (user.active and _holds(user, {Role.ADMIN})):
        raise Forbidden("only administrators may do this")
    if case is not None and case.municipality_id != user.municipality_id:
        raise NotFound("no such case", element=str(case.id))


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
    if not is_operator(user):
        raise Forbidden("only supervisors and administrators may retry a failed case")
    if case is not None and case.municipality_id != user.municipality_id:
        raise NotFound("no such case", element=str(case.id))


def require_designer(actor: UserRecord | None, municipality_id: int) -> None:
    """Changing a municipality's processes: its own active process designers and administrators. `None`
    is the operator at the command line."""
    if actor is None:
        return
    if not (actor.active and _holds(actor, {Role.DESIGNER, Role.ADMIN}) and actor.municipality_id == municipality_id):
        raise Forbidden("only process designers and administrators of this municipality may do this")


def require_municipal_admin(actor: UserRecord | None, municipality_id: int) -> None:
    """Setting up a municipality: its own active administrators in the pages. `None` is the operator at
    the command line, who holds the database itself; the audit row then says `via: cli`."""
    if actor is None:
        return
    if not (actor.active and _holds(actor, {Role.ADMIN}) and actor.municipality_id == municipality_id):
        raise Forbidden("only administrators of this municipality may do this")


def require_privacy_desk(user: UserRecord) -> None:
    """Data-subject requests (開示・訂正・利用停止請求, privacy law Arts. 76, 90, 98) are handled by the
    municipality's privacy desk: its active supervisors, who read and correct the person's whole record for
    the request. Administrators run the system and do not read case content."""
    if not (user.active and _holds(user, {Role.SUPERVISOR})):
        raise Forbidden("only supervisors handle data-subject requests")
