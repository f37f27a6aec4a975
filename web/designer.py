"""The process designers' pages (/designer): their municipality's processes, each drawn as a diagram with
the cases waiting at its elements, uploads validated in full into drafts, deployment with a note, the
history of versions, downloads and rollback."""
from __future__ import annotations

import json
from dataclasses import dataclass

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup
from werkzeug.datastructures import FileStorage

from tsunagu.engine.access import permissions
from tsunagu.engine.errors import DefinitionInvalid, DefinitionProblem, FormInvalid, TsunaguError
from tsunagu.engine.models import ProcessDraftRecord, ProcessVersionRecord
from tsunagu.engine.roles import ROLE_CODES
from tsunagu.engine.runtime.roles_map import LANE_MAPPING_FILE
from tsunagu.processes import diagram, drafts, loader
from tsunagu.processes.package import read_package
from tsunagu.processes.registry import ProcessOverview, process_overview, waiting_by_element

from .context import clock, login_required
from .extensions import db
from .messages import field_message, role_name

bp = Blueprint("designer", __name__)


def designer_town() -> int:
    """The signed-in designer's municipality, or refused: every designer page edits only its own."""
    permissions.require_designer(g.user, g.user.municipality_id)
    return int(g.user.municipality_id)


@bp.route("/designer")
@login_required
def index():
    town = designer_town()
    overview = process_overview(db.session, town)
    waiting = {d.process_id: d for d in db.session.query(ProcessDraftRecord).filter_by(municipality_id=town)}
    return render_template("designer.html", processes=overview, drafts=waiting)


@dataclass
class Shown:
    """What the process page draws: a version (or the draft) and its label."""

    files: dict[str, str]
    label: str
    version: ProcessVersionRecord | None = None
    draft: ProcessDraftRecord | None = None


@bp.route("/designer/processes/<key>")
@login_required
def process(key: str):
    town = designer_town()
    overview = _overview(town, key)
    draft = db.session.query(ProcessDraftRecord).filter_by(municipality_id=town, process_id=key).one_or_none()
    shown = _shown(town, overview, draft)
    counts = waiting_by_element(db.session, town, key, clock()())
    problems: dict[str, list[str]] = {}
    for warning in (draft.warnings if shown.draft is not None else []):
        if warning.get("element"):
            problems.setdefault(warning["element"], []).append(_problem_sentence(warning))
    # Each count links to the case list filtered to that element (showing the cases the reader may see).
    marks = {element: diagram.Mark(warnings=tuple(problems.get(element, ())), waiting=waiting, overdue=late,
                                   count_href=url_for("case_list.index", process=key, element=element))
             for element, (waiting, late) in counts.items()}
    for element, sentences in problems.items():
        marks.setdefault(element, diagram.Mark(warnings=tuple(sentences)))
    try:
        svg = diagram.render_svg(shown.files, key, marks=marks, element_href=lambda e: f"#settings-{e}",
                                 title=shown.label, lane_label=role_name,
                                 auto_layout_note=_("Drawn automatically: this file has no diagram layout."))
        settings = sorted(diagram.element_settings(shown.files).values(),
                          key=lambda s: (s.kind == "sequenceFlow", s.line or 0))
    except DefinitionInvalid as invalid:
        svg, settings = None, []
        flash("; ".join(_problem_sentence(p) for p in invalid.problems), "error")
    return render_template("designer_process.html", key=key, overview=overview, draft=draft, shown=shown,
                           # processes.diagram escapes every name and attribute it writes
                           svg=Markup(svg) if svg else None,  # noqa: S704
                           settings=settings, counts=counts,
                           history=drafts.history(db.session, town, key), warnings=problems)


def _overview(town: int, key: str) -> ProcessOverview | None:
    return next((p for p in process_overview(db.session, town) if p.process_id == key), None)


