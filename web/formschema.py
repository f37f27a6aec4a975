"""JSON Schema forms as server-rendered HTML fields, and HTML form posts back to typed data.

Inputs are named by their path in the data, dots between the parts: `address.city` for a field of a
nested object, `contacts.1.phone` for a field of the second row of a repeatable group, `tags.0` for the
first item of a list. That is also how the validator names a failing field, so an error finds its input.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from tsunagu.engine.runtime.forms import field_type, resolve_refs


@dataclass
class Field:
    """One input of a task form, ready for the `field` template macro."""

    name: str
    title: str
    description: str | None
    # text, textarea, integer, number, boolean, date, select, radio, checkboxes, hidden, group (a nested
    # object: `children`), repeat (a list whose `rows` each hold the fields of one item)
    widget: str
    required: bool
    options: list[tuple[str, str]] = field(default_factory=list)
    value: Any = None
    errors: list[str] = field(default_factory=list)
    limits: dict = field(default_factory=dict)
    id_prefix: str = ""  # keeps element ids unique when one page holds several forms
    input_type: str = "text"  # for widget "text": text, email, url, datetime-local, time
    placeholder: str | None = None
    readonly: bool = False
    text_rows: int = 5
    children: list[Field] = field(default_factory=list)
    rows: list[list[Field]] = field(default_factory=list)
    spare_rows: int = 0  # the last rows are empty ones to fill in (without JavaScript, the way to add)
    min_rows: int = 0
    max_rows: int | None = None
    addable: bool = True
    removable: bool = True
    item_objects: bool = False  # a repeat whose rows are objects (fieldsets), not single inputs

    @property
    def dom_id(self) -> str:
        return f"{self.id_prefix}{self.name}"

    def is_selected(self, option_value: str) -> bool:
        if isinstance(self.value, list):
            return option_value in {str(v) for v in self.value}
        return self.value is not None and str(self.value) == option_value


def _choices(prop: dict) -> list[tuple[Any, str]] | None:
    for keyword in ("oneOf", "anyOf"):
        options = prop.get(keyword)
        if isinstance(options, list) and options and all(isinstance(o, dict) and "const" in o for o in options):
            return [(o["const"], o.get("title", str(o["const"]))) for o in options]
    if "enum" in prop:
        names = prop.get("enumNames") or [str(v) for v in prop["enum"]]
        return list(zip(prop["enum"], names, strict=False))  # enumNames may be shorter: values stand in
    return None


TEXT_FORMATS = {"email": "email", "uri": "url", "date-time": "datetime-local", "time": "time"}
TEXT_WIDGETS = {"email": "email", "uri": "url", "datetime": "datetime-local", "time": "time"}


def _array_kind(prop: dict, ui: dict) -> str:
    """How a list is asked for: "choices" (checkboxes), "objects" (a repeatable group) or "items" (inputs)."""
    items = prop.get("items") if isinstance(prop.get("items"), dict) else {}
    if _choices(items) is not None or source_name(ui):
        return "choices"
    return "objects" if field_type(items) == "object" or "properties" in items else "items"


def _widget(prop: dict, ui: dict) -> str:
    requested = ui.get("ui:widget")
    kind = field_type(prop)
    if requested == "hidden":
        return "hidden"
    if kind == "array":
        return "checkboxes" if _array_kind(prop, ui) == "choices" else "repeat"
    if kind == "object" or "properties" in prop:
        return "group"
    if _choices(prop) is not None:
        return "radio" if requested == "radio" else "select"
    if kind == "boolean":
        return "radio" if requested in ("radio", "select") else "boolean"
    if kind in ("integer", "number"):
        return kind
    if prop.get("format") == "date" or requested == "date":
        return "date"
    return "textarea" if requested == "textarea" else "text"


def _input_type(prop: dict, ui: dict) -> str:
    return TEXT_WIDGETS.get(ui.get("ui:widget", ""), TEXT_FORMATS.get(prop.get("format", ""), "text"))


def ordered_names(schema: dict, ui_schema: dict) -> list[str]:
    """Field names in the order the uiSchema asks for ("*" stands for the rest), the rest in schema order."""
    names = list(schema.get("properties", {}))
    order = [n for n in ui_schema.get("ui:order", []) if n in names or n == "*"]
    listed = [n for n in order if n != "*"]
    rest = [n for n in names if n not in listed]
    if "*" not in order:
        return listed + rest
    star = order.index("*")
    return [n for n in order[:star] if n != "*"] + rest + [n for n in order[star + 1:] if n != "*"]


def source_name(ui: dict) -> str | None:
    """The dynamic choice list a uiSchema entry asks for, e.g. {"ui:source": "member_bodies"}."""
    return ui.get("ui:source") if isinstance(ui, dict) else None


def source_names(ui_schema: dict) -> set[str]:
    """Every dynamic choice list a form uses, so the view fetches only those."""
    return {name for ui in ui_schema.values() if (name := source_name(ui))}


def is_readonly(prop: dict, ui: dict) -> bool:
    """A field shown but not editable: its posted value is ignored."""
    return bool(prop.get("readOnly") or ui.get("ui:readonly") or ui.get("ui:disabled"))


def _ui(ui_schema: Any, name: str) -> dict:
    ui = ui_schema.get(name, {}) if isinstance(ui_schema, dict) else {}
    return ui if isinstance(ui, dict) else {}


class _Errors:
    """Error messages by field path; each goes to the deepest rendered input on its path."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        self.claimed: set[str] = set()

    def own(self, name: str) -> list[str]:
        self.claimed.add(name)
        return list(self.errors.get(name, []))

    def under(self, name: str) -> list[str]:
        """What no input below `name` took (a list's own error, an error on a checkbox item)."""
        found = []
        for path, messages in self.errors.items():
            if path.startswith(f"{name}.") and path not in self.claimed:
                self.claimed.add(path)
                found.extend(messages)
        return found


