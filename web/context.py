"""Per-request access to the signed-in user, the clock and the database session."""
from __future__ import annotations

from functools import wraps

from flask import current_app, g, redirect, request, session, url_for

from tsunagu.engine.models import UserRecord

from .extensions import db


def clock():
    return current_app.extensions["tsunagu.clock"]


def settings():
    return current_app.extensions["tsunagu.settings"]


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
