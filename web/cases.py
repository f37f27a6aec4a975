"""Case pages: open a new case, read a case file with its timeline, retry a failed step."""
from __future__ import annotations

import json

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from tsunagu.engine import access, cases, queries
from tsunagu.engine.models import CaseStatus
from tsunagu.processes.registry import startable_versions

from .context import clock, login_required
from .extensions import db
from .formschema import display_value, ordered_names

bp = Blueprint("cases", __name__)


@bp.route("/cases/new", methods=["GET", "POST"])
@login_required
def new():
    versions = startable_versions(db.session)
    if request.method == "GET":
        return render_template("case_new.html", versions=versions, title="")
    chosen = next((v for v in versions if str(v.id) == request.form.get("version_id")), None)
    if chosen is None:
        abort(400)
    case = cases.start_case(db.session, clock(), g.user, chosen, request.form.get("title", ""))
    flash(_("Case %(ref)s was opened.", ref=case.reference), "info")
    first = next((t for t in queries.open_tasks_of_case(db.session, case.id)
                  if access.can_work_task(g.user, t)), None)
    if first is not None:
        return redirect(url_for("tasks.show", task_id=first.id))
    return redirect(url_for("cases.show", case_id=case.id))


@bp.route("/cases/<int:case_id>")
@login_required
def show(case_id: int):
    case_file = queries.view_case(db.session, clock(), g.user, case_id)
    files = case_file.case.process_version.files
    submissions = []
    for submission in case_file.submissions:
        schema = json.loads(files.get(submission.form_id, "{}"))
        props = schema.get("properties", {})
        rows = [(props.get(name, {}).get("title", name), display_value(schema, name, submission.data[name]))
                for name in ordered_names(schema, {}) if name in submission.data]
        rows += [(name, str(value)) for name, value in submission.data.items() if name not in props]
        submissions.append((submission, schema.get("title", submission.form_id), rows))
    return render_template("case.html", file=case_file, submissions=submissions,
                           can_retry=access.is_operator(g.user))


@bp.route("/cases/<int:case_id>/retry", methods=["POST"])
@login_required
def retry(case_id: int):
    case = cases.retry_case(db.session, clock(), g.user, case_id)
    if case.status == CaseStatus.ERROR:
        flash(_("The step failed again: %(message)s", message=case.error_message), "error")
    else:
        flash(_("The case is running again."), "info")
    return redirect(url_for("cases.show", case_id=case_id))