def _row_title(n: int) -> str:
    return _("Item %(n)s", n=n)


def _build(name: str, prop: dict, ui: dict, required: bool, value: Any, errors: _Errors,
           sources: dict[str, list[tuple]], fresh: bool) -> Field:
    widget = _widget(prop, ui)
    options = ui.get("ui:options") if isinstance(ui.get("ui:options"), dict) else {}
    description = " ".join(str(t) for t in (ui.get("ui:description", prop.get("description")), ui.get("ui:help"))
                           if t) or None
    f = Field(name=name, title=ui.get("ui:title", prop.get("title", name.rsplit(".", 1)[-1])),
              description=description, widget=widget, required=required, errors=errors.own(name),
              limits={k: prop[k] for k in ("minimum", "maximum", "maxLength") if k in prop},
              input_type=_input_type(prop, ui), placeholder=ui.get("ui:placeholder"),
              readonly=is_readonly(prop, ui), text_rows=int(options.get("rows", 5)) if str(
                  options.get("rows", 5)).isdigit() else 5)
    if value is None and (fresh or f.readonly) and "default" in prop:
        value = prop["default"]
    if widget == "group":
        inner = value if isinstance(value, dict) else {}
        needed = set(prop.get("required", []))
        # An empty group (a spare row) shows no defaults: a row left as it is must stay wholly empty.
        f.children = [_build(f"{name}.{child}", prop["properties"][child], _ui(ui, child), child in needed,
                             inner.get(child), errors, sources, fresh if value is None else child not in inner)
                      for child in ordered_names(prop, ui)]
        f.errors += errors.under(name)
        f.value = inner
        return f
    if widget == "repeat":
        items = prop.get("items") if isinstance(prop.get("items"), dict) else {}
        item_ui = _ui(ui, "items")
        values = value if isinstance(value, list) else []
        f.min_rows = prop["minItems"] if isinstance(prop.get("minItems"), int) else 0
        f.max_rows = prop["maxItems"] if isinstance(prop.get("maxItems"), int) else None
        f.addable = options.get("addable", True) is not False and not f.readonly
        f.removable = options.get("removable", True) is not False and not f.readonly
        shown = max(len(values), f.min_rows, 1)
        spare = 1 if f.addable and (f.max_rows is None or shown < f.max_rows) else 0
        for index in range(shown + spare):
            row_value = values[index] if index < len(values) else None
            row_name = f"{name}.{index}"
            if _array_kind(prop, ui) == "objects":
                row = _build(row_name, items, item_ui, False, row_value, errors, sources,
                             fresh=row_value is None and index < f.min_rows)
                row.title = _row_title(index + 1)
                row.readonly = row.readonly or f.readonly
                f.rows.append(row.children)
                row_errors = row.errors
            else:
                cell = _build(row_name, items, item_ui, False, row_value, errors, sources, fresh=False)
                cell.title = f"{f.title} {_row_title(index + 1)}"
                cell.readonly = cell.readonly or f.readonly
                f.rows.append([cell])
                row_errors = []
            if row_errors:  # an error on a whole row (a row that is not an object, say) shows on its first input
                (f.rows[-1][0].errors if f.rows[-1] else f.errors).extend(row_errors)
        f.spare_rows = spare
        f.item_objects = _array_kind(prop, ui) == "objects"
        f.errors += errors.under(name)
        f.value = values
        return f
    source = prop.get("items", {}) if widget == "checkboxes" else prop
    choices = _choices(source) or []
    if source_name(ui) in sources:
        choices = sources[source_name(ui)]
        if widget != "checkboxes":  # an array keeps its checkboxes; a single value is a select
            widget = f.widget = "radio" if ui.get("ui:widget") == "radio" else "select"
    f.options = [(str(v), label) for v, label in choices]
    if field_type(prop) == "boolean" and widget == "radio":  # posted "true"/"false", read as the checkbox is
        f.options = [("true", _("Yes")), ("false", _("No"))]
        value = None if value is None else ("true" if value in (True, "true", "on", "1") else "false")
    if widget == "text" and f.input_type == "datetime-local" and isinstance(value, str):
        value = value[:16]  # the browser's input holds no seconds or offset
    f.value = value
    f.errors += errors.under(name)
    return f


