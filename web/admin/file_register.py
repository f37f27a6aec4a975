"""The personal-information file register (個人情報ファイル簿) for administrators: read it, word the
municipality's own entries, print it for publication."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from tsunagu.engine.errors import FormInvalid
from tsunagu.engine.records import file_register
from tsunagu.processes.registry import startable_versions

from ..context import clock, login_required
from ..extensions import db
from ..messages import field_errors

bp = Blueprint("admin_file_register", __name__)


def _words() -> dict[str, dict[str, str]]:
    """The words for the codes the register shows: disclosure bases and record types."""
    return {
        "basis": {"consent": _("Person's consent"), "council": _("Council (Act Art. 16)"),
                  "life_protection": _("Protection of life or body"), "statute": _("Statute"),
                  "internal": _("Internal use (privacy law Art. 69(2)(ii))"),
                  "public_body": _("Provision to a public body (privacy law Art. 69(2)(iii))")},
        "record_type": {"case_file": _("Case file and forms"), "consents": _("Consent ledger"),
                        "assessments": _("Assessments"), "council_papers": _("Council papers and minutes"),
                        "disclosure_log": _("Disclosure log"), "audit_log": _("Audit log")},
    }


def _register():
    town = g.user.municipality_id
    return file_register.register_of(db.session, g.user, town, startable_versions(db.session, town))


def _render(register, form, errors=None):
    return render_template("admin_file_register.html", register=register, form=form, errors=errors or {},
                           words=_words(), name_limit=file_register.NAME_LIMIT,
                           text_limit=file_register.TEXT_LIMIT, threshold=file_register.STATUTORY_THRESHOLD)


@bp.route("/admin/file-register")
@login_required
def index():
    register = _register()
    entry = register.entry
    return _render(register, {"file_name": entry.file_name, "purpose": entry.purpose, "sources": entry.sources,
                              "department": entry.department, "notes": entry.notes or ""})


@bp.route("/admin/file-register", methods=["POST"])
@login_required
def save():
    register = _register()  # refuses anyone but the municipality's administrators before the form is read
    # Cut far beyond the limits only so a huge post is not carried around; the engine names the field too long.
    form = {name: request.form.get(name, "")[: file_register.TEXT_LIMIT + 1] for name in file_register.FIELDS}
    try:
        file_register.save_entry(db.session, clock(), g.user, g.user.municipality_id, **form)
    except FormInvalid as invalid:
        return _render(register, form, field_errors(invalid)), 422
    flash(_("The file register was saved."), "info")
    return redirect(url_for(".index"))


@bp.route("/admin/file-register/print")
@login_required
def print_view():
    return render_template("admin_file_register_print.html", register=_register(), words=_words(),
                           threshold=file_register.STATUTORY_THRESHOLD)
