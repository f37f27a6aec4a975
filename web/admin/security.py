"""Administration of security settings: second factor for every staff member, idle timeout."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from tsunagu.engine.admin.settings import ACCESS_DAYS, IDLE_MINUTES, security_settings, set_security_settings
from tsunagu.engine.errors import FormInvalid

from ..context import clock, login_required, settings
from ..extensions import db
from ..messages import field_errors

bp = Blueprint("admin_security", __name__)


@bp.route("/admin/security")
@login_required
def index():
    town = security_settings(db.session, g.user, g.user.municipality_id)
    return _render({"require_second_factor": town.require_second_factor,
                    "idle_minutes": "" if town.idle_minutes is None else town.idle_minutes,
                    "closure_grace_days": town.closure_grace_days, "council_window_days": town.council_window_days})


def _render(form, errors=None):
    return render_template("admin_security.html", form=form, errors=errors or {}, limits=IDLE_MINUTES, day_limits=ACCESS_DAYS,
                           default_minutes=settings().session_minutes)


@bp.route("/admin/security", methods=["POST"])
@login_required
def save():
    form = {"require_second_factor": request.form.get("require_second_factor") == "on",
            "idle_minutes": request.form.get("idle_minutes", "")[:40]}
    for days in ("closure_grace_days", "council_window_days"):  # a field left out of the post keeps its value
        if days in request.form:
            form[days] = request.form[days][:40]
    try:
        set_security_settings(db.session, clock(), g.user, g.user.municipality_id, **form)
    except FormInvalid as invalid:
        return _render(form, field_errors(invalid)), 422
    flash(_("The security settings were saved."), "info")
    return redirect(url_for(".index"))
