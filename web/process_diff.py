"""The difference between two versions of a process (/designer/processes/<key>/diff?from=...&to=...): what
was added, removed and changed, listed by elements, decisions, forms and files, and marked on the newer
side's diagram."""
from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, g, render_template, request
from flask_babel import gettext as _
from markupsafe import Markup

from tsunagu.engine.errors import FormInvalid, NotFound, TsunaguError
from tsunagu.engine.models import ProcessDraftRecord
from tsunagu.processes import diagram
from tsunagu.processes.changes import AttributeChange, ChangeStatus
from tsunagu.processes.comparison import Comparison, Selector, compare_versions
from tsunagu.processes.registry import ProcessOverview, process_overview
from tsunagu.processes.version_diff import VersionDiff

from .context import clock, login_required
from .designer import designer_town
from .extensions import db
from .messages import role_name

bp = Blueprint("process_diff", __name__)


@bp.context_processor
def _helpers() -> dict[str, object]:
    return {"attribute_label": attribute_label, "attribute_value": attribute_value, "diff_counts": diff_counts,
            "status_label": status_label, "selector_label": selector_label}


def _choices(overview: ProcessOverview | None, draft: ProcessDraftRecord | None) -> list[tuple[str, str]]:
    """Every version the picker offers, as (selector, label), the draft last."""
    live = _("Live")
    found = [(f"{u.scope}:{u.version.version_number}", selector_label(Selector(u.scope, u.version.version_number))
              + (f"（{live}）" if u.live else "")) for u in (overview.versions if overview else [])]
    if draft is not None:
        found.append(("draft", _("Draft")))
    return found


def _defaults(overview: ProcessOverview | None, draft: ProcessDraftRecord | None) -> tuple[str, str]:
    """Without a choice: the live version against the draft, else the version before the live one."""
    if overview is None:
        return "draft", "draft"
    live = overview.live
    live_selector = f"{live.scope}:{live.version.version_number}"
    if draft is not None:
        return live_selector, "draft"
    listed = [f"{u.scope}:{u.version.version_number}" for u in overview.versions]
    position = listed.index(live_selector)
    return (listed[position - 1] if position > 0 else live_selector), live_selector


@bp.route("/designer/processes/<key>/diff")
@login_required
def show(key: str):
    town = designer_town()
    overview = next((p for p in process_overview(db.session, town) if p.process_id == key), None)
    draft = db.session.query(ProcessDraftRecord).filter_by(municipality_id=town, process_id=key).one_or_none()
    if overview is None and draft is None:
        abort(404)
    chosen_from, chosen_to = _defaults(overview, draft)
    chosen_from = request.args.get("from", chosen_from)[:40]
    chosen_to = request.args.get("to", chosen_to)[:40]
    page = {"key": key, "overview": overview, "draft": draft, "choices": _choices(overview, draft),
            "chosen_from": chosen_from, "chosen_to": chosen_to, "comparison": None, "svg": None, "error": None}
    try:
        comparison = compare_versions(db.session, clock(), g.user, town, key, chosen_from, chosen_to, via="web")
    except FormInvalid:
        page["error"] = _("Choose the two versions to compare from the lists.")
        return render_template("designer_diff.html", **page), 400
    except NotFound:
        page["error"] = _("That version does not exist for this process. Choose another from the lists.")
        return render_template("designer_diff.html", **page), 404
    page["comparison"] = comparison
    page["svg"] = _diagram(key, comparison)
    return render_template("designer_diff.html", **page)


def _diagram(key: str, comparison: Comparison) -> Markup | None:
    """The newer side's diagram with each added or changed element marked and linked to its entry."""
    diff = comparison.diff
    sentences = {c.id: c for c in (*diff.elements, *diff.flows)}
    marks = {element: diagram.Mark(warnings=(_mark_sentence(status, sentences[element].changes),),
                                   change=status.value)
             for element, status in diff.marked().items()}
    try:
        svg = diagram.render_svg(comparison.new.files, key, marks=marks, element_href=lambda e: f"#change-{e}",
                                 title=selector_label(comparison.new.selector), lane_label=role_name,
                                 auto_layout_note=_("Drawn automatically: this file has no diagram layout."))
    except TsunaguError:
        return None
    return Markup(svg)  # noqa: S704  (processes.diagram escapes every name and attribute it writes)


def _mark_sentence(status: ChangeStatus, changes: tuple[AttributeChange, ...]) -> str:
    if status == ChangeStatus.ADDED:
        return _("Added")
    return _("Changed: %(what)s", what=_(", ").join(attribute_label(c) for c in changes))


