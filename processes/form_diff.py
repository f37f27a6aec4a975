"""Compare the forms (JSON Schema files and their UI schema files) of two versions of a process: forms added
or removed, and per field its title, type, required, choices, date rules and any other keyword.

Pure functions over a package's files (name -> text). A field is named by its path (`household.members`,
`contacts[].phone`); a UI schema file's settings are compared as part of the form it lays out.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .changes import AttributeChange, ChangeStatus, FileChange, compare_attributes

_UI_SUFFIXES = ("uischema.json", "ui-schema.json", "ui_schema.json")
_OPTION_KEYS = ("oneOf", "anyOf", "enum")


@dataclass(frozen=True)
class FieldChange:
    """One field of a form added, removed or changed, with each keyword that changed."""

    path: str
    title: str | None
    status: ChangeStatus
    changes: tuple[AttributeChange, ...]


@dataclass(frozen=True)
class FormChange:
    """One form (its JSON Schema file) added, removed or changed: its own keywords and its fields."""

    file: str
    title: str | None
    status: ChangeStatus
    changes: tuple[AttributeChange, ...] = ()
    fields: tuple[FieldChange, ...] = ()


def is_ui_file(name: str) -> bool:
    return name.lower().endswith(_UI_SUFFIXES)


def is_form_file(name: str) -> bool:
    return name.lower().endswith("schema.json")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _options(schema: dict[str, Any]) -> dict[str, str | None]:
    """A field's choices: `option.<value>` -> the title users see (the value itself where there is none)."""
    found: dict[str, str | None] = {}
    for key in _OPTION_KEYS:
        listed = schema.get(key)
        if not isinstance(listed, list):
            continue
        for choice in listed:
            if key == "enum":
                found[f"option.{_text(choice)}"] = _text(choice)
            elif isinstance(choice, dict) and "const" in choice:
                found[f"option.{_text(choice['const'])}"] = _text(choice.get("title", choice["const"]))
    return found


def _keywords(schema: dict[str, Any], prefix: str = "") -> dict[str, str | None]:
    """Every keyword of a field but its sub-fields, with its choices one by one."""
    values: dict[str, str | None] = {}
    has_options = any(isinstance(schema.get(k), list) and (k == "enum" or all(
        isinstance(c, dict) and "const" in c for c in schema[k])) for k in _OPTION_KEYS)
    for key, value in schema.items():
        if key in ("properties", "required") or (has_options and key in _OPTION_KEYS):
            continue
        if key == "items" and isinstance(value, dict) and not value.get("properties"):
            values.update(_keywords(value, "items."))
            continue
        if key == "items" and isinstance(value, dict):
            continue
        values[prefix + key] = _text(value)
    if has_options:
        values.update(_options(schema))  # an array's choices are its field's, whatever the prefix
    return values


Fields = dict[str, tuple[str | None, dict[str, str | None]]]  # path -> (title, keywords)


def _fields(schema: dict[str, Any], ui: dict[str, Any], prefix: str = "") -> Fields:
    """Each field of a schema by path: its title and its keywords (with the UI schema's settings)."""
    found: Fields = {}
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return found
    listed = schema.get("required")
    required: list[Any] = listed if isinstance(listed, list) else []
    for name, sub in properties.items():
        path = f"{prefix}{name}"
        sub = sub if isinstance(sub, dict) else {}
        laid_out = ui.get(name)
        layout: dict[str, Any] = laid_out if isinstance(laid_out, dict) else {}
        values = _keywords(sub)
        values["required"] = "true" if name in required else "false"
        values.update({k: _text(v) for k, v in layout.items() if str(k).startswith("ui:")})
        title = sub.get("title") if isinstance(sub.get("title"), str) else None
        found[path] = (title, values)
        found.update(_fields(sub, layout, path + "."))
        items = sub.get("items")
        if isinstance(items, dict) and items.get("properties"):
            items_layout = layout.get("items")
            found.update(_fields(items, items_layout if isinstance(items_layout, dict) else {}, path + "[]."))
    return found


