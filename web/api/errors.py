"""The API's one error format: HTTP status, a stable snake_case `code`, a human `message` in the client's
language (`Accept-Language`: Japanese unless English is preferred) and `details` naming the fields or BPMN
elements involved. web/errors.py answers every failure under /api/ with it."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import current_app, request
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from tsunagu.engine.errors import FieldError, FormInvalid, TsunaguError

from ..messages import field_message

PREFIX = "/api/"
LANGUAGES = ("ja", "en")


def is_api_request() -> bool:
    return request.path.startswith(PREFIX)


def api_language() -> str:
    """The client's language for messages: English only when it prefers English to Japanese."""
    return request.accept_languages.best_match(LANGUAGES, default="ja") or "ja"


def details_of(error: TsunaguError, names: Mapping[str, str] | None = None,
               sentence: Callable[[FieldError], str] = field_message) -> list[dict[str, Any]]:
    """What a refused command concerns: each bad field with its code and sentence (the field named as the
    request names it, by `names`), else the BPMN element or record it names. A missing item names nothing
    ("missing" and "not yours" read alike)."""
    if error.code == "not_found":
        return []
    if isinstance(error, FormInvalid):
        names = names or {}
        return [{"field": names.get(e.field, e.field), "code": e.code, "message": sentence(e), **e.params}
                for e in error.errors]
    found: dict[str, Any] = {k: v for k, v in error.details.items() if v is not None}
    if error.element:
        found["element"] = error.element
    return [found] if found else []


def api_error(status: int, code: str, message: str, details: list[dict[str, Any]] | None = None) -> Response:
    response = current_app.json.response({"status": status, "code": code, "message": message,
                                          "details": details or []})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="tsunagu"'
    return response


def missing_token() -> Response:
    return api_error(401, "token_missing", _("Send an API token: Authorization: Bearer <token>."))
