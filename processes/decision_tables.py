"""A DMN decision table as the designer edits it: read from a package's files, checked entry by entry as
the sandbox will run it, and written back into the same XML.

Writing back changes only what was edited: an untouched rule keeps its element, ids and any extension
the modeller wrote; a new rule or entry gets a fresh id; the DMN diagram (DMNDI) stays as it was. Every
entry is checked with the validator's own decision check (`expressions.check_decision`), so what this
page accepts is what an upload accepts, and each problem names its rule number and column.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field, replace
from types import SimpleNamespace
from typing import Any

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.engine.commands.versions import live_version
from tsunagu.engine.errors import NotFound, TsunaguError
from tsunagu.engine.models import ProcessDraftRecord

from .dialects import HIT_POLICIES, XML_PARSER
from .expressions import check_decision

# What SpiffWorkflow's DMNEngine runs: UNIQUE (it stops at the first match), FIRST (the first of the
# matches) and COLLECT (every match, each output as a list, without aggregation). ANY, PRIORITY, RULE
# ORDER and OUTPUT ORDER would quietly behave like FIRST, so they are refused.
ANY_VALUE = "-"
MAX_RULES = 500
MAX_ENTRY_LENGTH = 2000
HIT_POLICY_COLUMN = "hit_policy"


@dataclass(frozen=True)
class InputColumn:
    """One input of the table: what the page shows as its heading, and the expression it evaluates."""

    id: str
    label: str
    expression: str
    type_ref: str

    @property
    def heading(self) -> str:
        return self.label or self.expression or self.id


@dataclass(frozen=True)
class OutputColumn:
    """One output: the variable it sets (`name`) and its label."""

    id: str
    label: str
    name: str
    type_ref: str

    @property
    def heading(self) -> str:
        return self.label or self.name or self.id


@dataclass
class Rule:
    """One row: an entry per input (`-` for any value), an entry per output, and its annotation.
    `id` is None for a rule the designer added."""

    inputs: list[str]
    outputs: list[str]
    annotation: str = ""
    id: str | None = None


@dataclass
class DecisionTable:
    """A decision's table as the page edits it, with the file it lives in."""

    file: str
    decision_id: str
    name: str
    hit_policy: str
    inputs: list[InputColumn]
    outputs: list[OutputColumn]
    rules: list[Rule] = field(default_factory=list)
    aggregation: str | None = None  # COLLECT's SUM/COUNT/MIN/MAX, which the engine ignores


@dataclass(frozen=True)
class EntryProblem:
    """What is wrong with one entry: `rule` counts from 1 (None for the table), `column` is the heading."""

    code: str
    message: str
    rule: int | None = None
    column: str | None = None
    index: int | None = None  # input columns 0.., output columns after them; None for the whole rule


class DecisionTableInvalid(TsunaguError):
    """The table cannot be saved or tried; `problems` says where and why, every one at once."""

    code = "decision_table_invalid"

    def __init__(self, problems: list[EntryProblem], *, element: str | None = None):
        super().__init__("; ".join(_where(p) + f"{p.code}: {p.message}" for p in problems), element=element)
        self.problems = problems


def _where(problem: EntryProblem) -> str:
    if problem.rule is None:
        return f"{problem.column}: " if problem.column else ""
    return f"rule {problem.rule}" + (f", {problem.column}" if problem.column else "") + ": "


# --- reading -------------------------------------------------------------------------------------


def _local(node: Any) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


def _children(node: Any, name: str) -> list[Any]:
    return [c for c in node if _local(c) == name]


def _text_of(node: Any) -> str:
    found = _children(node, "text")
    return (found[0].text or "") if found else ""


def _root(files: dict[str, str], file_name: str) -> Any:
    if not file_name.endswith(".dmn") or file_name not in files:
        raise NotFound(f"no decision file {file_name}", element=file_name[:200])
    try:
        return etree.fromstring(files[file_name].encode("utf-8"), XML_PARSER)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise DecisionTableInvalid([EntryProblem("xml_invalid", f"{file_name} is not well-formed XML: {exc}")],
                                   element=file_name[:200]) from None