def _load(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


@dataclass(frozen=True)
class _Form:
    title: str | None
    values: dict[str, str | None]
    fields: Fields


def _read(files: dict[str, str], name: str, ui_name: str | None) -> _Form | None:
    schema = _load(files.get(name))
    if schema is None:
        return None
    ui = _load(files.get(ui_name) if ui_name else None) or {}
    values = {k: _text(v) for k, v in schema.items() if k not in ("properties", "required")}
    values.update({k: _text(v) for k, v in ui.items() if str(k).startswith("ui:")})
    title = schema.get("title") if isinstance(schema.get("title"), str) else None
    return _Form(title, values, _fields(schema, ui))


def form_pairs(names: Iterable[str], named: dict[str, str] | None = None) -> dict[str, str | None]:
    """Each form file with the UI schema file that lays it out: the pairs the process's tasks name, else
    by file name (`intake-schema.json` with `intake-uischema.json`); a UI file without a form is its own."""
    names = set(names)
    pairs: dict[str, str | None] = {n: None for n in names if is_form_file(n) and not is_ui_file(n)}
    for schema, ui in (named or {}).items():
        if schema in names:
            pairs[schema] = ui if ui in names else None
    taken = {ui for ui in pairs.values() if ui}
    for ui in sorted(n for n in names if is_ui_file(n) and n not in taken):
        lower = ui.lower()
        suffix = next(s for s in _UI_SUFFIXES if lower.endswith(s))
        schema = ui[: len(ui) - len(suffix)] + "schema.json"
        if schema in pairs and pairs[schema] is None:
            pairs[schema] = ui
        else:
            pairs[ui] = None
    return pairs


def diff_forms(old_files: dict[str, str], new_files: dict[str, str], named: dict[str, str] | None = None
               ) -> tuple[tuple[FormChange, ...], tuple[FileChange, ...]]:
    """The forms added, removed and changed (by their schema file), and the form files in both versions that
    changed but cannot be read as JSON objects. `named` pairs form files with UI files as tasks name them."""
    old_pairs, new_pairs = form_pairs(old_files, named), form_pairs(new_files, named)
    found: list[FormChange] = []
    unreadable: list[FileChange] = []
    for name in sorted(set(old_pairs) | set(new_pairs)):
        in_old, in_new = name in old_pairs, name in new_pairs
        old_ui, new_ui = old_pairs.get(name), new_pairs.get(name)
        if in_old and in_new and all(old_files.get(n) == new_files.get(n) for n in {name, old_ui, new_ui} if n):
            continue
        before = _read(old_files, name, old_ui) if in_old else None
        after = _read(new_files, name, new_ui) if in_new else None
        if in_new and not in_old:
            found.append(FormChange(name, after.title if after else None, ChangeStatus.ADDED))
        elif in_old and not in_new:
            found.append(FormChange(name, before.title if before else None, ChangeStatus.REMOVED))
        elif before is None or after is None:
            unreadable.append(FileChange(name, ChangeStatus.CHANGED))
        else:
            changed = _form_change(name, before, after)
            if changed is not None:
                found.append(changed)
    return tuple(found), tuple(unreadable)


def _form_change(name: str, before: _Form, after: _Form) -> FormChange | None:
    fields: list[FieldChange] = []
    for path, (title, values) in after.fields.items():
        if path not in before.fields:
            fields.append(FieldChange(path, title, ChangeStatus.ADDED, compare_attributes({}, values)))
            continue
        changes = compare_attributes(before.fields[path][1], values)
        if changes:
            fields.append(FieldChange(path, title or before.fields[path][0], ChangeStatus.CHANGED, changes))
    for path, (title, values) in before.fields.items():
        if path not in after.fields:
            fields.append(FieldChange(path, title, ChangeStatus.REMOVED, compare_attributes(values, {})))
    changes = compare_attributes(before.values, after.values)
    if not fields and not changes:
        return None  # the same form written differently (spacing, key order)
    return FormChange(name, after.title or before.title, ChangeStatus.CHANGED, changes, tuple(fields))
