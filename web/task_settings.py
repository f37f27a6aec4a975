"""Task settings without XML (/designer/processes/<key>/tasks): a table of the process's user and manual
tasks whose role, form, due and follow-up times, priority and instructions a designer changes; saving makes
a new draft of the BPMN, validated like an upload, which is then deployed from the process page."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from tsunagu.engine.errors import Conflict, DefinitionInvalid, FieldError, FormInvalid
from tsunagu.processes import task_settings
from tsunagu.processes.task_settings import FIELDS, INSTRUCTIONS_MAX, Source, TaskTable

from .context import clock, login_required
from .designer import designer_town
from .extensions import db
from .messages import field_message

bp = Blueprint("task_settings", __name__)


@bp.route("/designer/processes/<key>/tasks")
@login_required
def table(key: str):
    source = task_settings.settings_source(db.session, designer_town(), key)
    return _page(key, source, task_settings.read_table(source.files))


@bp.route("/designer/processes/<key>/tasks", methods=["POST"])
@login_required
def save(key: str):
    town = designer_town()
    source = task_settings.settings_source(db.session, town, key)
    shown = task_settings.read_table(source.files)
    changes = {row.id: {name: request.form[f"{name}:{row.id}"] for name in FIELDS
                        if f"{name}:{row.id}" in request.form}
               for row in shown.rows}
    try:
        draft, changed = task_settings.save_task_settings(
            db.session, clock(), g.user, town, key, changes, base=request.form.get("base", ""), via="web")
    except FormInvalid as invalid:
        return _page(key, source, shown, errors=_errors(invalid.errors), posted=changes), 422
    except DefinitionInvalid as invalid:
        return _page(key, source, shown, problems=invalid.problems, posted=changes), 422
    except Conflict:
        flash(_("Someone saved a new draft of this process while you were editing: your changes were not saved. "
                "Here is the new draft."), "error")
        return redirect(url_for(".table", key=key))
    if draft is None:
        flash(_("Nothing was changed."), "info")
        return redirect(url_for(".table", key=key))
    flash(_("The task settings were checked and saved as the draft (%(n)s change(s)). Deploy it from this page.",
            n=len(changed)), "info")
    return redirect(url_for("designer.process", key=key, draft=1))


def _errors(errors: list[FieldError]) -> dict[str, list[str]]:
    """The sentence for each refused field, by `<element>.<field>`."""
    found: dict[str, list[str]] = {}
    for error in errors:
        found.setdefault(error.field, []).append(_field_sentence(error))
    return found


def _field_sentence(error: FieldError) -> str:
    p = error.params
    sentences = {
        "duration_invalid": lambda: _("“%(value)s” is not a duration (e.g. P3D).", value=p.get("value")),
        "priority_invalid": lambda: _("Enter a whole number from 0 to 100."),
        "form_file_unknown": lambda: _("The package has no form file “%(value)s”.", value=p.get("value")),
        "form_not_allowed": lambda: _("A manual task has no form."),
        "role_unknown": lambda: _("Choose one of the process's lanes."),
        "role_has_no_lane": lambda: _("No lane of this process is worked by that role: add the lane in a modeller "
                                      "and upload the process."),
        "lanes_missing": lambda: _("This process has no lanes: its tasks go to the municipality's default role."),
        "characters_invalid": lambda: _("The text holds control characters that cannot be stored."),
        "task_unknown": lambda: _("The process has no such task."),
        "field_unknown": lambda: _("This setting cannot be changed here."),
    }
    known = sentences.get(error.code)
    return known() if known else field_message(error)


def _page(key: str, source: Source, shown: TaskTable, *, errors: dict[str, list[str]] | None = None,
          problems: list | None = None, posted: dict | None = None):
    return render_template("designer_tasks.html", key=key, source=source, table=shown, errors=errors or {},
                           invalid_rows={where.split(".", 1)[0] for where in errors or {}},
                           problems=problems or [], posted=posted or {}, instructions_max=INSTRUCTIONS_MAX,
                           fields=FIELDS)
