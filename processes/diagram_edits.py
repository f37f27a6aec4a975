"""A diagram edited in the browser's modeller: the BPMN file a designer opens (from the waiting draft, else the
live version) and the edited file saved back as the process's draft, validated in full like an upload.

The modeller rewrites the whole file (bpmn-js serialises its own model), so unlike the task settings nothing
is spliced: the posted text replaces the file and every other file of the package stays as it was.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from tsunagu.engine import audit
from tsunagu.engine.access import permissions
from tsunagu.engine.clock import Clock
from tsunagu.engine.db import transaction
from tsunagu.engine.errors import Conflict, DefinitionInvalid, DefinitionProblem
from tsunagu.engine.models import ProcessDraftRecord, UserRecord

from . import drafts
from .bpmn_reading import BPMN, bpmn_roots
from .task_settings import Source, settings_source
from .task_settings_xml import parse_for_editing

DIAGRAM_MAX = 2_000_000  # characters of one BPMN file posted from the modeller


@dataclass(frozen=True)
class Diagram:
    """The BPMN file the modeller edits, the package it belongs to and the file names the panel offers."""

    source: Source
    file: str
    xml: str


def diagram_file(files: Mapping[str, str], process_id: str) -> str:
    """The package's BPMN file that defines `process_id` (else its first BPMN file)."""
    names = sorted(n for n in files if n.lower().endswith(".bpmn"))
    if not names:
        raise DefinitionInvalid([DefinitionProblem("", None, "no_bpmn", "the package has no .bpmn file")])
    for name, root in bpmn_roots(dict(files)):
        if any(p.get("id") == process_id for p in root.iterchildren(f"{{{BPMN}}}process")):
            return name
    return names[0]


def open_diagram(session: Session, municipality_id: int, process_id: str) -> Diagram:
    """The diagram of the process's waiting draft, else of its live version (`NotFound`)."""
    source = settings_source(session, municipality_id, process_id)
    name = diagram_file(source.files, process_id)
    return Diagram(source, name, source.files[name])


def save_diagram(session: Session, clock: Clock, actor: UserRecord | None, municipality_id: int, process_id: str,
                 xml: str, *, base: str | None = None, via: str = "web",
                 operator: str | None = None) -> ProcessDraftRecord | None:
    """Replace the process's BPMN file with `xml` and keep the package as its draft (validated in full:
    `DefinitionInvalid` lists every problem and nothing is stored); None when the file is unchanged."""
    permissions.require_designer(actor, municipality_id)
    opened = open_diagram(session, municipality_id, process_id)
    if base is not None and base != opened.source.base:
        raise Conflict("the process's draft changed since the modeller was opened; reload it", element=process_id)
    text = xml.replace("\r\n", "\n")
    if len(text) > DIAGRAM_MAX:
        raise DefinitionInvalid([DefinitionProblem(opened.file, None, "package_too_large",
                                                   f"the diagram is longer than {DIAGRAM_MAX} characters")])
    if "\x00" in text or not text.strip():
        raise DefinitionInvalid([DefinitionProblem(opened.file, None, "xml_invalid", "the diagram is empty")])
    if text == opened.xml:
        return None
    _require_process(opened.file, text, process_id)
    files = {**opened.source.files, opened.file: text}
    with transaction(session):
        # save_draft validates in full and commits its own transaction, which carries this audit row too:
        # both are written or neither.
        audit.record(session, clock, actor, "process.diagram_edited", process=process_id,
                     municipality=municipality_id, file=opened.file, via=via, operator=operator,
                     source="draft" if opened.source.draft is not None else f"version {opened.source.version_number}")
        return drafts.save_draft(session, clock, actor, municipality_id, files, preferred_id=process_id, via=via,
                                 operator=operator)


def _require_process(name: str, text: str, process_id: str) -> None:
    """Refuse a diagram that no longer defines the process it was opened for (the draft would belong to
    another process); broken XML is left to the validator, which names its line."""
    try:
        root = parse_for_editing(name, text)
    except DefinitionInvalid:
        return
    if not any(p.get("id") == process_id for p in root.iterchildren(f"{{{BPMN}}}process")):
        raise DefinitionInvalid([DefinitionProblem(name, None, "process_missing",
                                                   f"the diagram no longer defines the process {process_id}")])
