"""Administration of API tokens: the municipality's tokens, creating one (its secret shown once), revoking one."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from tsunagu.engine.access.tokens import (
    EXPIRES_MAX_DAYS,
    NAME_MAX_LENGTH,
    create_token,
    revoke_token,
    token_of_municipality,
    tokens_of_municipality,
)
from tsunagu.engine.admin.staff import staff_member
from tsunagu.engine.admin.staff_directory import list_staff
from tsunagu.engine.errors import FormInvalid, NotFound
from tsunagu.engine.roles import Role

from ..context import clock, login_required
from ..extensions import db
from ..messages import field_message, role_name
from .users import chosen_id

bp = Blueprint("admin_tokens", __name__)
ROLES = [r.value for r in Role]
FIELDS = ("user", "name", "expires_days")


@bp.route("/admin/tokens")
@login_required
def index():
    return _render({"user": "", "name": "", "expires_days": "", "roles": []}, {})


@bp.route("/admin/tokens", methods=["POST"])
@login_required
def create():
    values = {name: request.form.get(name, "") for name in FIELDS} | {"roles": request.form.getlist("roles")}
    try:
        person = staff_member(db.session, g.user, chosen_id(values["user"]) or 0)
    except NotFound:
        person = None
    try:
        record, secret = create_token(db.session, clock(), g.user, person, values["name"],
                                      expires_days=values["expires_days"], roles=values["roles"])
    except FormInvalid as invalid:
        return _render(values, _field_errors(invalid, person)), 422
    # The secret is in this response only (never cached: every page is no-store); only its hash is kept.
    return render_template("admin_token_created.html", token=record, secret=secret)


@bp.route("/admin/tokens/<int:token_id>/revoke")
@login_required
def confirm_revoke(token_id: int):
    return render_template("admin_token_revoke.html", token=token_of_municipality(db.session, g.user, token_id))


@bp.route("/admin/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke(token_id: int):
    record = revoke_token(db.session, clock(), g.user, token_id)
    flash(_("The API token “%(name)s” was revoked. Requests with it are refused from now on.", name=record.name),
          "info")
    return redirect(url_for("admin_tokens.index"))


def _field_errors(invalid: FormInvalid, person) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for e in invalid.errors:
        if e.code == "role_not_held":
            text = _("%(name)s does not hold the role %(role)s; a token carries only its user's roles.",
                     name=person.display_name, role=role_name(e.params["role"]))
        elif e.code == "user_inactive":
            text = _("This account is deactivated; reactivate it before giving it a token.")
        elif e.field == "user":
            text = _("Choose an active staff member of your municipality.")
        else:
            text = field_message(e)
        errors.setdefault(e.field, []).append(text)
    return errors


def _render(values: dict, errors: dict[str, list[str]]):
    municipality = g.user.municipality_id
    return render_template("admin_tokens.html", tokens=tokens_of_municipality(db.session, g.user, municipality),
                           person_options=[(p.id, f"{p.display_name} ({p.username})")
                                           for p in list_staff(db.session, municipality)],
                           values=values, errors=errors, roles=ROLES, name_limit=NAME_MAX_LENGTH,
                           days_limit=EXPIRES_MAX_DAYS)
