"""Who may see a case and who did: the break-glass opening, the access log and the case export."""
from __future__ import annotations

import json

from flask import Blueprint, Response, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from tsunagu.engine.access.audit_reports import access_log as read_access_log
from tsunagu.engine.access.security import BREAK_GLASS_HOURS, open_break_glass
from tsunagu.engine.commands import exports, queries
from tsunagu.engine.errors import Forbidden, FormInvalid

from .context import clock, login_required
from .extensions import db
from .messages import field_errors

bp = Blueprint("case_records", __name__)


def break_glass_offer(values: dict | None = None, errors: dict | None = None) -> dict:
    """What the break-glass form shows: the hours one may choose, what was typed and what was wrong."""
    return {"hours": BREAK_GLASS_HOURS, "values": values or {}, "errors": errors or {}}


def _require_supervisor() -> None:
    # Checked before any case is looked up, so the refusal says nothing about which cases exist.
    if "supervisor" not in g.user.role_codes:
        raise Forbidden("only supervisors may open a case by break-glass")


@bp.route("/break-glass", methods=["GET", "POST"])
@login_required
def break_glass_search():
    """A supervisor types the reference of a case they have no basis for and opens it in an emergency."""
    _require_supervisor()
    if request.method == "GET":
        return render_template("break_glass.html", offer=break_glass_offer(), refused=False)
    reference = request.form.get("reference", "")
    case_id = queries.case_id_by_reference(db.session, g.user, reference) if len(reference) <= 32 else None
    if case_id is None:  # unknown here and another municipality's case read alike
        errors = {"reference": [_("No case with this reference was found in your municipality.")]}
        return _refused(reference, errors)
    return _open(case_id, reference)


@bp.route("/cases/<int:case_id>/break-glass", methods=["POST"])
@login_required
def break_glass(case_id: int):
    _require_supervisor()
    return _open(case_id, None)


def _open(case_id: int, reference: str | None):
    reason = request.form.get("reason", "")
    hours = request.form.get("hours", "")
    try:
        grant = open_break_glass(db.session, clock(), g.user, case_id, reason,
                                 int(hours) if hours.isascii() and hours.isdigit() and len(hours) < 4 else 0)
    except FormInvalid as invalid:
        errors = field_errors(invalid)
        return _refused(reference, errors, case_id=case_id if reference is None else None)
    # The case page it lands on carries the red banner with the expiry for as long as the opening lasts.
    return redirect(url_for("cases.show", case_id=grant.case_id))


def _refused(reference: str | None, errors: dict, case_id: int | None = None):
    values = {"reason": request.form.get("reason", ""), "hours": request.form.get("hours", ""),
              "reference": reference or ""}
    offer = break_glass_offer(values, errors)
    offer["case_id"] = case_id
    return render_template("break_glass.html", offer=offer, refused=True), 422


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
