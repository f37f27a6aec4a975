"""Print views: the case file for its staff, and a meeting's agenda for the coordinating body. Both are
audited reads; the agenda's papers leave the office, so each case on it is logged as a disclosure."""
from __future__ import annotations

from flask import Blueprint, g, render_template

from tsunagu.engine.commands import prints, queries

from .cases import consent_recipients, shown_submissions
from .context import clock, login_required
from .extensions import db
from .formschema import choice_titles

bp = Blueprint("prints", __name__)


@bp.route("/cases/<int:case_id>/print")
@login_required
def case_file(case_id: int):
    case_file = prints.print_case(db.session, clock(), g.user, case_id)
    files = case_file.case.process_version.files
    bodies = queries.member_bodies(db.session, case_file.case.municipality_id)
    return render_template("case_print.html", file=case_file, submissions=shown_submissions(case_file, files, bodies),
                           purposes=choice_titles(files, "purposes"),
                           recipients={c.id: consent_recipients(c, bodies) for c in case_file.consents},
                           meetings={item.decision_id: item.meeting for item in case_file.agenda if item.decision_id})


@bp.route("/council/meetings/<int:meeting_id>/print")
@login_required
def agenda(meeting_id: int):
    meeting, entries = prints.print_agenda(db.session, clock(), g.user, meeting_id)
    return render_template("council_agenda_print.html", meeting=meeting, entries=entries)
