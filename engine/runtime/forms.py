"""Server-side validation of submitted form data against the task's JSON Schema."""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
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


def _date_rule(today: date | None, after: bool) -> Any:
    def check(validator: Any, value: Any, instance: Any, schema: dict[str, Any]) -> Iterator[jsonschema.ValidationError]:
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


def validate_form(schema: dict[str, Any], data: dict[str, Any], *, element: str | None = None,
                  now: datetime | None = None) -> None:
    """Raise `FormInvalid` with one `FieldError` per failing field; nothing moves on bad input. With `now`,
    the date keywords `x-not-after`/`x-not-before` are checked against that day in Japan."""
    base_cls = jsonschema.validators.validator_for(schema)
    today = today_in_japan(now) if now is not None else None
    rules = {NOT_AFTER_KEY: _date_rule(today, True), NOT_BEFORE_KEY: _date_rule(today, False)}
    validator_cls = jsonschema.validators.extend(base_cls, rules)  # type: ignore[no-untyped-call]
    validator = validator_cls(schema, format_checker=base_cls.FORMAT_CHECKER)
    errors: list[FieldError] = []
    seen: set[tuple[str, str]] = set()
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
