"""The secrecy pledge (Act Art. 18): shown and accepted before any other page, published by an administrator."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from tsunagu.engine.admin.pledge import publish_pledge_as
from tsunagu.engine.casefile.governance import DEFAULT_PLEDGE, accept_pledge, current_pledge
from tsunagu.engine.errors import FormInvalid, InvalidState

from .auth import safe_next
from .context import clock, login_required
from .extensions import db
from .messages import field_message

bp = Blueprint("pledge", __name__)


@bp.route("/pledge")
@login_required
def show():
    return _render()


@bp.route("/pledge", methods=["POST"])
@login_required
def accept():
    if request.form.get("agree") != "on":
        return _render(agree_error=_("Tick the box to make the pledge.")), 422
    pledge_id = request.form.get("pledge_id", "")
    try:
        accept_pledge(db.session, clock(), g.user, int(pledge_id) if pledge_id.isdigit() else 0)
    except InvalidState:
        flash(_("The pledge was revised while you were reading it. Please read the current version."), "error")
        return _render(), 409
    flash(_("Thank you. Your pledge was recorded."), "info")
    return redirect(safe_next(request.args.get("next")))


@bp.route("/pledge/publish", methods=["POST"])
@login_required
def publish():
    text = request.form.get("text", "")
    try:
        pledge = publish_pledge_as(db.session, clock(), g.user, text)
    except FormInvalid as invalid:
        return _render(publish_text=text, publish_errors=[field_message(e) for e in invalid.errors]), 422
    flash(_("Version %(n)s of the pledge was published. Every user accepts it before their next page.",
            n=pledge.version), "info")
    return redirect(url_for("pledge.show"))


def _render(*, agree_error: str | None = None, publish_text: str | None = None,
            publish_errors: list[str] | None = None):
    return render_template("pledge.html", pledge=current_pledge(db.session, g.user.municipality_id),
                           accepted=g.get("pledge_accepted", False), agree_error=agree_error,
                           publish_text=DEFAULT_PLEDGE if publish_text is None else publish_text,
                           publish_errors=publish_errors or [], can_publish="admin" in g.user.role_codes)
