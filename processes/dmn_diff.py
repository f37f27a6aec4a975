"""Compare the decision tables (DMN) of two versions of a process: decisions added or removed, their hit
policy, inputs and outputs, and each rule added, removed or changed with its input entries and outputs.

Pure functions over a package's files (name -> text). Rules are matched by their id (by position where a
table gives none); the DMN diagram (DMNDI) is layout, never a change.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from tsunagu.engine.errors import DefinitionInvalid

from .bpmn_reading import clean, local_name, parse_file, text_of
from .changes import AttributeChange, ChangeStatus, FileChange, Shape, canonical, compare_attributes


@dataclass(frozen=True)
class RuleChange:
    """One rule of a decision table added, removed or changed; `number` is its row (1-based) in the table
    it is shown from (the new one, or the old one for a removed rule)."""

    id: str
    number: int
    status: ChangeStatus
    description: str | None
    changes: tuple[AttributeChange, ...]


@dataclass(frozen=True)
class DecisionChange:
    """One decision added, removed or changed: its own attributes (name, hit policy, inputs, outputs, rule
    order) and its rules."""

    id: str
    name: str | None
    file: str
    status: ChangeStatus
    changes: tuple[AttributeChange, ...] = ()
    rules: tuple[RuleChange, ...] = ()


@dataclass
class _Rule:
    id: str
    number: int
    description: str | None
    values: dict[str, str | None]
    shape: Shape


@dataclass
class _Table:
    id: str
    name: str | None
    file: str
    values: dict[str, str | None]
    labels: dict[str, str]
    rules: dict[str, _Rule] = field(default_factory=dict)
    shape: Shape = ()


_TABLE_PARTS = frozenset({"input", "output", "rule"})


def is_dmn(name: str) -> bool:
    return name.lower().endswith(".dmn")


def _child(el: etree._Element, name: str) -> etree._Element | None:
    return next((c for c in el if local_name(c) == name), None)


def _children(el: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in el if local_name(c) == name]


def _entry_text(el: etree._Element) -> str | None:
    return text_of(_child(el, "text"))


def _read_table(decision: etree._Element, file: str) -> _Table:
    """A decision with its table flattened to comparable text values."""
    table = _child(decision, "decisionTable")
    did = clean(decision.get("id"))
    values: dict[str, str | None] = {"name": clean(decision.get("name")) or None}
    labels: dict[str, str] = {}
    read = _Table(did, values["name"], file, values, labels)
    read.shape = canonical(decision, lambda c: local_name(c) == "decisionTable")
    if table is None:
        return read
    values["hit_policy"] = clean(table.get("hitPolicy")) or "UNIQUE"
    values["aggregation"] = clean(table.get("aggregation")) or None
    read.shape = (read.shape, canonical(table, lambda c: local_name(c) in _TABLE_PARTS))
    inputs, outputs = [], []
    for index, el in enumerate(_children(table, "input")):
        key = clean(el.get("id")) or f"#{index + 1}"
        expression = text_of(_child(el, "inputExpression"))
        label = clean(el.get("label")) or expression or key
        inputs.append((key, label))
        labels[f"input.{key}"] = label
        values[f"input.{key}"] = expression
        values[f"input_label.{key}"] = clean(el.get("label")) or None  # the heading the designer reads
    for index, el in enumerate(_children(table, "output")):
        key = clean(el.get("id")) or f"#{index + 1}"
        label = clean(el.get("label")) or clean(el.get("name")) or key
        outputs.append((key, label))
        labels[f"output.{key}"] = label
        values[f"output.{key}"] = clean(el.get("name")) or label
        values[f"output_label.{key}"] = clean(el.get("label")) or None
    for number, rule in enumerate(_children(table, "rule"), start=1):
        rid = clean(rule.get("id")) or f"#{number}"
        rule_values: dict[str, str | None] = {"description": text_of(_child(rule, "description"))}
        for (key, _label), entry in zip(inputs, _children(rule, "inputEntry"), strict=False):
            rule_values[f"input.{key}"] = _entry_text(entry)
        for (key, _label), entry in zip(outputs, _children(rule, "outputEntry"), strict=False):
            rule_values[f"output.{key}"] = _entry_text(entry)
        read.rules[rid] = _Rule(rid, number, rule_values["description"], rule_values,
                                canonical(rule, lambda c: local_name(c) in ("inputEntry", "outputEntry",
                                                                           "description")))
    return read


def _tables(files: dict[str, str]) -> tuple[dict[str, _Table], dict[str, Shape], set[str]]:
    """Every decision of every .dmn file by id, each file's remaining content, and the unreadable files."""
    tables: dict[str, _Table] = {}
    rests: dict[str, Shape] = {}
    broken: set[str] = set()
    for name in sorted(n for n in files if is_dmn(n)):
        try:
            root = parse_file(name, files[name])
        except DefinitionInvalid:
            broken.add(name)
            continue
        for decision in root.iter():
            if local_name(decision) == "decision" and decision.get("id") and decision.get("id") not in tables:
                tables[clean(decision.get("id"))] = _read_table(decision, name)
        rests[name] = canonical(root, lambda c: local_name(c) in ("decision", "DMNDI"))
    return tables, rests, broken


