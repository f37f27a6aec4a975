"""A task form as the designer's editor models it: the top-level fields of a JSON Schema form and its layout
file (title, description, help, type, required, choices, date rules, widget, order).

A field the editor cannot represent faithfully (a nested group, a repeatable group, a $ref, a field of
several types, dynamic choices...) is read as `locked`, with a stable code saying why: the editor keeps it
untouched and shows it read-only. Pure functions over a package's files (name -> text).
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tsunagu.engine.errors import NotFound
from tsunagu.engine.runtime.forms import NOT_AFTER_KEY, NOT_BEFORE_KEY, field_type

from .bpmn_reading import element_settings
from .task_settings import PROPERTY_OF, UI_PROPERTY, form_files

# What a field holds: one line of text, a number, a yes/no, a date, or several of a list of choices.
# A "string" or "integer" field with choices is answered by picking one of them.
TYPES = ("string", "integer", "number", "boolean", "date", "multiple")
WIDGETS = {"string": ("", "textarea"), "choice": ("", "radio"), "boolean": ("", "radio"), "integer": ("",),
           "number": ("",), "date": ("",), "multiple": ("",)}
FORM_PROPERTY = PROPERTY_OF["form"]


@dataclass
class Choice:
    """One choice of a field: the value stored (`const`) and the title people see."""

    value: str
    title: str


@dataclass
class FormField:
    """One top-level field as the editor shows it. `original` is its name in the file (None: added here);
    `locked` is why the editor keeps it as it is (None: editable)."""

    name: str
    type: str
    title: str = ""
    description: str = ""
    help: str = ""
    required: bool = False
    choices: list[Choice] = field(default_factory=list)
    not_after_today: bool = False
    not_before_today: bool = False
    widget: str = ""
    original: str | None = None
    locked: str | None = None
    enum_style: bool = False  # the file lists its choices as enum (+ enumNames): kept so if unchanged

    @property
    def has_choices(self) -> bool:
        return self.type == "multiple" or bool(self.choices)

    @property
    def widget_kind(self) -> str:
        """Which widgets fit the field: a single choice is a select or radio buttons."""
        return "choice" if self.type in ("string", "integer", "number") and self.choices else self.type


@dataclass
class FormModel:
    """A form of a package: its files, its own title and description, and its fields in display order."""

    schema_file: str
    ui_file: str | None
    title: str
    description: str
    fields: list[FormField]

    def field(self, name: str) -> FormField | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True)
class FormUse:
    """A form file of a package and the user tasks that show it."""

    file: str
    title: str
    tasks: list[tuple[str, str | None]]  # (element id, name)
    field_count: int


def read_json(files: Mapping[str, str], name: str) -> dict[str, Any]:
    """A JSON object file of the package (`NotFound` if it is missing or not an object)."""
    try:
        document = json.loads(files[name])
    except (KeyError, ValueError):
        raise NotFound(f"no readable form {name}", element=name[:200]) from None
    if not isinstance(document, dict):
        raise NotFound(f"no readable form {name}", element=name[:200])
    return document


def forms(files: Mapping[str, str]) -> list[FormUse]:
    """The package's forms with the tasks that use each, tasks' forms first, in file order."""
    tasks: dict[str, list[tuple[str, str | None]]] = {}
    for s in sorted(element_settings(dict(files)).values(), key=lambda s: (s.file, s.line or 0)):
        name = s.properties.get(FORM_PROPERTY)
        if s.kind == "userTask" and name:
            tasks.setdefault(name, []).append((s.id, s.name))
    found = []
    for name in form_files(files):
        try:
            schema = read_json(files, name)
        except NotFound:
            continue
        props = schema.get("properties")
        found.append(FormUse(name, str(schema.get("title") or ""), tasks.get(name, []),
                             len(props) if isinstance(props, dict) else 0))
    return sorted(found, key=lambda f: (not f.tasks, f.file))


def ui_file_of(files: Mapping[str, str], schema_file: str) -> str | None:
    """The layout file the form's tasks name, else the one named like it (`x-schema.json` -> `x-uischema.json`)."""
    for s in element_settings(dict(files)).values():
        if s.properties.get(FORM_PROPERTY) == schema_file and s.properties.get(UI_PROPERTY) in files:
            return s.properties[UI_PROPERTY]
    if schema_file.endswith("schema.json"):
        layout = schema_file[: -len("schema.json")] + "uischema.json"
        return layout if layout in files else None
    return None


def _ordered(schema: dict[str, Any], ui: dict[str, Any]) -> list[str]:
    names = list(schema.get("properties") or {})
    listed_order: list[Any] = ui["ui:order"] if isinstance(ui.get("ui:order"), list) else []
    order = [n for n in listed_order if isinstance(n, str) and (n in names or n == "*")]
    listed = [n for n in order if n != "*"]
    rest = [n for n in names if n not in listed]
    if "*" not in order:
        return listed + rest
    star = order.index("*")
    return [n for n in order[:star]] + rest + [n for n in order[star + 1:]]