def _decision_node(root: Any, decision_id: str) -> Any:
    for decision in _children(root, "decision"):
        if decision.get("id") == decision_id and _children(decision, "decisionTable"):
            return decision
    raise NotFound(f"no decision table {decision_id}", element=decision_id[:200])


def decisions(files: dict[str, str]) -> list[DecisionTable]:
    """Every decision table of the package's .dmn files, by file name; unreadable files are left out."""
    found = []
    for name in sorted(files):
        if not name.endswith(".dmn"):
            continue
        try:
            root = _root(files, name)
        except TsunaguError:
            continue
        for decision in _children(root, "decision"):
            if decision.get("id") and _children(decision, "decisionTable"):
                found.append(_table(name, decision))
    return found


def find_table(files: dict[str, str], decision_id: str) -> DecisionTable:
    """The table of one decision, whichever .dmn file of the package holds it."""
    for table in decisions(files):
        if table.decision_id == decision_id:
            return table
    raise NotFound(f"no decision table {decision_id}", element=decision_id[:200])


def read_table(files: dict[str, str], file_name: str, decision_id: str) -> DecisionTable:
    """The table of `decision_id` in `file_name`: columns, rules with their entries, hit policy."""
    return _table(file_name, _decision_node(_root(files, file_name), decision_id))


def _table(file_name: str, decision: Any) -> DecisionTable:
    node = _children(decision, "decisionTable")[0]
    inputs = []
    for item in _children(node, "input"):
        expressions = _children(item, "inputExpression")
        expression = _text_of(expressions[0]) if expressions else ""
        inputs.append(InputColumn(item.get("id") or "", item.get("label") or "", expression.strip(),
                                  (expressions[0].get("typeRef") or "") if expressions else ""))
    outputs = [OutputColumn(o.get("id") or "", o.get("label") or "", o.get("name") or "", o.get("typeRef") or "")
               for o in _children(node, "output")]
    rules = []
    for rule in _children(node, "rule"):
        descriptions = _children(rule, "description")
        rules.append(Rule(inputs=[_text_of(e).strip() or ANY_VALUE for e in _children(rule, "inputEntry")],
                          outputs=[_text_of(e).strip() for e in _children(rule, "outputEntry")],
                          annotation=(descriptions[0].text or "").strip() if descriptions else "",
                          id=rule.get("id")))
    return DecisionTable(file_name, decision.get("id") or "", decision.get("name") or "",
                         (node.get("hitPolicy") or "UNIQUE").upper(), inputs, outputs, rules,
                         aggregation=node.get("aggregation"))


# --- checking ------------------------------------------------------------------------------------


def check_table(table: DecisionTable) -> list[EntryProblem]:
    """Every problem of the table: hit policy, no rules, and each entry as the sandbox would refuse it."""
    problems = []
    if table.hit_policy not in HIT_POLICIES or table.aggregation:
        shown = table.hit_policy + (f" {table.aggregation}" if table.aggregation else "")
        problems.append(EntryProblem("hit_policy_unsupported",
                                     f"hit policy {shown[:40]} is not run by the engine ({', '.join(HIT_POLICIES)})",
                                     column=HIT_POLICY_COLUMN))
    if not table.rules:
        problems.append(EntryProblem("rules_missing", "the table needs at least one rule"))
    if len(table.rules) > MAX_RULES:
        problems.append(EntryProblem("too_many_rules", f"the table has more than {MAX_RULES} rules"))
        return problems
    for number, rule in enumerate(table.rules, start=1):
        problems.extend(_rule_problems(table, number, rule))
    return problems


