"""Case pages: open a case, read a case file, and the commands taken from it (actions, consent
withdrawal, an early review, reopening, retrying a failed step)."""
from __future__ import annotations

import json

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from tsunagu.engine.access import permissions
from tsunagu.engine.access.policy import Basis
from tsunagu.engine.clock import local
from tsunagu.engine.commands import cases, events, persons, queries
from tsunagu.engine.errors import FormInvalid
from tsunagu.engine.models import CaseStatus
from tsunagu.engine.runtime.forms import MASK
from tsunagu.processes.registry import startable_versions

from .charts import scores_by_instrument
from .context import clock, login_required, settings
from .extensions import db
from .formschema import Field, choice_titles, display_value, ordered_names, parse_id, source_name
from .messages import field_message

bp = Blueprint("cases", __name__)

ACTION_FIELDS = ("action_type_id", "owner_body_id", "due_on", "note")


@bp.route("/cases/new", methods=["GET", "POST"])
@login_required
def new():
    permissions.require_case_start(g.user)  # referrers and partners never open cases
    versions = startable_versions(db.session, g.user.municipality_id)
    if request.method == "GET":
        return _render_new(versions)
    chosen = next((v for v in versions if str(v.id) == request.form.get("version_id")), None)
    if chosen is None:
        abort(400)
    person_id = request.form.get("person_id", "")
    title = request.form.get("title", "")
    try:
        if person_id.isascii() and person_id.isdigit():  # a returning person: their next episode
            case = persons.start_for_person(db.session, clock(), g.user, chosen, title, int(person_id[:12]))
        else:
            case = cases.start_case(db.session, clock(), g.user, chosen, title)
    except FormInvalid as invalid:
        return _render_new(versions, "; ".join(field_message(e) for e in invalid.errors)), 422
    flash(_("Case %(ref)s was opened.", ref=case.reference), "info")
    return _to_first_task(case)


def _render_new(versions, error: str | None = None):
    """The new-consultation page, with the persons found when the caseworker searched for a returning one."""
    text = request.values.get("q", "")[:100]
    year = request.values.get("birth_year", "")
    birth_year = int(year) if year.isascii() and year.isdigit() and 1900 <= int(year[:4]) <= 2100 else None
    searched = bool(text.strip() or birth_year)
    found = persons.find_persons(db.session, clock(), g.user, text, birth_year) if searched else []
    return render_template("case_new.html", versions=versions, title=request.values.get("title", "")[:300],
                           q=text, birth_year=year[:4], searched=searched, found=found,
                           person_id=request.values.get("person_id", ""), error=error)


@bp.route("/cases/<int:case_id>")
@login_required
def show(case_id: int):
    return _render_case(case_id)


@bp.route("/cases/<int:case_id>/retry", methods=["POST"])
@login_required
def retry(case_id: int):
    case = cases.retry_case(db.session, clock(), g.user, case_id)
    if case.status == CaseStatus.ERROR:
        flash(_("The step failed again: %(message)s", message=case.error_message), "error")
    else:
        flash(_("The case is running again."), "info")
    return redirect(url_for("cases.show", case_id=case_id))


@bp.route("/cases/<int:case_id>/actions", methods=["POST"])
@login_required
def add_action(case_id: int):
    data = {name: request.form.get(name, "").strip() for name in ACTION_FIELDS}
    try:
        action = events.add_support_action(db.session, clock(), g.user, case_id,
                                           {name: value for name, value in data.items() if value})
    except FormInvalid as invalid:
        errors: dict[str, list[str]] = {}
        for error in invalid.errors:
            errors.setdefault(error.field.split(".")[-1], []).append(field_message(error))
        flash(_("The form has errors. Please check the highlighted fields."), "error")
        return _render_case(case_id, action_form={"values": data, "errors": errors}), 422
    flash(_("“%(action)s” was added; %(body)s is asked to take it on.", action=action.action_type.name,
            body=action.owner_body.name), "info")
    return redirect(url_for("cases.show", case_id=case_id, _anchor="actions"))


@bp.route("/consents/<int:consent_id>/withdraw", methods=["POST"])
@login_required
def withdraw_consent(consent_id: int):
    if request.form.get("confirmed") != "on":
        case_id = parse_id(request.form.get("case_id"))
        if case_id is None:
            abort(400)
        flash(_("The withdrawal was not recorded. Please check the highlighted fields."), "error")
        message = _("Confirm that the person asked to withdraw their consent.")
        return _render_case(case_id, withdraw_errors={consent_id: [message]}), 422
    consent = events.withdraw_consent(db.session, clock(), g.user, consent_id)
    flash(_("The withdrawal of consent was recorded. Sharing based on this consent has stopped."), "info")
    return redirect(url_for("cases.show", case_id=consent.case_id, _anchor="consents"))


@bp.route("/cases/<int:case_id>/review", methods=["POST"])
@login_required
def request_review(case_id: int):
    events.request_review(db.session, clock(), g.user, case_id)
    flash(_("A monitoring review was brought forward to now."), "info")
    return redirect(url_for("cases.show", case_id=case_id))


