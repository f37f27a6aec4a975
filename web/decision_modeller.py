"""A decision table edited in dmn-js (/designer/processes/<key>/decisions/<decision_id>/modeller): the DMN file
holding the decision (from the waiting draft, else the live version) opens in dmn-js's table editor, where
columns (expressions, labels, types) and rules can be changed; saving posts the whole file back, which becomes
the draft once every entry passes the sandbox's check and the package passes an upload's. A refused file comes
back with each problem listed by rule and column, and its entries marked in the table."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from tsunagu.engine.errors import Conflict, DefinitionInvalid
from tsunagu.processes import decision_file_edits
from tsunagu.processes.decision_file_edits import CellProblem, DecisionFile, DecisionFileInvalid
from tsunagu.processes.decision_tables import HIT_POLICY_COLUMN

from .context import clock, login_required
from .decision_tables import entry_message
from .designer import designer_town, problem_text
from .extensions import db

bp = Blueprint("decision_modeller", __name__)

BUNDLE = Path("modeller") / "decisions.js"
FILE_PROBLEM_TEXT = {
    "decision_missing": lambda: _("A task of the process calls this decision: it cannot be removed or renamed "
                                  "here. Change the task in the modeller first."),
    "dmn_unreadable": lambda: _("The decision table cannot be read."),
    "package_too_large": lambda: _("The decision file is too large."),
}

# dmn-js's own words on the table editor, in the reader's language (dmn-js asks its `translate` service).
DMN_WORDS = {
    "Hit policy": lambda: _("Hit policy"),
    "Hit policy:": lambda: _("Hit policy:"),
    "When": lambda: _("When (before the first condition of a rule)"),
    "And": lambda: _("And"),
    "Then": lambda: _("Then"),
    "Annotation": lambda: _("Annotation"),
    "Annotations": lambda: _("Annotations"),
    "Add rule": lambda: _("Add rule"),
    "Add rule above": lambda: _("Add rule above"),
    "Add rule below": lambda: _("Add rule below"),
    "Remove rule": lambda: _("Remove rule"),
    "Copy rule": lambda: _("Copy rule"),
    "Cut rule": lambda: _("Cut rule"),
    "Paste rule above": lambda: _("Paste rule above"),
    "Paste rule below": lambda: _("Paste rule below"),
    "Move rule": lambda: _("Move rule"),
    "Add input column left": lambda: _("Add input column left"),
    "Add input column right": lambda: _("Add input column right"),
    "Remove input column": lambda: _("Remove input column"),
    "Add output column left": lambda: _("Add output column left"),
    "Add output column right": lambda: _("Add output column right"),
    "Remove output column": lambda: _("Remove output column"),
    "Add input": lambda: _("Add input"),
    "Add output": lambda: _("Add output"),
    "Edit input": lambda: _("Edit input"),
    "Edit output": lambda: _("Edit output"),
    "Input": lambda: _("Input"),
    "Output": lambda: _("Output"),
    "Input label": lambda: _("Input label"),
    "Input expression": lambda: _("Input expression"),
    "Input type": lambda: _("Input type"),
    "Output label": lambda: _("Output label"),
    "Output name": lambda: _("Output name"),
    "Output type": lambda: _("Output type"),
    "Type": lambda: _("Type"),
    "Expression": lambda: _("Expression"),
    "Enter expression": lambda: _("Enter expression"),
    "View DRD": lambda: _("View DRD"),
    "Decision name": lambda: _("Decision name"),
    "Strings must be in double quotes": lambda: _("Strings must be in double quotes"),
    "Type:": lambda: _("Type:"),
    "Predefined values": lambda: _("Predefined values"),
    "Add predefined values": lambda: _("Add predefined values"),
    "Clear predefined values": lambda: _("Clear predefined values"),
    "No values": lambda: _("No values"),
    "Unique": lambda: _("Unique"),
    "First": lambda: _("First"),
    "Collect": lambda: _("Collect"),
    "No overlap is possible and all rules are disjoint. Only a single rule can be matched": lambda: _("No overlap is possible and all rules are disjoint. Only a single rule can be matched"),
    "Rules may overlap. The first matching rule will be chosen": lambda: _("Rules may overlap. The first matching rule will be chosen"),
    "Collects the values of all matching rules": lambda: _("Collects the values of all matching rules"),
    # Hit policies SpiffWorkflow does not run: offered by dmn-js, refused on saving.
    "Priority": lambda: _("Priority (not run by the engine)"),
    "Any": lambda: _("Any (not run by the engine)"),
    "Rule order": lambda: _("Rule order (not run by the engine)"),
    "Output order": lambda: _("Output order (not run by the engine)"),
    "Collect (Sum)": lambda: _("Collect (Sum) (not run by the engine)"),
    "Collect (Min)": lambda: _("Collect (Min) (not run by the engine)"),
    "Collect (Max)": lambda: _("Collect (Max) (not run by the engine)"),
    "Collect (Count)": lambda: _("Collect (Count) (not run by the engine)"),
}


def decision_modeller_built() -> bool:
    """Whether `make modeller` has built the decision modeller's script on this server."""
    return (Path(current_app.static_folder or "") / BUNDLE).exists()


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    # The decision-table page links here only when the editor can open.
    return {"decision_modeller_built": decision_modeller_built}


