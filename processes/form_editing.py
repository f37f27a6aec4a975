"""A task form's changes written back: the fields a designer edited (see `form_model`) into the form's JSON
Schema file and its layout file, and the result saved as the process's draft.

Only the keywords the editor shows are rewritten; every other keyword of a field (maxLength, default,
x-special-care...) stays where it was, and a locked field is kept as it is. The files are written as JSON
with two-space indents and Japanese as it is (`ensure_ascii=False`), keys in their order; a file whose
content did not change keeps its bytes. `save_form` makes the result the process's draft through
`drafts.save_draft`, validated like an upload, after `form_checks.check_model` (every refused field at once).
"""
from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session

from tsunagu.engine import audit
from tsunagu.engine.access import permissions
from tsunagu.engine.clock import Clock
from tsunagu.engine.db import transaction
from tsunagu.engine.errors import Conflict, FormInvalid
from tsunagu.engine.models import ProcessDraftRecord, UserRecord
from tsunagu.engine.runtime.forms import NOT_AFTER_KEY, NOT_BEFORE_KEY, field_type

from . import drafts
from .form_checks import check_model
from .form_model import WIDGETS, FormField, FormModel, choices_of, read_form, read_json
from .form_renames import renames
from .task_settings import settings_source

# --- writing -------------------------------------------------------------------------------------


def _const(value: str, kind: str) -> Any:
    """A choice's value in the field's type (the checks refuse a value that is not one; the preview keeps it)."""
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            number = float(value)
            return int(number) if number.is_integer() else number
    except ValueError:
        return value
    return value


def _set(target: dict[str, Any], key: str, value: Any) -> None:
    """Set `key` where it is (or at the end), or remove it when `value` is empty."""
    if value in (None, "", False):
        target.pop(key, None)
    else:
        target[key] = value


def _write_field(prop: dict[str, Any], ui: dict[str, Any], f: FormField) -> None:
    if f.original is None:  # a new field: its type first, as a modeller writes it
        prop["type"] = "array" if f.type == "multiple" else "string" if f.type == "date" else f.type
        if f.type == "date":
            prop["format"] = "date"
        if f.type == "multiple":
            prop["uniqueItems"] = True
            prop["items"] = {"type": "string"}
    for key, value in (("title", f.title.strip()), ("description", f.description.strip())):
        if f"ui:{key}" in ui:
            ui[f"ui:{key}"] = value  # the renderer reads the layout's title first
        else:
            _set(prop, key, value)
    _set(ui, "ui:help", f.help.strip())
    if f.type == "date":
        _set(prop, NOT_AFTER_KEY, "today" if f.not_after_today else None)
        _set(prop, NOT_BEFORE_KEY, "today" if f.not_before_today else None)
    target = prop["items"] if f.type == "multiple" else prop
    if f.type != "boolean":
        listed = choices_of(target)
        current = listed[0] if listed else []
        if [(c.value, c.title) for c in f.choices] != [(c.value, c.title) for c in current]:
            for key in ("enum", "enumNames", "oneOf"):
                target.pop(key, None)
            if f.choices:
                kind = str(field_type(target))
                target["oneOf"] = [{"const": _const(c.value.strip(), kind), "title": c.title.strip() or c.value.strip()}
                                   for c in f.choices]
    if f.widget or ui.get("ui:widget") in WIDGETS.get(f.widget_kind, ()):
        _set(ui, "ui:widget", f.widget)  # a widget the editor does not offer stays as the file has it


def apply_form(files: Mapping[str, str], schema_file: str, model: FormModel) -> dict[str, str]:
    """The package's files with the form (and its layout file) rewritten from `model`, after every check
    (`FormInvalid` names each refused field; nothing is written). Untouched keywords stay as they are."""
    stored = read_form(files, schema_file)
    errors = check_model(files, stored, model)
    if errors:
        raise FormInvalid(errors, element=schema_file[:200])
    return write_form(files, stored, model)


def write_form(files: Mapping[str, str], stored: FormModel, model: FormModel) -> dict[str, str]:
    """The files with `model` written in, unchecked (the preview renders an unsaved, maybe invalid model)."""
    schema = read_json(files, stored.schema_file)
    ui = read_json(files, stored.ui_file) if stored.ui_file else {}
    old_schema, old_ui = copy.deepcopy(schema), copy.deepcopy(ui)
    _set(schema, "title", model.title.strip())
    _set(schema, "description", model.description.strip())
    props: dict[str, Any] = schema["properties"] if isinstance(schema.get("properties"), dict) else {}
    by_original = {f.original: f for f in model.fields if f.original is not None}
    renamed = renames(stored, model)
    required_before = [renamed.get(r, r) for r in schema.get("required") or [] if isinstance(r, str)] \
        if isinstance(schema.get("required"), list) else []
    written: dict[str, dict[str, Any]] = {}
    for f in model.fields:
        if f.locked is not None:
            continue
        original = f.original or ""
        prop: dict[str, Any] = props[original] if isinstance(props.get(original), dict) else {}
        entry: dict[str, Any] = ui[original] if isinstance(ui.get(original), dict) else {}
        _write_field(prop, entry, f)
        written[f.name] = prop
        if stored.ui_file is not None and entry and not (original in renamed and original in ui):
            ui[f.name] = entry  # an existing entry was edited in place and keeps its position
    new_props: dict[str, Any] = {}
    for name, prop in props.items():  # the file's order for the fields it had, new ones at the end
        kept = by_original.get(name)
        if kept is not None:
            new_props[kept.name] = written.get(kept.name, prop)
        else:
            ui.pop(name, None)
    if renamed:  # a renamed field's layout entry keeps its place under the new name
        ui = {renamed.get(k, k): v for k, v in ui.items()}
    for f in model.fields:
        if f.original is None:
            new_props[f.name] = written[f.name]
    order = [f.name for f in model.fields if f.name in new_props]
    if stored.ui_file is None:  # no layout file: the schema's own order is the order
        new_props = {name: new_props[name] for name in order}
    elif "ui:order" in ui:
        ui["ui:order"] = order
    elif order != list(new_props):
        ui = {"ui:order": order, **ui}
    schema["properties"] = new_props
    required = [r for r in required_before if any(f.name == r and f.required for f in model.fields)]
    required += [f.name for f in model.fields if f.required and f.name not in required]
    if required or "required" in schema:
        schema["required"] = required
    result = dict(files)
    if schema != old_schema:
        result[stored.schema_file] = _dumped(schema, files[stored.schema_file])
    if stored.ui_file is not None and ui != old_ui:
        result[stored.ui_file] = _dumped(ui, files[stored.ui_file])
    return result


