"""The privacy desk's register of data-subject requests (開示・訂正・利用停止請求, privacy law Arts. 76, 90, 98):
receive a request, link the person, decide or withdraw it, correct records, stop and resume the use of the
person's cases, and the disclosure document (printable HTML and JSON). Supervisors only; every case read
goes through `subject_data.compile`, which audits it."""
from __future__ import annotations

import json
import math
from typing import Any

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for
from flask import flash as _flash
from flask_babel import gettext as _

from tsunagu.engine.access import permissions
from tsunagu.engine.commands import persons
from tsunagu.engine.errors import FieldError, Forbidden, FormInvalid, InvalidState
from tsunagu.engine.records import corrections, subject_data, suspension
from tsunagu.engine.records import requests as subject_requests
from tsunagu.engine.records.tables import RequestKind, RequestStatus
from tsunagu.engine.runtime.forms import today_in_japan

from .context import clock, login_required
from .extensions import db
from .formschema import INT_LIMIT, Field, parse_id
from .messages import field_message
from .subject_request_words import (
    FORM_TITLES,
    OPEN_CASE_STATES,
    agenda_purpose_words,
    due_label,
    kind_labels,
    outcome_labels,
    person_field_labels,
    purpose_words,
    shown,
    status_labels,
    withheld_words,
)

bp = Blueprint("subject_requests", __name__)

TEXT_LIMIT = subject_requests.TEXT_MAX


def _refused(error: Forbidden):
    """Anyone but the privacy desk: the page says who handles these requests."""
    db.session.rollback()
    message = _("Data-subject requests are handled by supervisors (the privacy desk).")
    return render_template("error.html", code=error.code, message=message, status=403), 403


bp.register_error_handler(Forbidden, _refused)


def _message(error: FieldError) -> str:
    """The sentence beside a field: the shared wording, with the request engine's own codes and limits."""
    if error.code == "x_not_after" and error.params.get("limit") == "today":  # say which day that is
        return _("Enter a date no later than today (%(limit)s).", limit=today_in_japan(clock()()).isoformat())
    if error.code == "unknown" and error.field == "person_id":
        return _("This person was not found in your municipality. Search again.")
    if error.code == "format" and error.params.get("format") == "text":  # a NUL the engine refused
        return _("The input contains a character that cannot be used (NUL). Remove it and try again.")
    return field_message(error)


# The engine names a corrected value by what it is (the person's field, the form's field); the page has one
# input for it.
VALUE_FIELDS = {"correct_person": set(corrections.PERSON_FIELDS)}


def _errors(invalid: FormInvalid, form: str) -> dict[str, list[str]]:
    """Each refused field's sentences, by the name of the page's input they belong to."""
    found: dict[str, list[str]] = {}
    own = set(FORM_TITLES(form))
    for error in invalid.errors:
        name = error.field.split(".")[0] or "form"
        if name in VALUE_FIELDS.get(form, ()) or (form == "correct_answer" and name not in own):
            name = "value"
        found.setdefault(name, []).append(_message(error))
    return found


def _summary(errors: dict[str, list[str]], form: str) -> list[str]:
    titles = FORM_TITLES(form)
    return [f"{titles.get(name, name)}: {message}" for name, messages in errors.items() for message in messages]


def _fail(request_id: int | None, form: str, invalid: FormInvalid):
    db.session.rollback()
    errors = _errors(invalid, form)
    state = {"name": form, "values": request.form.to_dict(), "errors": errors, "summary": _summary(errors, form)}
    _flash(_("The form has errors. Please check the highlighted fields."), "error")
    if request_id is None:
        return _render_new(state), 422
    return _render(request_id, state), 422


def _refuse_state(request_id: int, form: str, error: InvalidState):
    """A command the request's state does not allow now: why, in the reader's words, on the request's page."""
    db.session.rollback()
    _flash(_("This cannot be done now: %(reason)s", reason=_why(request_id, form, error)), "error")
    return redirect(url_for(".show", request_id=request_id))


