"""The difference between two versions of a process: elements added, removed and changed (with each
attribute before and after), sequence flows, decision-table rules, form fields and other files.

`diff_files(old, new)` is a pure function over two packages' files (name -> text), used by the
designer's diff page, `tsunagu process diff` and whoever checks that an edit changed only what it meant
to. Elements are matched by id. Moving shapes on the diagram (BPMN DI coordinates) is not a change of
the process; it is reported once as `layout_changed`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from lxml import etree

from tsunagu.engine.errors import DefinitionInvalid

from .bpmn_reading import (
    BPMN,
    BPMNDI,
    SETTINGS_KINDS,
    ElementSettings,
    clean,
    element_settings,
    lane_names,
    local_name,
    parse_file,
    text_of,
    walk,
)
from .changes import AttributeChange, ChangeStatus, FileChange, Shape, canonical, compare_attributes
from .dmn_diff import DecisionChange, RuleChange, diff_decisions, is_dmn
from .form_diff import FieldChange, FormChange, diff_forms, is_form_file, is_ui_file

__all__ = ["AttributeChange", "ChangeStatus", "DecisionChange", "ElementChange", "FieldChange", "FileChange",
           "FormChange", "RuleChange", "VersionDiff", "diff_files"]


@dataclass(frozen=True)
class ElementChange:
    """One BPMN element (a process, flow node or sequence flow) added, removed or changed. For a changed
    element `changes` holds each attribute that differs; for an added or removed one, what it has."""

    id: str
    kind: str
    name: str | None
    process_id: str
    status: ChangeStatus
    changes: tuple[AttributeChange, ...] = ()


@dataclass(frozen=True)
class VersionDiff:
    """Everything that differs between two versions, grouped as the pages list it."""

    elements: tuple[ElementChange, ...] = ()
    flows: tuple[ElementChange, ...] = ()
    decisions: tuple[DecisionChange, ...] = ()
    forms: tuple[FormChange, ...] = ()
    files: tuple[FileChange, ...] = ()
    layout_changed: bool = False

    @property
    def empty(self) -> bool:
        """True when the two versions run the same process (the layout may still differ)."""
        return not (self.elements or self.flows or self.decisions or self.forms or self.files)

    def marked(self) -> dict[str, ChangeStatus]:
        """Element id -> added or changed, for marking the new version's diagram (removed ones are not on it)."""
        return {c.id: c.status for c in (*self.elements, *self.flows) if c.status != ChangeStatus.REMOVED}


@dataclass(frozen=True)
class _Element:
    id: str
    kind: str
    name: str | None
    process_id: str
    values: dict[str, str | None]
    shape: Shape
    order: tuple[str, int]


_LINKS = frozenset({"incoming", "outgoing", "flowNodeRef"})


def _documentation(el: etree._Element) -> str | None:
    texts = [text_of(d) for d in el.findall(f"{{{BPMN}}}documentation")]
    return "\n".join(t for t in texts if t) or None


def _values(el: etree._Element, s: ElementSettings, by_id: dict[str, etree._Element]) -> dict[str, str | None]:
    """An element's settings as comparable text, keyed as `AttributeChange.attribute`."""
    values: dict[str, str | None] = {"kind": s.kind, "name": s.name, "lane": s.lane,
                                     "documentation": _documentation(el), "instructions": s.instructions,
                                     "script": s.script, "condition": s.condition, "decision": s.decision,
                                     "called_element": s.called_element,
                                     "events": "\n".join(s.events) or None}
    values.update({f"properties.{k}": v for k, v in s.properties.items()})
    if s.kind == "sequenceFlow":
        # ends by id: renaming the task at one end changes that task, not the flows touching it
        source = by_id.get(el.get("sourceRef", ""))
        values["source"] = clean(el.get("sourceRef")) or None
        values["target"] = clean(el.get("targetRef")) or None
        values["default"] = "true" if source is not None and source.get("default") == el.get("id") else None
    if s.kind == "boundaryEvent":
        values["attached_to"] = clean(el.get("attachedToRef")) or None
        values["interrupting"] = "false" if el.get("cancelActivity") == "false" else "true"
    if el.get("triggeredByEvent") == "true" or el.get("isInterrupting") == "false":
        values["interrupting"] = "false" if el.get("isInterrupting") == "false" else "true"
    return values


def _skip_nested(c: etree._Element) -> bool:
    return local_name(c) in SETTINGS_KINDS or local_name(c) in _LINKS


