"""Which process version a municipality's new cases start on: its own live version, else the template's.

A scope is the whole installation (the national template, `municipality_id` None) or one municipality.
The live version of a scope is the one activated last; a municipality's own scope wins over the template.
"""
from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from ..errors import NotFound
from ..models import ProcessVersionRecord

V = ProcessVersionRecord


def visible_to(municipality_id: int | None) -> ColumnElement[bool]:
    """The versions a municipality may run: the template's and its own (only the template's for None)."""
    if municipality_id is None:
        return V.municipality_id.is_(None)
    return or_(V.municipality_id == municipality_id, V.municipality_id.is_(None))


# Own versions before the template's, then the one activated last; ids break a tie of equal clocks.
LIVE_FIRST = (V.municipality_id.is_(None), V.activated_at.desc(), V.id.desc())


def not_deployed(process_id: str) -> NotFound:
    """The one answer for a process a municipality cannot use, whether missing or someone else's."""
    return NotFound(f"process '{process_id}' is not deployed", element=process_id)


def scope_live_version(session: Session, municipality_id: int | None, process_id: str) -> ProcessVersionRecord | None:
    """The live version of one scope only (the template for None), or None if the scope has none."""
    scope = V.municipality_id.is_(None) if municipality_id is None else V.municipality_id == municipality_id
    return session.scalar(select(V).where(V.process_id == process_id, scope)
                          .order_by(V.activated_at.desc(), V.id.desc()).limit(1))


def live_version(session: Session, municipality_id: int | None, process_id: str) -> ProcessVersionRecord:
    """The version new cases of the municipality start on; `NotFound` naming the process otherwise."""
    version = session.scalar(select(V).where(V.process_id == process_id, visible_to(municipality_id))
                             .order_by(*LIVE_FIRST).limit(1))
    if version is None:
        raise not_deployed(process_id)
    return version


def live_versions(session: Session, municipality_id: int | None) -> list[ProcessVersionRecord]:
    """One live version per process key available to the municipality, by process key."""
    # Rank on the small columns first, so only the winners' files and specs are read.
    ranked = session.execute(select(V.id, V.process_id).where(visible_to(municipality_id))
                             .order_by(V.process_id, *LIVE_FIRST)).all()
    winners: dict[str, int] = {}
    for version_id, process_id in ranked:
        winners.setdefault(process_id, version_id)
    if not winners:
        return []
    return list(session.scalars(select(V).where(V.id.in_(winners.values())).order_by(V.process_id)))