def _rule_problems(table: DecisionTable, number: int, rule: Rule) -> list[EntryProblem]:
    if len(rule.inputs) != len(table.inputs) or len(rule.outputs) != len(table.outputs):
        return [EntryProblem("entry_count", f"the rule needs {len(table.inputs)} input and {len(table.outputs)} "
                             "output entries", rule=number)]
    problems = []
    if _unsafe_text(rule.annotation) or len(rule.annotation) > MAX_ENTRY_LENGTH:
        problems.append(EntryProblem("annotation_invalid", "the annotation is too long or holds control characters",
                                     rule=number))
    cells = [(i, c.heading, text, True) for i, (c, text) in enumerate(zip(table.inputs, rule.inputs, strict=True))]
    cells += [(len(table.inputs) + i, c.heading, text, False)
              for i, (c, text) in enumerate(zip(table.outputs, rule.outputs, strict=True))]
    for index, heading, text, is_input in cells:
        found = _entry_problem(table, number, text, is_input)
        if found is not None:
            problems.append(replace(found, rule=number, column=heading, index=index))
    return problems


def _entry_problem(table: DecisionTable, number: int, text: str, is_input: bool) -> EntryProblem | None:
    if len(text) > MAX_ENTRY_LENGTH:
        return EntryProblem("entry_too_long", f"an entry may be at most {MAX_ENTRY_LENGTH} characters")
    if _unsafe_text(text):
        return EntryProblem("entry_control_character", "the entry holds a NUL or another control character")
    if not text.strip():
        return None if is_input else EntryProblem("output_missing", "an output entry needs a value, e.g. \"high\"")
    if is_input and text.strip() == ANY_VALUE:
        return None
    # The validator's own check, on a table of this one entry, so what passes here passes at upload.
    entry = SimpleNamespace(lhs=[text], text=text)
    one = SimpleNamespace(row_number=number, inputEntries=[entry] if is_input else [],
                          outputEntries=[] if is_input else [entry])
    spec = SimpleNamespace(bpmn_id=table.decision_id, dmnEngine=SimpleNamespace(
        decision_table=SimpleNamespace(id=table.decision_id, inputs=[], rules=[one])))
    refused = check_decision(spec, table.file)
    if not refused:
        return None
    if is_input:  # say what is wrong with the entry itself, not with the comparison the engine builds from it
        entry_alone = SimpleNamespace(row_number=number, inputEntries=[], outputEntries=[entry])
        spec.dmnEngine.decision_table.rules = [entry_alone]
        refused = check_decision(spec, table.file) or refused
    return EntryProblem("entry_refused", refused[0].message.split(": ", 1)[-1])


def _unsafe_text(text: str) -> bool:
    return any(ord(c) < 32 and c not in "\t\n\r" for c in text) or "\x7f" in text


# --- writing -------------------------------------------------------------------------------------


def apply_table(files: dict[str, str], file_name: str, decision_id: str, table: DecisionTable) -> dict[str, str]:
    """The package's files with the decision's rules and hit policy replaced by `table`'s, after checking
    every entry (`DecisionTableInvalid` lists each problem). Columns stay as the file has them."""
    root = _root(files, file_name)
    decision = _decision_node(root, decision_id)
    current = _table(file_name, decision)
    checked = replace(table, file=file_name, decision_id=decision_id, inputs=current.inputs, outputs=current.outputs,
                      aggregation=table.aggregation if table.hit_policy == current.hit_policy else None)
    problems = check_table(checked)
    if problems:
        raise DecisionTableInvalid(problems, element=decision_id[:200])
    node = _children(decision, "decisionTable")[0]
    namespace = etree.QName(node).namespace
    if checked.hit_policy != current.hit_policy:
        node.set("hitPolicy", checked.hit_policy)
        node.attrib.pop("aggregation", None)
    existing = {r.get("id"): r for r in _children(node, "rule") if r.get("id")}
    taken = {e.get("id") for e in root.iter() if isinstance(e.tag, str) and e.get("id")}
    for old in _children(node, "rule"):
        node.remove(old)
    for rule in checked.rules:
        element = existing.pop(rule.id, None) if rule.id else None
        if element is None:
            element = etree.Element(_tag(namespace, "rule"), id=_new_id("DecisionRule", taken))
        _fill_rule(element, rule, namespace, taken)
        node.append(element)
    _indent_rules(node)
    return {**files, file_name: _as_written(files[file_name], etree.tostring(root, encoding="unicode"))}


_DECLARATION = re.compile(r"\A\s*<\?xml[^>]*\?>\s*")
_START_TAG = re.compile(r"<(?![?!])[^>]*>")


