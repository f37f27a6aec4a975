"""Decision tables in the browser (/designer/processes/<key>/decisions): a DMN table's rules as a form,
each entry checked by the sandbox's rules as it is saved, a "try it" box, and saving as the draft.

Editing needs no script: adding, removing and moving a rule post the whole form back and the page comes
back with the change made, unsaved; only "save" writes the draft."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from tsunagu.engine.errors import DefinitionInvalid, TsunaguError
from tsunagu.processes import decision_tables, decision_trial, drafts
from tsunagu.processes.decision_tables import HIT_POLICIES, MAX_RULES, DecisionTable, EntryProblem, Rule

from . import row_actions
from .context import clock, login_required
from .designer import designer_town, problem_text
from .extensions import db

bp = Blueprint("decision_tables", __name__)

MAX_FIELD = 4000  # longer than any entry may be: the check says so, beside the entry


@bp.route("/designer/processes/<key>/decisions")
@login_required
def index(key: str):
    source = decision_tables.editable_files(db.session, designer_town(), key)
    return render_template("designer_decisions.html", key=key, source=source,
                           tables=decision_tables.decisions(source.files))


@bp.route("/designer/processes/<key>/decisions/<decision_id>", methods=["GET", "POST"])
@login_required
def table(key: str, decision_id: str):
    town = designer_town()
    source = decision_tables.editable_files(db.session, town, key)
    stored = decision_tables.find_table(source.files, decision_id)
    if request.method == "GET":
        return _page(key, source, stored, stored)
    edited = _posted(stored)
    action = request.form.get("action", "save")
    if action != "save":
        _rearrange(edited, action)
        return _page(key, source, stored, edited)
    try:
        files = decision_tables.apply_table(source.files, stored.file, decision_id, edited)
        drafts.save_draft(db.session, clock(), g.user, town, files, preferred_id=key, via="web")
    except decision_tables.DecisionTableInvalid as invalid:
        return _page(key, source, stored, edited, problems=invalid.problems), 422
    except DefinitionInvalid as invalid:
        return _page(key, source, stored, edited, package_problems=[
            problem_text(p.code, p.message) for p in invalid.problems]), 422
    flash(_("The decision table was checked and saved as the draft: deploy it on the process page."), "info")
    return redirect(url_for("designer.process", key=key, draft=1))


@bp.route("/designer/processes/<key>/decisions/<decision_id>/try", methods=["POST"])
@login_required
def try_table(key: str, decision_id: str):
    source = decision_tables.editable_files(db.session, designer_town(), key)
    stored = decision_tables.find_table(source.files, decision_id)
    edited = _posted(stored)
    names = decision_trial.input_names(stored)
    samples = {name: request.form.get(f"try-{name}", "")[:MAX_FIELD] for name in names}
    try:
        files = decision_tables.apply_table(source.files, stored.file, decision_id, edited)
        values = {name: decision_trial.parse_value(text) for name, text in samples.items()}
        trial = decision_trial.evaluate(files, stored.file, decision_id, values)
    except decision_tables.DecisionTableInvalid as invalid:
        return _page(key, source, stored, edited, problems=invalid.problems, samples=samples), 422
    except decision_trial.TrialFailed as failed:
        return _page(key, source, stored, edited, samples=samples, trial_error=_trial_error(failed)), 422
    return _page(key, source, stored, edited, samples=samples, trial=trial)


def _posted(stored: DecisionTable) -> DecisionTable:
    """The table as the form posted it: the stored columns, the posted rules and hit policy."""
    form = request.form
    rules = []
    for i in range(row_actions.posted_count(form, "rule_count", MAX_RULES)):
        rules.append(Rule(
            inputs=[_field(f"rule-{i}-in-{j}") or decision_tables.ANY_VALUE for j in range(len(stored.inputs))],
            outputs=[_field(f"rule-{i}-out-{k}") for k in range(len(stored.outputs))],
            annotation=_field(f"rule-{i}-note"), id=_field(f"rule-{i}-id")[:200] or None))
    policy = _field("hit_policy").upper()[:40] or stored.hit_policy
    return DecisionTable(stored.file, stored.decision_id, stored.name, policy, stored.inputs, stored.outputs, rules,
                         aggregation=stored.aggregation if policy == stored.hit_policy else None)


def _field(name: str) -> str:
    return request.form.get(name, "")[:MAX_FIELD].strip()


def _rearrange(edited: DecisionTable, action: str) -> None:
    """Add a rule at the end, or remove or move the rule the button belongs to."""
    if action == "add" and len(edited.rules) < MAX_RULES:
        edited.rules.append(Rule(inputs=[decision_tables.ANY_VALUE] * len(edited.inputs),
                                 outputs=[""] * len(edited.outputs)))
        return
    verb, positions = row_actions.parse(action)
    if len(positions) == 1:
        row_actions.rearrange(edited.rules, verb, positions[0])


def _page(key: str, source: decision_tables.Source, stored: DecisionTable, edited: DecisionTable, *,
          problems: list[EntryProblem] | None = None, package_problems: list[str] | None = None,
          samples: dict[str, str] | None = None, trial: decision_trial.Trial | None = None,
          trial_error: str | None = None) -> str:
    at_entry: dict[tuple[int, int], list[str]] = {}
    at_rule: dict[int, list[str]] = {}
    general, at_policy = [], []
    for problem in problems or []:
        sentence = entry_message(problem)
        if problem.column == decision_tables.HIT_POLICY_COLUMN:
            at_policy.append(sentence)
        elif problem.rule is not None and problem.index is not None:
            at_entry.setdefault((problem.rule - 1, problem.index), []).append(sentence)
        elif problem.rule is not None:
            at_rule.setdefault(problem.rule - 1, []).append(sentence)
        else:
            general.append(sentence)
    policies = list(HIT_POLICIES) + ([edited.hit_policy] if edited.hit_policy not in HIT_POLICIES else [])
    return render_template(
        "designer_decision.html", key=key, source=source, table=edited, stored=stored, policies=policies,
        at_entry=at_entry, at_rule=at_rule, at_policy=at_policy, general=general + (package_problems or []),
        input_names=decision_trial.input_names(stored),
        input_labels={c.expression: c.heading for c in stored.inputs if c.label}, samples=samples or {}, trial=trial, trial_error=trial_error)


def entry_message(problem: EntryProblem) -> str:
    """One problem of a table in the reader's language, its detail (the sandbox's own words) after it."""
    sentence = ENTRY_TEXT.get(problem.code)
    if sentence is None:
        return problem.message
    text = sentence()
    if problem.code in ("entry_refused", "xml_invalid", "dmn_unreadable"):
        text += f"（{problem.message}）"
    return text


def _trial_error(failed: TsunaguError) -> str:
    limit: Any = failed.details.get("limit")
    if limit in LIMIT_TEXT:
        return LIMIT_TEXT[limit]()
    if failed.element == "value_too_long":
        return _("A sample value is too long.")
    return _("The table could not be evaluated on these inputs: %(detail)s", detail=failed.message[:500])


ENTRY_TEXT = {
    "hit_policy_unsupported": lambda: _("The engine does not run this hit policy: choose UNIQUE, FIRST or COLLECT."),
    "rules_missing": lambda: _("The table needs at least one rule."),
    "too_many_rules": lambda: _("The table has too many rules."),
    "entry_count": lambda: _("The rule does not have an entry for every column."),
    "annotation_invalid": lambda: _("The annotation is too long or holds characters that cannot be stored."),
    "entry_too_long": lambda: _("The entry is too long."),
    "entry_control_character": lambda: _("The entry holds characters that cannot be stored (such as NUL)."),
    "output_missing": lambda: _("Enter the output, e.g. \"high\"."),
    "entry_refused": lambda: _("The sandbox refuses this expression: names starting with _, imports and functions "
                               "it does not provide cannot be used."),
    "xml_invalid": lambda: _("The decision file is not well-formed XML."),
    "dmn_unreadable": lambda: _("The decision table cannot be read."),
}

LIMIT_TEXT = {
    "script_timeout": lambda: _("Evaluating the table took too long and was stopped."),
    "script_memory": lambda: _("Evaluating the table used too much memory and was stopped."),
    "script_output_too_large": lambda: _("The table's result is too large."),
    "script_crashed": lambda: _("Evaluating the table stopped the sandbox's worker."),
    "script_input_too_large": lambda: _("The sample inputs are too large."),
    "script_busy": lambda: _("The sandbox is busy: try again in a moment."),
}
