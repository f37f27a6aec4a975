"""Administration of member bodies, departments and councils (single or joint) with their coordinating body."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from tsunagu.engine.admin import councils, organisations
from tsunagu.engine.errors import FormInvalid, InUse

from ..context import clock, login_required
from ..extensions import db
from ..messages import field_errors

bp = Blueprint("admin_organisations", __name__)


def _town() -> int:
    return g.user.municipality_id


@bp.route("/admin/organisations")
@login_required
def index():
    return _render_list()


def _render_list(form=None, errors=None):
    return render_template("admin_organisations.html",
                           bodies=organisations.list_organisations(db.session, g.user, _town()),
                           form=form or {"kind": "member_body"}, errors=errors or {})


@bp.route("/admin/organisations", methods=["POST"])
@login_required
def add():
    form = request.form
    try:
        body = organisations.add_organisation(db.session, clock(), g.user, _town(), name=form.get("name"),
                                              kind=form.get("kind"))
    except FormInvalid as invalid:
        return _render_list(form, field_errors(invalid)), 422
    flash(_("“%(name)s” was added.", name=body.name), "info")
    return redirect(url_for(".index"))


@bp.route("/admin/organisations/<int:organisation_id>")
@login_required
def edit(organisation_id: int):
    return _render_edit(organisation_id)


def _render_edit(organisation_id: int, form=None, errors=None, in_use=None):
    body = organisations.get_organisation(db.session, g.user, _town(), organisation_id)
    return render_template("admin_organisation.html", body=body, uses=organisations.uses_of(db.session, body),
                           form=form or {"name": body.name, "kind": body.kind.value}, errors=errors or {},
                           in_use=in_use)


@bp.route("/admin/organisations/<int:organisation_id>", methods=["POST"])
@login_required
def update(organisation_id: int):
    form = request.form
    try:
        body = organisations.update_organisation(db.session, clock(), g.user, _town(), organisation_id,
                                                 name=form.get("name", ""), kind=form.get("kind", ""))
    except FormInvalid as invalid:
        return _render_edit(organisation_id, form, field_errors(invalid)), 422
    except InUse as refused:
        return _render_edit(organisation_id, form, in_use=refused.details["used_by"]), 409
    flash(_("“%(name)s” was saved.", name=body.name), "info")
    return redirect(url_for(".index"))


@bp.route("/admin/organisations/<int:organisation_id>/retire", methods=["POST"])
@login_required
def retire(organisation_id: int):
    try:
        body = organisations.retire_organisation(db.session, clock(), g.user, _town(), organisation_id)
    except InUse as refused:
        return _render_edit(organisation_id, in_use=refused.details["used_by"]), 409
    flash(_("“%(name)s” was retired. Its records are kept.", name=body.name), "info")
    return redirect(url_for(".index"))


@bp.route("/admin/organisations/<int:organisation_id>/reactivate", methods=["POST"])
@login_required
def reactivate(organisation_id: int):
    body = organisations.reactivate_organisation(db.session, clock(), g.user, _town(), organisation_id)
    flash(_("“%(name)s” is active again.", name=body.name), "info")
    return redirect(url_for(".index"))


@bp.route("/admin/councils")
@login_required
def councils_index():
    return _render_councils()


def _render_councils(form=None, errors=None):
    return render_template("admin_councils.html", councils=councils.councils_of(db.session, g.user, _town()),
                           form=form or {}, errors=errors or {})


@bp.route("/admin/councils", methods=["POST"])
@login_required
def create_council():
    form = request.form
    try:
        council = councils.create_council(db.session, clock(), g.user, _town(), name=form.get("name"),
                                          established_on=form.get("established_on"),
                                          joint_with=form.get("joint_with", "")[:400])
    except FormInvalid as invalid:
        return _render_councils(form, field_errors(invalid)), 422
    flash(_("The council “%(name)s” was registered. Add its member bodies next.", name=council.name), "info")
    return redirect(url_for(".council", council_id=council.id))


@bp.route("/admin/councils/<int:council_id>")
@login_required
def council(council_id: int):
    return _render_council(council_id)


def _render_council(council_id: int, member_errors=None, designate_form=None, designate_errors=None,
                    in_use=None):
    view = councils.council_view(db.session, g.user, _town(), council_id)
    # In a joint council, bodies of different municipalities may share a name: say whose each is.
    towns = {t.id: t.name for t in view.municipalities} if len(view.municipalities) > 1 else {}
    candidates = [(b.id, f"{b.name}（{towns[b.municipality_id]}）" if towns else b.name) for b in view.candidates]
    return render_template("admin_council.html", view=view, candidate_options=candidates,
                           member_options=[(b.id, b.name) for b in view.members if b.active],
                           member_errors=member_errors or {}, designate_form=designate_form or {},
                           designate_errors=designate_errors or {}, in_use=in_use)


@bp.route("/admin/councils/<int:council_id>/members", methods=["POST"])
@login_required
def add_member(council_id: int):
    try:
        body = councils.add_council_member(db.session, clock(), g.user, _town(), council_id,
                                           request.form.get("organisation_id"))
    except FormInvalid as invalid:
        return _render_council(council_id, member_errors=field_errors(invalid)), 422
    flash(_("“%(name)s” is now a member of the council.", name=body.name), "info")
    return redirect(url_for(".council", council_id=council_id))


@bp.route("/admin/councils/<int:council_id>/members/<int:organisation_id>/remove", methods=["POST"])
@login_required
def remove_member(council_id: int, organisation_id: int):
    try:
        body = councils.remove_council_member(db.session, clock(), g.user, _town(), council_id, organisation_id)
    except InUse as refused:
        return _render_council(council_id, in_use=refused.details["used_by"]), 409
    flash(_("“%(name)s” was taken off the council.", name=body.name), "info")
    return redirect(url_for(".council", council_id=council_id))


@bp.route("/admin/councils/<int:council_id>/coordinating-body", methods=["POST"])
@login_required
def designate(council_id: int):
    form = request.form
    try:
        council = councils.designate_coordinating_body(db.session, clock(), g.user, _town(), council_id,
                                                       form.get("organisation_id"), form.get("designated_on"))
    except FormInvalid as invalid:
        return _render_council(council_id, designate_form=form, designate_errors=field_errors(invalid)), 422
    flash(_("“%(name)s” is now the coordinating body of the council.", name=council.coordinating_body.name), "info")
    return redirect(url_for(".council", council_id=council_id))


@bp.route("/admin/councils/<int:council_id>/notice")
@login_required
def notice(council_id: int):
    """The public notice (公示) of this council, as the municipality publishes it."""
    return render_template("council_notice.html",
                           notice=councils.council_notice(db.session, g.user, _town(), council_id))
