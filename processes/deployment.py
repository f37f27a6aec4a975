"""Deploying process versions: for the whole installation (the national template) or one municipality.

Deploying the files of a scope's live version changes nothing; the files of an older version of the
scope make that version live again (how a municipality rolls back); anything else is the next version.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tsunagu.engine import audit
from tsunagu.engine.access import permissions
from tsunagu.engine.clock import Clock
from tsunagu.engine.commands.versions import scope_live_version
from tsunagu.engine.errors import (
    Conflict,
    DefinitionInvalid,
    DefinitionProblem,
    FieldError,
    Forbidden,
    FormInvalid,
    NotFound,
)
from tsunagu.engine.models import MunicipalityRecord, ProcessVersionRecord, UserRecord

from .loader import ProcessDefinition, load_path

CREATED, UNCHANGED, REACTIVATED = "created", "unchanged", "reactivated"
NOTE_MAX_LENGTH = 2000
PROCESS_ID_MAX_LENGTH = 200  # the column widths of ProcessVersionRecord
NAME_MAX_LENGTH = 300


@dataclass(frozen=True)
class DeployResult:
    """What deploying one process definition did: `outcome` is created, unchanged or reactivated."""

    version: ProcessVersionRecord
    outcome: str


def deploy(session: Session, clock: Clock, definition: ProcessDefinition, *, municipality_id: int | None = None,
           actor: UserRecord | None = None, note: str | None = None, operator: str | None = None,
           via: str = "cli") -> DeployResult:
    """Make a definition the live version of its scope, within the caller's transaction; audited."""
    note = _checked_note(note)
    _check_scope(session, actor, municipality_id)
    _check_sizes(definition)
    live = scope_live_version(session, municipality_id, definition.process_id)
    if live is not None and live.content_hash == definition.content_hash:
        return DeployResult(live, UNCHANGED)
    now = clock()
    older = _same_files(session, municipality_id, definition)
    if older is not None:
        older.activated_at = _activation_time(now, live)
        result = DeployResult(older, REACTIVATED)
    else:
        version = ProcessVersionRecord(
            process_id=definition.process_id, municipality_id=municipality_id,
            version_number=_next_number(session, municipality_id, definition.process_id),
            name=definition.name, content_hash=definition.content_hash, files=definition.files,
            spec=definition.spec_json, deployed_at=now, activated_at=_activation_time(now, live),
            deployed_by_id=actor.id if actor else None, deployed_via=via, note=note)
        session.add(version)
        result = DeployResult(version, CREATED)
    try:
        session.flush()
    except IntegrityError as exc:  # the same files deployed by someone else at this very moment
        raise Conflict("these files were just deployed by someone else; try again",
                       element=definition.process_id) from exc
    version = result.version
    audit.record(session, clock, actor, "process.deployed" if result.outcome == CREATED else "process.reactivated",
                 process=version.process_id, scope="template" if municipality_id is None else "municipal",
                 municipality=municipality_id, version_number=version.version_number,
                 hash=version.content_hash[:12], note=note, via=via, operator=operator)
    return result


def deploy_folder_tree(session: Session, clock: Clock, root: Path, *, municipality_id: int | None = None,
                       actor: UserRecord | None = None, note: str | None = None, operator: str | None = None,
                       via: str = "cli") -> list[DeployResult]:
    """Deploy every process folder under `root` (like the shipped `bpmn/`), all or none, in the caller's
    transaction; `DefinitionInvalid` lists every problem of every folder."""
    definitions, problems = load_path(Path(root))
    if problems:
        raise DefinitionInvalid(problems)
    return [deploy(session, clock, definition, municipality_id=municipality_id, actor=actor, note=note,
                   operator=operator, via=via)
            for definition in definitions]


def _checked_note(note: str | None) -> str | None:
    note = (note or "").strip() or None
    if note is not None and len(note) > NOTE_MAX_LENGTH:
        raise FormInvalid([FieldError("note", "maxLength", {"limit": NOTE_MAX_LENGTH})], element="deployment")
    if note is not None and "\x00" in note:  # PostgreSQL text cannot hold it
        raise FormInvalid([FieldError("note", "pattern")], element="deployment")
    return note


def _check_scope(session: Session, actor: UserRecord | None, municipality_id: int | None) -> None:
    if municipality_id is None:
        if actor is not None:
            raise Forbidden("only the operator at the command line deploys the national template")
        return
    permissions.require_designer(actor, municipality_id)
    if session.get(MunicipalityRecord, municipality_id) is None:
        raise NotFound(f"municipality {municipality_id} not found", element=str(municipality_id))


def _check_sizes(definition: ProcessDefinition) -> None:
    problems = []
    if len(definition.process_id) > PROCESS_ID_MAX_LENGTH:
        problems.append(DefinitionProblem("", definition.process_id[:40], "process_id_too_long",
                                          f"a process id has at most {PROCESS_ID_MAX_LENGTH} characters"))
    if len(definition.name) > NAME_MAX_LENGTH:
        problems.append(DefinitionProblem("", definition.process_id[:40], "process_name_too_long",
                                          f"a process name has at most {NAME_MAX_LENGTH} characters"))
    if problems:
        raise DefinitionInvalid(problems)


def _in_scope(municipality_id: int | None) -> ColumnElement[bool]:
    V = ProcessVersionRecord
    return V.municipality_id.is_(None) if municipality_id is None else V.municipality_id == municipality_id


def _same_files(session: Session, municipality_id: int | None,
                definition: ProcessDefinition) -> ProcessVersionRecord | None:
    V = ProcessVersionRecord
    return session.scalar(select(V).where(_in_scope(municipality_id), V.process_id == definition.process_id,
                                          V.content_hash == definition.content_hash))


def _next_number(session: Session, municipality_id: int | None, process_id: str) -> int:
    V = ProcessVersionRecord
    highest = session.scalar(select(func.max(V.version_number))
                             .where(_in_scope(municipality_id), V.process_id == process_id))
    return (highest or 0) + 1


def _activation_time(now: datetime, live: ProcessVersionRecord | None) -> datetime:
    # The live version is the one activated last; when two deploys share a clock reading (a fixed test
    # clock, or two within the database's resolution) the later one must still come out on top.
    if live is None or now > live.activated_at:
        return now
    return live.activated_at + timedelta(microseconds=1)
