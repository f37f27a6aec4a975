"""Administration of records retention: each record type's period (保存期間), holds on disposal (廃棄の保留)
and disposal (廃棄) with its log. The same engine commands as `tsunagu retention`."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from tsunagu.engine.access import permissions
from tsunagu.engine.admin.staff_directory import list_staff
from tsunagu.engine.errors import Conflict, FormInvalid, NotFound
from tsunagu.engine.records import disposal, holds, retention
from tsunagu.engine.records.tables import RecordType

from ..context import clock, login_required
from ..extensions import db
from ..messages import field_errors

bp = Blueprint("admin_retention", __name__)
RECORD_TYPES = {t.value: t for t in RecordType}
# Posted numbers are cut before the engine reads them: a whole number never needs more.
NUMBER_LENGTH = 40


def _municipality() -> int:
    """The signed-in administrator's municipality; anyone else is refused before anything is read."""
    municipality_id = g.user.municipality_id
    permissions.require_municipal_admin(g.user, municipality_id)
    return municipality_id


def _record_type(value: str) -> RecordType:
    found = RECORD_TYPES.get(value)
    if found is None:
        raise NotFound("no such record type")
    return found


@bp.route("/admin/retention")
@login_required
def index():
    return _render_index({"reference": "", "reason": ""}, {})


@bp.route("/admin/retention/policies/<record_type>")
@login_required
def policy(record_type: str):
    kind = _record_type(record_type)
    current = retention.policies_of(db.session, _municipality())[kind]
    return _render_policy(kind, current, {"years": current.years, "counted_from": current.counted_from.value,
                                          "rule": current.rule or ""}, {})


@bp.route("/admin/retention/policies/<record_type>", methods=["POST"])
@login_required
def save_policy(record_type: str):
    kind = _record_type(record_type)
    municipality_id = _municipality()
    values = {"years": request.form.get("years", "")[:NUMBER_LENGTH],
              "counted_from": request.form.get("counted_from", ""), "rule": request.form.get("rule", "")}
    try:
        saved = retention.set_policy(db.session, clock(), g.user, municipality_id, kind, values["years"],
                                     values["counted_from"], values["rule"])
    except FormInvalid as invalid:
        current = retention.policies_of(db.session, municipality_id)[kind]
        return _render_policy(kind, current, values, field_errors(invalid)), 422
    flash(_("The retention period of “%(type)s” is now %(period)s.", type=type_label(kind),
            period=period_label(kind, saved.years, saved.counted_from.value)), "info")
    return redirect(url_for(".index") + "#policies")


@bp.route("/admin/retention/policies/<record_type>/reset", methods=["POST"])
@login_required
def reset_policy(record_type: str):
    kind = _record_type(record_type)
    saved = retention.reset_policy(db.session, clock(), g.user, _municipality(), kind)
    flash(_("“%(type)s” is back to the default: %(period)s.", type=type_label(kind),
            period=period_label(kind, saved.years, saved.counted_from.value)), "info")
    return redirect(url_for(".index") + "#policies")


@bp.route("/admin/retention/holds", methods=["POST"])
@login_required
def place_hold():
    municipality_id = _municipality()
    values = {"reference": request.form.get("reference", ""), "reason": request.form.get("reason", "")}
    try:
        holds.place_hold(db.session, clock(), g.user, municipality_id, values["reference"], values["reason"])
    except FormInvalid as invalid:
        return _render_index(values, field_errors(invalid)), 422
    except NotFound:
        missing = _("No case of your municipality has this reference.") if values["reference"].strip() \
            else _("This field is required.")
        return _render_index(values, {"reference": [missing]}), 422
    except Conflict:
        return _render_index(values, {"reference": [_("This case is already held from disposal.")]}), 422
    flash(_("Case %(ref)s is held from disposal until the hold is lifted.", ref=values["reference"].strip()),
          "info")
    return redirect(url_for(".index") + "#holds")


@bp.route("/admin/retention/holds/<reference>/lift")
@login_required
def confirm_lift(reference: str):
    return _render_lift(_held(reference), {"reason": ""}, {})


@bp.route("/admin/retention/holds/<reference>/lift", methods=["POST"])
@login_required
def lift_hold(reference: str):
    municipality_id = _municipality()
    values = {"reason": request.form.get("reason", "")}
    try:
        holds.lift_hold(db.session, clock(), g.user, municipality_id, reference, values["reason"])
    except FormInvalid as invalid:
        return _render_lift(_held(reference), values, field_errors(invalid)), 422
    flash(_("The hold on case %(ref)s was lifted: its records are disposed of once their retention has run out.",
            ref=reference), "info")
    return redirect(url_for(".index") + "#holds")


