"""What the form editor refuses before anything is written, each problem naming its field: names that are
not identifiers or are taken, a rename something still reads (see `form_renames`), choices missing or twice, text too long or holding control characters, and a
field removed while an element of the process still reads it (a gateway condition, a script, a decision
table's input, a task's `workflowFields`, instructions or `candidateBody`).

The rest (the JSON Schema itself, the constructs the renderer supports) is checked by the upload's
validator when the draft is saved.
"""
from __future__ import annotations

import ast
import keyword
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tsunagu.engine.errors import FieldError, TsunaguError
from tsunagu.engine.runtime.instructions import PLACEHOLDER

from .bpmn_reading import element_settings
from .decision_tables import decisions
from .form_model import TYPES, WIDGETS, FormField, FormModel, read_json
from .form_renames import rename_problems

NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
MAX_FIELDS = 200
MAX_CHOICES = 200
TITLE_MAX = 200
TEXT_MAX = 2000
FORM_FIELD = "_form"  # where a problem of the form's own title or description is named
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"-?\d{1,15}(\.\d{1,15})?")
RULE_KEYWORDS = ("if", "then", "else", "allOf", "anyOf", "oneOf", "not", "dependentSchemas", "dependencies",
                 "dependentRequired")


@dataclass(frozen=True)
class Reader:
    """An element of the process that reads a form field by name."""

    element: str
    name: str | None
    how: str  # condition, script, decision, workflowFields, instructions, candidateBody


