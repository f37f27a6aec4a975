"""Deployed process versions: each stored once, found by process id and content hash."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.engine.clock import Clock
from tsunagu.engine.events import newest_version
from tsunagu.engine.models import ProcessVersionRecord

from .loader import ProcessDefinition, load_definition


def deploy(session: Session, definition: ProcessDefinition, clock: Clock) -> ProcessVersionRecord:
    """Store a definition unless the same files are already deployed; return its version row."""
    existing = session.scalar(
        select(ProcessVersionRecord).where(
            ProcessVersionRecord.process_id == definition.process_id,
            ProcessVersionRecord.content_hash == definition.content_hash,
        )
    )
    if existing is not None:
        return existing
    version = ProcessVersionRecord(
        process_id=definition.process_id,
        name=definition.name,
        content_hash=definition.content_hash,
        files=definition.files,
        spec=definition.spec_json,
        deployed_at=clock(),
        activated_at=clock(),
    )
    session.add(version)
    session.flush()
    return version


def deploy_folder_tree(session: Session, root: Path, clock: Clock) -> list[ProcessVersionRecord]:
    """Deploy every process folder under `root` (the shipped `bpmn/` by default)."""
    return [deploy(session, load_definition(folder), clock) for folder in sorted({p.parent for p in Path(root).rglob("*.bpmn")})]


# New cases start on the newest version; the engine decides that for reopened cases too.
latest_version = newest_version


def startable_versions(session: Session) -> list[ProcessVersionRecord]:
    """The newest version of every deployed process, for the 'new case' page."""
    rows = session.scalars(select(ProcessVersionRecord).order_by(ProcessVersionRecord.id.desc())).all()
    newest = {}
    for row in rows:
        newest.setdefault(row.process_id, row)
    return sorted(newest.values(), key=lambda r: r.process_id)
