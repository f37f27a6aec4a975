"""Administration of staff accounts: create, edit roles, organisation and team, deactivate, reset."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from tsunagu.engine.access import permissions
from tsunagu.engine.access.recovery import unused_recovery_codes
from tsunagu.engine.admin.staff import (
    create_staff_user,
    deactivate_user,
    reactivate_user,
    reset_credentials,
    staff_member,
    update_staff_user,
)
from tsunagu.engine.admin.staff_directory import list_staff, organisation_names, staff_organisations
from tsunagu.engine.admin.staff_import import decode_csv, import_staff_csv
from tsunagu.engine.errors import CannotDemoteSelf, FormInvalid, LastAdmin
from tsunagu.engine.roles import Role

from ..context import clock, login_required
from ..extensions import db
from ..messages import error_message, field_message

bp = Blueprint("admin_users", __name__)
ROLES = [r.value for r in Role]
STATUSES = ("active", "inactive", "all")
FIELDS = ("username", "display_name", "email", "organisation", "team")


@bp.route("/admin/users")
@login_required
def index():
    permissions.require_municipal_admin(g.user, g.user.municipality_id)
    args = request.args
    status = args.get("status") if args.get("status") in STATUSES else "active"
    filters = {"status": status, "role": args.get("role", ""), "q": args.get("q", "")}
    errors: dict[str, list[str]] = {}
    try:
        people = list_staff(db.session, g.user.municipality_id, include_inactive=status != "active",
                            inactive_only=status == "inactive", role=filters["role"] or None, search=filters["q"])
    except FormInvalid as invalid:
        people, errors = [], _field_errors(invalid)
    return render_template("admin_users.html", people=people, filters=filters, errors=errors, roles=ROLES,
                           bodies=organisation_names(db.session, g.user.municipality_id)), 422 if errors else 200


@bp.route("/admin/users/new")
@login_required
def new():
    permissions.require_municipal_admin(g.user, g.user.municipality_id)
    return _render_form(None, {"roles": []}, {})


@bp.route("/admin/users/new", methods=["POST"])
@login_required
def create():
    values = _form_values()
    try:
        person, initial = create_staff_user(
            db.session, clock(), g.user, municipality_id=g.user.municipality_id, username=values["username"],
            roles=values["roles"], display_name=values["display_name"], email=values["email"],
            organisation_id=chosen_id(values["organisation"]), team=values["team"])
    except FormInvalid as invalid:
        return _render_form(None, values, _field_errors(invalid)), 422
    # The one-time password is in this response only; it is never stored readable anywhere.
    return render_template("admin_user_password.html", person=person, password=initial, created=True)


@bp.route("/admin/users/import")
@login_required
def import_form():
    permissions.require_municipal_admin(g.user, g.user.municipality_id)
    return render_template("admin_users_import.html", problems=[])


@bp.route("/admin/users/import", methods=["POST"])
@login_required
def import_staff():
    """The page side of `tsunagu user import`: every row or none, each new one-time password shown once."""
    upload = request.files.get("file")
    try:
        created = import_staff_csv(db.session, clock(), g.user, g.user.municipality_id,
                                   decode_csv(upload.read() if upload else b""))
    except FormInvalid as invalid:
        problems = [(_where(e.field), field_message(e)) for e in invalid.errors]
        return render_template("admin_users_import.html", problems=problems), 422
    return render_template("admin_users_imported.html", created=created)


def _where(field: str) -> str:
    """'line 3: roles' as the page says it: 3行目（roles）."""
    line, _sep, column = field.partition(": ")
    if line.startswith("line ") and line[5:].isdigit():
        return _("Line %(n)s (%(column)s)", n=line[5:], column=column) if column else _("Line %(n)s", n=line[5:])
    return _("File") if field == "file" else field


@bp.route("/admin/users/<int:user_id>")
@login_required
def show(user_id: int):
    person = staff_member(db.session, g.user, user_id)
    values = {"username": person.username, "display_name": person.display_name, "email": person.email or "",
              "organisation": str(person.organisation_id or ""), "team": person.team or "",
              "roles": sorted(person.role_codes)}
    return _render_form(person, values, {})


@bp.route("/admin/users/<int:user_id>", methods=["POST"])
@login_required
def update(user_id: int):
    values = _form_values()
    try:
        update_staff_user(db.session, clock(), g.user, user_id, roles=values["roles"],
                          organisation_id=chosen_id(values["organisation"]), team=values["team"],
                          display_name=values["display_name"], email=values["email"])
    except FormInvalid as invalid:
        person = staff_member(db.session, g.user, user_id)
        values["username"] = person.username
        return _render_form(person, values, _field_errors(invalid)), 422
    flash(_("The changes were saved."), "info")
    return redirect(url_for("admin_users.show", user_id=user_id))


@bp.route("/admin/users/<int:user_id>/deactivate")
@login_required
def confirm_deactivate(user_id: int):
    return render_template("admin_user_confirm.html", person=staff_member(db.session, g.user, user_id),
                           action="deactivate", refusal=None)


@bp.route("/admin/users/<int:user_id>/deactivate", methods=["POST"])
@login_required
def deactivate(user_id: int):
    try:
        person = deactivate_user(db.session, clock(), g.user, user_id)
    except (CannotDemoteSelf, LastAdmin) as refused:
        return render_template("admin_user_confirm.html", person=staff_member(db.session, g.user, user_id),
                               action="deactivate", refusal=error_message(refused)), 409
    flash(_("%(name)s's account was deactivated. Their sessions have ended and they can no longer sign in.",
            name=person.display_name), "info")
    return redirect(url_for("admin_users.show", user_id=user_id))


@bp.route("/admin/users/<int:user_id>/reactivate", methods=["POST"])
@login_required
def reactivate(user_id: int):
    person = reactivate_user(db.session, clock(), g.user, user_id)
    flash(_("%(name)s's account is active again. They sign in with their existing password.",
            name=person.display_name), "info")
    return redirect(url_for("admin_users.show", user_id=user_id))


@bp.route("/admin/users/<int:user_id>/reset")
@login_required
def confirm_reset(user_id: int):
    return render_template("admin_user_confirm.html", person=staff_member(db.session, g.user, user_id),
                           action="reset", refusal=None)


@bp.route("/admin/users/<int:user_id>/reset", methods=["POST"])
@login_required
def reset(user_id: int):
    try:
        initial = reset_credentials(db.session, clock(), g.user, user_id)
    except CannotDemoteSelf as refused:
        return render_template("admin_user_confirm.html", person=staff_member(db.session, g.user, user_id),
                               action="reset", refusal=error_message(refused)), 409
    return render_template("admin_user_password.html", person=staff_member(db.session, g.user, user_id),
                           password=initial, created=False)


def _form_values() -> dict:
    form = request.form
    values: dict = {name: form.get(name, "") for name in FIELDS}
    values["roles"] = form.getlist("roles")
    return values


def chosen_id(raw: str) -> int | None:
    """The id a select field posted: None when nothing was chosen; anything that is not an id (a forged
    value) becomes 0, which nothing has."""
    raw = raw.strip()
    if not raw:
        return None
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 10 else 0


def _field_errors(invalid: FormInvalid) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for e in invalid.errors:
        errors.setdefault(e.field, []).append(field_message(e))
    return errors


def _render_form(person, values: dict, errors: dict[str, list[str]]):
    context = {"person": person, "values": values, "errors": errors, "roles": ROLES,
               "organisations": staff_organisations(db.session, g.user.municipality_id)}
    if person is not None:
        context["unused_codes"] = unused_recovery_codes(db.session, person)
        context["organisation_name"] = organisation_names(db.session, person.municipality_id).get(
            person.organisation_id)
    return render_template("admin_user.html", **context)
