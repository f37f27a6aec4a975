"""A task page: the task's JSON Schema form, rendered on the server, and its completion."""
from __future__ import annotations

import json

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from tsunagu.engine.clock import local
from tsunagu.engine.commands import cases, drafts, queries
from tsunagu.engine.errors import FormInvalid
from tsunagu.engine.models import TaskRecord

from .context import clock, login_required, settings, signed_out
from .extensions import db
from .formschema import build_fields, draft_values, parse_submission, source_names
from .messages import field_message

bp = Blueprint("tasks", __name__)


def _form_documents(task: TaskRecord) -> tuple[dict, dict]:
    files = task.case.process_version.files
    schema = json.loads(files[task.form_file]) if task.form_file else {"type": "object", "properties": {}}
    ui_schema = json.loads(files[task.ui_file]) if task.ui_file and task.ui_file in files else {}
    return schema, ui_schema


def _sources(task: TaskRecord, ui_schema: dict) -> dict[str, list[tuple]]:
    """The dynamic choice lists the form's uiSchema names with "ui:source", filled for the task's municipality."""
    sources = {}
    if "member_bodies" in source_names(ui_schema):
        sources["member_bodies"] = [(b.id, b.name) for b in queries.member_bodies(db.session, task.municipality_id)]
    return sources


@bp.route("/tasks/<int:task_id>", methods=["GET"])
@login_required
def show(task_id: int):
    task = queries.view_task(db.session, clock(), g.user, task_id)
    schema, ui_schema = _form_documents(task)
    # What this user typed before their session ended comes back; nobody else's draft is ever loaded.
    draft = drafts.load_draft(db.session, clock(), g.user, task.id)
    values = draft_values(schema, draft.fields) if draft else queries.task_prefill(db.session, task)
    fields = build_fields(schema, ui_schema, values=values, sources=_sources(task, ui_schema))
    return render_template("task.html", task=task, schema=schema, fields=fields, draft=draft,
                           disclosures=queries.disclosures_to_review(db.session, task))


@bp.route("/tasks/<int:task_id>/draft", methods=["POST"])
def save_draft(task_id: int):
    """The task page's script keeps what is typed as a draft; a signed-out call answers 401, not a redirect."""
    if g.get("user") is None:
        return signed_out()
    draft = drafts.save_draft(db.session, clock(), g.user, task_id, request.form.to_dict(flat=False))
    saved = local(draft.saved_at, settings().time_zone).strftime("%H:%M")
    return current_app.json.response(
        {"saved_at": draft.saved_at.isoformat(),
         "message": _("Your input was saved as a draft (%(time)s).", time=saved)})


@bp.route("/tasks/<int:task_id>", methods=["POST"])
@login_required
def complete(task_id: int):
    task = queries.workable_task(db.session, g.user, task_id)
    schema, ui_schema = _form_documents(task)
    data = parse_submission(schema, request.form)
    try:
        case = cases.complete_task(db.session, clock(), g.user, task_id, data)
    except FormInvalid as invalid:
        errors: dict[str, list[str]] = {}
        for error in invalid.errors:
            errors.setdefault(error.field.split(".")[0], []).append(field_message(error))
        flash(_("The form has errors. Please check the highlighted fields."), "error")
        fields = build_fields(schema, ui_schema, values=data, errors=errors, sources=_sources(task, ui_schema))
        return render_template("task.html", task=task, schema=schema, fields=fields), 422
    flash(_("“%(name)s” is complete.", name=task.name), "info")
    for follow_up in queries.open_tasks_of_case(db.session, case.id):
        flash(_("Next task: “%(name)s”.", name=follow_up.name), "info")
    return redirect(url_for("inbox.index"))
