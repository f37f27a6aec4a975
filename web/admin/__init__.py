"""Administration: the landing page, the audit log export and incidents of failing timers.

One module per thing administered (users, organisations and councils, the action catalogue, security
settings), each its own blueprint registered by `create_app`."""
from __future__ import annotations

from flask import Blueprint, Response, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _

from tsunagu.engine.access import permissions
from tsunagu.engine.access.audit_reports import export_audit_csv
from tsunagu.engine.clock import local
from tsunagu.engine.commands.scheduler import open_incidents, retry_incident

from ..context import clock, login_required, settings
from ..extensions import db

bp = Blueprint("admin", __name__)
# Excel in Japan reads a CSV file as Shift_JIS unless it starts with a UTF-8 byte order mark.
BOM = "\ufeff"


@bp.route("/admin")
@login_required
def index():
    permissions.require_admin(g.user)
    return render_template("admin.html")


@bp.route("/admin/audit.csv")
@login_required
def audit_csv():
    body = export_audit_csv(db.session, clock(), g.user)
    day = local(clock()(), settings().time_zone).strftime("%Y%m%d")
    return Response(BOM + body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="tsunagu-audit-{day}.csv"'})


@bp.route("/admin/incidents")
@login_required
def incidents():
    return render_template("incidents.html", incidents=open_incidents(db.session, g.user))


@bp.route("/admin/incidents/<int:incident_id>/retry", methods=["POST"])
@login_required
def retry(incident_id: int):
    incident = retry_incident(db.session, clock(), g.user, incident_id)
    flash(_("Case %(ref)s was put back to work; its timer fires on the next scheduler pass.",
            ref=incident.case.reference), "info")
    return redirect(url_for("admin.incidents"))
