"""Server-side validation of submitted form data against the task's JSON Schema."""
from __future__ import annotations

import json

import jsonschema

from ..errors import FieldError, FormInvalid


def load_schema(text: str) -> dict:
    return json.loads(text)


def with_defaults(schema: dict, data: dict) -> dict:
    """Fill in the schema's top-level defaults for fields the submitter left out (as a browser form does)."""
    filled = dict(data)
    for name, prop in schema.get("properties", {}).items():
        if name not in filled and "default" in prop:
            filled[name] = prop["default"]
    return filled


def validate_form(schema: dict, data: dict, *, element: str | None = None) -> None:
    """Raise `FormInvalid` with one `FieldError` per failing field; nothing moves on bad input."""
    validator_cls = jsonschema.validators.validator_for(schema)
    validator = validator_cls(schema, format_checker=validator_cls.FORMAT_CHECKER)
    errors = []
    seen = set()
    for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
        field_error = _field_error(error)
        if (field_error.field, field_error.code) not in seen:
            seen.add((field_error.field, field_error.code))
            errors.append(field_error)
    if errors:
        raise FormInvalid(errors, element=element)


def _field_error(error: jsonschema.ValidationError) -> FieldError:
    path = [str(p) for p in error.absolute_path]
    code = error.validator
    params = {}
    if code == "required":
        # jsonschema reports a missing property on the parent; name the field itself.
        missing = error.message.split("'")[1] if "'" in error.message else ""
        path = [*path, missing]
    elif code in ("minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems",
                  "exclusiveMinimum", "exclusiveMaximum"):
        params["limit"] = error.validator_value
    elif code == "format":
        params["format"] = error.validator_value
    elif code == "type":
        params["type"] = error.validator_value
    if code in ("oneOf", "anyOf", "const"):
        code = "enum"
    return FieldError(field=".".join(path) or "_form", code=str(code), params=params)


SPECIAL_CARE_KEY = "x-special-care"
MASK = "（要配慮個人情報）"


def special_care_fields(schema: dict) -> set[str]:
    """Fields the form marks as special-care personal information (要配慮個人情報)."""
    return {name for name, prop in schema.get("properties", {}).items() if prop.get(SPECIAL_CARE_KEY)}


def mask_special_care(schema: dict, data: dict) -> dict:
    """A copy of submitted data with special-care fields replaced by a marker (never the value)."""
    hidden = special_care_fields(schema)
    return {name: (MASK if name in hidden and value not in (None, "", [], False) else value)
            for name, value in data.items()}
