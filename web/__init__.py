"""The web layer: parse the request, call one engine function, render. `create_app` wires it."""
from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from pathlib import Path
from typing import Any

from flask import Flask, g, request, session

from tsunagu.engine.clock import local, system_clock
from tsunagu.engine.config import Settings
from tsunagu.engine.db import configure_engine, engine_options

from . import (
    account,
    admin,
    auth,
    case_list,
    case_migration,
    case_records,
    cases,
    concern,
    council,
    decision_modeller,
    decision_tables,
    designer,
    errors,
    form_editor,
    inbox,
    labels,
    ledger,
    modeller,
    notices,
    pledge,
    prints,
    process_diff,
    reports,
    subject_requests,
    supervision,
    task_settings,
    tasks,
)
from .admin import catalogue as admin_catalogue
from .admin import file_register as admin_file_register
from .admin import organisations as admin_organisations
from .admin import retention as admin_retention
from .admin import security as admin_security
from .admin import teams as admin_teams
from .admin import tokens as admin_tokens
from .admin import users as admin_users
from .api import case_commands as api_case_commands  # noqa: F401  (registers its routes on the API blueprint)
from .api import cases as api_cases  # noqa: F401  (idem)
from .api import docs as api_docs  # noqa: F401  (idem)
from .api import openapi as api_openapi  # noqa: F401  (idem)
from .api import operations as api_operations  # noqa: F401  (idem)
from .api import processes as api_processes  # noqa: F401  (idem)
from .api import tasks as api_tasks  # noqa: F401  (idem)
from .api.base import bp as api_bp
from .api.errors import api_language, is_api_request
from .context import expire_idle_session, head_reads_only, load_user
from .extensions import babel, csrf, db
from .gates import require_password_change, require_pledge, require_second_factor
from .messages import role_name

TRANSLATIONS = Path(__file__).resolve().parent / "translations"


def create_app(overrides: dict | None = None) -> Flask:
    """Build the Flask app from settings (environment, then `overrides`: SETTINGS, CLOCK, Flask keys)."""
    overrides = dict(overrides or {})
    settings: Settings = overrides.pop("SETTINGS", None) or Settings.from_env()
    # Paths are given: `tsunagu` is a namespace package, where Flask cannot guess them.
    app = Flask(__name__, root_path=str(Path(__file__).resolve().parent), instance_path=settings.instance_dir)
    app.config.update(
        SECRET_KEY=settings.secret_key or _development_key(app),
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(settings.database_url, settings.sqlite_busy_ms),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=settings.session_minutes),
        BABEL_DEFAULT_LOCALE=settings.default_locale,
        BABEL_DEFAULT_TIMEZONE=settings.time_zone,
        BABEL_TRANSLATION_DIRECTORIES=str(TRANSLATIONS),
        # A form field may hold a whole diagram posted from the modeller (the standard one is 70 KB);
        # above this the answer is 413 with a Japanese page.
        MAX_FORM_MEMORY_SIZE=4 * 1024 * 1024,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  (JSON answers keep Japanese readable)
    app.extensions["tsunagu.clock"] = overrides.pop("CLOCK", system_clock)
    app.extensions["tsunagu.settings"] = settings
    app.config.update(overrides)

    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    # Before any route is added (the id converter) and before the other hooks (the NUL check).
    errors.install(app)

    for blueprint in (auth.bp, account.bp, pledge.bp, inbox.bp, tasks.bp, cases.bp, case_records.bp, concern.bp,
                      council.bp, notices.bp, admin.bp, admin_users.bp, admin_organisations.bp, admin_catalogue.bp,
                      admin_security.bp, admin_teams.bp, admin_tokens.bp, prints.bp, designer.bp, case_list.bp,
                      admin_retention.bp,
                      admin_file_register.bp,
                      subject_requests.bp,
                      supervision.bp, ledger.bp, reports.bp, process_diff.bp, case_migration.bp, task_settings.bp,
                      decision_tables.bp, modeller.bp, form_editor.bp, decision_modeller.bp, api_bp):
        app.register_blueprint(blueprint)
    # In this order: HEAD is made a plain read, an idle session ends, then the user is loaded, then what
    # they must do first: replace a one-time password, enrol a second factor, accept the secrecy pledge.
    # The API signs requests in with tokens, never with the cookie: these hooks are the pages' own.
    app.before_request(head_reads_only)
    for hook in (expire_idle_session, load_user, require_password_change, require_second_factor, require_pledge):
        app.before_request(_pages_only(hook))
    app.after_request(_security_headers)
    app.jinja_env.globals["role_name"] = role_name
    app.jinja_env.filters["localdate"] = lambda m: local(m, settings.time_zone).strftime("%Y-%m-%d")
    app.jinja_env.filters["localdatetime"] = lambda m: local(m, settings.time_zone).strftime("%Y-%m-%d %H:%M")
    app.context_processor(lambda: {"now": app.extensions["tsunagu.clock"]()})
    app.context_processor(notices.bell)
    app.context_processor(council.council_link)
    app.jinja_env.globals["current_language"] = _select_locale
    # Every designer page that validates a package lists its problems in Japanese sentences.
    app.jinja_env.globals["problem_text"] = designer.problem_text
    app.jinja_env.globals["label"] = labels.label
    return app


def _pages_only(hook: Callable[[], Any]) -> Callable[[], Any]:
    @wraps(hook)
    def guarded() -> Any:
        return None if is_api_request() else hook()

    return guarded


def _select_locale() -> str:
    if is_api_request():
        return api_language()
    chosen = session.get("lang")
    if chosen in auth.LANGUAGES:
        return chosen
    user = g.get("user")
    if user is not None and user.locale in auth.LANGUAGES:
        return user.locale
    return "ja"


def _development_key(app: Flask) -> str:
    # Without TSUNAGU_SECRET_KEY, keep a random key in the instance folder so sessions survive restarts.
    path = Path(app.instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _security_headers(response):
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'self'",
    )
    if request.endpoint and request.endpoint != "static":
        response.headers.setdefault("Cache-Control", "no-store")
    return response
