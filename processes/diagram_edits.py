"""A diagram edited in the browser's modeller: the BPMN file a designer opens (from the waiting draft, else the
live version) and the edited file saved back as the process's draft, validated in full like an upload.

The modeller rewrites the whole file (bpmn-js serialises its own model), so unlike the task settings nothing
is spliced: the posted text replaces the file and every other file of the package stays as it was, except the lane
mapping file `tsunagu.json`, which the modeller's lane panel edits beside the diagram.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from tsunagu.engine import audit
from tsunagu.engine.access import permissions
from tsunagu.engine.clock import Clock
from tsunagu.engine.db import transaction
from tsunagu.engine.errors import Conflict, DefinitionInvalid, DefinitionProblem, TsunaguError
from tsunagu.engine.models import ProcessDraftRecord, UserRecord
from tsunagu.engine.roles import ROLE_CODES
from tsunagu.engine.runtime.roles_map import LANE_MAPPING_FILE, read_lane_roles

from . import drafts
from .bpmn_reading import BPMN, bpmn_roots
from .loader import lanes_of
from .task_settings import Source, settings_source
from .task_settings_xml import parse_for_editing

DIAGRAM_MAX = 2_000_000  # characters of one BPMN file posted from the modeller
LANE_ROLES_MAX = 20_000  # characters of the lane mapping posted with it


@dataclass(frozen=True)
class Diagram:
    """The BPMN file the modeller edits, the package it belongs to and the file names the panel offers."""

    source: Source
    file: str
    xml: str


def diagram_file(files: Mapping[str, str], process_id: str) -> str:
    """The package's BPMN file that defines `process_id` (else its first BPMN file)."""
    names = sorted(n for n in files if n.lower().endswith(".bpmn"))
    if not names:
        raise DefinitionInvalid([DefinitionProblem("", None, "no_bpmn", "the package has no .bpmn file")])
    for name, root in bpmn_roots(dict(files)):
        if any(p.get("id") == process_id for p in root.iterchildren(f"{{{BPMN}}}process")):
            return name
    return names[0]


def open_diagram(session: Session, municipality_id: int, process_id: str) -> Diagram:
    """The diagram of the process's waiting draft, else of its live version (`NotFound`)."""
    source = settings_source(session, municipality_id, process_id)
    name = diagram_file(source.files, process_id)
    return Diagram(source, name, source.files[name])


def save_diagram(session: Session, clock: Clock, actor: UserRecord | None, municipality_id: int, process_id: str,
                 xml: str, *, lane_roles: Mapping[str, str] | None = None, base: str | None = None,
                 via: str = "web", operator: str | None = None) -> ProcessDraftRecord | None:
    """Replace the process's BPMN file with `xml` (and the lane mapping with `lane_roles` unless None) and keep
    the package as its draft (validated in full: `DefinitionInvalid` lists every problem and nothing is stored);
    None when nothing changed."""
    permissions.require_designer(actor, municipality_id)
    opened = open_diagram(session, municipality_id, process_id)
    if base is not None and base != opened.source.base:
        raise Conflict("the process's draft changed since the modeller was opened; reload it", element=process_id)
    text = xml.replace("\r\n", "\n")
    if len(text) > DIAGRAM_MAX:
        raise DefinitionInvalid([DefinitionProblem(opened.file, None, "package_too_large",
                                                   f"the diagram is longer than {DIAGRAM_MAX} characters")])
    if "\x00" in text or not text.strip():
        raise DefinitionInvalid([DefinitionProblem(opened.file, None, "xml_invalid", "the diagram is empty")])
    files = {**opened.source.files, opened.file: text}
    if lane_roles is not None:
        files = with_lane_roles(files, lane_roles, opened.file)
    if files == opened.source.files:
        return None
    _require_process(opened.file, text, process_id)
    mapping = read_lane_roles(files)
    with transaction(session):
        # save_draft validates in full and commits its own transaction, which carries this audit row too:
        # both are written or neither.
        audit.record(session, clock, actor, "process.diagram_edited", process=process_id,
                     municipality=municipality_id, file=opened.file, via=via, operator=operator,
                     source="draft" if opened.source.draft is not None else f"version {opened.source.version_number}",
                     lane_roles=mapping if mapping != read_lane_roles(opened.source.files) else None)
        return drafts.save_draft(session, clock, actor, municipality_id, files, preferred_id=process_id, via=via,
                                 operator=operator)


