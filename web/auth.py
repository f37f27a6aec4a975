"""Sign in (password, then the second factor for users who have one), sign out and the language switch."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from tsunagu.engine.access.recovery import looks_like_recovery_code
from tsunagu.engine.access.security import LoginOutcome, check_password, check_totp
from tsunagu.engine.access.sessions import end_session

from .context import clock, reset_session, sign_in
from .extensions import db

bp = Blueprint("auth", __name__)
LANGUAGES = ("ja", "en")


def safe_next(target: str | None) -> str:
    """A same-site path to go on to; an open redirect would let a phishing link borrow our login page."""
    # Browsers read a backslash as a slash ("/\\evil.example" is "//evil.example") and drop tabs and
    # newlines, so any of them, or any other control character, could turn a path into another site.
    if (target and target.startswith("/") and not target.startswith("//") and "\\" not in target
            and target.isprintable() and not urlsplit(target).netloc and not urlsplit(target).scheme):
        return target
    return url_for("inbox.index")


def _refused(template: str = "login.html", **context):
    """One answer for a wrong name, a wrong password and a locked account: telling them apart would let
    anyone find out which user names exist (the engine audits them distinctly)."""
    flash(_("The user name or password is wrong, or the account is locked for a while. "
            "Please check them or try again later."), "error")
    return render_template(template, **context), 401


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return render_template("login.html", username="")
    username = request.form.get("username", "").strip()
    result = check_password(db.session, clock(), username, request.form.get("password", ""))
    if result.outcome == LoginOutcome.OK:
        sign_in(result.user)
        return redirect(safe_next(request.args.get("next")))
    if result.outcome == LoginOutcome.NEEDS_TOTP:
        reset_session(pending_user_id=result.user.id)
        return redirect(url_for("auth.login_totp", next=request.args.get("next")))
    return _refused(username=username)


@bp.route("/login/totp", methods=["GET", "POST"])
def login_totp():
    """The second step: a six-digit code from the user's authenticator app."""
    pending = session.get("pending_user_id")
    if pending is None:
        return redirect(url_for("auth.login", next=request.args.get("next")))
    if request.method == "GET":
        return render_template("login_totp.html")
    result = check_totp(db.session, clock(), pending, request.form.get("code", ""))
    if result.outcome == LoginOutcome.OK:
        sign_in(result.user)
        if result.recovery_codes_left is not None:
            flash(_("You signed in with a recovery code; it cannot be used again. %(n)s unused codes remain. "
                    "You can make new ones on your account page.", n=result.recovery_codes_left),
                  "info" if result.recovery_codes_left > 2 else "error")
        return redirect(safe_next(request.args.get("next")))
    if result.outcome == LoginOutcome.LOCKED:
        reset_session()  # start again from the password once the lock has passed
        return _refused(username="")
    if looks_like_recovery_code(request.form.get("code", "")):
        wrong = _("This recovery code is wrong or was used already.")
        return render_template("login_totp.html", recovery_error=wrong), 401
    return render_template("login_totp.html", error=_("The confirmation code is wrong.")), 401


@bp.route("/logout", methods=["POST"])
def logout():
    end_session(db.session, clock(), session.get("sid"))  # a copy of the cookie is refused from now on
    reset_session()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/lang/<code>", methods=["POST"])
def set_language(code: str):
    if code in LANGUAGES:
        session["lang"] = code
    return redirect(safe_next(request.form.get("next")))
