"""Who works a new human task: the version's lane mapping, a lane named after a role, a Camunda candidate
group naming one, else the municipality's default role."""
from __future__ import annotations

from sqlalchemy.orm import Session

from ..models import CaseRecord, MunicipalityRecord, ProcessVersionRecord
from ..roles import ROLE_CODES
from ..runtime.roles_map import RoleMap, read_role_map, task_role
from ..runtime.stored_versions import files_of
from ..runtime.workflow import UserTaskView


def resolve_role(session: Session, case: CaseRecord, roles: RoleMap, view: UserTaskView) -> str:
    """The role that works a new human task: the version's lane mapping for its lane, the lane itself
    if it names a role, a Camunda candidate group that names one, else the municipality's default role."""
    role = task_role(roles, view.element_id, view.lane)
    if role is None:
        role = next((group for group in view.candidate_groups if group in ROLE_CODES), None)
    if role is None:
        municipality = session.get(MunicipalityRecord, case.municipality_id)
        role = municipality.default_role if municipality is not None else None
    return role if role in ROLE_CODES else DEFAULT_ROLE


DEFAULT_ROLE = "caseworker"
_ROLE_MAPS: dict[str, RoleMap] = {}


def role_map_of(version: ProcessVersionRecord) -> RoleMap:
    # A version's files never change: read its lane mapping and candidate groups once per version.
    found = _ROLE_MAPS.get(version.content_hash)
    if found is None:
        if len(_ROLE_MAPS) > 256:
            _ROLE_MAPS.clear()
        found = _ROLE_MAPS[version.content_hash] = read_role_map(files_of(version))
    return found
