"""Per-request access to the signed-in user, the clock and the database session."""
from __future__ import annotations

from functools import wraps

from flask import current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _

from tsunagu.engine.models import UserRecord

from .extensions import db

# What survives signing in and out: only the chosen language.
KEPT_ACROSS_SIGN_IN = ("lang",)


def clock():
    return current_app.extensions["tsunagu.clock"]


def settings():
    return current_app.extensions["tsunagu.settings"]


def expire_idle_session():
    """End a session idle for longer than `session_minutes`, judged by the time stored in it.

    The cookie's own expiry is set by the browser and a copied cookie ignores it; the last-seen
    time is inside the signed session, so a replayed old cookie is refused here.
    """
    if request.endpoint == "static" or not ({"user_id", "pending_user_id"} & session.keys()):
        return None
    now = clock()().timestamp()
    seen = session.get("seen")
    if isinstance(seen, (int, float)) and now - seen <= settings().session_minutes * 60:
        session["seen"] = now
        return None
    reset_session()
    if request.endpoint == "auth.login":
        return None  # signing in again from an old tab: go ahead with the new sign-in
    flash(_("You were signed out because there was no activity for a while."), "info")
    target = request.full_path if request.method == "GET" else None
    return redirect(url_for("auth.login", next=target) if target else url_for("auth.login"))


def reset_session(**values) -> None:
    """Drop everything in the session but the language, then store `values` (and a fresh last-seen time)."""
    kept = {key: session[key] for key in KEPT_ACROSS_SIGN_IN if key in session}
    session.clear()
    session.update(kept)
    if values:
        session.permanent = True
        session.update(values, seen=clock()().timestamp())


def load_user() -> None:
    """Find the signed-in user for this request, if any (registered as a before_request hook)."""
    user_id = session.get("user_id")
    user = db.session.get(UserRecord, user_id) if user_id else None
    g.user = user if user is not None and user.active else None


def login_required(view):
    """Send anonymous visitors to the login page and back afterwards."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if g.get("user") is None:
            return redirect(url_for("auth.login", next=request.full_path))
        return view(*args, **kwargs)

    return wrapped
