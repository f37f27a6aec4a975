"""What a refused or failed request answers: Japanese error pages with a way forward, never a 500 for odd input.

`install(app)` wires it once from `create_app`: the bounded id converter (before any route is added),
the check that no form field or query argument carries a character the database cannot store, and
the error handlers for domain errors, HTTP errors, CSRF failures and, last of all, any exception.
"""
from __future__ import annotations

from flask import Flask, current_app, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from tsunagu.engine.errors import TsunaguError
from tsunagu.engine.models import MAX_ID, unstorable

from .api.errors import api_error, details_of, is_api_request
from .extensions import db
from .messages import HTTP_STATUS, error_message


class IdConverter(IntegerConverter):
    """`<int:...>` route parameters: only 1..2^31-1 match, so any other number is a plain 404."""

    # In the pattern itself, not only in `to_python`: werkzeug would otherwise answer a huge id sent
    # with the wrong method 405 instead of 404 (the rule for the other method matched first).
    regex = ("(?:[1-9][0-9]{0,8}|1[0-9]{9}|20[0-9]{8}|21[0-3][0-9]{7}|214[0-6][0-9]{6}|2147[0-3][0-9]{5}"
             "|21474[0-7][0-9]{4}|214748[0-2][0-9]{3}|2147483[0-5][0-9]{2}|21474836[0-3][0-9]|214748364[0-7])")

    def __init__(self, map, fixed_digits=0, min=1, max=MAX_ID, signed=False):  # noqa: A002 - werkzeug's names
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def install(app: Flask) -> None:
    """Register the converter, the unstorable-input check and every error handler on `app`."""
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["id"] = IdConverter
    app.before_request(refuse_unstorable_input)
    app.register_error_handler(TsunaguError, domain_error)
    app.register_error_handler(CSRFError, csrf_error)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected_error)


# Sign-in answers every odd name or password as a wrong sign-in, so it reveals nothing about accounts.
OWN_CHECKS = {"auth.login", "auth.login_totp"}


def refuse_unstorable_input():
    """Answer 422 naming the field when a query argument or form field holds a NUL byte."""
    if request.endpoint in OWN_CHECKS:
        return None
    # A NUL inside the address itself (a process key, a file name) names nothing that can exist.
    if any(isinstance(value, str) and unstorable(value) for value in (request.view_args or {}).values()):
        return _page(404, "not_found", _http_message(404))
    for source in (request.args, request.form):
        for name, values in source.lists():
            if unstorable(name) or any(unstorable(value) for value in values):
                label = name.replace("\x00", "")
                message = _("The field “%(field)s” contains a character that cannot be used (NUL). "
                            "Remove it and try again.", field=label)
                return _page(422, "unstorable_input", message, element=label)
    return None


def domain_error(error: TsunaguError):
    """A refused command: the engine's code mapped to its status and sentence."""
    db.session.rollback()
    status = HTTP_STATUS.get(error.code, 400)
    if is_api_request():
        return api_error(status, error.code, error_message(error), details_of(error))
    # "Missing" and "not yours" must read alike, so a not-found page names nothing.
    element = None if error.code == "not_found" else error.element
    return _page(status, error.code, error_message(error), element=element,
                 body=None if error.code == "not_found" else error.to_dict())


def csrf_error(error: CSRFError):
    """The form's security token is missing or stale, typically after a long pause or a second tab."""
    message = _("This form has expired or was sent from another page. Go back, reload the page and send it again.")
    return _page(400, "csrf_failed", message)


def _http_message(status: int) -> str:
    # Built per request, so each sentence is in the reader's language (and found by the extractor).
    return {
        400: _("The request could not be understood. Go back and try again."),
        403: _("You do not have permission for this."),
        404: _("The requested item was not found."),
        405: _("This page cannot be used that way. Open it from a link or a button instead."),
        409: _("Someone else changed this first. Reload the page and check before trying again."),
        413: _("What you sent is too large. Send a smaller file or shorter text."),
    }.get(status) or _("The request could not be understood. Go back and try again.")


def http_error(error: HTTPException):
    """A framework refusal (unknown address, wrong method, too large...) as a Japanese page."""
    if error.code is None or error.code < 400:
        return error  # routing redirects pass through unchanged
    if error.code >= 500:
        return unexpected_error(error)
    response = _page(error.code, _http_code(error.code), _http_message(error.code))
    if error.code == 405 and getattr(error, "valid_methods", None):
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def _http_code(status: int) -> str:
    return {400: "bad_request", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
            409: "conflict", 413: "too_large"}.get(status, "bad_request")


def unexpected_error(error: Exception):
    """The last resort: log the fault for the operator, undo the request's writes, show a calm page."""
    current_app.logger.exception("unexpected error on %s %s", request.method, request.path, exc_info=error)
    db.session.rollback()
    message = _("Something went wrong on our side. Nothing you entered was saved; please try again later.")
    return _page(500, "internal_error", message)


def _page(status: int, code: str, message: str, *, element: str | None = None, body: dict | None = None):
    if is_api_request():
        return api_error(status, code, message, [{"field": element}] if status == 422 and element else None)
    if request.accept_mimetypes.best == "application/json":
        payload = dict(body or {"code": code, "message": message})
        payload["message"] = message
        response = current_app.json.response(payload)
    else:
        try:
            html = render_template("error.html", code=code, message=message, element=element, status=status)
        except Exception:  # the page itself failed (e.g. the database is down): still answer in words
            current_app.logger.exception("error page could not be rendered")
            html = f"<!doctype html><html lang=ja><title>{status}</title><p>{message}</p><p><a href=/>/</a></p>"
        response = current_app.response_class(html, mimetype="text/html")
    response.status_code = status
    return response