@bp.route("/designer/processes/<key>/decisions/<decision_id>/modeller")
@login_required
def show(key: str, decision_id: str) -> ResponseReturnValue:
    opened = decision_file_edits.open_decision_file(db.session, designer_town(), key, decision_id)
    return _page(key, decision_id, opened, opened.xml)


@bp.route("/designer/processes/<key>/decisions/<decision_id>/modeller", methods=["POST"])
@login_required
def save(key: str, decision_id: str) -> ResponseReturnValue:
    town = designer_town()
    opened = decision_file_edits.open_decision_file(db.session, town, key, decision_id)
    xml = request.form.get("xml", "")
    try:
        draft = decision_file_edits.save_decision_file(db.session, clock(), g.user, town, key, opened.file, xml,
                                                       base=request.form.get("base", ""), via="web")
    except DecisionFileInvalid as invalid:
        return _page(key, decision_id, opened, xml, problems=[_cell(c) for c in invalid.cells]), 422
    except DefinitionInvalid as invalid:
        return _page(key, decision_id, opened, xml, problems=[_file_problem(p) for p in invalid.problems]), 422
    except Conflict:
        flash(_("Someone saved a new draft of this process while you were editing: your changes were not saved. "
                "Here is the new draft."), "error")
        return redirect(url_for(".show", key=key, decision_id=decision_id))
    if draft is None:
        flash(_("Nothing was changed."), "info")
        return redirect(url_for(".show", key=key, decision_id=decision_id))
    flash(_("The decision file was checked and saved as the draft. Below is what changed; deploy the draft on the "
            "process page."), "info")
    return redirect(url_for("process_diff.show", key=key))


def _cell(found: CellProblem) -> dict[str, Any]:
    problem = found.problem
    column = problem.column
    if column == HIT_POLICY_COLUMN:
        column = _("Hit policy")
    return {"decision": found.decision_id, "rule": problem.rule, "column": column, "line": None,
            "element": found.element, "code": problem.code, "text": entry_message(problem),
            "detail": problem.message}


def _file_problem(problem: Any) -> dict[str, Any]:
    known = FILE_PROBLEM_TEXT.get(problem.code)
    sentence = known() if known else problem_text(problem.code, problem.message)
    return {"decision": problem.element if problem.code == "decision_missing" else None, "rule": None,
            "column": None, "line": problem.line, "element": None, "code": problem.code, "text": sentence,
            "detail": problem.message if sentence != problem.message else ""}


def _page(key: str, decision_id: str, opened: DecisionFile, xml: str, *,
          problems: list[dict[str, Any]] | None = None) -> str:
    problems = problems or []
    data = {
        "xml": xml,
        "file": opened.file,
        "decision": decision_id,
        "problems": [{"element": p["element"], "text": p["text"]} for p in problems if p["element"]],
        "text": {
            "problem": _("Problem"),
            "importFailed": _("The decision file cannot be opened in the editor:"),
            "importWarnings": _("The editor cannot read part of this file, and saving would lose it, so saving is "
                                "off. Change this file in a desktop modeller and upload it:"),
            "decisionMissing": _("This file has no decision table with this id."),
            "saveFailed": _("The decision file could not be written:"),
            "ui": {english: word() for english, word in DMN_WORDS.items()},
        },
    }
    return render_template("designer_decision_modeller.html", key=key, decision_id=decision_id, opened=opened,
                           data=data, problems=problems, bundle=decision_modeller_built())