def build_fields(schema: dict, ui_schema: dict, values: dict | None = None,
                 errors: dict[str, list[str]] | None = None,
                 sources: dict[str, list[tuple]] | None = None) -> list[Field]:
    """The fields of a form with current values and error messages attached.

    `errors` are keyed by field path (`contacts.1.phone`); a message for a path with no input of its own
    shows on the nearest input above it. `sources` holds the dynamic choice lists (name -> [(value, label)])
    that uiSchema entries name with "ui:source"; such a field is a select of those choices. Defaults fill
    fields that have no value yet.
    """
    schema = resolve_refs(schema)
    values = values or {}
    claims = _Errors(errors or {})
    sources = sources or {}
    required = set(schema.get("required", []))
    fields = [_build(name, schema["properties"][name], _ui(ui_schema, name), name in required, values.get(name),
                     claims, sources, fresh=name not in values)
              for name in ordered_names(schema, ui_schema)]
    leftover = [m for path, messages in claims.errors.items() if path not in claims.claimed for m in messages]
    if leftover and fields:
        fields[0].errors += [m for m in leftover if m not in fields[0].errors]
    return fields


_INDEX = re.compile(r"\d{1,4}")


def _indices(keys: list[str], name: str) -> list[int]:
    """The row numbers posted for the list `name` (`name.0...`, `name.3...`), in order."""
    found = set()
    for key in keys:
        if key.startswith(f"{name}."):
            head = key[len(name) + 1:].split(".", 1)[0]
            if _INDEX.fullmatch(head):
                found.add(int(head))
    return sorted(found)


def _read(name: str, prop: dict, ui: dict, form: MultiDict, keys: list[str],
          scalar: Callable[[str, Any], Any]) -> tuple[bool, Any]:
    """(whether anything was entered, the value) for the field `name`; read-only fields are never read."""
    if is_readonly(prop, ui):
        return False, None
    kind = field_type(prop)
    if kind == "array":
        indices = _indices(keys, name)
        # Checkboxes post the list's own name once per ticked box; a caller without the uiSchema cannot
        # tell a "ui:source" list from one of inputs except by that.
        if _array_kind(prop, ui) == "choices" or (not indices and name in form):
            item_type = field_type(prop.get("items", {}))
            return True, [scalar(v, item_type) for v in form.getlist(name)]
        items = prop.get("items") if isinstance(prop.get("items"), dict) else {}
        rows = [_read(f"{name}.{i}", items, _ui(ui, "items"), form, keys, scalar) for i in indices]
        return True, [value for entered, value in rows if entered]  # wholly empty rows are dropped
    if kind == "object" or "properties" in prop:
        data: dict[str, Any] = {}
        entered = False
        for child, child_prop in prop.get("properties", {}).items():
            child_ui = _ui(ui, child)
            child_entered, value = _read(f"{name}.{child}", child_prop, child_ui, form, keys, scalar)
            if child_entered:
                entered = True
                data[child] = value
        if entered:
            for child, child_prop in prop.get("properties", {}).items():
                if child not in data and field_type(child_prop) == "boolean" and not is_readonly(child_prop, _ui(ui, child)):
                    data[child] = False
                elif child not in data and "default" in child_prop:
                    data[child] = child_prop["default"]  # as the engine does for top-level fields
        return entered, data
    if kind == "boolean":
        checked = form.get(name) in ("on", "true", "1")
        return checked, checked
    raw = form.get(name, "")
    if raw.strip() == "":
        return False, None
    return True, scalar(raw, kind)


