"""Changed copies of the shipped process, as a municipality's process designer would make them."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from tsunagu.processes.loader import ProcessDefinition, build_definition

ASSESSMENT_FORM = "assessment-schema.json"
LONG_NOTE = "長めの所見ですが旧版では許される長さです"  # 21 characters: refused once the limit is 10


def shorter_note_form(text: str, limit: int = 10) -> str:
    """The assessment form with its free-text note limited to `limit` characters."""
    schema = json.loads(text)
    schema["properties"]["assessment_note"]["maxLength"] = limit
    return json.dumps(schema, ensure_ascii=False)


def changed_definition(definition: ProcessDefinition, limit: int = 10) -> ProcessDefinition:
    """The same process with one form changed, as a designer would upload it."""
    files = {**definition.files, ASSESSMENT_FORM: shorter_note_form(definition.files[ASSESSMENT_FORM], limit)}
    return build_definition(files, definition.process_id)


def changed_folder(source: Path, target: Path, limit: int = 10) -> Path:
    """A copy of a process folder under `target` (named like the process) with the shorter note."""
    folder = target / source.name
    shutil.copytree(source, folder)
    form = folder / ASSESSMENT_FORM
    form.write_text(shorter_note_form(form.read_text(encoding="utf-8"), limit), encoding="utf-8")
    return folder