def _shown(town: int, overview: ProcessOverview | None, draft: ProcessDraftRecord | None) -> Shown:
    """The draft with ?draft=1 (or when nothing is deployed yet), a version with ?version=N[&scope=template],
    else the live version."""
    wanted = request.args.get("version", "")
    if draft is not None and (request.args.get("draft") or overview is None):
        return Shown(dict(draft.files), _("Draft"), draft=draft)
    if overview is None:
        abort(404)
    if wanted:
        scope = "template" if request.args.get("scope") == "template" else "municipal"
        usage = next((u for u in overview.versions if str(u.version.version_number) == wanted and u.scope == scope),
                     None)
        if usage is None:
            abort(404)
        version = db.session.get_one(ProcessVersionRecord, usage.version.id)
    else:
        version = db.session.get_one(ProcessVersionRecord, overview.live.version.id)
    return Shown(dict(version.files), _("Version %(n)s", n=version.version_number), version=version)


@bp.route("/designer/upload")
@login_required
def upload_form():
    designer_town()
    return render_template("designer_upload.html", problems=[], lanes=[], mapping={}, svg=None)


@bp.route("/designer/upload", methods=["POST"])
@login_required
def upload():
    town = designer_town()
    try:
        files = _uploaded_files()
    except DefinitionInvalid as invalid:
        return render_template("designer_upload.html", problems=invalid.problems, lanes=[], mapping={}, svg=None), 422
    mapping = {lane: request.form.get(f"lane-{index}", "") for index, lane in enumerate(_lanes(files))}
    chosen = {lane: role for lane, role in mapping.items() if role in ROLE_CODES}
    if chosen:
        files[LANE_MAPPING_FILE] = _lane_file(chosen)
    try:
        draft = drafts.save_draft(db.session, clock(), g.user, town, files, via="web")
    except DefinitionInvalid as invalid:
        return render_template("designer_upload.html", problems=invalid.problems, lanes=_lanes(files),
                               mapping=mapping, roles=sorted(ROLE_CODES),
                               svg=_problem_diagram(files, invalid.problems)), 422
    flash(_("The package was checked and saved as the draft of “%(name)s”.", name=draft.name), "info")
    return redirect(url_for(".process", key=draft.process_id, draft=1))


def _uploaded_files() -> dict[str, str]:
    """The files of an uploaded folder or zip, by name; a problem for anything unreadable."""
    uploads: list[FileStorage] = [f for f in request.files.getlist("package") if f and f.filename]
    if not uploads:
        raise DefinitionInvalid([DefinitionProblem("", None, "package_empty", "choose a zip or a folder's files")])
    if len(uploads) == 1 and (uploads[0].filename or "").lower().endswith(".zip"):
        found = read_package(uploads[0].read())
    else:
        found = read_package({f.filename or "": f.read() for f in uploads})
    if found.problems:
        raise DefinitionInvalid(found.problems)
    return dict(found.files)


def _problem_diagram(files: dict[str, str], problems: list[DefinitionProblem]) -> Markup | None:
    """The refused package's diagram with each problem marked on its element, when the files can be drawn."""
    by_element: dict[str, list[str]] = {}
    for problem in problems:
        if problem.element:
            by_element.setdefault(problem.element, []).append(_problem_sentence(problem))
    try:
        elements = diagram.element_settings(files)
        marked = [elements[e].process_id for e in by_element if e in elements]
        process_id = marked[0] if marked else next((e.process_id for e in elements.values()), None)
        if process_id is None:
            return None
        svg = diagram.render_svg(files, process_id, marks={e: diagram.Mark(problems=tuple(sentences))
                                                           for e, sentences in by_element.items()},
                                 lane_label=role_name,
                                 auto_layout_note=_("Drawn automatically: this file has no diagram layout."))
    except TsunaguError:
        return None
    return Markup(svg)  # noqa: S704  (processes.diagram escapes every name and attribute it writes)


