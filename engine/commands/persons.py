"""A returning person: found at intake by name, kana and birth year, so their new consultation becomes a new
episode of their record instead of a second record of the same person.

The search answers only what starting a case needs (the name, kana, birth year, how many consultations and
whether one is open), never a case's content; every search is audited with what was searched for.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from .. import audit
from ..access import permissions
from ..casefile.names import search_key
from ..casefile.tables import PersonRecord
from ..clock import Clock
from ..db import transaction
from ..errors import FieldError, FormInvalid, NotFound
from ..models import CaseRecord, CaseStatus, ProcessVersionRecord, UserRecord
from .cases import start_case
from .opening import open_with_form

MAX_MATCHES = 20


@dataclass(frozen=True)
class PersonMatch:
    person: PersonRecord
    episodes: int
    has_open_case: bool


def find_persons(session: Session, clock: Clock, user: UserRecord, text: str | None,
                 birth_year: int | None = None) -> list[PersonMatch]:
    """Persons of the user's municipality whose name or kana starts with `text` (however it was written),
    born in `birth_year` if given; at most MAX_MATCHES, audited."""
    permissions.require_case_start(user)
    key = search_key(text)
    if key is None and birth_year is None:
        return []
    query = select(PersonRecord).where(PersonRecord.municipality_id == user.municipality_id)
    if key is not None:
        query = query.where(or_(PersonRecord.name_key.startswith(key, autoescape=True),
                                PersonRecord.kana_key.startswith(key, autoescape=True)))
    if birth_year is not None:
        query = query.where(PersonRecord.birth_year == birth_year)
    with transaction(session):
        persons = list(session.scalars(query.order_by(PersonRecord.kana_key, PersonRecord.id).limit(MAX_MATCHES)))
        counts: dict[int, tuple[int, int]] = {}
        if persons:
            open_cases = func.sum(case((CaseRecord.status != CaseStatus.COMPLETED, 1), else_=0))
            for row in session.execute(select(CaseRecord.person_id, func.count(), open_cases)
                                       .where(CaseRecord.person_id.in_([p.id for p in persons]))
                                       .group_by(CaseRecord.person_id)):
                person_id, total, open_count = cast("tuple[int, int, int | None]", tuple(row))
                counts[person_id] = (total, open_count or 0)
        audit.record(session, clock, user, "persons.searched", text=(text or "")[:100], birth_year=birth_year,
                     matches=len(persons))
    matches = []
    for person in persons:
        total, still_open = counts.get(person.id, (0, 0))
        matches.append(PersonMatch(person, total, still_open > 0))
    return matches


def start_for_person(session: Session, clock: Clock, actor: UserRecord, version: ProcessVersionRecord,
                     title: str, person_id: int, data: dict[str, Any] | None = None) -> CaseRecord:
    """A new consultation of a known person: the next episode of their record, following their latest case.
    A person whose consultation is still open is refused: their new concern belongs to that case.
    With `data`, its first task is completed with that form in the same command (`open_with_form`)."""
    permissions.require_case_start(actor)
    person = session.get(PersonRecord, person_id) if 0 < person_id < 2**31 else None
    if person is None or person.municipality_id != actor.municipality_id:
        raise NotFound("no such person", element=str(person_id)[:20])
    latest = session.execute(select(CaseRecord.id, CaseRecord.episode, CaseRecord.status)
                             .where(CaseRecord.person_id == person.id)
                             .order_by(CaseRecord.episode.desc(), CaseRecord.id.desc())).all()
    if any(status != CaseStatus.COMPLETED for _id, _episode, status in latest):
        raise FormInvalid([FieldError("person_id", "person_has_open_case")], element="case_start")
    episode = latest[0].episode + 1 if latest else 1
    previous_case_id = latest[0].id if latest else None
    if data is not None:
        return open_with_form(session, clock, actor, version, title, data, person_id=person.id, episode=episode,
                              previous_case_id=previous_case_id)
    return start_case(session, clock, actor, version, title, person_id=person.id, episode=episode,
                      previous_case_id=previous_case_id)
