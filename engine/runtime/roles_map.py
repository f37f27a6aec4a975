"""Which role works a human task (user, manual or plain task) of a process version.

A task's role is, first that applies:
1. the role the package's lane mapping file `tsunagu.json` gives its lane: `{"lane_roles": {"<lane>": "<role>"}}`
   (the upload page writes this file when a lane's name is not a role code);
2. its lane's name, when that is a role code (Tsunagu's own models name lanes `caseworker`, `supervisor`...);
3. the first `camunda:candidateGroups` entry of the task that is a role code (Camunda Modeler files): the
   package parser keeps the attribute as the task spec's `extensions["candidateGroups"]`, so the runtime
   reads it from the spec (`candidate_role`), and `RoleMap.task_roles` may pin a role per element id;
4. None: the municipality's default role (`municipalities.default_role`, `caseworker` unless set).

`camunda:assignee` names a person of another system, never a Tsunagu user, so it only ever falls back to
the default role. Read the map once per process version (`read_role_map(version.files)`), then for each
task created: `task_role(role_map, element_id, lane) or candidate_role(extensions.get("candidateGroups"))`,
and the municipality's default role when both are None.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..roles import ROLE_CODES

LANE_MAPPING_FILE = "tsunagu.json"


@dataclass(frozen=True)
class RoleMap:
    """A version's lane-to-role mapping and the roles its tasks name themselves (by element id)."""

    lane_roles: dict[str, str] = field(default_factory=dict)
    task_roles: dict[str, str] = field(default_factory=dict)


def read_lane_roles(files: Mapping[str, str]) -> dict[str, str]:
    """The `lane_roles` of a package's `tsunagu.json`, or {} when there is none or it is malformed."""
    text = files.get(LANE_MAPPING_FILE)
    if not text:
        return {}
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        return {}
    mapping = document.get("lane_roles") if isinstance(document, dict) else None
    if not isinstance(mapping, dict):
        return {}
    return {str(lane): role for lane, role in mapping.items() if isinstance(role, str)}


def read_role_map(files: Mapping[str, str]) -> RoleMap:
    """The role map of a process version's files."""
    return RoleMap(lane_roles=read_lane_roles(files))


def task_role(role_map: RoleMap, element_id: str, lane: str | None) -> str | None:
    """The role that works this task, or None for the municipality's default role."""
    if lane is not None:
        mapped = role_map.lane_roles.get(lane)
        if mapped in ROLE_CODES:
            return mapped
        if lane in ROLE_CODES:
            return lane
    return role_map.task_roles.get(element_id)


def candidate_role(candidate_groups: str | None) -> str | None:
    """The first of a task's comma-separated `camunda:candidateGroups` that is a role code, or None."""
    return next((g.strip() for g in (candidate_groups or "").split(",") if g.strip() in ROLE_CODES), None)
