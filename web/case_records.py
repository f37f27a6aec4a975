"""Who may see a case and who did: the break-glass opening, the access log and the case export."""
from __future__ import annotations

import json

from flask import Blueprint, Response, g, redirect, render_template, request, url_for

from tsunagu.engine.access.audit_reports import access_log as read_access_log
from tsunagu.engine.access.security import BREAK_GLASS_HOURS, open_break_glass
from tsunagu.engine.commands import exports
from tsunagu.engine.errors import FormInvalid, TsunaguError

from .context import clock, login_required
from .extensions import db
from .messages import field_message

bp = Blueprint("case_records", __name__)


def break_glass_offer(error: TsunaguError | None, values: dict | None = None,
                      errors: dict | None = None) -> dict | None:
    """The break-glass form for a supervisor refused a case page, or None when it is not for them."""
    user = g.get("user")
    case_id = (request.view_args or {}).get("case_id")
    if user is None or case_id is None or "supervisor" not in user.role_codes:
        return None
    if error is not None and not (error.code == "forbidden" and request.endpoint == "cases.show"):
        return None
    return {"case_id": case_id, "hours": BREAK_GLASS_HOURS, "values": values or {}, "errors": errors or {}}


@bp.route("/cases/<int:case_id>/break-glass", methods=["POST"])
@login_required
def break_glass(case_id: int):
    reason = request.form.get("reason", "")
    hours = request.form.get("hours", "")
    try:
        grant = open_break_glass(db.session, clock(), g.user, case_id, reason, int(hours) if hours.isdigit() else 0)
    except FormInvalid as invalid:
        errors: dict[str, list[str]] = {}
        for error in invalid.errors:
            errors.setdefault(error.field, []).append(field_message(error))
        offer = break_glass_offer(None, {"reason": reason, "hours": hours}, errors)
        return render_template("break_glass.html", offer=offer), 422
    # The case page it lands on carries the red banner with the expiry for as long as the opening lasts.
    return redirect(url_for("cases.show", case_id=grant.case_id))


@bp.route("/cases/<int:case_id>/access-log")
@login_required
def access_log(case_id: int):
    case, rows = read_access_log(db.session, clock(), g.user, case_id)
    return render_template("access_log.html", case=case, rows=rows)


@bp.route("/cases/<int:case_id>/export.json")
@login_required
def export(case_id: int):
    special_care = request.args.get("include_special_care") in ("1", "on", "true")
    data = exports.export_case(db.session, clock(), g.user, case_id, include_special_care=special_care)
    body = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="{data["reference"] or case_id}.json"'})
