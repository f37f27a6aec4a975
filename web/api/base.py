"""The API blueprint: every request signs in with an API token (no cookie, no CSRF), acts with the token's
roles only, and is answered in the one error format of `errors`."""
from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

from flask import Blueprint, current_app, g, request
from flask_babel import gettext as _
from marshmallow import Schema, ValidationError
from werkzeug.wrappers import Response

from tsunagu.engine.access import tokens
from tsunagu.engine.errors import FieldError
from tsunagu.engine.models import unstorable

from ..context import clock, settings
from ..extensions import csrf, db
from ..messages import field_message
from .errors import api_error, missing_token
from .limits import SlidingWindow

bp = Blueprint("api", __name__, url_prefix="/api/v1")
T = TypeVar("T")
csrf.exempt(bp)  # no cookie signs an API request in, so no forged form can ride on one

# Each app's request counts per token (one per worker process), made at its first API request.
RATE_WINDOW = "tsunagu.api_rate"
# Readable without a token: the API's own description.
PUBLIC = {"api.openapi_document"}


@bp.before_request
def authenticate() -> Response | None:
    """Sign the request in with its bearer token; the user acts with at most the token's roles."""
    g.user = None
    if request.endpoint in PUBLIC:
        return None
    scheme, _space, raw = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        return missing_token()
    user, token, roles = tokens.authenticate(db.session, clock(), raw.strip())
    window = current_app.extensions.get(RATE_WINDOW) or current_app.extensions.setdefault(RATE_WINDOW, SlidingWindow())
    wait = window.admit(token.id, time.monotonic(), settings().api_requests_per_minute)
    if wait is not None:
        response = api_error(429, "rate_limited", _("Too many requests with this token; wait and try again."))
        response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return response
    user.limit_roles(roles)
    g.user, g.api_token = user, token
    return None


def parsed(schema: Schema, source: Any) -> dict[str, Any]:
    """`source` (query arguments or a JSON body) loaded by `schema`; 422 naming every bad field otherwise."""
    try:
        loaded: dict[str, Any] = schema.load(source)
    except ValidationError as invalid:
        raise InvalidInput(invalid.normalized_messages()) from invalid
    return loaded


class InvalidInput(Exception):
    """A request whose parameters or body do not match its schema; answered 422 with each field."""

    def __init__(self, messages: Any):
        super().__init__("invalid input")
        self.messages = messages


# marshmallow's sentences (English), read as stable codes (with their limits) worded like the pages' fields.
_CODES = (
    (r"Not valid JSON", "json"), (r"Unstorable character", "unstorable_input"),
    (r"Missing data for required field|Field may not be null", "required"), (r"Unknown field", "unknown_field"),
    (r"Not a valid integer", "integer"), (r"Not a valid datetime", "date_time"), (r"Not a valid date", "date"),
    (r"Must be one of", "enum"),
    (r"Must be greater than or equal to (?P<minimum>-?\d+) and less than or equal to (?P<maximum>-?\d+)", "range"),
    (r"Must be greater than or equal to (?P<limit>-?\d+)", "minimum"),
    (r"Must be less than or equal to (?P<limit>-?\d+)", "maximum"),
    (r"Longer than maximum length (?P<limit>\d+)", "maxLength"),
    (r"Shorter than minimum length (?P<limit>\d+)", "minLength"),
    (r"Length must be between (?P<minimum>\d+) and (?P<maximum>\d+)", "length"),
    (r"Not a valid", "type"),
)


def _reading(text: str) -> tuple[str, dict[str, str]]:
    """marshmallow's sentence as a code and the limits it names."""
    for pattern, code in _CODES:
        found = re.match(pattern, text)
        if found:
            return code, found.groupdict()
    return "invalid", {}


def _sentence(code: str, limits: dict[str, str], text: str) -> str:
    sentences = {
        "required": _("This field is required."),
        "unknown_field": _("This parameter is not known; see the API document."),
        "integer": _("Enter a whole number."),
        "date_time": _("Give a date and time in ISO 8601, e.g. 2026-12-01T09:00:00+09:00."),
        "date": _("Give a date in ISO 8601, e.g. 2026-12-01."),
        "enum": _("Choose one of the listed options."),
        "json": _("Send a JSON object with Content-Type: application/json."),
        "unstorable_input": _("The input contains a character that cannot be used (NUL). Remove it and try again."),
    }
    if code in ("minimum", "maximum", "maxLength", "minLength"):
        return field_message(FieldError("", code, {"limit": int(limits["limit"])}))
    if code in ("range", "length"):
        return _("Give a value from %(minimum)s to %(maximum)s.", **limits)
    return sentences.get(code, text)


@bp.errorhandler(InvalidInput)
def invalid_input(error: InvalidInput) -> Response:
    details = []
    for field, problems in sorted(_fields(error.messages).items()):
        for text in _flatten(problems):
            code, limits = _reading(text)
            details.append({"field": field, "code": code, "message": _sentence(code, limits, text),
                            **{name: int(value) for name, value in limits.items()}})
    return api_error(422, "invalid_input", _("The request has errors; each is listed in details."), details)


def _fields(messages: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(messages, dict):
        return {prefix or "_request": messages}
    found: dict[str, Any] = {}
    for key, value in messages.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            found.update(_fields(value, name))
        else:
            found[name] = value
    return found


def _flatten(problems: Any) -> list[str]:
    if isinstance(problems, str):
        return [problems]
    if isinstance(problems, (list, tuple)):
        return [text for p in problems for text in _flatten(p)]
    return [str(problems)]


def json_body() -> Any:
    """The request's JSON body; no body is an empty object, anything else than JSON a 422."""
    if request.mimetype == "application/json":
        body = request.get_json(silent=True)
        if body is not None:
            bad = sorted(_unstorable_paths(body))
            if bad:  # a NUL anywhere: PostgreSQL could store none of it
                raise InvalidInput({path: ["Unstorable character (NUL)."] for path in bad})
            return body
    elif not request.content_length:
        return {}
    raise InvalidInput({"_body": ["Not valid JSON: send a JSON object with Content-Type: application/json."]})


def _unstorable_paths(value: Any, path: str = "") -> Iterator[str]:
    """The dotted paths of a JSON value's strings (and keys) that hold a character no database stores."""
    if isinstance(value, str):
        if unstorable(value):
            yield path or "_body"
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            if unstorable(str(key)):
                yield name.replace("\x00", "")
            else:
                yield from _unstorable_paths(item, name)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _unstorable_paths(item, f"{path}.{index}" if path else str(index))


def page_of(items: Sequence[T], paging: Mapping[str, int]) -> list[T]:
    """The page of `items` that `paging` (loaded by a PagingSchema) asks for."""
    first = paging["first_result"]
    return list(items[first:first + paging["max_results"]])


def respond(schema: Schema, value: Any, status: int = 200) -> Response:
    response = current_app.json.response(schema.dump(value))
    response.status_code = status
    return response
