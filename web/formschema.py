"""JSON Schema forms as server-rendered HTML fields, and HTML form posts back to typed data."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict


@dataclass
class Field:
    """One input of a task form, ready for the `field` template macro."""

    name: str
    title: str
    description: str | None
    widget: str  # text, textarea, integer, number, boolean, date, select, radio, checkboxes
    required: bool
    options: list[tuple[str, str]] = field(default_factory=list)
    value: Any = None
    errors: list[str] = field(default_factory=list)
    limits: dict = field(default_factory=dict)
    id_prefix: str = ""  # keeps element ids unique when one page holds several forms

    @property
    def dom_id(self) -> str:
        return f"{self.id_prefix}{self.name}"

    def is_selected(self, option_value: str) -> bool:
        if isinstance(self.value, list):
            return option_value in {str(v) for v in self.value}
        return self.value is not None and str(self.value) == option_value


def _choices(prop: dict) -> list[tuple[Any, str]] | None:
    if "oneOf" in prop and all("const" in o for o in prop["oneOf"]):
        return [(o["const"], o.get("title", str(o["const"]))) for o in prop["oneOf"]]
    if "enum" in prop:
        names = prop.get("enumNames") or [str(v) for v in prop["enum"]]
        return list(zip(prop["enum"], names, strict=False))  # enumNames may be shorter: values stand in
    return None


def _widget(prop: dict, ui: dict) -> str:
    requested = ui.get("ui:widget")
    kind = prop.get("type")
    if kind == "array":
        return "checkboxes"
    if _choices(prop) is not None:
        return "radio" if requested == "radio" else "select"
    if kind == "boolean":
        return "boolean"
    if kind in ("integer", "number"):
        return kind
    if prop.get("format") == "date":
        return "date"
    return "textarea" if requested == "textarea" else "text"


def ordered_names(schema: dict, ui_schema: dict) -> list[str]:
    """Field names in the order the uiSchema asks for, the rest after in schema order."""
    names = list(schema.get("properties", {}))
    order = [n for n in ui_schema.get("ui:order", []) if n in names]
    return order + [n for n in names if n not in order]


def source_name(ui: dict) -> str | None:
    """The dynamic choice list a uiSchema entry asks for, e.g. {"ui:source": "member_bodies"}."""
    return ui.get("ui:source") if isinstance(ui, dict) else None


def source_names(ui_schema: dict) -> set[str]:
    """Every dynamic choice list a form uses, so the view fetches only those."""
    return {name for ui in ui_schema.values() if (name := source_name(ui))}


def build_fields(schema: dict, ui_schema: dict, values: dict | None = None,
                 errors: dict[str, list[str]] | None = None,
                 sources: dict[str, list[tuple]] | None = None) -> list[Field]:
    """The fields of a form with current values and error messages attached.

    `sources` holds the dynamic choice lists (name -> [(value, label)]) that uiSchema entries name
    with "ui:source"; such a field is a select of those choices.
    """
    values = values or {}
    errors = errors or {}
    sources = sources or {}
    required = set(schema.get("required", []))
    fields = []
    for name in ordered_names(schema, ui_schema):
        prop = schema["properties"][name]
        ui = ui_schema.get(name, {})
        widget = _widget(prop, ui)
        source = prop.get("items", {}) if widget == "checkboxes" else prop
        choices = _choices(source) or []
        if source_name(ui) in sources:
            choices = sources[source_name(ui)]
            if widget != "checkboxes":  # an array keeps its checkboxes; a single value is a select
                widget = "radio" if ui.get("ui:widget") == "radio" else "select"
        fields.append(Field(
            name=name, title=prop.get("title", name), description=prop.get("description"), widget=widget,
            required=name in required,
            options=[(str(v), label) for v, label in choices],
            value=values.get(name, prop.get("default")), errors=errors.get(name, []),
            limits={k: prop[k] for k in ("minimum", "maximum", "maxLength") if k in prop},
        ))
    return fields


def parse_submission(schema: dict, form: MultiDict) -> dict:
    """Turn posted strings into the types the schema declares; leave unparseable text for the validator."""
    data = {}
    for name, prop in schema.get("properties", {}).items():
        kind = prop.get("type")
        if kind == "array":
            item_type = prop.get("items", {}).get("type")
            data[name] = [_coerce(v, item_type) for v in form.getlist(name)]
        elif kind == "boolean":
            data[name] = form.get(name) in ("on", "true", "1")
        else:
            raw = form.get(name, "").strip()
            if raw != "":
                data[name] = _coerce(raw, kind)
    return data


def draft_values(schema: dict, fields: dict[str, list[str]]) -> dict:
    """A saved draft (the strings the form held) as field values, exactly as typed: an unchecked box or
    an emptied field stays so, rather than falling back to the schema's default."""
    values: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        posted = fields.get(name, [])
        kind = prop.get("type")
        if kind == "array":
            values[name] = list(posted)
        elif kind == "boolean":
            values[name] = bool(posted) and posted[0] in ("on", "true", "1")
        else:
            values[name] = posted[0] if posted else None
    return values


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
    prop = schema.get("properties", {}).get(name, {})
    source = prop.get("items", {}) if prop.get("type") == "array" else prop
    labels = {str(v): label for v, label in (choices if choices is not None else (_choices(source) or []))}
    if isinstance(value, list):
        return "、".join(labels.get(str(v), str(v)) for v in value) or _("None")
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    return labels.get(str(value), str(value))
