"""Per-request access to the signed-in user, the clock and the database session."""
from __future__ import annotations

from functools import wraps

from flask import current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _

from tsunagu.engine.access.sessions import current_session, keep_session, signed_in, start_session
from tsunagu.engine.commands import drafts
from tsunagu.engine.errors import TsunaguError
from tsunagu.engine.models import UserRecord

from .extensions import db

# What survives signing in and out: the chosen language, and the token of a form parked when its session
# ended, which only a sign-in as the same user turns back into their draft.
KEPT_ACROSS_SIGN_IN = ("lang", "parked")
# Called by a page's script, not by navigating: signed out, they answer 401 JSON (`signed_out`), never the
# login page, so the page can keep what was typed and say how to go on.
SCRIPT_ENDPOINTS = {"tasks.save_draft"}
# Task forms whose input is parked when posted just after the session ended (see `park_form`).
PARKING_ENDPOINTS = {"tasks.save_draft", "tasks.complete"}


def clock():
    return current_app.extensions["tsunagu.clock"]


def settings():
    return current_app.extensions["tsunagu.settings"]


def idle_limit_minutes(user: UserRecord | None) -> int:
    """The installation's `session_minutes`, or the user's municipality's shorter idle limit."""
    chosen = user.municipality.idle_minutes if user is not None else None
    return min(settings().session_minutes, chosen) if chosen else settings().session_minutes


def expire_idle_session():
    """End a session idle for longer than the idle limit, judged by the time stored in it.

    The cookie's own expiry is set by the browser and a copied cookie ignores it; the last-seen
    time is inside the signed session, so a replayed old cookie is refused here.
    """
    if request.endpoint == "static" or not ({"user_id", "pending_user_id"} & session.keys()):
        return None
    now = clock()().timestamp()
    seen = session.get("seen")
    user_id = session.get("user_id") or session.get("pending_user_id")
    found = signed_in(db.session, user_id, session.get("sid")) if isinstance(user_id, int) else None
    # Kept for `load_user` and the pledge gate: the user, their server-side session and their pledge were
    # read together (and the identity map holds rows weakly, so the user would otherwise be read again).
    g.signed_in = found
    user = found.user if found is not None else None
    if isinstance(seen, (int, float)) and now - seen <= idle_limit_minutes(user) * 60:
        session["seen"] = now
        return None
    signed_in_as = session.get("user_id")
    reset_session()
    if request.endpoint == "auth.login":
        return None  # signing in again from an old tab: go ahead with the new sign-in
    park_form(signed_in_as)
    flash(_("You were signed out because there was no activity for a while."), "info")
    if request.endpoint in SCRIPT_ENDPOINTS:
        return signed_out()
    # A task form posted after the idle limit: back to that form after signing in, with its input.
    target = request.full_path if request.method == "GET" else (
        request.path if request.endpoint in PARKING_ENDPOINTS else None)
    return redirect(url_for("auth.login", next=target) if target else url_for("auth.login"))


def reset_session(**values) -> None:
    """Drop everything in the session but `KEPT_ACROSS_SIGN_IN`, then store `values` (and a fresh last-seen time)."""
    kept = {key: session[key] for key in KEPT_ACROSS_SIGN_IN if key in session}
    session.clear()
    session.update(kept)
    if values:
        session.permanent = True
        session.update(values, seen=clock()().timestamp())


def park_form(user_id: object) -> None:
    """Keep a task form posted just after its session ended for this browser alone: it becomes the user's
    draft only once this browser signs in again as them (`sign_in`). Nothing of the user's is written
    now, since the cookie that sent it may be a copy kept after a sign-out."""
    task_id = (request.view_args or {}).get("task_id")
    if (request.method != "POST" or request.endpoint not in PARKING_ENDPOINTS or not isinstance(user_id, int)
            or not isinstance(task_id, int)):
        return
    try:
        token = drafts.park_input(db.session, clock(), user_id, task_id, request.form.to_dict(flat=False),
                                  session.get("parked"))
    except TsunaguError:
        return  # too large to keep: the sign-in page follows as for any ended session
    if token is not None:
        session["parked"] = token


def head_reads_only() -> None:
    """Answer HEAD exactly like GET, so that it never runs the POST branch of a GET-and-POST view.

    CSRF protection lets HEAD through as a safe method; the views test `request.method == "GET"`,
    so without this a HEAD request would act like a form post that skipped the token check.
    Werkzeug still drops the body, because it looks at the request's environ, not at this attribute.
    """
    if request.method == "HEAD":
        request.method = "GET"


def load_user() -> None:
    """Find the signed-in user for this request, if any (registered as a before_request hook).

    The cookie names a session kept on the server: one ended by signing out, by its absolute lifetime
    or by an account change (deactivation, reset, a password changed elsewhere, which raise the user's
    session generation) is refused here, even from a copied cookie.
    """
    user_id = session.get("user_id")
    found = g.pop("signed_in", None)
    if not (found is not None and found.user.id == user_id):
        found = signed_in(db.session, user_id, session.get("sid")) if isinstance(user_id, int) else None
    user = found.user if found is not None else None
    if user_id is not None and user is None:
        reset_session()
    elif user is not None and (not user.active or session.get("gen") != user.session_generation):
        reset_session()
        park_form(user.id)
        flash(_("Your session has ended because your account was changed. Please sign in again."), "info")
        user = None
    elif user is not None:
        live = current_session(db.session, clock(), session.get("sid"), idle_minutes=idle_limit_minutes(user),
                               max_hours=settings().session_max_hours, found=found.row if found else None)
        if live is None or live.user_id != user.id:
            reset_session()
            park_form(user.id)
            flash(_("Your session has ended. Please sign in again."), "info")
            user = None
    g.user = user
    g.pledge_accepted_at_load = found.pledge_accepted if user is not None and found is not None else None


def sign_in(user: UserRecord) -> None:
    """Start a new signed-in session for `user`, recorded on the server and stamped with their generation."""
    token = start_session(db.session, clock(), user)
    reset_session(user_id=user.id, gen=user.session_generation, sid=token)
    parked = session.pop("parked", None)
    if parked is not None:  # a form this browser posted after its last session ended: now the user's draft
        drafts.claim_parked_input(db.session, clock(), user, parked)


def restamp_session(user: UserRecord) -> None:
    """Keep this session after the user ended all their sessions (a password change): only the others end."""
    session["gen"] = user.session_generation
    keep_session(db.session, session.get("sid"), user)


def signed_out():
    """The answer to a page's script when nobody is signed in: 401 with a stable code."""
    response = current_app.json.response(
        {"code": "signed_out",
         "message": _("Your session has ended. Sign in again to go on; what you have typed so far is kept.")})
    response.status_code = 401
    return response


def login_required(view):
    """Send anonymous visitors to the login page and back afterwards."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if g.get("user") is None:
            return redirect(url_for("auth.login", next=request.full_path))
        return view(*args, **kwargs)

    return wrapped
