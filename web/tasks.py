"""A task page: the task's JSON Schema form, rendered on the server, and its completion."""
from __future__ import annotations

import json

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from tsunagu.engine.clock import local
from tsunagu.engine.commands import cases, drafts, handover, queries
from tsunagu.engine.errors import FormInvalid
from tsunagu.engine.models import CaseRecord, CaseStatus, TaskRecord, TaskStatus
from tsunagu.engine.runtime.instructions import instructions_of, render_instructions
from tsunagu.engine.runtime.stored_versions import files_of, spec_of
from tsunagu.engine.runtime.workflow import SignalNotOffered, human_task_details

from .context import clock, login_required, settings, signed_out
from .extensions import db
from .formschema import build_fields, draft_values, parse_submission, source_names
from .messages import field_errors

bp = Blueprint("tasks", __name__)


def _form_documents(task: TaskRecord) -> tuple[dict, dict]:
    files = files_of(task.case.process_version)
    schema = json.loads(files[task.form_file]) if task.form_file else {"type": "object", "properties": {}}
    ui_schema = json.loads(files[task.ui_file]) if task.ui_file and task.ui_file in files else {}
    return schema, ui_schema


def _sources(task: TaskRecord, ui_schema: dict) -> dict[str, list[tuple]]:
    """The dynamic choice lists the form's uiSchema names with "ui:source", filled for the task's municipality."""
    sources = {}
    if "member_bodies" in source_names(ui_schema):
        sources["member_bodies"] = [(b.id, b.name) for b in queries.member_bodies(db.session, task.municipality_id)]
    return sources


def _guidance(task: TaskRecord) -> tuple[Markup, list[str]]:
    """The task's instructions (Markdown, rendered safely) and the signals a person may raise on it."""
    version = task.case.process_version
    text = instructions_of(spec_of(version), task.element_id)
    data: dict = {}
    signals: list[str] = []
    # Only a task that can still show a value or raise a signal needs the case's saved state read.
    if task.status == TaskStatus.OPEN and (text is not None or "SignalEventDefinition" in spec_of(version)):
        details = human_task_details(spec_of(version), task.case.workflow_state, task.spiff_task_id)
        data, signals = details.data, details.signals
    # render_instructions escapes every value and allows no raw HTML, so its output is safe to insert.
    return Markup(render_instructions(text, data)), signals  # noqa: S704


@bp.route("/tasks/<int:task_id>", methods=["GET"])
@login_required
def show(task_id: int):
    task = queries.view_task(db.session, clock(), g.user, task_id)
    schema, ui_schema = _form_documents(task)
    # What this user typed before their session ended comes back; nobody else's draft is ever loaded.
    draft = drafts.load_draft(db.session, clock(), g.user, task.id)
    values = draft_values(schema, draft.fields, ui_schema) if draft else queries.task_prefill(db.session, task)
    fields = build_fields(schema, ui_schema, values=values, sources=_sources(task, ui_schema))
    instructions, signals = _guidance(task)
    return render_template("task.html", task=task, schema=schema, fields=fields, draft=draft,
                           disclosures=queries.disclosures_to_review(db.session, task),
                           instructions=instructions, signals=signals, **_held_by_other(task))


# --- supervision: a task claimed by someone else is shown read-only, with a way to take it over -----
def _held_by_other(task: TaskRecord) -> dict:
    held = task.status == TaskStatus.OPEN and task.assignee_id not in (None, g.user.id)
    return {"held_by_other": held,
            "can_take_over": held and handover.can_take_over(db.session, g.user, task, clock())}


@bp.route("/tasks/<int:task_id>/signal", methods=["POST"])
@login_required
def raise_signal(task_id: int):
    """A signal button of the task page: the case leaves the task along the signal's boundary path."""
    task = queries.workable_task(db.session, g.user, task_id)
    signal = request.form.get("signal", "")
    try:
        case = cases.raise_task_signal(db.session, clock(), g.user, task_id, signal)
    except SignalNotOffered:
        db.session.rollback()
        flash(_("This task does not offer that action (any more). Reload the page and check."), "error")
        return redirect(url_for("tasks.show", task_id=task_id))
    flash(_("“%(signal)s” was raised on “%(name)s”.", signal=signal, name=task.name), "info")
    return _after_step(case)


def _after_step(case: CaseRecord):
    """Where a person goes after moving a case on: the case page if it stopped on an error, else the inbox."""
    if case.status == CaseStatus.ERROR:
        flash(_("The process stopped with an error at the step “%(element)s”. An operator must look at it; "
                "what you entered is kept.", element=case.error_element or "—"), "error")
        return redirect(url_for("cases.show", case_id=case.id))
    for follow_up in queries.open_tasks_of_case(db.session, case.id):
        flash(_("Next task: “%(name)s”.", name=follow_up.name), "info")
    return redirect(url_for("inbox.index"))


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
    data = parse_submission(schema, request.form, ui_schema)
    try:
        case = cases.complete_task(db.session, clock(), g.user, task_id, data)
    except FormInvalid as invalid:
        errors = field_errors(invalid)
        flash(_("The form has errors. Please check the highlighted fields."), "error")
        fields = build_fields(schema, ui_schema, values=data, errors=errors, sources=_sources(task, ui_schema))
        instructions, signals = _guidance(task)
        return render_template("task.html", task=task, schema=schema, fields=fields,
                               instructions=instructions, signals=signals), 422
    flash(_("“%(name)s” is complete.", name=task.name), "info")
    return _after_step(case)
