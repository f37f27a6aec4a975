"""Council pages for the coordinating body (調整機関): meetings, their agenda, and each case's decision."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from tsunagu.engine.access.policy import coordinated_councils
from tsunagu.engine.casefile.governance import notice_for
from tsunagu.engine.commands import agenda as agenda_building
from tsunagu.engine.commands import council, queries
from tsunagu.engine.commands.council import RISK_LEVELS
from tsunagu.engine.errors import FieldError, FormInvalid
from tsunagu.engine.runtime.forms import today_in_japan

from .context import clock, login_required
from .extensions import db
from .formschema import Field
from .messages import field_errors, field_message

bp = Blueprint("council", __name__)

ACTION_ROWS = 4  # blank action rows offered with each decision form
ACTION_FIELDS = ("action_type_id", "owner_body_id", "due_on", "note")
TEXT_FIELDS = ("situation", "risk", "plan", "lead_body_id", "key_person", "next_review_on")


@dataclass
class DecisionForm:
    """What one case's decision form shows: posted values and the errors beside each field."""

    case_id: int | None = None
    values: MultiDict = field(default_factory=MultiDict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    row_errors: dict[int, dict[str, list[str]]] = field(default_factory=dict)
    action_errors: list[str] = field(default_factory=list)

    def row_value(self, row: int, name: str) -> str:
        return self.values.get(f"actions-{row}-{name}", "")

    def row_error(self, row: int, name: str) -> list[str]:
        return self.row_errors.get(row, {}).get(name, [])


@bp.route("/council")
@login_required
def index():
    return _render_index()


def _render_index(form: MultiDict | None = None, errors: dict[str, list[str]] | None = None):
    return render_template("council.html", meetings=council.list_meetings(db.session, g.user),
                           form=form or MultiDict(), errors=errors or {},
                           kinds=[("case", _("Individual case meeting")), ("review", _("Regular review of every case"))])


@bp.route("/council/meetings", methods=["POST"])
@login_required
def schedule():
    """Schedule a meeting: tabling a case for its date puts the case on its agenda."""
    data = {k: v for k, v in request.form.items() if k in ("held_on", "kind", "title") and v != ""}
    try:
        meeting = council.schedule_meeting(db.session, clock(), g.user, data)
    except FormInvalid as invalid:
        errors = field_errors(invalid)
        flash(_("The form has errors. Please check the highlighted fields."), "error")
        return _render_index(request.form, errors), 422
    flash(_("The meeting of %(date)s was scheduled.", date=meeting.held_on.isoformat()), "info")
    return redirect(url_for("council.agenda", meeting_id=meeting.id))


@bp.route("/council/<int:meeting_id>/minutes", methods=["POST"])
@login_required
def minutes(meeting_id: int):
    """Record the minutes of a held meeting and which invited bodies were present."""
    present = [int(v) if v.isascii() and v.isdigit() and len(v) < 12 else v
               for v in request.form.getlist("present_body_ids")]
    try:
        council.record_minutes(db.session, clock(), g.user, meeting_id, request.form.get("minutes"), present)
    except FormInvalid as invalid:
        errors = field_errors(invalid)
        return _render_agenda(meeting_id, DecisionForm(), minutes_errors=errors,
                              minutes_values=request.form), 422
    flash(_("The minutes and attendance were recorded."), "info")
    return redirect(url_for("council.agenda", meeting_id=meeting_id, _anchor="minutes"))


@bp.route("/council/notice")
@login_required
def notice():
    """The public notice (公示) of the council's establishment, as the municipality publishes it."""
    return render_template("council_notice.html", notice=notice_for(db.session, g.user))


@bp.route("/council/<int:meeting_id>")
@login_required
def agenda(meeting_id: int):
    return _render_agenda(meeting_id, DecisionForm())


@bp.route("/council/<int:meeting_id>/cases/<int:case_id>/decision", methods=["POST"])
@login_required
def decide(meeting_id: int, case_id: int):
    data, rows = parse_decision(request.form)
    try:
        council.record_decision(db.session, clock(), g.user, meeting_id, case_id, data)
    except FormInvalid as invalid:
        flash(_("The form has errors. Please check the highlighted fields."), "error")
        form = decision_errors(invalid.errors, rows)
        form.case_id, form.values = case_id, request.form
        return _render_agenda(meeting_id, form), 422
    flash(_("The council's decision was recorded and the case moves on."), "info")
    return redirect(url_for("council.agenda", meeting_id=meeting_id, _anchor=f"case-{case_id}"))


@bp.route("/council/<int:meeting_id>/cases/<int:case_id>/review", methods=["POST"])
@login_required
def add_for_review(meeting_id: int, case_id: int):
    """Put a case due for review on the meeting's agenda."""
    agenda_building.add_for_review(db.session, clock(), g.user, meeting_id, case_id)
    flash(_("The case was put on the agenda for its review."), "info")
    return redirect(url_for("council.agenda", meeting_id=meeting_id, _anchor=f"case-{case_id}"))


@bp.route("/council/<int:meeting_id>/cases/<int:case_id>/request-tabling", methods=["POST"])
@login_required
def request_tabling(meeting_id: int, case_id: int):
    """Ask the caseworker of a case waiting to be tabled to table it for this meeting."""
    asked = agenda_building.request_tabling(db.session, clock(), g.user, meeting_id, case_id)
    if asked:
        flash(_("Asked %(names)s to table the case for this meeting.", names="、".join(u.display_name for u in asked)),
              "info")
    else:
        flash(_("Nobody works this case yet: nobody could be asked."), "error")
    return redirect(url_for("council.agenda", meeting_id=meeting_id, _anchor="prepare"))


@bp.route("/council/<int:meeting_id>/attendees")
@login_required
def attendees(meeting_id: int):
    """The bodies attending the meeting and each case tabled to it, for the coordinating body to choose."""
    return _render_attendees(meeting_id)


@bp.route("/council/<int:meeting_id>/attendees", methods=["POST"])
@bp.route("/council/<int:meeting_id>/cases/<int:case_id>/attendees", methods=["POST"])
@login_required
def set_attendees(meeting_id: int, case_id: int | None = None):
    ids = [int(v) if v.isascii() and v.isdigit() else v for v in request.form.getlist("organisation_ids")]
    try:
        council.set_attendees(db.session, clock(), g.user, meeting_id, ids, case_id)
    except FormInvalid as invalid:
        return _render_attendees(meeting_id, "; ".join(field_message(e) for e in invalid.errors)), 422
    flash(_("The attending bodies were saved."), "info")
    anchor = f"case-{case_id}-attendees" if case_id is not None else "meeting-bodies"
    return redirect(url_for("council.attendees", meeting_id=meeting_id, _anchor=anchor))


def _render_attendees(meeting_id: int, error: str | None = None):
    view = council.view_attendance(db.session, clock(), g.user, meeting_id)
    return render_template("council_attendees.html", view=view, error=error,
                           window_days=council.window_days(db.session, view.meeting))


def _render_agenda(meeting_id: int, form: DecisionForm, minutes_errors: dict[str, list[str]] | None = None,
                   minutes_values: MultiDict | None = None):
    meeting, entries = council.view_agenda(db.session, clock(), g.user, meeting_id)
    bodies = [(str(b.id), b.name) for b in queries.member_bodies(db.session, g.user.municipality_id)]
    kinds = queries.action_types(db.session, g.user.municipality_id)
    forms = {e.case.id: form if form.case_id == e.case.id else DecisionForm(e.case.id)
             for e in entries if e.decision is None}
    fields = {case_id: decision_fields(case_id, f, bodies) for case_id, f in forms.items()}
    return render_template("council_agenda.html", meeting=meeting, entries=entries, forms=forms, fields=fields,
                           bodies=bodies, kinds=kinds, rows=range(ACTION_ROWS), today=today_in_japan(clock()()),
                           invited=council.invited_bodies(db.session, meeting),
                           candidates=agenda_building.agenda_candidates(db.session, clock(), g.user, meeting_id),
                           minutes_errors=minutes_errors or {}, minutes_values=minutes_values)


def parse_decision(form: MultiDict) -> tuple[dict, list[int]]:
    """The decision input for the engine; action rows without a type are dropped.

    Returns the data and, for each action kept, the number of the row it came from, so that
    the engine's `actions.N.field` errors land beside the right row.
    """
    data = {name: form.get(name, "").strip() for name in TEXT_FIELDS}
    data = {name: value for name, value in data.items() if value}
    actions, rows = [], []
    for row in range(ACTION_ROWS):
        action = {name: form.get(f"actions-{row}-{name}", "").strip() for name in ACTION_FIELDS}
        if not action["action_type_id"]:
            continue
        actions.append({name: value for name, value in action.items() if value})
        rows.append(row)
    data["actions"] = actions
    return data, rows


def decision_errors(errors: list[FieldError], rows: list[int]) -> DecisionForm:
    """Sort the engine's field errors into the decision fields, the action rows and the actions table."""
    form = DecisionForm()
    for error in errors:
        parts = error.field.split(".")
        message = field_message(error)
        if parts[0] == "actions" and len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(rows):
            form.row_errors.setdefault(rows[int(parts[1])], {}).setdefault(parts[2], []).append(message)
        elif parts[0] in ACTION_FIELDS or parts[0] == "actions":
            # The engine names a catalogue or body problem of some action without saying which row.
            label = {"action_type_id": _("Action"), "owner_body_id": _("Owner body")}.get(parts[0], _("Actions"))
            form.action_errors.append(f"{label}: {message}")
        else:
            form.errors.setdefault(parts[0], []).append(message)
    return form


def decision_fields(case_id: int, form: DecisionForm, bodies: list[tuple[str, str]]) -> list[Field]:
    """The decision's own fields (the action rows are drawn as a table)."""
    risks = {"normal": _("Normal"), "high": _("High"), "urgent": _("Urgent")}
    specs = [
        ("situation", _("Situation"), "textarea", True, [], _("The person's situation and their wishes.")),
        ("risk", _("Risk"), "select", True, [(r, risks[r]) for r in RISK_LEVELS], None),
        ("plan", _("Support plan"), "textarea", True, [], None),
        ("lead_body_id", _("Lead body"), "select", True, bodies, None),
        ("key_person", _("Key person"), "text", False, [], _("The person who keeps in touch with them.")),
        ("next_review_on", _("Next review"), "date", True, [], None),
    ]
    return [Field(name=name, title=title, description=help_text, widget=widget, required=required,
                  options=options, value=form.values.get(name) or None, errors=form.errors.get(name, []),
                  limits={"maxLength": 4000} if widget == "textarea" else {}, id_prefix=f"c{case_id}-")
            for name, title, widget, required, options, help_text in specs]


def council_link() -> dict[str, bool]:
    """Template context: whether to offer the council pages, which only the designated coordinating body's
    staff may use (one query, and only for users holding the coordinator role)."""
    user = g.get("user")
    offered = user is not None and "coordinator" in user.role_codes and bool(
        coordinated_councils(db.session, user, today_in_japan(clock()())))
    return {"council_link": offered}
