"""Sign in, sign out and the language switch."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from tsunagu.engine.users import authenticate

from .extensions import db

bp = Blueprint("auth", __name__)
LANGUAGES = ("ja", "en")


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an open redirect would let a phishing link borrow our login page.
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("inbox.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        user = authenticate(db.session, request.form.get("username", "").strip(), request.form.get("password", ""))
        db.session.rollback()
        if user is None:
            flash(_("The user name or password is wrong."), "error")
            return render_template("login.html", username=request.form.get("username", "")), 401
        lang = session.get("lang")
        session.clear()
        session.permanent = True
        session["user_id"] = user.id
        if lang:
            session["lang"] = lang
        return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", username="")


@bp.route("/logout", methods=["POST"])
def logout():
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/lang/<code>", methods=["POST"])
def set_language(code: str):
    if code in LANGUAGES:
        session["lang"] = code
    return redirect(_safe_next(request.form.get("next")))
