"""Server-side validation of submitted form data against the task's JSON Schema."""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import jsonschema

from ..errors import FieldError, FormInvalid


def load_schema(text: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(text)
    return schema


def with_defaults(schema: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """Fill in the schema's top-level defaults for fields the submitter left out (as a browser form does)."""
    filled = dict(data)
    for name, prop in schema.get("properties", {}).items():
        if name not in filled and "default" in prop:
            filled[name] = prop["default"]
    return filled


# Tsunagu's own keywords for plausible dates: a date field (format "date") not later / not earlier than the
# day named, which can only be "today" (in Japan, by the engine's clock).
NOT_AFTER_KEY = "x-not-after"
NOT_BEFORE_KEY = "x-not-before"
DATE_KEYWORDS = (NOT_AFTER_KEY, NOT_BEFORE_KEY)
DATE_KEYWORD_VALUES = ("today",)
JAPAN = ZoneInfo("Asia/Tokyo")


def today_in_japan(now: datetime) -> date:
    """The calendar day in Japan at the (timezone-aware) moment `now`."""
    return now.astimezone(JAPAN).date()


# The day the date keywords compare with, for the validation under way (None: not checked).
_TODAY: ContextVar[date | None] = ContextVar("tsunagu_form_today", default=None)


def _date_rule(after: bool) -> Any:
    def check(validator: Any, value: Any, instance: Any, schema: dict[str, Any]) -> Iterator[jsonschema.ValidationError]:
        today = _TODAY.get()
        if today is None or value != "today" or not isinstance(instance, str):
            return
        try:
            day = date.fromisoformat(instance) if len(instance) == 10 else None
        except ValueError:
            day = None
        if day is None:
            return  # the format keyword reports a malformed date
        if (after and day > today) or (not after and day < today):
            yield jsonschema.ValidationError(f"{instance} is {'after' if after else 'before'} {today.isoformat()}",
                                             validator_value=today.isoformat())
    return check


@lru_cache(maxsize=8)
def _validator_class(base_cls: Any) -> Any:
    """The schema's draft validator with Tsunagu's date keywords; built once per draft (building one
    compiles a class, a third of a millisecond)."""
    rules = {NOT_AFTER_KEY: _date_rule(True), NOT_BEFORE_KEY: _date_rule(False)}
    return jsonschema.validators.extend(base_cls, rules)  # type: ignore[no-untyped-call]


def validate_form(schema: dict[str, Any], data: dict[str, Any], *, element: str | None = None,
                  now: datetime | None = None) -> None:
    """Raise `FormInvalid` with one `FieldError` per failing field; nothing moves on bad input. With `now`,
    the date keywords `x-not-after`/`x-not-before` are checked against that day in Japan."""
    base_cls = jsonschema.validators.validator_for(schema)
    validator = _validator_class(base_cls)(schema, format_checker=base_cls.FORMAT_CHECKER)
    token = _TODAY.set(today_in_japan(now) if now is not None else None)
    try:
        found = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    finally:
        _TODAY.reset(token)
    errors: list[FieldError] = []
    seen: set[tuple[str, str]] = set()
    for error in found:
        field_error = _field_error(error)
        if (field_error.field, field_error.code) not in seen:
            seen.add((field_error.field, field_error.code))
            errors.append(field_error)
    if errors:
        raise FormInvalid(errors, element=element)


def _field_error(error: jsonschema.ValidationError) -> FieldError:
    path = [str(p) for p in error.absolute_path]
    code = error.validator
    params: dict[str, Any] = {}
    if code == "required":
        # jsonschema reports a missing property on the parent; name the field itself.
        missing = error.message.split("'")[1] if "'" in error.message else ""
        path = [*path, missing]
    elif code in ("minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems",
                  "exclusiveMinimum", "exclusiveMaximum"):
        params["limit"] = error.validator_value
    elif code in DATE_KEYWORDS:
        params["limit"] = error.validator_value
        code = code.replace("-", "_")  # x_not_after / x_not_before
    elif code == "format":
        params["format"] = error.validator_value
    elif code == "type":
        params["type"] = error.validator_value
    if code in ("oneOf", "anyOf", "const"):
        code = "enum"
    return FieldError(field=".".join(path) or "_form", code=str(code), params=params)


SPECIAL_CARE_KEY = "x-special-care"
MASK = "（要配慮個人情報）"


def special_care_fields(schema: dict[str, Any]) -> set[str]:
    """Fields the form marks as special-care personal information (要配慮個人情報)."""
    return {name for name, prop in schema.get("properties", {}).items() if prop.get(SPECIAL_CARE_KEY)}


def mask_special_care(schema: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """A copy of submitted data with special-care fields replaced by a marker (never the value)."""
    hidden = special_care_fields(schema)
    return {name: (MASK if name in hidden and value not in (None, "", [], False) else value)
            for name, value in data.items()}


# --- What a task form may use -------------------------------------------------------------------
# The server renders forms itself (no JavaScript form library), so a form built in SpiffArena deploys only
# when every construct in it can be shown and read back faithfully. The rest is refused at upload.

SUPPORTED_WIDGETS = frozenset({
    "text", "textarea", "select", "radio", "checkbox", "checkboxes", "hidden", "date", "datetime", "time",
    "email", "uri", "updown", "range",
})
UNSUPPORTED_KEYWORDS = {
    "patternProperties": "patternProperties (fields named by a pattern)",
    "additionalItems": "additionalItems",
    "prefixItems": "prefixItems (fixed positions in a list)",
}
# Keywords that only add rules to fields the form already has ("if the decision is 'given', purposes are
# required"): the server checks them, the page needs nothing more. They may not bring fields of their own.
RULE_KEYWORDS = ("if", "then", "else", "allOf", "not", "dependentSchemas", "dependencies")
_RULE_CHECKS = frozenset({
    "const", "enum", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "multipleOf", "pattern", "format", "minItems", "maxItems", "uniqueItems", "type", "title", "description",
    "$comment", "required", "contains", "minContains", "maxContains", "minProperties", "maxProperties",
    "items", "dependentRequired", "errorMessage",
})
_RULE_COMBINATORS = frozenset({"if", "then", "else", "allOf", "anyOf", "oneOf", "not", "dependentSchemas",
                               "dependencies"})
FORM_CONSTRUCT_UNSUPPORTED = "form_construct_unsupported"
FORM_REF_UNRESOLVED = "form_ref_unresolved"
FORM_WIDGET_UNSUPPORTED = "form_widget_unsupported"
FORM_TYPE_LIST_UNSUPPORTED = "form_type_list_unsupported"
FORM_FILE_UPLOAD_UNSUPPORTED = "form_file_upload_unsupported"
FORM_NESTED_ARRAY_UNSUPPORTED = "form_nested_array_unsupported"
FORM_CHOICE_UNSUPPORTED = "form_choice_unsupported"


def _local_target(document: dict[str, Any], ref: str) -> Any:
    """The part of `document` a local reference ("#/definitions/x", "#/$defs/x") points at, else None."""
    if not ref.startswith("#"):
        return None
    node: Any = document
    for part in ref[1:].split("/")[1:] if ref != "#" else []:
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node if isinstance(node, dict) else None


def resolve_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of `schema` with every local `$ref` replaced by what it points at (sibling keys win);
    an outside or circular reference is left as it is, for `unsupported_constructs` to name."""
    def walk(node: Any, seen: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [walk(item, seen) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref not in seen:
            target = _local_target(schema, ref)
            if target is not None:
                merged = {**walk(target, (*seen, ref)), **{k: walk(v, seen) for k, v in node.items() if k != "$ref"}}
                return merged
        return {k: (v if k in ("definitions", "$defs") else walk(v, seen)) for k, v in node.items()}
    resolved: dict[str, Any] = walk(schema, ())
    return resolved


def field_type(prop: dict[str, Any]) -> Any:
    """The one type a field declares; ["string", "null"] counts as "string" (an empty input means null)."""
    kind = prop.get("type")
    if isinstance(kind, list):
        named = [k for k in kind if k != "null"]
        return named[0] if len(named) == 1 else kind
    return kind


def _is_choice_list(options: Any) -> bool:
    return isinstance(options, list) and bool(options) and all(isinstance(o, dict) and "const" in o for o in options)


def _only_rules(rule: Any, known: set[str]) -> bool:
    """Whether a conditional part of a schema only adds checks to fields in `known` (no fields of its own)."""
    if isinstance(rule, bool):
        return True
    if isinstance(rule, list):  # dependencies: {"a": ["b"]} is dependentRequired
        return all(isinstance(name, str) for name in rule)
    if not isinstance(rule, dict):
        return False
    for key, value in rule.items():
        if key == "properties":
            if not isinstance(value, dict) or not set(value) <= known:
                return False
            if not all(_only_rules(sub, set()) for sub in value.values()):
                return False
        elif key in ("allOf", "anyOf", "oneOf"):
            if not isinstance(value, list) or not all(_only_rules(sub, known) for sub in value):
                return False
        elif key in ("dependentSchemas", "dependencies"):
            if not isinstance(value, dict) or not all(_only_rules(sub, known) for sub in value.values()):
                return False
        elif key in _RULE_COMBINATORS:
            if not _only_rules(value, known):
                return False
        elif key not in _RULE_CHECKS:
            return False
    return True


def unsupported_constructs(schema: dict[str, Any], ui_schema: dict[str, Any] | None) -> list[tuple[str, str, str]]:
    """Every construct of a form the task page cannot show faithfully, as (field path, code, English message);
    an empty list means the form can be deployed."""
    problems: list[tuple[str, str, str]] = []
    resolved = resolve_refs(schema)

    def refuse(path: str, code: str, message: str) -> None:
        problems.append((path or "(form)", code, message))

    def check_ui(path: str, ui: Any) -> None:
        if not isinstance(ui, dict):
            return
        if "ui:field" in ui:
            refuse(path, FORM_WIDGET_UNSUPPORTED, f"custom field ui:field {ui['ui:field']!r} is not supported")
        widget = ui.get("ui:widget")
        if widget is not None and widget not in SUPPORTED_WIDGETS:
            code = FORM_FILE_UPLOAD_UNSUPPORTED if widget in ("file", "files") else FORM_WIDGET_UNSUPPORTED
            refuse(path, code, f"widget {widget!r} is not supported; use one of {', '.join(sorted(SUPPORTED_WIDGETS))}")

    def check(path: str, prop: Any, ui: Any) -> None:
        if not isinstance(prop, dict):
            return
        check_ui(path, ui)
        ui = ui if isinstance(ui, dict) else {}
        ref = prop.get("$ref")
        if isinstance(ref, str):
            where = "outside the form" if not ref.startswith("#") else "to a missing or circular definition"
            refuse(path, FORM_REF_UNRESOLVED, f"$ref {ref!r} points {where}; only #/definitions and #/$defs are supported")
            return
        for keyword, label in UNSUPPORTED_KEYWORDS.items():
            if keyword in prop:
                refuse(path, FORM_CONSTRUCT_UNSUPPORTED, f"{label} is not supported")
        if isinstance(prop.get("additionalProperties"), dict):
            refuse(path, FORM_CONSTRUCT_UNSUPPORTED, "additionalProperties as a schema (free-form fields) is not supported")
        known = set(prop.get("properties") or {})
        for keyword in RULE_KEYWORDS:
            if keyword in prop and not _only_rules({keyword: prop[keyword]}, known):
                refuse(path, FORM_CONSTRUCT_UNSUPPORTED,
                       f"{keyword} is supported only to add checks to the form's own fields, not to add fields")
        for keyword in ("oneOf", "anyOf"):
            if keyword in prop and not _is_choice_list(prop[keyword]):
                if any(isinstance(o, str) and o.startswith("options_from_task_data_var:") for o in prop[keyword]):
                    refuse(path, FORM_CHOICE_UNSUPPORTED, f"{keyword} with choices taken from the case's data "
                           "(options_from_task_data_var) is not supported; list the choices in the form")
                else:
                    refuse(path, FORM_CHOICE_UNSUPPORTED,
                           f"{keyword} is supported only as a list of choices, each with a const and a title")
        kind = field_type(prop)
        if isinstance(kind, list):
            refuse(path, FORM_TYPE_LIST_UNSUPPORTED, f"a field of several types {kind!r} is not supported")
            return
        if prop.get("format") == "data-url" or prop.get("contentEncoding") is not None:
            refuse(path, FORM_FILE_UPLOAD_UNSUPPORTED, "file uploads are not supported")
        if kind == "object" or "properties" in prop:
            for name, child in (prop.get("properties") or {}).items():
                check(f"{path}.{name}" if path else name, child, ui.get(name))
        if kind == "array":
            items = prop.get("items")
            if not isinstance(items, dict):
                refuse(path, FORM_CONSTRUCT_UNSUPPORTED, "an array needs one schema for its items (not a list)")
                return
            if field_type(items) == "array":
                refuse(path, FORM_NESTED_ARRAY_UNSUPPORTED, "a list of lists is not supported")
                return
            check(f"{path}.items" if path else "items", items, ui.get("items"))

    check("", resolved, ui_schema or {})
    return problems