_ONE_LINE_ENTRY = re.compile(r'^\s+"[^"\n]+":\s*\{[^{}\[\]\n]*\},?$', re.M)


def _dumped(document: dict[str, Any], original: str) -> str:
    """JSON with two-space indents; where the file wrote small objects on one line (`"x": {"ui:widget":
    "radio"}`, as layout files often do), such objects stay on one line, so a diff shows only what changed."""
    end = "\n" if original.endswith("\n") else ""
    if not _ONE_LINE_ENTRY.search(original):
        return json.dumps(document, ensure_ascii=False, indent=2) + end
    return _compact_leaves(document, 0) + end


def _compact_leaves(node: Any, depth: int) -> str:
    if isinstance(node, dict) and node and (depth == 0 or any(isinstance(v, (dict, list)) for v in node.values())):
        inner = ",\n".join(f"{'  ' * (depth + 1)}{json.dumps(k, ensure_ascii=False)}: {_compact_leaves(v, depth + 1)}"
                           for k, v in node.items())
        return "{\n" + inner + "\n" + "  " * depth + "}"
    if isinstance(node, dict):
        return json.dumps(node, ensure_ascii=False, separators=(", ", ": "))
    return json.dumps(node, ensure_ascii=False, indent=2).replace("\n", "\n" + "  " * depth)


def documents(files: Mapping[str, str], model: FormModel) -> tuple[dict[str, Any], dict[str, Any]]:
    """The form and layout the model makes, unchecked, as the task page would read them (for the preview)."""
    stored = read_form(files, model.schema_file)
    named = [replace(f, name=f.name if f.name.isidentifier() else f"field_{i}") for i, f in enumerate(model.fields, 1)]
    written = write_form(files, stored, replace(model, fields=named))
    ui = json.loads(written[stored.ui_file]) if stored.ui_file else {}
    return json.loads(written[stored.schema_file]), ui


# --- saving as the draft -------------------------------------------------------------------------


def change_list(stored: FormModel, model: FormModel) -> list[dict[str, Any]]:
    """What changed, as the audit row names it: each field added, removed, renamed (`from` its old name) or
    changed, and by which setting."""
    listed: list[dict[str, Any]] = []
    if (stored.title, stored.description) != (model.title, model.description):
        listed.append({"field": None, "change": "form"})
    kept = {f.original for f in model.fields}
    listed += [{"field": f.name, "change": "removed"} for f in stored.fields if f.name not in kept]
    for f in model.fields:
        before = stored.field(f.original) if f.original else None
        if before is None:
            listed.append({"field": f.name, "change": "added", "type": f.type, "required": f.required})
            continue
        if before.name != f.name:
            listed.append({"field": f.name, "change": "renamed", "from": before.name})
        changed = [k for k in ("title", "description", "help", "required", "choices", "not_after_today",
                               "not_before_today", "widget") if getattr(before, k) != getattr(f, k)]
        if changed:
            listed.append({"field": f.name, "change": "changed", "settings": changed})
    if [f.original for f in model.fields if f.original] != [f.name for f in stored.fields if f.name in kept]:
        listed.append({"field": None, "change": "order"})
    return listed


def save_form(session: Session, clock: Clock, actor: UserRecord | None, municipality_id: int, process_id: str,
              schema_file: str, model: FormModel, *, base: str | None = None, via: str = "web",
              operator: str | None = None) -> tuple[ProcessDraftRecord | None, list[dict[str, Any]]]:
    """Write the edited form into a new draft of the process (validated in full like an upload) and audit
    what changed; (None, []) when nothing differs from the draft or live version it was read from."""
    permissions.require_designer(actor, municipality_id)
    source = settings_source(session, municipality_id, process_id)
    if base is not None and base != source.base:
        raise Conflict("the process's draft changed since the form was opened; reload it", element=process_id)
    files = apply_form(source.files, schema_file, model)
    if files == source.files:
        return None, []
    listed = change_list(read_form(source.files, schema_file), model)
    with transaction(session):
        # save_draft validates the files in full and commits its own transaction, which carries this row.
        audit.record(session, clock, actor, "process.form_changed", process=process_id, municipality=municipality_id,
                     form=schema_file, changes=listed, via=via, operator=operator,
                     source="draft" if source.draft is not None else f"version {source.version_number}")
        draft = drafts.save_draft(session, clock, actor, municipality_id, files, preferred_id=process_id, via=via,
                                  operator=operator)
    return draft, listed
