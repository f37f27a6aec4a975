"""The user's own account: enrolling a second factor (TOTP), required for administrators."""
from __future__ import annotations

import segno
from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from tsunagu.engine.errors import FormInvalid
from tsunagu.engine.security import confirm_totp_enrolment, pending_totp_uri, start_totp_enrolment

from .context import clock, login_required
from .extensions import db
from .messages import field_message

bp = Blueprint("account", __name__)


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
    qr = Markup(segno.make(uri, error="m").svg_inline(scale=4, svgclass="qr", lineclass=None,
                                                      title=_("QR code for the authenticator app"))) if uri else None
    secret = g.user.totp_secret if uri else None
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4)) if secret else None
    return render_template("totp_enrol.html", qr=qr, secret=grouped, errors=errors or [])