# The wording below takes its translator, so `tsunagu process diff` prints the same words outside a request.
Translate = Callable[..., str]


def selector_label(selector: Selector, gettext: Translate = _) -> str:
    """A compared version as the page names it."""
    if selector.scope == "draft":
        return gettext("Draft")
    if selector.scope == "template":
        return gettext("Template version %(n)s", n=selector.number)
    return gettext("Version %(n)s", n=selector.number)


def status_label(status: ChangeStatus, gettext: Translate = _) -> str:
    return {ChangeStatus.ADDED: gettext("Added"), ChangeStatus.REMOVED: gettext("Removed"),
            ChangeStatus.CHANGED: gettext("Changed")}[status]


def _property_names(gettext: Translate) -> dict[str, str]:
    return {
        "formJsonSchemaFilename": gettext("Form"), "formUiSchemaFilename": gettext("Form layout"),
        "dueIn": gettext("Due in"), "followUpIn": gettext("Follow up in"), "record": gettext("Recorded as"),
        "kind": gettext("Counted as"), "candidateBody": gettext("Body that works it"), "notify": gettext("Notifies"),
        "workflowFields": gettext("Fields passed to the flow"),
    }


def _attribute_names(gettext: Translate) -> dict[str, str]:
    return {
        "kind": gettext("Element type"), "name": gettext("Name"), "lane": gettext("Role (lane)"),
        "documentation": gettext("Description"), "instructions": gettext("Instructions"), "script": gettext("Script"),
        "condition": gettext("Condition"), "decision": gettext("Decision"), "called_element": gettext("Calls"),
        "events": gettext("Events"), "source": gettext("Comes from"), "target": gettext("Goes to"),
        "default": gettext("Default path"), "attached_to": gettext("Attached to"),
        "interrupting": gettext("Interrupting"), "process": gettext("Process"), "executable": gettext("Executable"),
        "other": gettext("Other settings"), "hit_policy": gettext("Hit policy"),
        "aggregation": gettext("Aggregation"), "rule_order": gettext("Order of the rules"),
        "description": gettext("Description"), "file": gettext("File"), "title": gettext("Displayed name"),
        "type": gettext("Data type"), "format": gettext("Format"), "required": gettext("Required"),
        "x-not-after": gettext("Date rule: not after"), "x-not-before": gettext("Date rule: not before"),
        "maxLength": gettext("Maximum length"), "minLength": gettext("Minimum length"), "minimum": gettext("Minimum"),
        "maximum": gettext("Maximum"), "pattern": gettext("Pattern"),
        "x-special-care": gettext("Special-care information"), "ui:widget": gettext("Input widget"),
        "ui:order": gettext("Order of the fields"), "minItems": gettext("Minimum number chosen"),
        "allOf": gettext("Conditional rules"), "uniqueItems": gettext("No repeated choices"),
        "items.type": gettext("Type of each item"),
    }


def attribute_label(change: AttributeChange, form: bool = False, gettext: Translate = _) -> str:
    """What changed, in the reader's words: a known attribute's name, a table's own label, else the key
    (`form`: a form's keyword, where `default` is a field's default value)."""
    key = change.attribute
    if form and key == "default":
        return gettext("Default value")
    head, _dot, rest = key.partition(".")
    if head == "properties":
        return _property_names(gettext).get(rest, rest)
    if head == "input":
        return gettext("Input: %(label)s", label=change.label or rest)
    if head == "output":
        return gettext("Output: %(label)s", label=change.label or rest)
    if head in ("input_label", "output_label"):
        return gettext("Column heading")
    if head == "option":
        return gettext("Choice %(value)s", value=rest)
    return _attribute_names(gettext).get(key, key)


def attribute_value(change: AttributeChange, value: str | None, gettext: Translate = _,
                    role: Callable[[str], str] = role_name) -> str:
    """One side of an attribute as the page shows it: yes/no for flags, a role's name for a lane."""
    if value is None:
        return "—"
    if value in ("true", "false"):
        return gettext("Yes") if value == "true" else gettext("No")
    if change.attribute == "lane":
        return role(value)
    return value


def diff_counts(diff: VersionDiff) -> list[tuple[str, str, int]]:
    """The summary above the lists: per group its section, its name and how many changes it lists."""
    return [("diff-elements", _("Elements"), len(diff.elements)),
            ("diff-elements", _("Sequence flows"), len(diff.flows)),
            ("diff-decisions", _("Decision tables"), len(diff.decisions)), ("diff-forms", _("Forms"), len(diff.forms)),
            ("diff-files", _("Other files"), len(diff.files))]
