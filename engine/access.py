"""Who may see a case and who may work a task; every read and command asks here first."""
from __future__ import annotations

from .errors import Forbidden
from .models import CaseRecord, TaskRecord, UserRecord
from .roles import Role

CASE_READERS = {Role.CASEWORKER, Role.SUPERVISOR, Role.COORDINATOR, Role.ADMIN}
CASE_STARTERS = {Role.CASEWORKER, Role.SUPERVISOR}
CASE_COORDINATORS = {Role.CASEWORKER, Role.SUPERVISOR, Role.COORDINATOR}
OPERATORS = {Role.SUPERVISOR, Role.ADMIN}


def _holds(user: UserRecord, roles) -> bool:
    return bool(user.role_codes & {r.value for r in roles})


def can_view_case(user: UserRecord, case: CaseRecord) -> bool:
    """Staff of the case's own municipality whose role reads case files."""
    return user.active and user.municipality_id == case.municipality_id and _holds(user, CASE_READERS)


def can_work_task(user: UserRecord, task: TaskRecord) -> bool:
    """A task is worked by someone of its municipality who holds the role its lane names,
    and, for a task offered to one member body, who works for that body."""
    return (user.active and user.municipality_id == task.municipality_id and task.role in user.role_codes
            and (task.candidate_body_id is None or task.candidate_body_id == user.organisation_id))


def is_operator(user: UserRecord) -> bool:
    """Supervisors and administrators may retry a case stopped on an error."""
    return user.active and _holds(user, OPERATORS)


def require_case_view(user: UserRecord, case: CaseRecord) -> None:
    if not can_view_case(user, case):
        raise Forbidden("you may not see this case", element=case.reference)


def require_task_work(user: UserRecord, task: TaskRecord) -> None:
    if not can_work_task(user, task):
        raise Forbidden(f"task '{task.element_id}' needs the role '{task.role}'", element=task.element_id)


def require_case_coordination(user: UserRecord, case: CaseRecord) -> None:
    """Adding actions, recording consent changes and asking for reviews: the municipality's case staff."""
    if not (can_view_case(user, case) and _holds(user, CASE_COORDINATORS)):
        raise Forbidden("only case staff of the municipality may change this case", element=case.reference)


def require_council_work(user: UserRecord) -> None:
    """Running council business is the coordinating body's work."""
    if not (user.active and _holds(user, {Role.COORDINATOR})):
        raise Forbidden("only the coordinating body may run council business")


def require_council_case(user: UserRecord, case: CaseRecord) -> None:
    """A coordinator may act on cases of their own municipality tabled at the council."""
    require_council_work(user)
    if user.municipality_id != case.municipality_id:
        raise Forbidden("this case belongs to another municipality", element=case.reference)


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


def require_case_start(user: UserRecord) -> None:
    if not (user.active and _holds(user, CASE_STARTERS)):
        raise Forbidden("only caseworkers and supervisors may open a case")


def require_operator(user: UserRecord) -> None:
    if not is_operator(user):
        raise Forbidden("only supervisors and administrators may retry a failed case")
