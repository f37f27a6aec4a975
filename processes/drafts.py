"""A municipality's process designers at work: upload a package as a draft, deploy it with a note, look at
the history of versions, download any version, and roll back to an earlier one.

A package is validated in full before anything is stored: a refused upload writes nothing. A valid one
becomes the process's draft (one per process and municipality; a new upload replaces it) with the
validator's warnings beside it. Deploying a draft validates it again (the engine may have changed since)
and makes it the next live version; rolling back makes an earlier version's files live again. The page
and the `tsunagu` command call the same functions, and every step is audited.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.engine import audit
from tsunagu.engine.access import permissions
from tsunagu.engine.clock import Clock
from tsunagu.engine.db import transaction
from tsunagu.engine.errors import DefinitionInvalid, DefinitionProblem, NotFound
from tsunagu.engine.models import AuditRecord, ProcessDraftRecord, ProcessVersionRecord, UserRecord

from . import loader
from .deployment import DeployResult, deploy
from .loader import ProcessDefinition


@dataclass(frozen=True)
class Checked:
    """A package the validator accepted, with the warnings that do not block it."""

    definition: ProcessDefinition
    warnings: list[DefinitionProblem]


def check_files(files: dict[str, str], preferred_id: str | None = None) -> Checked:
    """Validate a package's files in full: `DefinitionInvalid` lists every problem at once."""
    definition, errors, warnings = loader.check_files(files, preferred_id=preferred_id)
    if errors or definition is None:
        raise DefinitionInvalid(errors or [DefinitionProblem("", None, "process_missing",
                                                             "no executable process found")])
    return Checked(definition, list(warnings))


def save_draft(session: Session, clock: Clock, actor: UserRecord | None, municipality_id: int,
               files: dict[str, str], *, preferred_id: str | None = None, via: str = "web",
               operator: str | None = None) -> ProcessDraftRecord:
    """Validate `files` and keep them as the draft of their process for the municipality."""
    permissions.require_designer(actor, municipality_id)
    checked = check_files(files, preferred_id)
    definition = checked.definition
    with transaction(session):
        draft = session.scalar(select(ProcessDraftRecord).where(
            ProcessDraftRecord.municipality_id == municipality_id,
            ProcessDraftRecord.process_id == definition.process_id))
        if draft is None:
            draft = ProcessDraftRecord(municipality_id=municipality_id, process_id=definition.process_id)
            session.add(draft)
        draft.name = definition.name
        draft.files = dict(definition.files)
        draft.content_hash = definition.content_hash
        draft.warnings = [problem_dict(w) for w in checked.warnings]
        draft.uploaded_by_id = actor.id if actor else None
        draft.uploaded_via = via
        draft.uploaded_at = clock()
        session.flush()
        audit.record(session, clock, actor, "process.draft_saved", process=definition.process_id,
                     municipality=municipality_id, hash=definition.content_hash[:12], files=sorted(files),
                     warnings=len(checked.warnings), via=via, operator=operator)
    return draft


def draft_of(session: Session, municipality_id: int, process_id: str) -> ProcessDraftRecord:
    draft = session.scalar(select(ProcessDraftRecord).where(
        ProcessDraftRecord.municipality_id == municipality_id, ProcessDraftRecord.process_id == process_id))
    if draft is None:
        raise NotFound(f"process {process_id} has no draft", element=process_id[:200])
    return draft


def deploy_draft(session: Session, clock: Clock, actor: UserRecord | None, municipality_id: int,
                 process_id: str, note: str | None, *, via: str = "web", operator: str | None = None) -> DeployResult:
    """Make the draft the municipality's live version of its process, with a note saying why."""
    permissions.require_designer(actor, municipality_id)
    with transaction(session):
        draft = draft_of(session, municipality_id, process_id)
        definition = check_files(dict(draft.files), process_id).definition
        result = deploy(session, clock, definition, municipality_id=municipality_id, actor=actor, note=note,
                        operator=operator, via=via)
        session.delete(draft)
    return result


def discard_draft(session: Session, clock: Clock, actor: UserRecord | None, municipality_id: int,
                  process_id: str, *, via: str = "web", operator: str | None = None) -> None:
    permissions.require_designer(actor, municipality_id)
    with transaction(session):
        draft = draft_of(session, municipality_id, process_id)
        session.delete(draft)
        audit.record(session, clock, actor, "process.draft_discarded", process=process_id,
                     municipality=municipality_id, hash=draft.content_hash[:12], via=via, operator=operator)


def version_of(session: Session, municipality_id: int, process_id: str, number: int, *,
               template: bool = False) -> ProcessVersionRecord:
    """One version the municipality can see: its own by number, or with `template` the national one."""
    V = ProcessVersionRecord
    scope = V.municipality_id.is_(None) if template else V.municipality_id == municipality_id
    version = session.scalar(select(V).where(scope, V.process_id == process_id, V.version_number == number)) \
        if 0 < number < 2**31 else None
    if version is None:
        raise NotFound(f"process {process_id} has no version {number}", element=process_id[:200])
    return version


def roll_back(session: Session, clock: Clock, actor: UserRecord | None, municipality_id: int, process_id: str,
              number: int, note: str | None, *, template: bool = False, via: str = "web",
              operator: str | None = None) -> DeployResult:
    """Make an earlier version live again for the municipality (a national template version becomes the
    municipality's own copy of it). Running cases keep the version they started on."""
    permissions.require_designer(actor, municipality_id)
    with transaction(session):
        version = version_of(session, municipality_id, process_id, number, template=template)
        definition = ProcessDefinition(process_id=version.process_id, name=version.name, files=dict(version.files),
                                       content_hash=version.content_hash, spec_json=version.spec)
        return deploy(session, clock, definition, municipality_id=municipality_id, actor=actor, note=note,
                      operator=operator, via=via)


@dataclass(frozen=True)
class HistoryEntry:
    """One deployment or reactivation of the process for the municipality: who, when and why."""

    at: datetime
    action: str  # process.deployed, process.reactivated
    version_number: int | None
    scope: str
    note: str | None
    actor: str | None  # display name, or the operating-system account at the command line
    via: str | None


def history(session: Session, municipality_id: int, process_id: str) -> list[HistoryEntry]:
    """Every deployment and rollback of the process in the municipality's scope, newest first (from the
    audit log, which keeps each activation even when a version is made live more than once)."""
    rows = session.execute(
        select(AuditRecord, UserRecord.display_name).outerjoin(UserRecord, UserRecord.id == AuditRecord.actor_id)
        .where(AuditRecord.municipality_id == municipality_id,
               AuditRecord.action.in_(("process.deployed", "process.reactivated")))
        .order_by(AuditRecord.id.desc())).all()
    entries = []
    for row, name in rows:
        detail: dict[str, Any] = row.detail or {}
        if detail.get("process") != process_id or detail.get("municipality") != municipality_id:
            continue
        entries.append(HistoryEntry(row.at, row.action, detail.get("version_number"), detail.get("scope", ""),
                                    detail.get("note"), name or detail.get("operator"), detail.get("via")))
    return entries


def package_zip(files: dict[str, str]) -> bytes:
    """A version's files as a zip a designer can open in a modeller and upload again unchanged."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))  # same files, same bytes
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name].encode("utf-8"))
    return buffer.getvalue()


def problem_dict(problem: DefinitionProblem) -> dict[str, Any]:
    """A validator finding as a draft stores it (its warnings) and the pages read it."""
    return {"file": problem.file, "line": problem.line, "element": problem.element,
            "element_name": problem.element_name, "code": problem.code, "message": problem.message}
