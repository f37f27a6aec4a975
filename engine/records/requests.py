"""The data-subject request register (開示・訂正・利用停止請求): who asked what, when it is due, how it ended.

A request is decided within 30 days of the day it was received (privacy law Arts. 83, 94, 102; the day of
receipt is not counted, as the Civil Code counts periods); an open request past that day is overdue. The
municipality's supervisors handle requests (`permissions.require_privacy_desk`); a request of another
municipality is answered as a missing one.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit
from ..access import permissions
from ..casefile.tables import PersonRecord
from ..clock import Clock
from ..db import transaction
from ..errors import FieldError, FormInvalid, InvalidState, NotFound
from ..models import UserRecord
from ..runtime.forms import today_in_japan
from .tables import RequestKind, RequestStatus, SubjectRequestRecord

OUTCOMES = ("granted", "partly", "refused")
DUE_DAYS = 30  # privacy law Arts. 83, 94, 102: a decision within 30 days of the request
REQUESTER_MAX, TEXT_MAX = 200, 10000
REGISTER_LIMIT = 500


@dataclass(frozen=True)
class RequestRow:
    """One line of the register."""

    id: int
    kind: RequestKind
    status: RequestStatus
    requester: str
    received_on: date
    due_on: date
    overdue: bool
    person_id: int | None
    person_name: str | None  # the linked person's name, for the supervisors' register
    outcome: str | None
    decided_on: date | None
    details: str | None


def receive(session: Session, clock: Clock, actor: UserRecord, kind: RequestKind | str, requester: str,
            received_on: date | str, details: str | None, person_id: int | None = None) -> SubjectRequestRecord:
    """Enter a request in the register, due 30 days after the day it was received; audited."""
    permissions.require_privacy_desk(actor)
    errors: list[FieldError] = []
    found_kind = _kind(kind, errors)
    who = _text(requester, "requester", REQUESTER_MAX, errors, required=True)
    day = _day(received_on, today_in_japan(clock()), errors)
    what = _text(details, "details", TEXT_MAX, errors)
    if errors or found_kind is None or who is None or day is None:
        raise FormInvalid(errors)
    with transaction(session):
        if person_id is not None:
            _person(session, actor, person_id)
        request = SubjectRequestRecord(
            municipality_id=actor.municipality_id, kind=found_kind, person_id=person_id, requester=who,
            received_on=day, due_on=day + timedelta(days=DUE_DAYS), details=what, status=RequestStatus.RECEIVED,
            created_by_id=actor.id, created_at=clock())
        session.add(request)
        session.flush()
        audit.record(session, clock, actor, "subject_request.received", request=request.id, kind=found_kind.value,
                     received_on=day.isoformat(), due_on=request.due_on.isoformat(), person=person_id)
    return request


def link_person(session: Session, clock: Clock, actor: UserRecord, request_id: int, person_id: int) -> SubjectRequestRecord:
    """Name the person (当事者) an open request is about, once the requester's identity is confirmed; audited."""
    with transaction(session):
        request = _open_request(session, actor, request_id)
        _person(session, actor, person_id)
        previous, request.person_id = request.person_id, person_id
        audit.record(session, clock, actor, "subject_request.person_linked", request=request.id, person=person_id,
                     previous=previous)
    return request


def decide(session: Session, clock: Clock, actor: UserRecord, request_id: int, outcome: str,
           note: str | None) -> SubjectRequestRecord:
    """Record the decision on an open request: granted, partly granted or refused (these two with their
    reasons, which the notice to the requester must give); audited."""
    errors: list[FieldError] = []
    if outcome not in OUTCOMES:
        errors.append(FieldError("outcome", "enum", {"allowed": list(OUTCOMES)}))
    text = _text(note, "note", TEXT_MAX, errors, required=outcome in ("partly", "refused"))
    with transaction(session):
        request = _open_request(session, actor, request_id)
        if errors:
            raise FormInvalid(errors)
        request.status, request.outcome, request.outcome_note = RequestStatus.DECIDED, outcome, text
        request.decided_on = today_in_japan(clock())
        audit.record(session, clock, actor, "subject_request.decided", request=request.id, outcome=outcome,
                     decided_on=request.decided_on.isoformat(), late=request.decided_on > request.due_on)
    return request


def withdraw(session: Session, clock: Clock, actor: UserRecord, request_id: int, note: str | None) -> SubjectRequestRecord:
    """The requester withdrew an open request; audited."""
    errors: list[FieldError] = []
    text = _text(note, "note", TEXT_MAX, errors)
    with transaction(session):
        request = _open_request(session, actor, request_id)
        if errors:
            raise FormInvalid(errors)
        request.status, request.outcome_note = RequestStatus.WITHDRAWN, text
        request.decided_on = today_in_japan(clock())
        audit.record(session, clock, actor, "subject_request.withdrawn", request=request.id)
    return request


