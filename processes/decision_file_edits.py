"""A DMN file edited whole in the browser's decision modeller (dmn-js) or posted from the command line: opened
from the waiting draft, else the live version, and saved back as the process's draft.

dmn-js rewrites the whole file, columns included, so nothing is spliced: the posted text replaces the file.
Before the package is validated like an upload, every decision table of the new file is checked entry by
entry as the decision-table page checks it (the sandbox's own rules), so each refusal names its decision,
rule number and column heading, and the DMN element of the refused entry for the editor to mark.
"""
from __future__ import annotations

from dataclasses import dataclass

from lxml import etree
from sqlalchemy.orm import Session

from tsunagu.engine import audit
from tsunagu.engine.access import permissions
from tsunagu.engine.clock import Clock
from tsunagu.engine.db import transaction
from tsunagu.engine.errors import Conflict, DefinitionInvalid, DefinitionProblem, NotFound
from tsunagu.engine.models import ProcessDraftRecord, UserRecord

from . import decision_tables, drafts
from .bpmn_reading import element_settings
from .decision_tables import DecisionTableInvalid, EntryProblem, Source
from .dialects import XML_PARSER
from .loader import content_hash

DECISION_FILE_MAX = 2_000_000  # characters of one DMN file posted from the decision modeller


@dataclass(frozen=True)
class DecisionFile:
    """The DMN file holding a decision, the package it belongs to and the hash a save must still match."""

    source: Source
    file: str
    xml: str
    base: str


@dataclass(frozen=True)
class CellProblem:
    """One refused entry of a table: its decision, the problem (rule number, column heading) and the DMN
    element to mark (the entry, else its rule, else the table)."""

    decision_id: str
    problem: EntryProblem
    element: str | None


class DecisionFileInvalid(DecisionTableInvalid):
    """Entries of one or more tables of the file are refused; `cells` locates each one."""

    def __init__(self, cells: list[CellProblem]):
        super().__init__([c.problem for c in cells], element=cells[0].decision_id[:200] if cells else None)
        self.cells = cells


def open_decision_file(session: Session, municipality_id: int | None, process_id: str,
                       decision_id: str) -> DecisionFile:
    """The file of the process's draft (else live version) holding the table `decision_id` (`NotFound`)."""
    source = decision_tables.editable_files(session, municipality_id, process_id)
    table = decision_tables.find_table(source.files, decision_id)
    return DecisionFile(source, table.file, source.files[table.file], content_hash(source.files))


def save_decision_file(session: Session, clock: Clock, actor: UserRecord | None, municipality_id: int,
                       process_id: str, file_name: str, xml: str, *, base: str | None, via: str,
                       operator: str | None = None) -> ProcessDraftRecord | None:
    """Replace the process's DMN file `file_name` with `xml` and keep the package as its draft; None when the
    file is unchanged. Refused entries raise `DecisionFileInvalid`, anything else `DefinitionInvalid`, a
    draft saved by someone else since `base` `Conflict`; nothing is stored then."""
    permissions.require_designer(actor, municipality_id)
    source = decision_tables.editable_files(session, municipality_id, process_id)
    if not file_name.lower().endswith(".dmn") or file_name not in source.files:
        known = ", ".join(sorted(n for n in source.files if n.lower().endswith(".dmn")))
        raise NotFound(f"the process has no decision file {file_name[:200]} (its files: {known})",
                       element=file_name[:200])
    if base is not None and base != content_hash(source.files):
        raise Conflict("the process's draft changed since the decision file was opened; reload it",
                       element=process_id)
    text = xml.replace("\r\n", "\n")
    if len(text) > DECISION_FILE_MAX:
        raise DefinitionInvalid([DefinitionProblem(file_name, None, "package_too_large",
                                                   f"the decision file is longer than {DECISION_FILE_MAX} characters")])
    if "\x00" in text or not text.strip():
        raise DefinitionInvalid([DefinitionProblem(file_name, None, "xml_invalid",
                                                   "the decision file is empty or holds a NUL byte")])
    if text == source.files[file_name]:
        return None
    root = _parse(file_name, text)
    _require_called_decisions(source.files, file_name, root)
    cells = _refused_cells(file_name, text, root)
    if cells:
        raise DecisionFileInvalid(cells)
    files = {**source.files, file_name: text}
    with transaction(session):
        # save_draft validates the whole package and commits its own transaction, which carries this audit
        # row too: both are written or neither.
        audit.record(session, clock, actor, "decision.file_edited", process=process_id, municipality=municipality_id,
                     file=file_name, via=via, operator=operator,
                     source="draft" if source.draft else f"version {source.version_number}")
        return drafts.save_draft(session, clock, actor, municipality_id, files, preferred_id=process_id, via=via,
                                 operator=operator)


def _local(node: etree._Element) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


def _children(node: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in node if _local(c) == name]


def _parse(file_name: str, text: str) -> etree._Element:
    try:
        root = etree.fromstring(text.encode("utf-8"), XML_PARSER)
    except (etree.XMLSyntaxError, ValueError) as exc:
        line = exc.lineno if isinstance(exc, etree.XMLSyntaxError) else None
        raise DefinitionInvalid([DefinitionProblem(file_name, None, "xml_invalid", str(exc)[:300], line=line)]) from None
    if _local(root) != "definitions":
        raise DefinitionInvalid([DefinitionProblem(file_name, None, "dmn_unreadable",
                                                   "the file is not a DMN file (its root is not <definitions>)")])
    return root


def _require_called_decisions(files: dict[str, str], file_name: str, root: etree._Element) -> None:
    """Refuse a file that no longer defines a decision of the old file that a task of the process calls:
    the diagram would call a table that is gone (the validator's own message names only the task)."""
    try:
        old = {d.get("id") for d in _children(_parse(file_name, files[file_name]), "decision")}
    except DefinitionInvalid:
        old = set()
    new = {d.get("id") for d in _children(root, "decision")}
    missing = {}
    for element in element_settings(files).values():
        if element.decision and element.decision in old and element.decision not in new:
            missing.setdefault(element.decision, element)
    if missing:
        raise DefinitionInvalid([
            DefinitionProblem(file_name, decision_id, "decision_missing",
                              f"the decision {decision_id} is called by the task {element.id} and cannot be "
                              "removed or renamed here", element_name=element.name)
            for decision_id, element in sorted(missing.items())])


def _refused_cells(file_name: str, text: str, root: etree._Element) -> list[CellProblem]:
    """Every refused entry of every decision table of the file, as the decision-table page checks them."""
    cells = []
    for decision in _children(root, "decision"):
        decision_id = decision.get("id") or ""
        nodes = _children(decision, "decisionTable")
        if not decision_id or not nodes:
            continue
        table = decision_tables.read_table({file_name: text}, file_name, decision_id)
        rules = _children(nodes[0], "rule")
        for problem in decision_tables.check_table(table):
            cells.append(CellProblem(decision_id, problem, _marked(nodes[0], rules, problem)))
    return cells


def _marked(node: etree._Element, rules: list[etree._Element], problem: EntryProblem) -> str | None:
    """The id of the entry the problem is about, else of its rule, else of the table."""
    if problem.rule is None or not 0 < problem.rule <= len(rules):
        return node.get("id")
    rule = rules[problem.rule - 1]
    entries = _children(rule, "inputEntry") + _children(rule, "outputEntry")
    if problem.index is not None and 0 <= problem.index < len(entries) and entries[problem.index].get("id"):
        return entries[problem.index].get("id")
    return rule.get("id")