@bp.route("/admin/retention/dispose")
@login_required
def confirm_dispose():
    due = disposal.due_now(db.session, clock(), _municipality())
    return render_template("admin_retention_dispose.html", due=due, labels=_labels())


@bp.route("/admin/retention/dispose", methods=["POST"])
@login_required
def dispose():
    done = disposal.dispose_due(db.session, clock(), g.user, _municipality(), run_by=str(g.user.id))
    if done:
        flash(_("Disposed of %(rows)s records; each record type's disposal is in the log below.",
                rows=sum(d.rows for d in done)), "info")
    else:
        flash(_("Nothing was due for disposal."), "info")
    return redirect(url_for(".index") + "#disposals")


def _held(reference: str) -> holds.HeldCase:
    for held in holds.holds_of(db.session, _municipality()):
        if held.reference == reference:
            return held
    raise NotFound("no such hold")


def _render_index(hold_values: dict, hold_errors: dict[str, list[str]]):
    municipality_id = _municipality()
    policies = retention.policies_of(db.session, municipality_id)
    disposals = disposal.disposals_of(db.session, municipality_id)
    staff = {str(u.id): u.display_name for u in list_staff(db.session, municipality_id)} if disposals else {}
    return render_template("admin_retention.html", policies=[policies[t] for t in RecordType],
                           held=holds.holds_of(db.session, municipality_id),
                           due=disposal.due_now(db.session, clock(), municipality_id), disposals=disposals,
                           staff=staff, run_by=run_by_label, values=hold_values, errors=hold_errors, labels=_labels())


def _render_policy(kind: RecordType, current: retention.Policy, values: dict, errors: dict[str, list[str]]):
    choices = [c for c in ("closure", "creation") if kind in retention.CASE_BOUND or c == "creation"]
    default = retention.DEFAULTS[kind]
    return render_template("admin_retention_policy.html", kind=kind, current=current, default=default,
                           values=values, errors=errors, labels=_labels(),
                           counted_options=[(c, counted_label(kind, c)) for c in choices],
                           limits=(retention.MIN_YEARS, retention.MAX_YEARS))


def _render_lift(held: holds.HeldCase, values: dict, errors: dict[str, list[str]]):
    return render_template("admin_retention_lift.html", held=held, values=values, errors=errors)


def type_label(kind: RecordType) -> str:
    """A record type in the reader's language."""
    return {RecordType.CASE_FILE: _("Case file and forms"), RecordType.CONSENTS: _("Consents"),
            RecordType.ASSESSMENTS: _("Assessments"), RecordType.COUNCIL_PAPERS: _("Council papers and minutes"),
            RecordType.DISCLOSURE_LOG: _("Disclosure log"), RecordType.AUDIT_LOG: _("Audit log")}[kind]


def counted_label(kind: RecordType, counted_from: str) -> str:
    """From when a record type's period runs (its 起算点), in the reader's language."""
    if counted_from == "closure":
        return _("The case's closure")
    return _("The case's opening") if kind in retention.CASE_BOUND else _("Each entry's own time")


def period_label(kind: RecordType, years: int, counted_from: str) -> str:
    """A retention period with where it runs from, e.g. 終結から5年."""
    if counted_from == "closure":
        return _("%(years)s years from the case's closure", years=years)
    if kind in retention.CASE_BOUND:
        return _("%(years)s years from the case's opening", years=years)
    return _("%(years)s years from each entry's own time", years=years)


def _labels() -> dict:
    """The words the retention templates show for record types, periods, methods and who ran a disposal."""
    return {
        "type": type_label,
        "counted": counted_label,
        "period": period_label,
        "disposal": {
            RecordType.CASE_FILE: _("Anonymised: names, free texts and forms removed; dates, statuses and "
                                    "what the reports count kept."),
            RecordType.CONSENTS: _("Anonymised: the person's link, the witness and the recipients removed; the "
                                   "decision, purposes and dates kept."),
            RecordType.ASSESSMENTS: _("Anonymised: the person's link and free answers removed; scores kept."),
            RecordType.COUNCIL_PAPERS: _("Anonymised: agenda notes and decision texts cleared; dates and risk kept."),
            RecordType.DISCLOSURE_LOG: _("Deleted."),
            RecordType.AUDIT_LOG: _("Deleted."),
        },
        "method": {"deleted": _("Deleted"), "anonymised": _("Anonymised")},
    }


def run_by_label(run_by: str, staff: dict[str, str]) -> str:
    """Who ran a disposal: the scheduler, an operator at the command line, or an administrator by name."""
    if run_by == "scheduler":
        return _("Automatic (scheduler)")
    if run_by.startswith("cli:"):
        return _("Command line (%(account)s)", account=run_by[len("cli:"):])
    return staff.get(run_by, run_by)