def save_lane_role(session: Session, clock: Clock, actor: UserRecord | None, municipality_id: int,
                   process_id: str, lane: str, role: str | None, *, via: str = "cli",
                   operator: str | None = None) -> tuple[ProcessDraftRecord | None, str | None]:
    """Map the lane (by name or id) to `role` (None removes the mapping) and keep the package as the process's
    draft, validated like an upload; returns the draft (None when nothing changed) and the lane's former role."""
    permissions.require_designer(actor, municipality_id)
    opened = open_diagram(session, municipality_id, process_id)
    files = dict(opened.source.files)
    name = _lane_name(files, opened.file, lane)
    mapping = read_lane_roles(files)
    previous = mapping.get(name)
    if role is None:
        mapping.pop(name, None)
    else:
        mapping[name] = role
    changed = with_lane_roles(files, mapping, opened.file)
    if changed == files:
        return None, previous
    with transaction(session):
        audit.record(session, clock, actor, "process.lane_role_set", process=process_id,
                     municipality=municipality_id, lane=name, role=role, previous=previous, via=via,
                     operator=operator)
        draft = drafts.save_draft(session, clock, actor, municipality_id, changed, preferred_id=process_id, via=via,
                                  operator=operator)
    return draft, previous


def parse_lane_roles(text: str) -> dict[str, str]:
    """The lane mapping the modeller posts, a JSON object of lane name to role code (`DefinitionInvalid` when it
    is anything else)."""
    def refused(message: str) -> DefinitionInvalid:
        return DefinitionInvalid([DefinitionProblem(LANE_MAPPING_FILE, None, "lane_mapping_invalid", message)])

    if len(text) > LANE_ROLES_MAX:
        raise refused(f"the lane mapping is longer than {LANE_ROLES_MAX} characters")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise refused(f"the lane mapping is not JSON: {exc.msg}") from None
    if not isinstance(value, dict) or not all(isinstance(r, str) for r in value.values()):
        raise refused('expected {"<lane name>": "<role code>"}')
    return {str(lane): role for lane, role in value.items()}


def with_lane_roles(files: Mapping[str, str], mapping: Mapping[str, str], diagram: str) -> dict[str, str]:
    """The package with its lane mapping file holding `mapping` for the lanes its diagrams have (an empty role
    means no mapping); an unknown role code is refused naming its lane, as the upload's check would."""
    try:
        lanes = set(lanes_of(dict(files)))
    except TsunaguError:  # broken XML: the full validation names it
        lanes = set()
    kept = {lane: role for lane, role in mapping.items() if lane in lanes and role}
    unknown = {lane: role for lane, role in kept.items() if role not in ROLE_CODES}
    if unknown:
        ids = _lane_ids(diagram, files.get(diagram, ""))
        raise DefinitionInvalid([
            DefinitionProblem(LANE_MAPPING_FILE, ids.get(lane, lane), "lane_mapping_unknown_role",
                              f"lane '{lane}': '{role}' is not a role ({', '.join(sorted(ROLE_CODES))})",
                              element_name=lane)
            for lane, role in unknown.items()])
    result = dict(files)
    if read_lane_roles(files) == kept and (kept or LANE_MAPPING_FILE not in files):
        return result
    try:
        document = json.loads(files.get(LANE_MAPPING_FILE) or "{}")
    except json.JSONDecodeError:
        document = {}
    document = document if isinstance(document, dict) else {}
    document["lane_roles"] = kept
    if not kept and set(document) == {"lane_roles"}:
        result.pop(LANE_MAPPING_FILE, None)
    else:
        result[LANE_MAPPING_FILE] = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    return result


def _lane_ids(name: str, text: str) -> dict[str, str]:
    """Lane name to lane id in one BPMN file ({} when it cannot be read)."""
    try:
        root = parse_for_editing(name, text)
    except DefinitionInvalid:
        return {}
    return {lane.get("name") or "": lane.get("id") or "" for lane in root.iter(f"{{{BPMN}}}lane")}


def _lane_name(files: Mapping[str, str], diagram: str, lane: str) -> str:
    """The name of the package's lane given by name or by id (`DefinitionInvalid` naming it otherwise)."""
    names = lanes_of(dict(files))
    if lane in names:
        return lane
    by_id = {lane_id: name for name, lane_id in _lane_ids(diagram, files[diagram]).items()}
    if lane in by_id:
        return by_id[lane]
    raise DefinitionInvalid([DefinitionProblem(LANE_MAPPING_FILE, lane, "lane_mapping_unknown_lane",
                                               f"the diagrams have no lane '{lane}' ({', '.join(names) or 'no lanes'})")])


def _require_process(name: str, text: str, process_id: str) -> None:
    """Refuse a diagram that no longer defines the process it was opened for (the draft would belong to
    another process); broken XML is left to the validator, which names its line."""
    try:
        root = parse_for_editing(name, text)
    except DefinitionInvalid:
        return
    if not any(p.get("id") == process_id for p in root.iterchildren(f"{{{BPMN}}}process")):
        raise DefinitionInvalid([DefinitionProblem(name, None, "process_missing",
                                                   f"the diagram no longer defines the process {process_id}")])