def _rule_changes(old: _Table, new: _Table) -> tuple[list[RuleChange], AttributeChange | None]:
    found: list[RuleChange] = []
    for rid, rule in new.rules.items():
        before = old.rules.get(rid)
        if before is None:
            found.append(RuleChange(rid, rule.number, ChangeStatus.ADDED, rule.description,
                                    compare_attributes({}, rule.values, new.labels)))
            continue
        changes = compare_attributes(before.values, rule.values, new.labels | old.labels)
        if not changes and before.shape != rule.shape:
            changes = (AttributeChange("other", None, None),)
        if changes:
            found.append(RuleChange(rid, rule.number, ChangeStatus.CHANGED, rule.description, changes))
    for rid, rule in old.rules.items():
        if rid not in new.rules:
            found.append(RuleChange(rid, rule.number, ChangeStatus.REMOVED, rule.description,
                                    compare_attributes(rule.values, {}, old.labels)))
    kept_old = [rid for rid in old.rules if rid in new.rules]
    kept_new = [rid for rid in new.rules if rid in old.rules]
    order = (AttributeChange("rule_order", ", ".join(kept_old), ", ".join(kept_new))
             if kept_old != kept_new else None)
    return found, order


def diff_decisions(old_files: dict[str, str], new_files: dict[str, str]
                   ) -> tuple[tuple[DecisionChange, ...], tuple[FileChange, ...]]:
    """The decisions added, removed and changed, and the .dmn files present in both versions that changed
    in a way no decision accounts for (unreadable, or outside any decision)."""
    old, old_rests, old_broken = _tables(old_files)
    new, new_rests, new_broken = _tables(new_files)
    found: list[DecisionChange] = []
    for did, table in new.items():
        before = old.get(did)
        if before is None:
            rules = tuple(RuleChange(r.id, r.number, ChangeStatus.ADDED, r.description,
                                     compare_attributes({}, r.values, table.labels)) for r in table.rules.values())
            found.append(DecisionChange(did, table.name, table.file, ChangeStatus.ADDED,
                                        compare_attributes({}, table.values, table.labels), rules))
            continue
        changes = list(compare_attributes(before.values | {"file": before.file}, table.values | {"file": table.file},
                                          table.labels | before.labels))
        rule_changes, order = _rule_changes(before, table)
        if order is not None:
            changes.append(order)
        if not changes and not rule_changes and before.shape != table.shape:
            changes.append(AttributeChange("other", None, None))
        if changes or rule_changes:
            found.append(DecisionChange(did, table.name, table.file, ChangeStatus.CHANGED, tuple(changes),
                                        tuple(rule_changes)))
    for did, table in old.items():
        if did not in new:
            found.append(DecisionChange(did, table.name, table.file, ChangeStatus.REMOVED,
                                        compare_attributes(table.values, {}, table.labels)))
    files = [FileChange(name, ChangeStatus.CHANGED) for name in sorted(set(old_files) & set(new_files))
             if is_dmn(name) and old_files[name] != new_files[name]
             and (name in old_broken or name in new_broken or old_rests.get(name) != new_rests.get(name))]
    return tuple(found), tuple(files)