def _elements(files: dict[str, str]) -> tuple[dict[str, _Element], dict[str, Shape], dict[str, Shape], set[str],
                                              dict[str, str]]:
    """Every process, flow node and sequence flow by id; per file what is left outside them and its diagram
    layout; the unreadable files; and the form files the tasks pair with UI schema files."""
    found: dict[str, _Element] = {}
    rests: dict[str, Shape] = {}
    layouts: dict[str, Shape] = {}
    broken: set[str] = set()
    settings: dict[str, ElementSettings] = {}
    for name in sorted(n for n in files if n.lower().endswith(".bpmn")):
        try:
            for eid, found_settings in element_settings({name: files[name]}).items():
                settings.setdefault(eid, found_settings)
        except DefinitionInvalid:
            broken.add(name)
    forms = {s.properties["formJsonSchemaFilename"]: s.properties.get("formUiSchemaFilename", "")
             for s in settings.values() if s.properties.get("formJsonSchemaFilename")}
    for name in sorted(n for n in files if n.lower().endswith(".bpmn") and n not in broken):
        try:
            root = parse_file(name, files[name])
        except DefinitionInvalid:
            broken.add(name)
            continue
        by_id = {el.get("id", ""): el for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
        for process in root.iterchildren(f"{{{BPMN}}}process"):
            pid = clean(process.get("id"))
            found.setdefault(pid, _Element(
                pid, "process", clean(process.get("name")) or None, pid,
                {"name": clean(process.get("name")) or None, "documentation": _documentation(process),
                 "executable": clean(process.get("isExecutable")) or None},
                canonical(process, _skip_nested), (name, process.sourceline or 0)))
            for el, _lane in walk(process, lane_names(process), None):
                eid = clean(el.get("id"))
                s = settings.get(eid)
                if s is None or eid in found or s.file != name:
                    continue
                found[eid] = _Element(eid, s.kind, s.name, s.process_id, _values(el, s, by_id),
                                      canonical(el, _skip_nested), (name, s.line or 0))
        rests[name] = canonical(root, lambda c: local_name(c) in ("process", "BPMNDiagram"))
        layouts[name] = tuple(_layout(d) for d in root.iterchildren(f"{{{BPMNDI}}}BPMNDiagram"))
    return found, rests, layouts, broken, forms


def _layout(el: etree._Element) -> Shape:
    """A diagram's shapes and edges with numbers compared as numbers (`100` and `100.0` are one place)."""
    def number(value: str) -> str:
        try:
            return repr(float(value))
        except ValueError:
            return clean(value)
    attributes = tuple(sorted((str(k), number(v)) for k, v in el.attrib.items()))
    return (str(el.tag), attributes, tuple(_layout(c) for c in el if isinstance(c.tag, str)))


def _element_changes(old: dict[str, _Element], new: dict[str, _Element]) -> list[ElementChange]:
    found: list[ElementChange] = []
    for eid, el in sorted(new.items(), key=lambda item: item[1].order):
        before = old.get(eid)
        if before is None:
            found.append(ElementChange(eid, el.kind, el.name, el.process_id, ChangeStatus.ADDED,
                                       compare_attributes({}, el.values)))
            continue
        changes = compare_attributes(before.values | {"process": before.process_id},
                                     el.values | {"process": el.process_id})
        if not changes and before.shape != el.shape:
            changes = (AttributeChange("other", None, None),)
        if changes:
            found.append(ElementChange(eid, el.kind, el.name or before.name, el.process_id, ChangeStatus.CHANGED,
                                       changes))
    for eid, el in sorted(old.items(), key=lambda item: item[1].order):
        if eid not in new:
            found.append(ElementChange(eid, el.kind, el.name, el.process_id, ChangeStatus.REMOVED,
                                       compare_attributes(el.values, {})))
    return found


def _same_json(old: str, new: str) -> bool:
    try:
        return bool(json.loads(old) == json.loads(new))
    except ValueError:
        return False


def _other_files(old: dict[str, str], new: dict[str, str]) -> list[FileChange]:
    """Files added or removed, and changed files that no element, decision or form stands for."""
    found = [FileChange(n, ChangeStatus.ADDED) for n in sorted(set(new) - set(old))]
    found += [FileChange(n, ChangeStatus.REMOVED) for n in sorted(set(old) - set(new))]
    for name in sorted(set(old) & set(new)):
        lower = name.lower()
        explained = lower.endswith(".bpmn") or is_dmn(name) or is_form_file(name) or is_ui_file(name)
        if old[name] != new[name] and not explained and not (lower.endswith(".json")
                                                             and _same_json(old[name], new[name])):
            found.append(FileChange(name, ChangeStatus.CHANGED))
    return found


def diff_files(old: dict[str, str], new: dict[str, str]) -> VersionDiff:
    """What changed from the package `old` to the package `new` (each a dict of file name -> text)."""
    old_elements, old_rests, old_layouts, old_broken, old_forms = _elements(old)
    new_elements, new_rests, new_layouts, new_broken, new_forms = _elements(new)
    changes = _element_changes(old_elements, new_elements)
    decisions, dmn_files = diff_decisions(old, new)
    forms, form_files = diff_forms(old, new, {**old_forms, **new_forms})
    both = sorted(n for n in set(old) & set(new) if n.lower().endswith(".bpmn") and old[n] != new[n])
    bpmn_files = [FileChange(n, ChangeStatus.CHANGED) for n in both
                  if n in old_broken or n in new_broken or old_rests.get(n) != new_rests.get(n)]
    return VersionDiff(
        elements=tuple(c for c in changes if c.kind != "sequenceFlow"),
        flows=tuple(c for c in changes if c.kind == "sequenceFlow"),
        decisions=decisions, forms=forms,
        files=tuple(sorted([*_other_files(old, new), *bpmn_files, *dmn_files, *form_files],
                           key=lambda f: (f.status != ChangeStatus.CHANGED, f.name))),
        layout_changed=any(old_layouts.get(n) != new_layouts.get(n) for n in both))

