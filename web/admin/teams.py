"""Administration of teams: who supervises which caseworkers (the 'supervision' access basis)."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from tsunagu.engine.admin import teams
from tsunagu.engine.errors import FormInvalid

from ..context import clock, login_required
from ..extensions import db
from ..messages import field_errors

bp = Blueprint("admin_teams", __name__)


def _town() -> int:
    return g.user.municipality_id


@bp.route("/admin/teams")
@login_required
def index():
    return _render_list()


def _render_list(form=None, errors=None):
    found = teams.list_teams(db.session, g.user, _town())
    return render_template("admin_teams.html", teams=found,
                           members={team.id: teams.members(db.session, team) for team in found},
                           form=form or {}, errors=errors or {})


@bp.route("/admin/teams", methods=["POST"])
@login_required
def add():
    try:
        team = teams.add_team(db.session, clock(), g.user, _town(), name=request.form.get("name"))
    except FormInvalid as invalid:
        return _render_list(request.form, field_errors(invalid)), 422
    flash(_("“%(name)s” was added.", name=team.name), "info")
    return redirect(url_for(".edit", team_id=team.id))


@bp.route("/admin/teams/<int:team_id>")
@login_required
def edit(team_id: int):
    return _render_edit(team_id)


def _render_edit(team_id: int, form=None, errors=None):
    team = teams.get_team(db.session, g.user, _town(), team_id)
    return render_template("admin_team.html", team=team, members=teams.members(db.session, team),
                           people=teams.staff_choices(db.session, g.user, _town()),
                           form=form or {"name": team.name}, errors=errors or {})


@bp.route("/admin/teams/<int:team_id>", methods=["POST"])
@login_required
def rename(team_id: int):
    try:
        team = teams.rename_team(db.session, clock(), g.user, _town(), team_id, name=request.form.get("name"))
    except FormInvalid as invalid:
        return _render_edit(team_id, request.form, field_errors(invalid)), 422
    flash(_("“%(name)s” was saved.", name=team.name), "info")
    return redirect(url_for(".edit", team_id=team.id))


@bp.route("/admin/teams/<int:team_id>/retire", methods=["POST"])
@login_required
def retire(team_id: int):
    team = teams.retire_team(db.session, clock(), g.user, _town(), team_id)
    flash(_("“%(name)s” was retired.", name=team.name), "info")
    return redirect(url_for(".index"))


@bp.route("/admin/teams/<int:team_id>/members", methods=["POST"])
@login_required
def set_member(team_id: int):
    form = request.form
    try:
        teams.set_member(db.session, clock(), g.user, _town(), team_id, form.get("user_id", ""),
                         supervises=form.get("supervises") == "on")
    except FormInvalid as invalid:
        return _render_edit(team_id, None, field_errors(invalid)), 422
    flash(_("The team was saved."), "info")
    return redirect(url_for(".edit", team_id=team_id))


@bp.route("/admin/teams/<int:team_id>/members/<int:user_id>/remove", methods=["POST"])
@login_required
def remove_member(team_id: int, user_id: int):
    teams.remove_member(db.session, clock(), g.user, _town(), team_id, user_id)
    flash(_("The team was saved."), "info")
    return redirect(url_for(".edit", team_id=team_id))
