"""The notification bell: the user's recent notices and marking them read."""
from __future__ import annotations

from flask import Blueprint, g, redirect, render_template, url_for

from tsunagu.engine.ops.notifications import mark_all_read, recent_notifications, unread_count

from .context import clock, login_required
from .extensions import db

bp = Blueprint("notices", __name__)


def bell() -> dict:
    """Template context: the signed-in user's unread count (one COUNT on the notifications index)."""
    user = g.get("user")
    return {"unread_notices": unread_count(db.session, user) if user is not None else 0}


@bp.route("/notifications")
@login_required
def index():
    return render_template("notifications.html", notices=recent_notifications(db.session, g.user))


@bp.route("/notifications/read", methods=["POST"])
@login_required
def read_all():
    mark_all_read(db.session, clock(), g.user)
    return redirect(url_for("notices.index"))
