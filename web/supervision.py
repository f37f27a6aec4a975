"""The supervisor's dashboard (/supervision): overdue follow-ups at a glance, and the team's tasks handed on."""
from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from tsunagu.engine.commands import handover, supervision
from tsunagu.engine.errors import FieldError, FormInvalid, TsunaguError

from .context import clock, login_required
from .extensions import db
from .messages import field_message

bp = Blueprint("supervision", __name__)

# The page's names for the lists behind the numbers, and the engine's.
LISTS = {"overdue": "overdue", "reviews": "reviews", "due-soon": "due_soon", "unassigned": "unassigned",
         "escalations": "escalations"}
# The same lists in the case list (/cases), whose filters another page implements.
CASE_FILTERS = {"overdue": {"overdue": "1"}, "reviews": {"overdue": "1", "element": "follow_up_review"},
                "errors": {"status": "error"}}


def cases_link(**filters: object) -> str:
    """A link into the case list with its filters (`/cases?overdue=1`)."""
    return "/cases?" + urlencode({k: str(v) for k, v in filters.items() if v is not None and v != ""})


def _refusal(error: TsunaguError):
    """A refused hand-over or a page for supervisors only: its sentence, never a bare code."""
    db.session.rollback()
    messages = {
        "supervisor_only": _("Only supervisors can see the team's work and hand its tasks on."),
        "task_not_in_team": _("This task's case is not worked by your team."),
        "task_not_claimed": _("Nobody else has taken this task."),
        "task_already_claimed": _("Someone has already taken this task: reassign it instead."),
    }
    status = 409 if error.code in ("task_not_claimed", "task_already_claimed") else 403
    page = render_template("error.html", code=error.code, message=messages.get(error.code, error.message),
                           element=error.element, status=status)
    return page, status


for _refused in (supervision.SupervisorOnly, handover.NotInTeam, handover.TaskNotClaimed,
                 handover.TaskAlreadyClaimed):
    bp.register_error_handler(_refused, _refusal)


def _message(error: FieldError) -> str:
    if error.code == "not_eligible":
        return _("This person cannot work this task (it needs their role, and for a partner task their body).")
    if error.code == "same_assignee":
        return _("This person already has the task.")
    if error.code == "date_in_past":
        return _("Enter today (%(limit)s) or a later date.", limit=error.params.get("limit"))
    return field_message(error)


def _errors(invalid: FormInvalid) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for error in invalid.errors:
        found.setdefault(error.field, []).append(_message(error))
    return found


@bp.route("/supervision")
@login_required
def index():
    board = supervision.dashboard(db.session, clock(), g.user)
    return render_template("supervision.html", board=board, cases_link=cases_link, filters=CASE_FILTERS)


@bp.route("/supervision/lists/<kind>")
@login_required
def task_list(kind: str):
    if kind == "errors":
        found = supervision.error_cases(db.session, clock(), g.user)
        return render_template("supervision_list.html", kind=kind, rows=None, errors=found,
                               cases_href=cases_link(**CASE_FILTERS["errors"]))
    if kind not in LISTS:
        supervision.require_supervisor(g.user)
        return render_template("error.html", code="not_found", message=_("The requested item was not found."),
                               status=404), 404
    role = request.args.get("role", "")[:32] if kind == "unassigned" else None
    rows = supervision.task_list(db.session, clock(), g.user, LISTS[kind], role or None)
    return render_template("supervision_list.html", kind=kind, rows=rows, role=role,
                           cases_href=cases_link(**CASE_FILTERS.get(kind, {})) if kind in CASE_FILTERS else None)


@bp.route("/supervision/caseworkers/<int:user_id>")
@login_required
def caseworker(user_id: int):
    rows = supervision.task_list(db.session, clock(), g.user, "caseworker", user_id)
    return render_template("supervision_list.html", kind="caseworker", rows=rows,
                           cases_href=cases_link(caseworker=user_id))


@bp.route("/supervision/bodies/<int:body_id>")
@login_required
def body(body_id: int):
    rows = supervision.task_list(db.session, clock(), g.user, "body", body_id)
    return render_template("supervision_list.html", kind="body", rows=rows, cases_href=None)


@bp.route("/supervision/tasks/<int:task_id>")
@login_required
def task(task_id: int):
    return _render_task(task_id)


def _render_task(task_id: int, form=None, errors=None, action=None):
    found, people = handover.handover_view(db.session, clock(), g.user, task_id)
    return render_template("supervision_task.html", task=found, people=people, form=form or {},
                           errors=errors or {}, action=action,
                           take_over=handover.can_take_over(db.session, g.user, found, clock()))


def _handed_on(task_id: int, action: str, command, done: str):
    try:
        task = command()
    except FormInvalid as invalid:
        db.session.rollback()
        return _render_task(task_id, request.form, _errors(invalid), action), 422
    flash(done % {"name": task.name, "case": task.case.reference}, "info")
    return redirect(url_for(".index"))


@bp.route("/supervision/tasks/<int:task_id>/reassign", methods=["POST"])
@login_required
def reassign(task_id: int):
    form = request.form
    return _handed_on(task_id, "reassign", lambda: handover.reassign_task(
        db.session, clock(), g.user, task_id, form.get("assignee"), form.get("reason")),
        _("“%(name)s” (case %(case)s) was handed on."))


@bp.route("/supervision/tasks/<int:task_id>/assign", methods=["POST"])
@login_required
def assign(task_id: int):
    form = request.form
    return _handed_on(task_id, "assign", lambda: handover.assign_task(
        db.session, clock(), g.user, task_id, form.get("assignee"), form.get("reason")),
        _("“%(name)s” (case %(case)s) was assigned."))


@bp.route("/supervision/tasks/<int:task_id>/unclaim", methods=["POST"])
@login_required
def unclaim(task_id: int):
    return _handed_on(task_id, "unclaim", lambda: handover.unclaim_task(
        db.session, clock(), g.user, task_id, request.form.get("reason")),
        _("“%(name)s” (case %(case)s) is open to everyone of its role again."))


@bp.route("/supervision/tasks/<int:task_id>/due", methods=["POST"])
@login_required
def due(task_id: int):
    form = request.form
    return _handed_on(task_id, "due", lambda: handover.change_due_date(
        db.session, clock(), g.user, task_id, form.get("due_on"), form.get("reason")),
        _("The due date of “%(name)s” (case %(case)s) was changed."))


@bp.route("/supervision/tasks/<int:task_id>/take-over", methods=["POST"])
@login_required
def take_over(task_id: int):
    """From the task page: the supervisor takes the task and goes on working it there."""
    try:
        task = handover.take_over_task(db.session, clock(), g.user, task_id, request.form.get("reason"))
    except FormInvalid as invalid:
        db.session.rollback()
        flash(" ".join(m for ms in _errors(invalid).values() for m in ms), "error")
        return redirect(url_for("tasks.show", task_id=task_id))
    flash(_("You took over “%(name)s”.", name=task.name), "info")
    return redirect(url_for("tasks.show", task_id=task.id))


@bp.route("/supervision/tasks/<int:task_id>/ask", methods=["POST"])
@login_required
def ask(task_id: int):
    """From the task page: ask whoever holds the task to hand it over."""
    task = handover.ask_to_take_over(db.session, clock(), g.user, task_id)
    flash(_("%(user)s was asked to hand over “%(name)s”.", user=task.assignee.display_name if task.assignee else "—",
            name=task.name), "info")
    return redirect(url_for("tasks.show", task_id=task.id))