def choices_of(prop: dict[str, Any]) -> tuple[list[Choice], bool] | None:
    """The field's choices and whether the file lists them as enum; None when it has none the editor reads."""
    for keyword in ("oneOf", "anyOf"):
        if keyword in prop:
            options = prop[keyword]
            if keyword == "oneOf" and isinstance(options, list) and options and all(
                    isinstance(o, dict) and "const" in o and set(o) <= {"const", "title"}
                    and isinstance(o["const"], (str, int, float)) and not isinstance(o["const"], bool)
                    for o in options):
                return [Choice(_text(o["const"]), str(o.get("title", o["const"]))) for o in options], False
            return None
    if "enum" in prop:
        values, names = prop["enum"], prop.get("enumNames") or []
        if not isinstance(values, list) or not all(isinstance(v, (str, int, float)) and not isinstance(v, bool)
                                                   for v in values) or not isinstance(names, list):
            return None
        return [Choice(_text(v), str(names[i]) if i < len(names) else _text(v)) for i, v in enumerate(values)], True
    return [], False


def _text(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _lock_reason(prop: Any, ui: dict[str, Any]) -> str | None:
    """Why the editor cannot show the field faithfully, as a stable code (None: it can)."""
    if not isinstance(prop, dict):
        return "field_not_object"
    if "$ref" in prop:
        return "field_ref"
    if ui.get("ui:source"):
        return "field_dynamic_choices"
    if ui.get("ui:field") or ui.get("ui:widget") == "hidden" or prop.get("readOnly"):
        return "field_special_widget"
    if any(k in prop for k in ("allOf", "if", "not", "dependentSchemas", "dependencies", "const")):
        return "field_rules"
    kind = field_type(prop)
    if isinstance(kind, list) or kind is None:
        return "field_type_list"
    if kind == "object" or "properties" in prop:
        return "field_group"
    if kind == "array":
        items = prop.get("items")
        if not isinstance(items, dict) or "$ref" in items or field_type(items) not in ("string", "integer"):
            return "field_repeat"
        listed = choices_of(items)
        return None if listed and listed[0] else "field_repeat"
    if kind not in ("string", "integer", "number", "boolean"):
        return "field_type_list"
    if kind == "string" and prop.get("format") not in (None, "date"):
        return "field_format"
    if choices_of(prop) is None:
        return "field_choice_rules"
    return None


def read_form(files: Mapping[str, str], schema_file: str) -> FormModel:
    """The editable model of one form file of the package (`NotFound` if it is not a form)."""
    if schema_file not in form_files(files):
        raise NotFound(f"no form {schema_file}", element=schema_file[:200])
    schema = read_json(files, schema_file)
    ui_file = ui_file_of(files, schema_file)
    ui = read_json(files, ui_file) if ui_file else {}
    props: dict[str, Any] = schema["properties"] if isinstance(schema.get("properties"), dict) else {}
    required = set(schema.get("required") or []) if isinstance(schema.get("required"), list) else set()
    fields = []
    for name in _ordered({"properties": props}, ui):
        prop = props[name]
        entry: dict[str, Any] = ui[name] if isinstance(ui.get(name), dict) else {}
        locked = _lock_reason(prop, entry)
        if locked is not None:
            title = prop.get("title") if isinstance(prop, dict) else None
            fields.append(FormField(name, "locked", title=str(entry.get("ui:title") or title or ""),
                                    required=name in required, original=name, locked=locked))
            continue
        fields.append(_field_of(name, prop, entry, name in required))
    return FormModel(schema_file, ui_file, str(schema.get("title") or ""), str(schema.get("description") or ""),
                     fields)


def _field_of(name: str, prop: dict[str, Any], ui: dict[str, Any], required: bool) -> FormField:
    kind = field_type(prop)
    listed = choices_of(prop["items"] if kind == "array" else prop) or ([], False)
    if kind == "array":
        shown = "multiple"
    elif kind == "string" and prop.get("format") == "date":
        shown = "date"
    else:
        shown = str(kind)
    widget = str(ui.get("ui:widget") or "")
    if shown == "multiple" or widget not in WIDGETS["choice" if listed[0] and shown != "boolean" else shown]:
        widget = ""  # a widget the editor does not offer for the field stays in the file as it is
    return FormField(name, shown, title=str(ui.get("ui:title", prop.get("title", "")) or ""),
                     description=str(ui.get("ui:description", prop.get("description", "")) or ""),
                     help=str(ui.get("ui:help") or ""), required=required, choices=listed[0],
                     not_after_today=prop.get(NOT_AFTER_KEY) == "today",
                     not_before_today=prop.get(NOT_BEFORE_KEY) == "today",
                     widget=widget, original=name, enum_style=listed[1])
