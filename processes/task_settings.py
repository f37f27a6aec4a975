"""Task settings without XML: the table of a process's user and manual tasks (role, form, due and follow-up
times, priority, instructions) and its changes written back into the BPMN.

`read_table(files)` reads the table; `apply_settings(files, changes)` checks every change first (a refusal
names each task and field, and nothing is written) and rewrites only what changed. The rewrite is done on
an lxml tree and then spliced into the original text line by line, so namespaces, comments, the diagram
interchange and the modeller's formatting of every untouched line stay byte for byte. Moving a task to
another lane only changes the lanes' `flowNodeRef` lists: its shape stays where it is in the diagram.
`save_task_settings` makes the result the process's draft through `drafts.save_draft`, validated as an upload.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.engine import audit
from tsunagu.engine.access import permissions
from tsunagu.engine.clock import Clock
from tsunagu.engine.commands.versions import live_version
from tsunagu.engine.db import transaction
from tsunagu.engine.errors import Conflict, FieldError, FormInvalid
from tsunagu.engine.models import ProcessDraftRecord, UserRecord
from tsunagu.engine.roles import ROLE_CODES
from tsunagu.engine.runtime.roles_map import LANE_MAPPING_FILE, RoleMap, read_lane_roles, task_role

from . import drafts
from .bpmn_reading import BPMN, element_settings
from .loader import content_hash
from .package import SPIFFARENA_META
from .task_settings_xml import TreeEditor, parse_for_editing, splice

FIELDS = ("role", "form", "due", "follow_up", "priority", "instructions")
PROPERTY_OF = {"form": "formJsonSchemaFilename", "due": "dueIn", "follow_up": "followUpIn", "priority": "priority"}
UI_PROPERTY = "formUiSchemaFilename"
HUMAN_TASKS = ("userTask", "manualTask")
INSTRUCTIONS_MAX = 10_000
_DIGITS = re.compile(r"\d{1,3}")
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")

Changes = Mapping[str, Mapping[str, "str | None"]]


@dataclass(frozen=True)
class LaneChoice:
    """A lane a task can be moved to, with the role that works its tasks (None: not a role)."""

    id: str
    name: str
    role: str | None


@dataclass(frozen=True)
class TaskRow:
    """One user or manual task as the table shows it; None where the setting is absent."""

    id: str
    name: str | None
    kind: str
    process_id: str
    file: str
    lane_id: str | None
    lane: str | None
    role: str | None  # None: the municipality's default role
    form: str | None
    ui_form: str | None
    due: str | None
    follow_up: str | None
    priority: str | None
    instructions: str | None

    def value(self, name: str) -> str | None:
        """The current value of one of `FIELDS` (the role is the lane's id)."""
        return self.lane_id if name == "role" else getattr(self, name)


@dataclass(frozen=True)
class TaskTable:
    """The tasks of a package in document order, the lanes of each process and the forms to choose from."""

    rows: list[TaskRow]
    lanes: dict[str, list[LaneChoice]]
    forms: list[str]

    def row(self, element_id: str) -> TaskRow | None:
        return next((r for r in self.rows if r.id == element_id), None)


def read_table(files: Mapping[str, str]) -> TaskTable:
    """The table of a version's or a draft's files."""
    lane_roles = read_lane_roles(files)
    lanes: dict[str, list[LaneChoice]] = {}
    lane_of: dict[str, str] = {}
    for name in sorted(files):
        if name.lower().endswith(".bpmn"):
            root = parse_for_editing(name, files[name])
            for process in root.iterchildren(f"{{{BPMN}}}process"):
                choices = []
                for lane in process.iter(f"{{{BPMN}}}lane"):  # outer lanes first: the innermost wins below
                    lane_name = lane.get("name") or lane.get("id", "")
                    role = lane_roles.get(lane_name) or (lane_name if lane_name in ROLE_CODES else None)
                    choices.append(LaneChoice(lane.get("id", ""), lane_name, role if role in ROLE_CODES else None))
                    for ref in lane.iterchildren(f"{{{BPMN}}}flowNodeRef"):
                        lane_of[(ref.text or "").strip()] = lane.get("id", "")
                lanes.setdefault(process.get("id", ""), choices)
    rows = []
    settings = sorted(element_settings(dict(files)).values(), key=lambda s: (s.file, s.line or 0))
    for s in settings:
        if s.kind not in HUMAN_TASKS:
            continue
        props = s.properties
        rows.append(TaskRow(
            id=s.id, name=s.name, kind=s.kind, process_id=s.process_id, file=s.file, lane_id=lane_of.get(s.id),
            lane=s.lane, role=task_role(RoleMap(lane_roles), s.id, s.lane), form=props.get(PROPERTY_OF["form"]) or None,
            ui_form=props.get(UI_PROPERTY) or None, due=props.get("dueIn") or None,
            follow_up=props.get("followUpIn") or None, priority=props.get("priority") or None,
            instructions=s.instructions))
    return TaskTable(rows, lanes, form_files(files))


def form_files(files: Mapping[str, str]) -> list[str]:
    """The package's JSON files a task can use as its form (not layouts, the lane mapping or metadata)."""
    return sorted(n for n in files if n.endswith(".json") and not n.endswith("uischema.json")
                  and n not in (LANE_MAPPING_FILE, SPIFFARENA_META))


def effective_changes(files: Mapping[str, str], changes: Changes) -> dict[str, dict[str, str | None]]:
    """The changes that differ from the files, each value normalised; `FormInvalid` names every refused
    task and field (`<element>.<field>`) at once."""
    table = read_table(files)
    errors: list[FieldError] = []
    found: dict[str, dict[str, str | None]] = {}
    for element_id, fields in changes.items():
        row = table.row(element_id)
        if row is None:
            errors.append(FieldError(element_id, "task_unknown", {"task": element_id}))
            continue
        for name, raw in fields.items():
            try:
                value = _normalised(table, row, name, raw)
            except _Refused as refused:
                errors.append(FieldError(f"{element_id}.{name}", refused.code,
                                         {"task": element_id, "task_name": row.name, "field": name, **refused.params}))
                continue
            if value != row.value(name):
                found.setdefault(element_id, {})[name] = value
    if errors:
        raise FormInvalid(errors, element=errors[0].params.get("task"))
    return found


class _Refused(Exception):
    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code, self.params = code, params


def _normalised(table: TaskTable, row: TaskRow, name: str, raw: str | None) -> str | None:
    if name not in FIELDS:
        raise _Refused("field_unknown")
    value = (raw or "").replace("\r\n", "\n").replace("\r", "\n").strip() or None
    if value is not None and _FORBIDDEN.search(value):
        raise _Refused("characters_invalid")
    if name == "instructions":
        if value is not None and len(value) > INSTRUCTIONS_MAX:
            raise _Refused("maxLength", limit=INSTRUCTIONS_MAX)
        return value
    if value is not None and len(value) > 200:
        raise _Refused("maxLength", limit=200)
    if name in ("due", "follow_up") and value is not None:
        try:
            TimerEventDefinition.parse_iso_duration(value)
        except Exception:  # noqa: BLE001  (SpiffWorkflow raises plain exceptions for a bad duration)
            raise _Refused("duration_invalid", value=value) from None
    elif name == "priority" and value is not None:
        if not _DIGITS.fullmatch(value) or not 0 <= int(value) <= 100:
            raise _Refused("priority_invalid", value=value)
        value = str(int(value))
    elif name == "form":
        if row.kind != "userTask" and value is not None:
            raise _Refused("form_not_allowed")
        if value is not None and value not in table.forms:
            raise _Refused("form_file_unknown", value=value)
    elif name == "role":
        if value is None and row.lane_id is None:
            return None  # outside every lane, and left there
        return _lane_for(table.lanes.get(row.process_id, []), value, row)
    return value


def _lane_for(lanes: list[LaneChoice], value: str | None, row: TaskRow) -> str:
    """The id of the lane `value` names: a lane id, a lane name, or a role code some lane works."""
    if not lanes:
        raise _Refused("lanes_missing")
    if value is None:
        raise _Refused("role_unknown", value="")
    for match in (lambda lane: lane.id == value, lambda lane: lane.name == value,
                  lambda lane: lane.role == value):
        hits = [lane.id for lane in lanes if match(lane)]
        if row.lane_id in hits:
            return row.lane_id  # already there
        if hits:
            return hits[0]
    if value in ROLE_CODES:
        raise _Refused("role_has_no_lane", value=value)
    raise _Refused("role_unknown", value=value)


def apply_settings(files: Mapping[str, str], changes: Changes) -> dict[str, str]:
    """The package's files with `changes` ({element id: {field: value}}, "" or None removes a setting)
    written into its BPMN; everything else stays as it was. Refuses with `FormInvalid`, writing nothing."""
    effective = effective_changes(files, changes)
    result = dict(files)
    if not effective:
        return result
    table = read_table(files)
    by_file: dict[str, dict[str, dict[str, str | None]]] = {}
    for element_id, fields in effective.items():
        row = table.row(element_id)
        assert row is not None  # noqa: S101  (effective_changes refused unknown tasks)
        by_file.setdefault(row.file, {})[element_id] = fields
    for name, edits in by_file.items():
        root = parse_for_editing(name, files[name])
        original = etree.tostring(root, encoding="unicode")
        editor = TreeEditor(root)
        for element_id, fields in edits.items():
            task = editor.element(element_id)
            for setting, value in fields.items():
                if setting == "role":
                    editor.move_to_lane(task, str(value))
                elif setting == "instructions":
                    editor.set_instructions(task, value)
                else:
                    editor.set_property(task, PROPERTY_OF[setting], value)
                    if setting == "form":
                        editor.set_property(task, UI_PROPERTY, _layout_for(value, files))
        result[name] = splice(files[name], original, etree.tostring(root, encoding="unicode"))
    return result


def _layout_for(form: str | None, files: Mapping[str, str]) -> str | None:
    """A form's layout file by the modeller's naming (`x-schema.json` -> `x-uischema.json`), if present."""
    if form is None or not form.endswith("schema.json"):
        return None
    layout = form[: -len("schema.json")] + "uischema.json"
    return layout if layout in files else None


@dataclass(frozen=True)
class Source:
    """The files the table is read from: the draft waiting for deployment, else the live version."""

    files: dict[str, str]
    draft: ProcessDraftRecord | None
    version_number: int | None
    base: str = field(default="")  # hash of the files, so a save over someone else's newer draft is refused


def settings_source(session: Session, municipality_id: int, process_id: str) -> Source:
    """The draft of the process if one waits, else its live version for the municipality (`NotFound`)."""
    draft = session.scalar(select(ProcessDraftRecord).where(
        ProcessDraftRecord.municipality_id == municipality_id, ProcessDraftRecord.process_id == process_id))
    if draft is not None:
        return Source(dict(draft.files), draft, None, content_hash(dict(draft.files)))
    version = live_version(session, municipality_id, process_id)
    return Source(dict(version.files), None, version.version_number, content_hash(dict(version.files)))


def change_list(table: TaskTable, effective: Mapping[str, Mapping[str, str | None]]) -> list[dict[str, Any]]:
    """The changes as the audit row and the pages name them: task, field, before and after (instructions
    by length only)."""
    listed = []
    for element_id, fields in effective.items():
        row = table.row(element_id)
        for name, value in fields.items():
            before = row.value(name) if row else None
            if name == "instructions":
                before, value = (f"{len(before)} chars" if before else None), (f"{len(value)} chars" if value else None)
            listed.append({"task": element_id, "field": name, "from": before, "to": value})
    return listed


def save_task_settings(session: Session, clock: Clock, actor: UserRecord | None, municipality_id: int,
                       process_id: str, changes: Changes, *, base: str | None = None, via: str = "web",
                       operator: str | None = None) -> tuple[ProcessDraftRecord | None, list[dict[str, Any]]]:
    """Write the changed settings into a new draft of the process (validated in full like an upload) and
    audit which tasks and fields changed; (None, []) when nothing differs from the source."""
    permissions.require_designer(actor, municipality_id)
    source = settings_source(session, municipality_id, process_id)
    if base is not None and base != source.base:
        raise Conflict("the process's draft changed since the table was opened; reload it", element=process_id)
    effective = effective_changes(source.files, changes)
    if not effective:
        return None, []
    listed = change_list(read_table(source.files), effective)
    files = apply_settings(source.files, effective)
    with transaction(session):
        # save_draft validates the files in full and then commits its own transaction, which carries this
        # row: both are written or neither (a refused package rolls this block back).
        audit.record(session, clock, actor, "process.task_settings_changed", process=process_id,
                     municipality=municipality_id, changes=listed, via=via, operator=operator,
                     source="draft" if source.draft is not None else f"version {source.version_number}")
        draft = drafts.save_draft(session, clock, actor, municipality_id, files, preferred_id=process_id, via=via,
                                  operator=operator)
    return draft, listed