def _lanes(files: dict[str, str]) -> list[str]:
    """The lanes of the package that are not roles: the page asks which role works each."""
    try:
        return [lane for lane in dict.fromkeys(loader.lanes_of(files)) if lane not in ROLE_CODES]
    except TsunaguError:
        return []


def _lane_file(mapping: dict[str, str]) -> str:
    return json.dumps({"lane_roles": mapping}, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


@bp.route("/designer/processes/<key>/draft/deploy", methods=["POST"])
@login_required
def deploy_draft(key: str):
    town = designer_town()
    try:
        result = drafts.deploy_draft(db.session, clock(), g.user, town, key, request.form.get("note"), via="web")
    except FormInvalid as invalid:
        flash("; ".join(field_message(e) for e in invalid.errors), "error")
        return redirect(url_for(".process", key=key, draft=1))
    except DefinitionInvalid as invalid:
        flash("; ".join(_problem_sentence(p) for p in invalid.problems), "error")
        return redirect(url_for(".process", key=key, draft=1))
    flash(_("Version %(n)s is live: new cases start on it. Running cases keep their version.",
            n=result.version.version_number), "info")
    return redirect(url_for(".process", key=key))


@bp.route("/designer/processes/<key>/draft/discard", methods=["POST"])
@login_required
def discard_draft(key: str):
    drafts.discard_draft(db.session, clock(), g.user, designer_town(), key, via="web")
    flash(_("The draft was discarded."), "info")
    return redirect(url_for(".process", key=key) if _overview(g.user.municipality_id, key) else url_for(".index"))


@bp.route("/designer/processes/<key>/versions/<int:number>/rollback", methods=["POST"])
@login_required
def roll_back(key: str, number: int):
    town = designer_town()
    template = request.form.get("scope") == "template"
    try:
        result = drafts.roll_back(db.session, clock(), g.user, town, key, number, request.form.get("note"),
                                  template=template, via="web")
    except FormInvalid as invalid:
        flash("; ".join(field_message(e) for e in invalid.errors), "error")
        return redirect(url_for(".process", key=key))
    flash(_("Version %(n)s is live again: new cases start on it.", n=result.version.version_number), "info")
    return redirect(url_for(".process", key=key))


@bp.route("/designer/processes/<key>/versions/<int:number>.zip")
@login_required
def download(key: str, number: int):
    town = designer_town()
    version = drafts.version_of(db.session, town, key, number, template=request.args.get("scope") == "template")
    scope = "template" if version.municipality_id is None else "municipal"
    name = f"{key}-{scope}-v{number}.zip"
    return Response(drafts.package_zip(version.files), mimetype="application/zip",
                    headers={"Content-Disposition": f"attachment; filename=\"{name}\""})


@bp.route("/designer/processes/<key>/draft.zip")
@login_required
def download_draft(key: str):
    draft = drafts.draft_of(db.session, designer_town(), key)
    return Response(drafts.package_zip(draft.files), mimetype="application/zip",
                    headers={"Content-Disposition": f"attachment; filename=\"{key}-draft.zip\""})


def _problem_sentence(problem: DefinitionProblem | dict) -> str:
    """One validator finding as the page shows it: where, then what."""
    p = problem if isinstance(problem, dict) else drafts.problem_dict(problem)
    where = p.get("file") or ""
    if p.get("line"):
        where += f":{p['line']}"
    if p.get("element"):
        where += f" {p['element']}" + (f"（{p['element_name']}）" if p.get("element_name") else "")
    return f"{where.strip()} {problem_text(p.get('code') or '', p.get('message') or '')}".strip()


def problem_text(code: str, message: str) -> str:
    """The validator's finding in the reader's language: a known code's sentence, else the message."""
    known = PROBLEM_TEXT.get(code)
    return known() if known else message


PROBLEM_TEXT = {
    "package_empty": lambda: _("Choose a zip file or the files of a process folder."),
    "package_too_many_files": lambda: _("The package has too many files."),
    "file_unreadable": lambda: _("The file is not UTF-8 text."),
    "no_bpmn": lambda: _("The package has no .bpmn file."),
    "process_missing": lambda: _("No executable process was found: mark one process as executable."),
    "xml_invalid": lambda: _("The file is not well-formed XML: correct it at the line shown."),
    "lane_unknown_role": lambda: _("The lane is not a role: map it to a role in the table below."),
    "due_missing": lambda: _("The task has no due time (dueIn): its lateness cannot be watched."),
    "service_task_unsupported": lambda: _("Service tasks that call outside systems cannot run here: no operator is registered."),
    "juel_unsupported": lambda: _("JUEL expressions (${...}) cannot run here: write the expression in Python."),
    "call_cycle": lambda: _("The call activity calls itself, directly or through other processes."),
    "script_refused": lambda: _("The script uses something the sandbox refuses."),
    "script_language_unsupported": lambda: _("Scripts are written in Python; this script language cannot run here."),
    "java_unsupported": lambda: _("Java classes and delegate expressions cannot run here."),
    "connector_unsupported": lambda: _("Connectors to outside systems cannot run here."),
    "dmn_several_decisions": lambda: _("The decision file holds several decisions that cannot be told apart."),
    "dmn_not_a_table": lambda: _("Only decision tables can run here."),
    "process_ambiguous": lambda: _("The package holds several executable processes: name the main one in process_model.json."),
    "lane_mapping_invalid": lambda: _("The lane mapping file (tsunagu.json) is not valid."),
    "lane_mapping_unknown_lane": lambda: _("The lane mapping names a lane the diagram does not have."),
    "lane_mapping_unknown_role": lambda: _("The lane mapping names a role that does not exist."),
    "candidate_body_missing": lambda: _("A partner task needs a candidateBody property naming the member body."),
    "record_unknown": lambda: _("The record property names no case-file record."),
    "dmn_hit_policy_unsupported": lambda: _("The decision table's hit policy is not run by the engine (UNIQUE, FIRST or COLLECT)."),
    "kind_unknown": lambda: _("The kind property names no task kind (tabling, review, contact, ...)."),
    "duration_invalid": lambda: _("The duration is not an ISO 8601 duration such as P3D."),
    "date_keyword_invalid": lambda: _("A date rule (x-not-after / x-not-before) takes only \"today\"."),
    "date_keyword_not_date": lambda: _("A date rule applies only to a date field."),
    "package_too_large": lambda: _("The package is too large."),
    "zip_path_unsafe": lambda: _("The zip holds a file with an unsafe path."),
    "zip_ratio_too_high": lambda: _("The zip is compressed suspiciously well and was not opened."),
    "file_name_ambiguous": lambda: _("Two files in the zip have the same name in different folders."),
    "meta_invalid": lambda: _("process_model.json is not valid."),
    "bpmn_invalid": lambda: _("The BPMN file breaks a rule of the standard: correct the element shown."),
    "form_ref_unresolved": lambda: _("The form refers to a definition it does not hold."),
    "form_widget_unsupported": lambda: _("The form asks for a widget that cannot be shown."),
    "form_type_list_unsupported": lambda: _("A form field may have only one type."),
    "form_file_upload_unsupported": lambda: _("File uploads in forms are not supported."),
    "form_nested_array_unsupported": lambda: _("Lists of lists in forms are not supported."),
    "form_choice_unsupported": lambda: _("The form's choices come from task data, which cannot be shown here."),
    "form_file_not_found": lambda: _("The form file named by the task is not in the package."),
    "form_json_invalid": lambda: _("The form file is not valid JSON."),
    "form_schema_invalid": lambda: _("The form file is not a valid JSON Schema."),
    "form_construct_unsupported": lambda: _("The form uses a construct the form renderer cannot show."),
    "zip_invalid": lambda: _("The zip file cannot be opened."),
}
