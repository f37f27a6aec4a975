"""Administration of the support-action catalogue: add, rename, retire action types and their default owner body."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from tsunagu.engine.admin import catalogue
from tsunagu.engine.admin.organisations import active_member_bodies
from tsunagu.engine.errors import FormInvalid

from ..context import clock, login_required
from ..extensions import db
from ..messages import field_errors

bp = Blueprint("admin_catalogue", __name__)


def _town() -> int:
    return g.user.municipality_id


def _owners() -> list[tuple[int, str]]:
    return [(b.id, b.name) for b in active_member_bodies(db.session, [_town()])]


@bp.route("/admin/catalogue")
@login_required
def index():
    return _render_list()


def _render_list(form=None, errors=None):
    kinds = catalogue.list_action_types(db.session, g.user, _town())
    return render_template("admin_catalogue.html", kinds=kinds, owners=_owners(), form=form or {},
                           errors=errors or {})


@bp.route("/admin/catalogue", methods=["POST"])
@login_required
def add():
    form = request.form
    try:
        kind = catalogue.add_action_type(db.session, clock(), g.user, _town(), code=form.get("code"),
                                         name=form.get("name"), owner_body_id=form.get("owner_body_id"),
                                         service_days=form.get("service_days", ""))
    except FormInvalid as invalid:
        return _render_list(form, field_errors(invalid)), 422
    flash(_("“%(name)s” was added to the catalogue.", name=kind.name), "info")
    return redirect(url_for(".index"))


@bp.route("/admin/catalogue/<int:action_type_id>")
@login_required
def edit(action_type_id: int):
    return _render_edit(action_type_id)


def _render_edit(action_type_id: int, form=None, errors=None):
    kind = catalogue.get_action_type(db.session, g.user, _town(), action_type_id)
    form = form or {"name": kind.name, "owner_body_id": kind.default_owner_body_id or "",
                    "service_days": kind.service_days}
    return render_template("admin_action_type.html", kind=kind, owners=_owners(), form=form, errors=errors or {})


@bp.route("/admin/catalogue/<int:action_type_id>", methods=["POST"])
@login_required
def update(action_type_id: int):
    form = request.form
    try:
        kind = catalogue.update_action_type(db.session, clock(), g.user, _town(), action_type_id,
                                            name=form.get("name", ""), owner_body_id=form.get("owner_body_id", ""),
                                            service_days=form.get("service_days", ""))
    except FormInvalid as invalid:
        return _render_edit(action_type_id, form, field_errors(invalid)), 422
    flash(_("“%(name)s” was saved.", name=kind.name), "info")
    return redirect(url_for(".index"))


@bp.route("/admin/catalogue/<int:action_type_id>/retire", methods=["POST"])
@login_required
def retire(action_type_id: int):
    kind = catalogue.retire_action_type(db.session, clock(), g.user, _town(), action_type_id)
    flash(_("“%(name)s” is no longer offered for new actions. Existing actions keep it.", name=kind.name), "info")
    return redirect(url_for(".index"))


@bp.route("/admin/catalogue/<int:action_type_id>/reactivate", methods=["POST"])
@login_required
def reactivate(action_type_id: int):
    try:
        kind = catalogue.reactivate_action_type(db.session, clock(), g.user, _town(), action_type_id)
    except FormInvalid as invalid:
        return _render_edit(action_type_id, errors=field_errors(invalid)), 422
    flash(_("“%(name)s” is offered for new actions again.", name=kind.name), "info")
    return redirect(url_for(".index"))