@bp.route("/cases/<int:case_id>/reopen", methods=["POST"])
@login_required
def reopen(case_id: int):
    case = events.reopen_case(db.session, clock(), g.user, case_id)
    flash(_("Case %(ref)s was opened as episode %(n)s.", ref=case.reference, n=case.episode), "info")
    return _to_first_task(case)


def _to_first_task(case):
    first = next((t for t in queries.open_tasks_of_case(db.session, case.id)
                  if permissions.can_work_task(g.user, t)), None)
    if first is not None:
        return redirect(url_for("tasks.show", task_id=first.id))
    return redirect(url_for("cases.show", case_id=case.id))


def _render_case(case_id: int, *, action_form: dict | None = None, withdraw_errors: dict | None = None):
    action_form = action_form or {"values": {}, "errors": {}}
    case_file = queries.view_case(db.session, clock(), g.user, case_id)
    case = case_file.case
    files = case.process_version.files
    is_open = case.status in (CaseStatus.RUNNING, CaseStatus.WAITING)
    can_change = permissions.can_coordinate_case(g.user, case, clock()()) and is_open
    bodies = queries.member_bodies(db.session, case.municipality_id)
    episodes = {c.id: c.episode for c in case_file.episodes}
    zone = settings().time_zone
    return render_template(
        "case.html", file=case_file, submissions=shown_submissions(case_file, files, bodies),
        can_retry=permissions.is_operator(g.user),
        can_change=can_change,
        can_reopen=case.status == CaseStatus.COMPLETED and permissions.can_start_case(g.user)
        and case_file.access.basis != Basis.BREAK_GLASS,
        action_fields=_action_fields(queries.action_types(db.session, case.municipality_id), bodies,
                                     action_form) if can_change else [],
        action_form_open=bool(action_form["errors"]),
        withdraw_errors=withdraw_errors or {},
        episodes=episodes,
        scores=scores_by_instrument(case_file.assessments, episodes,
                                    lambda moment: local(moment, zone).strftime("%Y-%m-%d"),
                                    proxy_note=_("(answered by a supporter)")),
        purposes=choice_titles(files, "purposes"),
        recipients={c.id: consent_recipients(c, bodies) for c in case_file.consents},
        meetings={item.decision_id: item.meeting for item in case_file.agenda if item.decision_id},
    )


def consent_recipients(consent, bodies) -> str:
    """The bodies a consent names (chosen member bodies, then any written in), for the ledger."""
    names = {b.id: b.name for b in bodies}
    chosen = [names.get(body_id, str(body_id)) for body_id in (consent.recipient_body_ids or [])]
    return "、".join(chosen + ([consent.recipient_bodies] if consent.recipient_bodies else [])) or "—"


def _action_fields(kinds, bodies, form: dict) -> list[Field]:
    """The 「支援を追加」 form: an action from the catalogue, its owner body, due date and note."""
    specs = [
        ("action_type_id", _("Action"), "select", True, [(str(k.id), k.name) for k in kinds], None),
        ("owner_body_id", _("Owner body"), "select", False, [(str(b.id), b.name) for b in bodies],
         _("Leave empty to ask the action's usual body.")),
        ("due_on", _("Due"), "date", False, [], _("Leave empty to use the action's usual service period.")),
        ("note", _("Note"), "textarea", False, [], None),
    ]
    return [Field(name=name, title=title, description=help_text, widget=widget, required=required,
                  options=options, value=form["values"].get(name) or None, errors=form["errors"].get(name, []),
                  limits={"maxLength": 2000} if widget == "textarea" else {}, id_prefix="new-action-")
            for name, title, widget, required, options, help_text in specs]


def shown_submissions(case_file, files: dict, bodies) -> list:
    """Each submitted form as (submission, form title, [(label, value)]), in the form's field order."""
    body_names = [(b.id, b.name) for b in bodies]
    hidden = _("(special-care information: not shown for your role)")
    shown = []
    for submission in case_file.submissions:
        # What this reader may see: special-care fields come masked unless their role needs them.
        data = case_file.submission_data.get(submission.id, submission.data)
        schema = json.loads(files.get(submission.form_id, "{}"))
        ui_file = submission.task.ui_file if submission.task else None
        ui_schema = json.loads(files[ui_file]) if ui_file and ui_file in files else {}
        props = schema.get("properties", {})
        rows = []
        for name in ordered_names(schema, ui_schema):
            if name not in data:
                continue
            dynamic = source_name(ui_schema.get(name, {})) == "member_bodies" and body_names
            value = hidden if data[name] == MASK else display_value(schema, name, data[name],
                                                                   body_names if dynamic else None)
            rows.append((props.get(name, {}).get("title", name), value))
        rows += [(name, hidden if value == MASK else str(value)) for name, value in data.items() if name not in props]
        shown.append((submission, submission.task.name if submission.task else schema.get("title", submission.form_id), rows))
    return shown
