"""Moving a process's running cases to another version (/designer/processes/<key>/migrate): the dry run's
table, then the batch in slices of a few seconds per request (the page posts the next slice itself, so
any worker can take it: the batch row and the cursor in the form are all the state), and moving one back."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from tsunagu.engine.commands import migration
from tsunagu.engine.errors import Conflict, InvalidState

from .context import clock, login_required
from .designer import designer_town
from .extensions import db

bp = Blueprint("case_migration", __name__)

SLICE_SECONDS = 5.0  # one request moves cases for about this long, then the page asks for the next slice
SLICE_CASES = 200


def reason_text(code: str | None) -> str:
    """Why a case cannot move, in the reader's language."""
    return {
        "task_removed": _("The task it waits at is not in the new version."),
        "task_changed": _("The task it waits at changed in a way it cannot carry over."),
        "subprocess_removed": _("A sub-process it is running is not in the new version."),
        "history_not_carried": _("A sub-process it went through is not in the new version."),
        "not_restorable": _("Its state cannot be restored with the new version."),
        "case_in_error": _("It is stopped on an error; retry it first."),
        "case_suspended": _("It is suspended."),
        "case_completed": _("It is closed."),
    }.get(code or "", code or "")


@bp.context_processor
def _helpers() -> dict:
    return {"reason_text": reason_text}


@bp.route("/designer/processes/<key>/migrate")
@login_required
def show(key: str):
    town = designer_town()
    found = migration.plan(db.session, clock(), g.user, key, town)
    batch = migration.latest_batch(db.session, town, key)
    moves = migration.batch_moves(db.session, batch.id) if batch is not None else []
    return render_template("designer_migrate.html", key=key, plan=found, batch=batch, step=None, moves=moves)


@bp.route("/designer/processes/<key>/migrate", methods=["POST"])
@login_required
def start(key: str):
    town = designer_town()
    try:
        batch, _found = migration.start_batch(db.session, clock(), g.user, key, town, via="web")
    except Conflict:
        flash(_("A migration of this process is already running: continue it below."), "error")
        return redirect(url_for(".show", key=key))
    return _slice(key, batch.id, 0)


@bp.route("/designer/processes/<key>/migrate/<int:batch_id>", methods=["POST"])
@login_required
def resume(key: str, batch_id: int):
    designer_town()
    after = request.form.get("after", "0")
    return _slice(key, batch_id, int(after) if after.isascii() and after.isdigit() and len(after) < 12 else 0)


def _slice(key: str, batch_id: int, after: int):
    step = migration.run_batch(db.session, clock(), g.user, batch_id, after=after, limit=SLICE_CASES,
                               seconds=SLICE_SECONDS)
    if step.batch.process_id != key:
        return redirect(url_for(".show", key=step.batch.process_id))
    return render_template("designer_migrate.html", key=key, plan=None, batch=step.batch, step=step, moves=[])


@bp.route("/designer/cases/<int:case_id>/migrate-back", methods=["POST"])
@login_required
def move_back(case_id: int):
    designer_town()
    key = request.form.get("key", "")
    try:
        migration.move_back(db.session, clock(), g.user, case_id)
    except InvalidState as refused:
        flash(_("This case cannot be moved back: it has advanced since the move, or was not moved.")
              if refused.details.get("reason") in ("case_advanced", "not_migrated") else _("This case cannot be moved back."),
              "error")
    else:
        flash(_("The case is back on its previous version."), "info")
    return redirect(url_for(".show", key=key) if key else url_for("designer.index"))
