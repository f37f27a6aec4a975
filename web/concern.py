"""A lay referrer (つながりサポーター) hands a concern to the municipality, and sees nothing afterwards."""
from __future__ import annotations

import json

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from tsunagu.engine.commands import cases
from tsunagu.engine.commands.cases import CONCERN_FORM
from tsunagu.engine.errors import FormInvalid
from tsunagu.processes.registry import live_version

from .context import clock, login_required, settings
from .extensions import db
from .formschema import build_fields, parse_submission
from .messages import field_errors

bp = Blueprint("concern", __name__)


def _forms(version) -> tuple[dict, dict]:
    if CONCERN_FORM not in version.files:
        abort(404)
    ui_name = CONCERN_FORM.replace("-schema", "-uischema")
    return json.loads(version.files[CONCERN_FORM]), json.loads(version.files.get(ui_name, "{}"))


@bp.route("/concern", methods=["GET", "POST"])
@login_required
def submit():
    version = live_version(db.session, g.user.municipality_id, settings().main_process)
    schema, ui_schema = _forms(version)
    if request.method == "GET":
        return render_template("concern.html", schema=schema, fields=build_fields(schema, ui_schema))
    data = parse_submission(schema, request.form, ui_schema)
    try:
        case = cases.start_case(db.session, clock(), g.user, version, _("Referral from a supporter"), concern=data)
    except FormInvalid as invalid:
        errors = field_errors(invalid)
        flash(_("The form has errors. Please check the highlighted fields."), "error")
        return render_template("concern.html", schema=schema,
                               fields=build_fields(schema, ui_schema, values=data, errors=errors)), 422
    flash(_("Thank you. The concern was received as number %(ref)s; a caseworker will follow it up.",
            ref=case.reference), "info")
    return redirect(url_for("concern.submit"))