def _names(source: str | None) -> set[str]:
    """The variable names an expression or script reads (every word, if it does not parse)."""
    if not source or not source.strip():
        return set()
    try:
        tree = ast.parse(source.strip(), mode="exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set(_WORD.findall(source))
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | \
        {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
         and _WORD.fullmatch(n.value)}  # task.data["name"], get("name")


def readers(files: Mapping[str, str], schema_file: str) -> dict[str, list[Reader]]:
    """Field name -> the elements of the package that read a variable of that name."""
    found: dict[str, list[Reader]] = {}

    def add(names: set[str], reader: Reader) -> None:
        for name in names:
            if reader not in found.setdefault(name, []):
                found[name].append(reader)

    try:
        settings = element_settings(dict(files))
    except TsunaguError:
        settings = {}
    for s in settings.values():
        add(_names(s.condition), Reader(s.id, s.name, "condition"))
        add(_names(s.script), Reader(s.id, s.name, "script"))
        add(set(PLACEHOLDER.findall(s.instructions or "")), Reader(s.id, s.name, "instructions"))
        if s.properties.get("candidateBody"):
            add({s.properties["candidateBody"].strip()}, Reader(s.id, s.name, "candidateBody"))
        if s.properties.get("formJsonSchemaFilename") == schema_file and s.properties.get("workflowFields"):
            add({n.strip() for n in s.properties["workflowFields"].split(",")}, Reader(s.id, s.name, "workflowFields"))
    for table in decisions(dict(files)):
        for column in table.inputs:
            add(_names(column.expression), Reader(table.decision_id, table.name or None, "decision"))
    return found


def _in_rules(node: Any, name: str) -> bool:
    """Whether a schema-level rule (if/then, allOf, dependencies...) names the field."""
    if isinstance(node, dict):
        if name in (node.get("properties") or {}) or name in (node.get("required") or []) \
                or name in (node.get("dependentRequired") or {}) or name in (node.get("dependencies") or {}):
            return True
        return any(_in_rules(v, name) for v in node.values())
    if isinstance(node, list):
        return any(_in_rules(v, name) for v in node)
    return bool(node == name)


def _text_problem(value: str, limit: int) -> tuple[str, dict[str, Any]] | None:
    if _FORBIDDEN.search(value):
        return "characters_invalid", {}
    if len(value) > limit:
        return "maxLength", {"limit": limit}
    return None


def check_model(files: Mapping[str, str], stored: FormModel, model: FormModel) -> list[FieldError]:
    """Every problem of the edited form, each naming its field (`name`, `name.choices.N`, `_form`)."""
    errors: list[FieldError] = []

    def refuse(where: str, code: str, **params: Any) -> None:
        errors.append(FieldError(where, code, params))

    for value, limit in ((model.title, TITLE_MAX), (model.description, TEXT_MAX)):
        problem = _text_problem(value, limit)
        if problem:
            refuse(FORM_FIELD, problem[0], **problem[1])
    if len(model.fields) > MAX_FIELDS:
        refuse(FORM_FIELD, "too_many_fields", limit=MAX_FIELDS)
        return errors
    seen: set[str] = set()
    schema = read_json(files, stored.schema_file)
    for index, f in enumerate(model.fields):
        where = f.name or f.original or f"#{index + 1}"  # a new field without a name yet: its position
        if f.original is not None and stored.field(f.original) is None:
            refuse(where, "field_unknown", field=where, index=index)
            continue
        renamed = f.original is not None and f.name != f.original
        if renamed:
            where = f.original or where  # a refused rename names the field by the name it has
        if not NAME.fullmatch(f.name) or keyword.iskeyword(f.name):
            refuse(where, "name_invalid", field=f.name[:64], index=index)
        elif f.name in seen:
            refuse(where, "name_taken", field=f.name, index=index)
        elif renamed:
            errors.extend(rename_problems(files, stored, f, index))
            if any(_in_rules(schema.get(k), where) for k in RULE_KEYWORDS):
                refuse(where, "field_in_form_rule", field=where, index=index)
        seen.add(f.name)
        if f.locked is None:
            errors.extend(_field_problems(where, f, index))
    kept = {f.original for f in model.fields}
    uses = readers(files, stored.schema_file)
    for gone in (f for f in stored.fields if f.name not in kept):
        if gone.locked is not None:
            refuse(gone.name, "field_locked", field=gone.name)
        for reader in uses.get(gone.name, []):
            refuse(gone.name, "field_in_use", field=gone.name, element=reader.element, element_name=reader.name,
                   how=reader.how)
        if any(_in_rules(schema.get(k), gone.name) for k in RULE_KEYWORDS):
            refuse(gone.name, "field_in_form_rule", field=gone.name)
    return errors


def _field_problems(where: str, f: FormField, index: int) -> list[FieldError]:
    errors: list[FieldError] = []

    def refuse(at: str, code: str, **params: Any) -> None:
        errors.append(FieldError(at, code, {"field": where, "index": index, **params}))

    if f.type not in TYPES:
        refuse(where, "type_unknown")
        return errors
    if f.original is None and not f.title.strip():
        refuse(where, "title_missing")
    for value, limit in ((f.title, TITLE_MAX), (f.description, TEXT_MAX), (f.help, TEXT_MAX)):
        problem = _text_problem(value, limit)
        if problem:
            refuse(where, problem[0], **problem[1])
            break
    if f.widget not in WIDGETS.get(f.widget_kind, ("",)):
        refuse(where, "widget_invalid", widget=f.widget[:40])
    if f.type == "multiple" and not f.choices:
        refuse(where, "choices_missing")
    if f.type in ("boolean", "date") and f.choices:
        refuse(where, "choices_not_allowed")
    if len(f.choices) > MAX_CHOICES:
        refuse(where, "too_many_choices", limit=MAX_CHOICES)
        return errors
    values: set[str] = set()
    for number, choice in enumerate(f.choices, start=1):
        at = f"{where}.choices.{number - 1}"
        value = choice.value.strip()
        problem = _text_problem(choice.value, TITLE_MAX) or _text_problem(choice.title, TITLE_MAX)
        if problem:
            refuse(at, problem[0], choice=number, **problem[1])
        elif not value:
            refuse(at, "choice_value_missing", choice=number)
        elif f.type in ("integer", "number") and not (_NUMBER.fullmatch(value) and (
                f.type == "number" or "." not in value)):
            refuse(at, "choice_value_invalid", choice=number, value=value[:40], type=f.type)
        elif value in values:
            refuse(at, "choice_duplicate", choice=number, value=value[:40])
        values.add(value)
    return errors


def warnings(files: Mapping[str, str], stored: FormModel, model: FormModel) -> list[FieldError]:
    """What saving would allow but a designer should know: a removed field that a task's case-file writer
    (`record`) may store."""
    kept = {f.original for f in model.fields}
    gone = [f.name for f in stored.fields if f.name not in kept]
    if not gone:
        return []
    try:
        settings = element_settings(dict(files))
    except TsunaguError:
        return []
    recording = [s for s in settings.values()
                 if s.properties.get("formJsonSchemaFilename") == stored.schema_file and s.properties.get("record")]
    return [FieldError(name, "field_recorded", {"field": name, "element": s.id, "element_name": s.name,
                                                "record": s.properties["record"]})
            for name in gone for s in recording]
