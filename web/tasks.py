"""A task page: the task's JSON Schema form, rendered on the server, and its completion."""
from __future__ import annotations

import json

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from tsunagu.engine.commands import cases, queries
from tsunagu.engine.errors import FormInvalid
from tsunagu.engine.models import TaskRecord

from .context import clock, login_required
from .extensions import db
from .formschema import build_fields, parse_submission, source_names
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
    fields = build_fields(schema, ui_schema, values=queries.task_prefill(db.session, task),
                          sources=_sources(task, ui_schema))
    return render_template("task.html", task=task, schema=schema, fields=fields)


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
