"""The API blueprint: every request signs in with an API token (no cookie, no CSRF), acts with the token's
roles only, and is answered in the one error format of `errors`."""
from __future__ import annotations

import math
import time
from typing import Any

from flask import Blueprint, current_app, g, request
from flask_babel import gettext as _
from marshmallow import Schema, ValidationError
from werkzeug.wrappers import Response

from tsunagu.engine.access import tokens

from ..context import clock, settings
from ..extensions import csrf, db
from .errors import api_error, missing_token
from .limits import SlidingWindow

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # no cookie signs an API request in, so no forged form can ride on one

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
    window = current_app.extensions.setdefault("tsunagu.api_rate", SlidingWindow())  # this app's, per worker
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


# marshmallow's sentences (English), read as the stable codes the pages' field messages know.
_CODES = (("Not valid JSON", "json"), ("Missing data for required field", "required"), ("Unknown field", "unknown_field"),
          ("Not a valid integer", "integer"), ("Not a valid datetime", "date_time"), ("Not a valid date", "date"),
          ("Must be one of", "enum"), ("Must be greater than or equal to", "minimum"),
          ("Must be less than or equal to", "maximum"), ("Field may not be null", "required"),
          ("Not a valid", "type"))


def _code_of(text: str) -> str:
    return next((code for start, code in _CODES if text.startswith(start)), "invalid")


def _sentence(code: str, text: str) -> str:
    sentences = {
        "required": _("This field is required."),
        "unknown_field": _("This parameter is not known; see the API document."),
        "integer": _("Enter a whole number."),
        "date_time": _("Give a date and time in ISO 8601, e.g. 2026-12-01T09:00:00+09:00."),
        "date": _("Give a date in ISO 8601, e.g. 2026-12-01."),
        "enum": _("Choose one of the listed options."),
        "json": _("Send a JSON object with Content-Type: application/json."),
    }
    return sentences.get(code, text)


@bp.errorhandler(InvalidInput)
def invalid_input(error: InvalidInput) -> Response:
    details = []
    for field, problems in sorted(_fields(error.messages).items()):
        for text in _flatten(problems):
            code = _code_of(text)
            details.append({"field": field, "code": code, "message": _sentence(code, text)})
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
            return body
    elif not request.content_length:
        return {}
    raise InvalidInput({"_body": ["Not valid JSON: send a JSON object with Content-Type: application/json."]})


def respond(schema: Schema, value: Any, status: int = 200) -> Response:
    response = current_app.json.response(schema.dump(value))
    response.status_code = status
    return response