def _why(request_id: int, form: str, error: InvalidState) -> str:
    # The engine's message is for logs; the page tells the state from the request itself.
    found = subject_requests.request_of(db.session, g.user, request_id)
    if found.status == RequestStatus.WITHDRAWN:
        return _("the request was withdrawn.")
    if found.outcome == "refused":
        return _("the request was decided against.")
    if form in ("link", "decide", "withdraw") and found.status != RequestStatus.RECEIVED:
        return _("the request is already decided.")
    if found.person_id is None or error.element == "person_id":
        return _("link the request to the person first.")
    if form == "suspend":
        return _("the person has no open case whose use could be stopped.")
    if form == "resume":
        return _("none of the person's cases is suspended.")
    return _("this is not possible for this kind of request.")


def _confirmed(form: str) -> FormInvalid | None:
    """A change to records needs its box ticked: the desk confirms what the change does."""
    if request.form.get("confirmed") == "on":
        return None
    return FormInvalid([FieldError("confirmed", "required")], element=form)


def _text(name: str) -> str:
    # Never cut here: the engine refuses a text over its limit beside the field, so nothing is lost unseen.
    return request.form.get(name, "")


@bp.route("/requests")
@login_required
def index():
    show_all = request.args.get("all") == "1"
    rows = subject_requests.register(db.session, clock(), g.user, open_only=not show_all)
    return render_template("subject_requests.html", rows=rows, show_all=show_all, kinds=kind_labels(),
                           statuses=status_labels(), outcomes=outcome_labels)


@bp.route("/requests/new", methods=["GET", "POST"])
@login_required
def new():
    if request.method == "GET":
        permissions.require_privacy_desk(g.user)
        return _render_new({"name": "receive", "values": {}, "errors": {}, "summary": []})
    try:
        received = subject_requests.receive(db.session, clock(), g.user, request.form.get("kind", "")[:32],
                                            _text("requester"), request.form.get("received_on", "")[:32],
                                            _text("details") or None)
    except FormInvalid as invalid:
        return _fail(None, "receive", invalid)
    _flash(_("The request was received. Its decision is due on %(due)s.", due=received.due_on.isoformat()), "info")
    return redirect(url_for(".show", request_id=received.id))


def _render_new(state: dict):
    values = state["values"]
    today = today_in_japan(clock()()).isoformat()
    titles = FORM_TITLES("receive")
    errors = state["errors"]
    fields = [
        Field("kind", titles["kind"], None, "radio", True, list(kind_labels().items()), values.get("kind"),
              errors.get("kind", [])),
        Field("requester", titles["requester"], _("The person, or their legal or appointed agent."),
              "text", True, [], values.get("requester"), errors.get("requester", []), {"maxLength": 200}),
        Field("received_on", titles["received_on"], _("The decision is due 30 days after this day."), "date", True,
              [], values.get("received_on", today), errors.get("received_on", [])),
        Field("details", titles["details"], _("What is asked: which records, which correction, which use."),
              "textarea", False, [], values.get("details"), errors.get("details", []), {"maxLength": TEXT_LIMIT}),
    ]
    return render_template("subject_request_new.html", fields=fields, summary=state["summary"])


@bp.route("/requests/<int:request_id>")
@login_required
def show(request_id: int):
    return _render(request_id)


