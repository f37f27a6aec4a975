"""Deployed process versions per municipality: which one new cases start on, and what runs on each."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, defer, joinedload

from tsunagu.engine.commands.versions import LIVE_FIRST, live_version, live_versions, visible_to
from tsunagu.engine.models import CaseRecord, CaseStatus, ProcessVersionRecord, TaskRecord, TaskStatus

__all__ = ["ProcessOverview", "VersionUsage", "live_version", "process_overview", "startable_versions",
           "waiting_by_element"]


def startable_versions(session: Session, municipality_id: int | None) -> list[ProcessVersionRecord]:
    """The live version of every process the municipality may use, for the 'new case' page."""
    return live_versions(session, municipality_id)


@dataclass(frozen=True)
class VersionUsage:
    """One version a municipality can see, with the cases that run on it."""

    version: ProcessVersionRecord
    scope: str  # "template" or "municipal"
    live: bool
    open_cases: int  # not completed
    all_cases: int


@dataclass(frozen=True)
class ProcessOverview:
    """One process key available to a municipality: its live version and every version it can see."""

    process_id: str
    live: VersionUsage
    versions: list[VersionUsage]

    @property
    def deployed_by(self) -> str | None:
        """Who deployed the live version; None when it came from the command line."""
        user = self.live.version.deployed_by
        return user.display_name if user is not None else None

    @property
    def deployed_at(self) -> datetime:
        return self.live.version.deployed_at

    @property
    def note(self) -> str | None:
        return self.live.version.note


def process_overview(session: Session, municipality_id: int | None) -> list[ProcessOverview]:
    """Each process key available to the municipality (the template's alone for None), by key, with
    per version the cases of that municipality on it (of the whole installation for None)."""
    V = ProcessVersionRecord
    versions = list(session.scalars(
        select(V).where(visible_to(municipality_id)).order_by(V.process_id, *LIVE_FIRST)
        .options(defer(V.files), defer(V.spec), joinedload(V.deployed_by))))
    counts = _case_counts(session, municipality_id, [v.id for v in versions])
    overview: dict[str, list[VersionUsage]] = {}
    for version in versions:
        rows = overview.setdefault(version.process_id, [])
        open_cases, all_cases = counts.get(version.id, (0, 0))
        rows.append(VersionUsage(version, "template" if version.municipality_id is None else "municipal",
                                 live=not rows, open_cases=open_cases, all_cases=all_cases))
    return [ProcessOverview(process_id, rows[0], sorted(rows, key=_listing_order))
            for process_id, rows in overview.items()]


def _listing_order(usage: VersionUsage) -> tuple:
    return (usage.scope != "template", usage.version.version_number)


def _case_counts(session: Session, municipality_id: int | None, version_ids: list[int]) -> dict[int, tuple]:
    """Open and all cases per version in one grouped query."""
    if not version_ids:
        return {}
    query = (select(CaseRecord.process_version_id,
                    func.sum(case((CaseRecord.status != CaseStatus.COMPLETED, 1), else_=0)), func.count())
             .where(CaseRecord.process_version_id.in_(version_ids)).group_by(CaseRecord.process_version_id))
    if municipality_id is not None:
        query = query.where(CaseRecord.municipality_id == municipality_id)
    return {version_id: (int(open_cases or 0), all_cases)
            for version_id, open_cases, all_cases in session.execute(query)}


def waiting_by_element(session: Session, municipality_id: int, process_id: str,
                       now: datetime) -> dict[str, tuple[int, int]]:
    """For the designer's heat map: per element of the process, how many of the municipality's cases wait
    there at an open task, and how many of those are overdue, over every version, in one grouped query."""
    V, T = ProcessVersionRecord, TaskRecord
    overdue = func.sum(case((T.due_at < now, 1), else_=0))
    rows = session.execute(
        select(T.element_id, func.count(func.distinct(T.case_id)), overdue)
        .join(CaseRecord, CaseRecord.id == T.case_id).join(V, V.id == CaseRecord.process_version_id)
        .where(T.municipality_id == municipality_id, T.status == TaskStatus.OPEN, V.process_id == process_id)
        .group_by(T.element_id))
    return {element: (int(waiting), int(late or 0)) for element, waiting, late in rows}
