"""The diagram edited in the browser (/designer/processes/<key>/modeller): bpmn-js (bundled at set-up time
into static/modeller/ by `make modeller`) draws the waiting draft's or the live version's BPMN, a panel beside
it edits what Tsunagu reads, and saving posts the whole file back, which becomes the draft after the same
validation as an upload. Refused problems re-open the modeller on the posted file with each one marked."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from tsunagu.engine.casefile.records import WRITERS
from tsunagu.engine.errors import Conflict, DefinitionInvalid, DefinitionProblem
from tsunagu.engine.roles import ROLE_CODES
from tsunagu.engine.runtime.kinds import KINDS
from tsunagu.engine.runtime.roles_map import read_lane_roles
from tsunagu.processes import decision_tables, diagram_edits
from tsunagu.processes.diagram_edits import Diagram
from tsunagu.processes.task_settings import form_files

from .context import clock, login_required
from .designer import designer_town, problem_text
from .extensions import db
from .messages import role_name

bp = Blueprint("modeller", __name__)

BUNDLE = Path("modeller") / "modeller.js"
TYPE_LABELS = {
    "UserTask": lambda: _("User task"), "ManualTask": lambda: _("Manual task"), "ScriptTask": lambda: _("Script task"),
    "BusinessRuleTask": lambda: _("Decision task"), "Task": lambda: _("Task"), "SendTask": lambda: _("Send task"),
    "ReceiveTask": lambda: _("Receive task"), "CallActivity": lambda: _("Call activity"),
    "SubProcess": lambda: _("Sub-process"), "SequenceFlow": lambda: _("Sequence flow"),
    "StartEvent": lambda: _("Start event"), "EndEvent": lambda: _("End event"),
    "IntermediateCatchEvent": lambda: _("Intermediate event (catching)"),
    "IntermediateThrowEvent": lambda: _("Intermediate event (throwing)"), "BoundaryEvent": lambda: _("Boundary event"),
    "ExclusiveGateway": lambda: _("Exclusive gateway"), "ParallelGateway": lambda: _("Parallel gateway"),
    "InclusiveGateway": lambda: _("Inclusive gateway"), "EventBasedGateway": lambda: _("Event-based gateway"),
    "Lane": lambda: _("Lane"), "Participant": lambda: _("Pool"), "Process": lambda: _("Process"),
    "Collaboration": lambda: _("Process with pools"),
}


@bp.route("/designer/processes/<key>/modeller")
@login_required
def show(key: str) -> ResponseReturnValue:
    opened = diagram_edits.open_diagram(db.session, designer_town(), key)
    return _page(key, opened, opened.xml)


@bp.route("/designer/processes/<key>/modeller", methods=["POST"])
@login_required
def save(key: str) -> ResponseReturnValue:
    town = designer_town()
    opened = diagram_edits.open_diagram(db.session, town, key)
    xml = request.form.get("xml", "")
    posted = request.form.get("lane_roles")
    lane_roles: dict[str, str] | None = None
    try:
        lane_roles = None if posted is None else diagram_edits.parse_lane_roles(posted)
        draft = diagram_edits.save_diagram(db.session, clock(), g.user, town, key, xml, lane_roles=lane_roles,
                                           base=request.form.get("base", ""), via="web")
    except DefinitionInvalid as invalid:
        return _page(key, opened, xml, problems=invalid.problems, lane_roles=lane_roles), 422
    except Conflict:
        flash(_("Someone saved a new draft of this process while you were editing: your changes were not saved. "
                "Here is the new draft."), "error")
        return redirect(url_for(".show", key=key))
    if draft is None:
        flash(_("Nothing was changed."), "info")
        return redirect(url_for(".show", key=key))
    flash(_("The diagram was checked and saved as the draft. Deploy it from this page."), "info")
    return redirect(url_for("designer.process", key=key, draft=1))


def _page(key: str, opened: Diagram, xml: str, *, problems: list[DefinitionProblem] | None = None,
          lane_roles: dict[str, str] | None = None) -> str:
    files = opened.source.files
    problems = problems or []
    data = {
        "key": key,
        "xml": xml,
        "file": opened.file,
        # A refused save hands back the designer's mapping with the designer's diagram: both are still unsaved.
        "laneRoles": read_lane_roles(files) if lane_roles is None else lane_roles,
        "unsaved": bool(problems),
        "problems": [{"element": p.element, "text": problem_text(p.code, p.message)} for p in problems],
        "layouts": sorted(n for n in files if n.endswith("uischema.json")),
        "roles": {code: role_name(code) for code in sorted(ROLE_CODES)},
        "text": {
            "problem": _("Problem"),
            "noLane": _("No lane: the municipality's default role works it"),
            "importFailed": _("The diagram cannot be opened in the modeller:"),
            "importWarnings": _("The modeller cannot read part of this file, and saving would lose it, so saving is "
                                "off. Change this file in a desktop modeller and upload it:"),
            "saveFailed": _("The diagram could not be written:"),
            "laneNameIsRole": _("The lane's name is the role: %(role)s"),
            "laneNoRole": _("Not set: the municipality's default role works its tasks"),
            "laneDefaultRole": _("%(lane)s: not a role, so the municipality's default role works it"),
            "defaultKey": _("MainCorrelationKey (the default key)"),
            "types": {f"bpmn:{name}": label() for name, label in TYPE_LABELS.items()},
        },
    }
    built = Path(current_app.static_folder or "") / BUNDLE
    return render_template(
        "designer_modeller.html", key=key, opened=opened, data=data, problems=problems, bundle=built.exists(),
        forms=form_files(files), decisions=[t.decision_id for t in decision_tables.decisions(dict(files))],
        records=sorted(WRITERS), kinds=sorted(set(KINDS)))