def _render(request_id: int, state: dict | None = None):
    state = state or {"name": None, "values": {}, "errors": {}, "summary": []}
    found = subject_requests.request_of(db.session, g.user, request_id)
    file = None
    if found.person_id is not None:
        try:
            file = subject_data.compile(db.session, clock(), g.user, request_id)
        except InvalidState:
            db.session.rollback()
    text = request.args.get("q", "")[:100]
    year = request.args.get("birth_year", "")[:4]
    birth_year = int(year) if year.isascii() and year.isdigit() and 1900 <= int(year) <= 2100 else None
    searched = bool(text.strip() or birth_year)
    matches = persons.find_persons(db.session, clock(), g.user, text, birth_year) if searched else []
    today = today_in_japan(clock()())
    cases = file.cases if file else []
    return render_template(
        "subject_request.html", req=found, file=file, state=state, q=text, birth_year=year, searched=searched,
        matches=matches, kinds=kind_labels(), statuses=status_labels(), outcomes=outcome_labels(found.kind),
        overdue=found.status == RequestStatus.RECEIVED and found.due_on < today,
        can_link=found.status == RequestStatus.RECEIVED,
        person_fields=_person_choices(file), answers=_answer_choices(file),
        to_suspend=[c for c in cases if c.status in OPEN_CASE_STATES],
        suspended=[c for c in cases if c.status == "suspended"], RequestKind=RequestKind, due_label=due_label,
        text_max=TEXT_LIMIT)


def _person_choices(file) -> list[tuple[str, str]]:
    """The person's fields a correction may change, each with its value now."""
    if file is None:
        return []
    labels = person_field_labels()
    return [(name, f"{labels[name]}（{shown(getattr(file.person, name))}）") for name in corrections.PERSON_FIELDS
            if name in labels]


def _answer_choices(file) -> list[tuple[str, str]]:
    """Every text or number answer in the compiled file: `<submission id>:<field>:<type>`, with where it is and
    its value (the type keeps a corrected number a number; the form's schema checks it anyway)."""
    if file is None:
        return []
    choices = []
    for case in file.cases:
        for submission in case.submissions:
            for item in submission.fields:
                if isinstance(item.value, bool) or not isinstance(item.value, (str, int, float)):
                    continue
                kind = "integer" if isinstance(item.value, int) else "number" if isinstance(item.value, float) else "text"
                where = (f"{case.reference or case.id} · {submission.task_name or submission.form_title} · "
                         f"{submission.submitted_at:%Y-%m-%d}")
                choices.append((f"{submission.id}:{item.name}:{kind}",
                                f"{where} — {item.title}（{item.display or shown(item.value)}）"))
    return choices


@bp.route("/requests/<int:request_id>/person", methods=["POST"])
@login_required
def link(request_id: int):
    person_id = parse_id(request.form.get("person_id"))
    if person_id is None:
        return _fail(request_id, "link", FormInvalid([FieldError("person_id", "required")], element="link"))
    try:
        found = subject_requests.link_person(db.session, clock(), g.user, request_id, person_id)
    except FormInvalid as invalid:
        return _fail(request_id, "link", invalid)
    except InvalidState as error:
        return _refuse_state(request_id, "link", error)
    _flash(_("The request is now linked to the person."), "info")
    return redirect(url_for(".show", request_id=found.id))


@bp.route("/requests/<int:request_id>/decide", methods=["POST"])
@login_required
def decide(request_id: int):
    try:
        subject_requests.decide(db.session, clock(), g.user, request_id, request.form.get("outcome", "")[:32],
                                _text("note") or None)
    except FormInvalid as invalid:
        return _fail(request_id, "decide", invalid)
    except InvalidState as error:
        return _refuse_state(request_id, "decide", error)
    _flash(_("The decision was recorded."), "info")
    return redirect(url_for(".show", request_id=request_id))


@bp.route("/requests/<int:request_id>/withdraw", methods=["POST"])
@login_required
def withdraw(request_id: int):
    try:
        subject_requests.withdraw(db.session, clock(), g.user, request_id, _text("withdraw_note") or None)
    except FormInvalid as invalid:
        return _fail(request_id, "withdraw", invalid)
    except InvalidState as error:
        return _refuse_state(request_id, "withdraw", error)
    _flash(_("The request was recorded as withdrawn."), "info")
    return redirect(url_for(".show", request_id=request_id))


