"""The inbox: my tasks, tasks of my roles waiting to be claimed, and recent cases."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from tsunagu.engine.commands import cases, queries
from tsunagu.engine.runtime.forms import today_in_japan

from .context import clock, login_required
from .extensions import db

bp = Blueprint("inbox", __name__)


@bp.route("/")
@login_required
def index():
    if g.user.role_codes == {"referrer"}:  # a lay referrer has no inbox: they only pass concerns on
        return redirect(url_for("concern.submit"))
    return render_template(
        "inbox.html",
        mine=queries.my_tasks(db.session, g.user),
        available=queries.available_tasks(db.session, g.user, clock()()),
        recent=queries.recent_cases(db.session, g.user, today_in_japan(clock()())),
    )


@bp.route("/tasks/<int:task_id>/claim", methods=["POST"])
@login_required
def claim(task_id: int):
    task = cases.claim_task(db.session, clock(), g.user, task_id)
    flash(_("You took the task “%(name)s”.", name=task.name), "info")
    return redirect(request.form.get("next") or url_for("inbox.index"))


@bp.route("/tasks/<int:task_id>/unclaim", methods=["POST"])
@login_required
def unclaim(task_id: int):
    task = cases.unclaim_task(db.session, clock(), g.user, task_id)
    flash(_("You gave back the task “%(name)s”.", name=task.name), "info")
    return redirect(url_for("inbox.index"))
