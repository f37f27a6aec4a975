"""What a signed-in user must do before anything else, in this order: replace a one-time password,
enrol a second factor (administrators, or everyone where the municipality requires it), then accept
the current secrecy pledge (Act Art. 18). Registered as before_request hooks."""
from __future__ import annotations

from flask import g, redirect, request, url_for

from tsunagu.engine.access.security import totp_required
from tsunagu.engine.casefile.governance import has_accepted_pledge

from .extensions import db

# Reachable while a one-time password is still to be replaced: signing out, the language, the change itself.
PASSWORD_OPEN = {"static", "auth.logout", "auth.set_language", "auth.login", "auth.login_totp",
                 "account.password", "account.change_password"}
# Reachable while a second factor is still to be enrolled: signing out, the language, the enrolment itself.
ENROLMENT_OPEN = {"static", "auth.logout", "auth.set_language", "auth.login", "auth.login_totp",
                  "account.totp", "account.totp_start", "account.totp_confirm"}
# Reachable before the pledge is accepted: the above and the pledge pages.
PLEDGE_OPEN = ENROLMENT_OPEN | PASSWORD_OPEN | {"pledge.show", "pledge.accept", "pledge.publish"}


def require_password_change():
    """Someone given a one-time password reaches nothing but the change-password page until they replace it."""
    user = g.get("user")
    if user is None or not user.must_change_password or request.endpoint in PASSWORD_OPEN:
        return None
    target = request.full_path if request.method == "GET" else None
    return redirect(url_for("account.password", next=target) if target else url_for("account.password"))


def require_second_factor():
    """After the password gate: users who must use a second factor reach nothing but the enrolment page
    until it is on."""
    user = g.get("user")
    if user is None or user.must_change_password or request.endpoint in ENROLMENT_OPEN or not totp_required(user):
        return None  # a one-time password is replaced first (the gate before this one)
    return redirect(url_for("account.totp"))


def require_pledge():
    """Nobody reads or does anything before accepting the current pledge of their municipality."""
    user = g.get("user")
    if user is None:
        return None
    known = g.get("pledge_accepted_at_load")  # read with the user in `load_user`
    g.pledge_accepted = known if known is not None else has_accepted_pledge(db.session, user)
    if g.pledge_accepted or request.endpoint in PLEDGE_OPEN:
        return None
    target = request.full_path if request.method == "GET" else None
    return redirect(url_for("pledge.show", next=target) if target else url_for("pledge.show"))