def register(session: Session, clock: Clock, actor: UserRecord, *, open_only: bool = True) -> list[RequestRow]:
    """The municipality's requests, soonest due first (open ones only, unless `open_only` is False)."""
    permissions.require_privacy_desk(actor)
    today = today_in_japan(clock())
    query = (select(SubjectRequestRecord, PersonRecord.name)
             .outerjoin(PersonRecord, PersonRecord.id == SubjectRequestRecord.person_id)
             .where(SubjectRequestRecord.municipality_id == actor.municipality_id)
             .order_by(SubjectRequestRecord.due_on, SubjectRequestRecord.id).limit(REGISTER_LIMIT))
    if open_only:
        query = query.where(SubjectRequestRecord.status == RequestStatus.RECEIVED)
    return [RequestRow(id=r.id, kind=r.kind, status=r.status, requester=r.requester, received_on=r.received_on,
                       due_on=r.due_on, overdue=is_overdue(r, today), person_id=r.person_id, person_name=name,
                       outcome=r.outcome, decided_on=r.decided_on, details=r.details)
            for r, name in session.execute(query).all()]


def is_overdue(request: SubjectRequestRecord, today: date) -> bool:
    """Still open after its due day."""
    return request.status == RequestStatus.RECEIVED and today > request.due_on


def request_of(session: Session, actor: UserRecord, request_id: int) -> SubjectRequestRecord:
    """One request of the actor's municipality; another municipality's is answered as a missing one."""
    permissions.require_privacy_desk(actor)
    request = session.get(SubjectRequestRecord, request_id) if isinstance(request_id, int) else None
    if request is None or request.municipality_id != actor.municipality_id:
        raise NotFound("no such request", element=str(request_id))
    return request


def acting_on(session: Session, actor: UserRecord, request_id: int,
              kind: RequestKind | None = None) -> tuple[SubjectRequestRecord, PersonRecord]:
    """A request the desk may act on now (compile, correct, suspend) and its person: of the kind given, not
    withdrawn nor refused, with its person linked."""
    request = request_of(session, actor, request_id)
    if kind is not None and request.kind != kind:
        raise InvalidState(f"this is a {request.kind.value} request, not a {kind.value} request", element=str(request.id))
    if request.status == RequestStatus.WITHDRAWN or request.outcome == "refused":
        raise InvalidState(f"the request was {request.outcome or request.status.value}", element=str(request.id))
    if request.person_id is None:
        raise InvalidState("link the request to the person first", element="person_id")
    return request, session.get_one(PersonRecord, request.person_id)


def required_reason(reason: object) -> str:
    """The reason a correction, suspension or resumption records: required, at most TEXT_MAX characters."""
    errors: list[FieldError] = []
    text = _text(reason, "reason", TEXT_MAX, errors, required=True)
    if errors or text is None:
        raise FormInvalid(errors or [FieldError("reason", "required")])
    return text


def _open_request(session: Session, actor: UserRecord, request_id: int) -> SubjectRequestRecord:
    request = request_of(session, actor, request_id)
    if request.status != RequestStatus.RECEIVED:
        raise InvalidState(f"the request is already {request.status.value}", element=str(request.id))
    return request


def _person(session: Session, actor: UserRecord, person_id: object) -> PersonRecord:
    person = session.get(PersonRecord, person_id) if isinstance(person_id, int) else None
    if person is None or person.municipality_id != actor.municipality_id:
        raise FormInvalid([FieldError("person_id", "unknown")])
    return person


def _kind(kind: object, errors: list[FieldError]) -> RequestKind | None:
    try:
        return RequestKind(kind)
    except ValueError:
        errors.append(FieldError("kind", "enum", {"allowed": [k.value for k in RequestKind]}))
        return None


def _text(value: object, name: str, limit: int, errors: list[FieldError], *, required: bool = False) -> str | None:
    text = value.strip() if isinstance(value, str) else None
    if value is not None and not isinstance(value, str):
        errors.append(FieldError(name, "type", {"type": "string"}))
    elif not text and required:
        errors.append(FieldError(name, "required"))
    elif text and len(text) > limit:
        errors.append(FieldError(name, "maxLength", {"limit": limit}))
    elif text and "\x00" in text:
        errors.append(FieldError(name, "format", {"format": "text"}))
    return text or None


def _day(value: object, today: date, errors: list[FieldError]) -> date | None:
    if isinstance(value, date):
        day: date | None = value
    else:
        try:
            day = date.fromisoformat(value.strip()) if isinstance(value, str) else None
        except ValueError:
            day = None
    if day is None:
        errors.append(FieldError("received_on", "format", {"format": "date"}))
    elif day > today:
        errors.append(FieldError("received_on", "x_not_after", {"limit": "today"}))
    return day