@bp.route("/requests/<int:request_id>/corrections/person", methods=["POST"])
@login_required
def correct_person(request_id: int):
    unconfirmed = _confirmed("correct_person")
    if unconfirmed is not None:
        return _fail(request_id, "correct_person", unconfirmed)
    field = request.form.get("field", "")[:32]
    try:
        corrections.correct_person(db.session, clock(), g.user, request_id, field, _text("value"), _text("reason"))
    except FormInvalid as invalid:
        return _fail(request_id, "correct_person", invalid)
    except InvalidState as error:
        return _refuse_state(request_id, "correct_person", error)
    _flash(_("The correction was recorded; the old value is kept in the audit log."), "info")
    return redirect(url_for(".show", request_id=request_id, _anchor="corrections"))


@bp.route("/requests/<int:request_id>/corrections/answer", methods=["POST"])
@login_required
def correct_answer(request_id: int):
    unconfirmed = _confirmed("correct_answer")
    if unconfirmed is not None:
        return _fail(request_id, "correct_answer", unconfirmed)
    submission_raw, field, kind = (request.form.get("answer", "")[:200].split(":") + ["", ""])[:3]
    submission_id = parse_id(submission_raw)
    if submission_id is None or not field:
        return _fail(request_id, "correct_answer", FormInvalid([FieldError("answer", "required")]))
    try:
        corrections.correct_submission(db.session, clock(), g.user, request_id, submission_id, field,
                                       _typed(_text("value"), kind), _text("reason"))
    except FormInvalid as invalid:
        return _fail(request_id, "correct_answer", invalid)
    except InvalidState as error:
        return _refuse_state(request_id, "correct_answer", error)
    _flash(_("The correction was recorded; the old value is kept in the audit log."), "info")
    return redirect(url_for(".show", request_id=request_id, _anchor="corrections"))


def _typed(raw: str, kind: str) -> Any:
    """The posted text as the answer's type; text that is no number stays text, for the schema to refuse."""
    text = raw.strip()
    try:
        if kind == "integer":
            number = int(text)
            return number if -INT_LIMIT <= number <= INT_LIMIT else raw
        if kind == "number":
            value = float(text)
            return value if math.isfinite(value) else raw
    except ValueError:
        return raw
    return raw


@bp.route("/requests/<int:request_id>/suspend", methods=["POST"])
@login_required
def suspend(request_id: int):
    return _use_changed(request_id, "suspend", suspension.suspend,
                        _("Use stopped: %(n)s case(s) of the person are suspended."))


@bp.route("/requests/<int:request_id>/resume", methods=["POST"])
@login_required
def resume(request_id: int):
    return _use_changed(request_id, "resume", suspension.resume,
                        _("Use resumed: %(n)s case(s) of the person are running again."))


def _use_changed(request_id: int, form: str, command, done: str):
    unconfirmed = _confirmed(form)
    if unconfirmed is not None:
        return _fail(request_id, form, unconfirmed)
    try:
        changed = command(db.session, clock(), g.user, request_id, _text("reason"))
    except FormInvalid as invalid:
        return _fail(request_id, form, invalid)
    except InvalidState as error:
        return _refuse_state(request_id, form, error)
    _flash(done % {"n": len(changed)}, "info")
    return redirect(url_for(".show", request_id=request_id, _anchor="suspension"))


@bp.route("/requests/<int:request_id>/document")
@login_required
def document(request_id: int):
    found = subject_requests.request_of(db.session, g.user, request_id)
    file = subject_data.compile(db.session, clock(), g.user, request_id)
    return render_template("subject_request_document.html", req=found, file=file, kinds=kind_labels(),
                           outcomes=outcome_labels(found.kind), shown=shown, due_label=due_label,
                           withheld_words=withheld_words(), purposes=purpose_words(),
                           agenda_purposes=agenda_purpose_words())


@bp.route("/requests/<int:request_id>/document.json")
@login_required
def document_json(request_id: int):
    file = subject_data.compile(db.session, clock(), g.user, request_id)
    body = json.dumps(subject_data.as_json(file), ensure_ascii=False, indent=2, default=str)
    response = current_app.response_class(body, mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="subject-request-{request_id}.json"'
    return response