def _top_level(schema: dict, ui_schema: dict | None, form: MultiDict, scalar: Callable[[str, Any], Any],
               draft: bool) -> dict:
    schema = resolve_refs(schema)
    keys = list(form.keys())
    required = set(schema.get("required", []))
    data: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        ui = _ui(ui_schema or {}, name)
        entered, value = _read(name, prop, ui, form, keys, scalar)
        kind = field_type(prop)
        if entered or kind in ("array", "boolean") and not is_readonly(prop, ui):
            data[name] = value
        elif (kind == "object" or "properties" in prop) and name in required and not is_readonly(prop, ui):
            data[name] = value  # {}: its own required fields are then named, not the group
        elif draft and not is_readonly(prop, ui):
            data[name] = None  # an emptied field stays empty rather than showing its default again
    return data


def parse_submission(schema: dict, form: MultiDict, ui_schema: dict | None = None) -> dict:
    """Turn posted strings into the types the schema declares; leave unparseable text for the validator.

    Empty rows of a repeatable group are dropped; read-only fields (`readOnly`, and with `ui_schema` also
    `ui:readonly`/`ui:disabled`) are ignored, so the default stands.
    """
    return _top_level(schema, ui_schema, form, lambda raw, kind: _coerce(raw.strip(), kind), draft=False)


def draft_values(schema: dict, fields: dict[str, list[str]], ui_schema: dict | None = None) -> dict:
    """A saved draft (the strings the form held) as field values, exactly as typed: an unchecked box or
    an emptied field stays so, rather than falling back to the schema's default."""
    return _top_level(schema, ui_schema, MultiDict([(k, v) for k, vs in fields.items() for v in vs]),
                      lambda raw, kind: raw, draft=True)


# Whole numbers a form may carry: what either database stores in an integer column (ids included).
INT_LIMIT = 2**31 - 1


def _coerce(raw: str, kind: str | None) -> Any:
    # Out-of-range and non-finite numbers stay text, so the validator answers "enter a number" beside
    # the field instead of the database failing on them later.
    try:
        if kind == "integer":
            number = int(raw)
            return number if -INT_LIMIT <= number <= INT_LIMIT else raw
        if kind == "number":
            value = float(raw)
            return value if math.isfinite(value) else raw
    except ValueError:
        return raw
    return raw


def parse_id(raw: str | None) -> int | None:
    """A record id typed or posted as text, or None when it cannot name a record (not 1..2^31-1)."""
    if raw is None or not (raw.isascii() and raw.isdigit()) or len(raw) > 10:
        return None
    number = int(raw)
    return number if 1 <= number <= INT_LIMIT else None


def choice_titles(files: dict[str, str], name: str) -> dict[str, str]:
    """The choice titles of a field `name` in any JSON Schema form of a process version (value -> title)."""
    for file_name, text in sorted(files.items()):
        if not file_name.endswith(".json"):
            continue
        try:
            prop = json.loads(text).get("properties", {}).get(name)
        except (ValueError, AttributeError):
            continue
        if isinstance(prop, dict):
            source = prop.get("items", {}) if prop.get("type") == "array" else prop
            choices = _choices(source)
            if choices:
                return {str(v): label for v, label in choices}
    return {}


def display_value(schema: dict, name: str, value: Any, choices: list[tuple] | None = None) -> str:
    """A submitted value as a person reads it: choice titles (or `choices`, a dynamic list) instead of codes."""
    schema = resolve_refs(schema)
    return _readable(schema.get("properties", {}).get(name, {}), value, choices)


def _readable(prop: Any, value: Any, choices: list[tuple] | None = None) -> str:
    prop = prop if isinstance(prop, dict) else {}
    items = prop.get("items") if isinstance(prop.get("items"), dict) else {}
    if isinstance(value, dict):  # a nested object or one row of a group: "title: value" for each part
        props = prop.get("properties", {})
        return "、".join(f"{props.get(k, {}).get('title', k)}: {_readable(props.get(k), v)}"
                        for k, v in value.items() if v not in (None, "", []))
    source = items if field_type(prop) == "array" else prop
    labels = {str(v): label for v, label in (choices if choices is not None else (_choices(source) or []))}
    if isinstance(value, list):
        if any(isinstance(v, dict) for v in value):
            return " / ".join(f"{_row_title(n)} {_readable(items, v)}" for n, v in enumerate(value, 1)) or _("None")
        return "、".join(labels.get(str(v), str(v)) for v in value) or _("None")
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    return labels.get(str(value), str(value))
