"""The user's own account: who they are, changing their password, the second factor (TOTP) and recovery codes."""
from __future__ import annotations

import segno
from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from tsunagu.engine.access.recovery import issue_recovery_codes, unused_recovery_codes
from tsunagu.engine.access.security import confirm_totp_enrolment, pending_totp_uri, start_totp_enrolment
from tsunagu.engine.access.users import PASSWORD_MIN_LENGTH
from tsunagu.engine.admin.staff import change_own_password
from tsunagu.engine.admin.staff_directory import organisation_names
from tsunagu.engine.errors import FormInvalid

from .auth import safe_next
from .context import clock, login_required, restamp_session
from .extensions import db
from .messages import field_message

bp = Blueprint("account", __name__)


@bp.route("/account")
@login_required
def show():
    bodies = organisation_names(db.session, g.user.municipality_id) if g.user.organisation_id else {}
    return render_template("account.html", organisation=bodies.get(g.user.organisation_id),
                           unused_codes=unused_recovery_codes(db.session, g.user))


@bp.route("/account/password")
@login_required
def password():
    return _render_password({})


@bp.route("/account/password", methods=["POST"])
@login_required
def change_password():
    form = request.form
    try:
        change_own_password(db.session, clock(), g.user, form.get("current_password", ""),
                            form.get("new_password", ""), form.get("confirm_password", ""))
    except FormInvalid as invalid:
        errors: dict[str, list[str]] = {}
        for e in invalid.errors:
            errors.setdefault(e.field, []).append(field_message(e))
        return _render_password(errors), 422
    restamp_session(g.user)  # this session goes on; every other one of the user has just ended
    flash(_("Your password was changed. Any other sessions of yours have been signed out."), "info")
    return redirect(safe_next(request.args.get("next")))


def _render_password(errors: dict[str, list[str]]):
    return render_template("account_password.html", errors=errors, min_length=PASSWORD_MIN_LENGTH)


@bp.route("/account/recovery-codes")
@login_required
def recovery_codes():
    return render_template("recovery_codes.html", codes=None, unused=unused_recovery_codes(db.session, g.user))


@bp.route("/account/recovery-codes", methods=["POST"])
@login_required
def issue_codes():
    codes = issue_recovery_codes(db.session, clock(), g.user)
    # Shown in this response only: never stored in the session or anywhere else readable.
    return render_template("recovery_codes.html", codes=codes, unused=len(codes))


@bp.route("/account/totp")
@login_required
def totp():
    return _render_totp()


@bp.route("/account/totp/start", methods=["POST"])
@login_required
def totp_start():
    start_totp_enrolment(db.session, g.user)
    return redirect(url_for("account.totp"))


@bp.route("/account/totp", methods=["POST"])
@login_required
def totp_confirm():
    try:
        confirm_totp_enrolment(db.session, clock(), g.user, request.form.get("code", ""))
    except FormInvalid as invalid:
        return _render_totp([field_message(e) for e in invalid.errors]), 422
    flash(_("Two-step verification is on. From now on you sign in with a code from the app."), "info")
    return redirect(url_for("inbox.index"))


def _render_totp(errors: list[str] | None = None):
    uri = pending_totp_uri(g.user)
    # segno writes the SVG itself and escapes the title, so the markup is ours, not the user's.
    svg = segno.make(uri, error="m").svg_inline(scale=4, svgclass="qr", lineclass=None,
                                                title=_("QR code for the authenticator app")) if uri else None
    qr = Markup(svg) if svg else None  # noqa: S704
    secret = g.user.totp_secret if uri else None
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4)) if secret else None
    return render_template("totp_enrol.html", qr=qr, secret=grouped, errors=errors or [])