def _as_written(original: str, written: str) -> str:
    """The new XML with the original's declaration, root start tag and last newline, so the file's diff
    shows only the rules that changed (lxml would write the root's attributes on one line)."""
    declaration = _DECLARATION.match(original)
    head = declaration.group(0) if declaration else '<?xml version="1.0" encoding="UTF-8"?>\n'
    old_root, new_root = _START_TAG.search(original[len(declaration.group(0)) if declaration else 0:]), \
        _START_TAG.search(written)
    if old_root and new_root and old_root.group(0).split()[0] == new_root.group(0).split()[0]:
        written = written[:new_root.start()] + old_root.group(0) + written[new_root.end():]
    return head + written + ("\n" if original.endswith("\n") else "")


def _tag(namespace: str | None, name: str) -> str:
    return f"{{{namespace}}}{name}" if namespace else name


def _new_id(prefix: str, taken: set[str | None]) -> str:
    while True:
        candidate = f"{prefix}_{secrets.token_hex(4)}"
        if candidate not in taken:
            taken.add(candidate)
            return candidate


def _fill_rule(element: Any, rule: Rule, namespace: str | None, taken: set[str | None]) -> None:
    descriptions = _children(element, "description")
    if rule.annotation:
        if not descriptions:
            descriptions = [etree.Element(_tag(namespace, "description"))]
            element.insert(0, descriptions[0])
        descriptions[0].text = rule.annotation
    for extra in descriptions[0 if not rule.annotation else 1:]:
        element.remove(extra)
    _fill_entries(element, "inputEntry", "UnaryTests", rule.inputs, namespace, taken)
    _fill_entries(element, "outputEntry", "LiteralExpression", rule.outputs, namespace, taken)


def _fill_entries(element: Any, kind: str, prefix: str, texts: list[str], namespace: str | None,
                  taken: set[str | None]) -> None:
    entries = _children(element, kind)
    for entry in entries[len(texts):]:
        element.remove(entry)
    for index, text in enumerate(texts):
        if index < len(entries):
            entry = entries[index]
        else:
            entry = etree.SubElement(element, _tag(namespace, kind), id=_new_id(prefix, taken))
            if kind == "inputEntry" and _children(element, "outputEntry"):
                _children(element, "outputEntry")[0].addprevious(entry)
        found = _children(entry, "text")
        text_node = found[0] if found else etree.SubElement(entry, _tag(namespace, "text"))
        if (text_node.text or "").strip() != text.strip():
            text_node.text = text.strip() or ANY_VALUE


def _indent_rules(node: Any) -> None:
    """Indent new elements like their neighbours, so a diff shows only what changed."""
    depth = 0
    parent = node.getparent()
    while parent is not None:
        depth += 1
        parent = parent.getparent()
    for child in node:
        if child.tail is None or not child.tail.strip():
            child.tail = "\n" + "  " * (depth + 1)
        _indent(child, depth + 1)
    if len(node):
        node[-1].tail = "\n" + "  " * depth


def _indent(element: Any, depth: int) -> None:
    if not len(element):
        return
    if element.text is None or not element.text.strip():
        element.text = "\n" + "  " * (depth + 1)
    for child in element:
        if child.tail is None or not child.tail.strip():
            child.tail = "\n" + "  " * (depth + 1)
        _indent(child, depth + 1)
    element[-1].tail = "\n" + "  " * depth


# --- where the files come from -------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """The files a designer edits: the waiting draft if there is one, else the live version."""

    files: dict[str, str]
    draft: bool
    version_number: int | None


def editable_files(session: Session, municipality_id: int | None, process_id: str) -> Source:
    """The municipality's draft of the process if one waits, else the version its new cases start on."""
    if municipality_id is not None:
        draft = session.scalar(select(ProcessDraftRecord).where(
            ProcessDraftRecord.municipality_id == municipality_id, ProcessDraftRecord.process_id == process_id))
        if draft is not None:
            return Source(dict(draft.files), True, None)
    version = live_version(session, municipality_id, process_id)
    return Source(dict(version.files), False, version.version_number)
