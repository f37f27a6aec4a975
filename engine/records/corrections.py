"""Corrections (訂正請求, privacy law Art. 90): a person's field or a form answer corrected on a request, the
old value kept in the audit row `record.corrected` with who corrected it and why.

A person's name and kana are found again through their search keys (engine.casefile.names.search_key),
which are recomputed with them. A form answer is checked against the schema of the form it was given
on (its own process version), as a whole, so that a correction can never leave a submission a form
would have refused.
"""
from __future__ import annotations

import copy
from typing import Any

from sqlalchemy.orm import Session

from .. import audit
from ..casefile.names import search_key
from ..casefile.tables import PersonRecord
from ..clock import Clock
from ..db import transaction
from ..errors import FieldError, FormInvalid, NotFound
from ..models import CaseRecord, FormSubmissionRecord, UserRecord
from ..runtime.forms import validate_form
from .requests import acting_on, required_reason
from .subject_data import REVIEW_FORMS, submission_schema
from .tables import RequestKind

PERSON_FIELDS = ("name", "kana", "birth_year")
NAME_MAX = 200
BIRTH_YEARS = (1900, 2100)


def correct_person(session: Session, clock: Clock, actor: UserRecord, request_id: int, field: str, value: Any,
                   reason: str) -> PersonRecord:
    """Correct the request's person's name, kana or birth year; audited with the old and new value."""
    text = required_reason(reason)
    with transaction(session):
        request, person = acting_on(session, actor, request_id, RequestKind.CORRECTION)
        new = _person_value(field, value)
        old = getattr(person, field)
        setattr(person, field, new)
        if field in ("name", "kana"):
            person.name_key, person.kana_key = search_key(person.name), search_key(person.kana)
        audit.record(session, clock, actor, "record.corrected", request=request.id, record="person",
                     person=person.id, field=field, old=old, new=new, reason=text)
    return person


def correct_submission(session: Session, clock: Clock, actor: UserRecord, request_id: int, submission_id: int,
                       field: str, value: Any, reason: str) -> FormSubmissionRecord:
    """Correct one answer of a form submission of the request's person, valid by that form's schema; audited
    with the old and new value (an empty value removes an optional answer)."""
    text = required_reason(reason)
    with transaction(session):
        request, person = acting_on(session, actor, request_id, RequestKind.CORRECTION)
        submission = session.get(FormSubmissionRecord, submission_id) if isinstance(submission_id, int) else None
        case = session.get(CaseRecord, submission.case_id) if submission is not None else None
        if submission is None or case is None or case.person_id != person.id or submission.form_id in REVIEW_FORMS:
            # Another person's answers are answered as missing ones; an internal review is not the person's record.
            raise NotFound("no such submission of this person", element=str(submission_id))
        schema = submission_schema(session, case, submission)
        if not isinstance(field, str) or field not in (schema.get("properties") or {}):
            raise FormInvalid([FieldError("field", "enum", {"allowed": sorted(schema.get("properties") or {})})])
        data = copy.deepcopy(submission.data)
        old = data.get(field)
        if value is None or value == "":
            data.pop(field, None)
        else:
            data[field] = _typed(schema["properties"][field], value)
        _validate(schema, submission.data, data, clock, submission.form_id)
        submission.data = data  # a new dict: the JSON column is written
        audit.record(session, clock, actor, "record.corrected", case_id=case.id, request=request.id,
                     record="submission", submission=submission.id, form=submission.form_id, field=field,
                     old=old, new=data.get(field), reason=text)
    return submission


def _validate(schema: dict[str, Any], before: dict[str, Any], after: dict[str, Any], clock: Clock,
              element: str) -> None:
    """Refuse what the correction breaks (FormInvalid naming the field), as the form would have refused it
    today; a rule the submission already failed before (a start date now past) does not block it."""
    known = {(e.field, e.code) for e in _errors(schema, before, clock)}
    new = [e for e in _errors(schema, after, clock) if (e.field, e.code) not in known]
    if new:
        raise FormInvalid(new, element=element)


def _errors(schema: dict[str, Any], data: dict[str, Any], clock: Clock) -> list[FieldError]:
    try:
        validate_form(schema, data, now=clock())
    except FormInvalid as invalid:
        return invalid.errors
    return []


def _typed(prop: Any, value: Any) -> Any:
    """A number or a yes/no typed into a text box as the form's field wants it; anything else as given (the
    schema then judges it)."""
    kind = prop.get("type") if isinstance(prop, dict) else None
    if not isinstance(value, str):
        return value
    text = value.strip()
    try:
        if kind == "integer":
            return int(text)
        if kind == "number":
            return float(text)
    except ValueError:
        return value
    if kind == "boolean" and text in ("true", "false"):
        return text == "true"
    return value


def _person_value(field: object, value: Any) -> Any:
    if field not in PERSON_FIELDS:
        raise FormInvalid([FieldError("field", "enum", {"allowed": list(PERSON_FIELDS)})])
    if field == "birth_year":
        if value in (None, ""):
            return None
        year = int(value) if isinstance(value, str) and value.strip().isdigit() else value
        if not isinstance(year, int) or isinstance(year, bool):
            raise FormInvalid([FieldError("birth_year", "type", {"type": "integer"})])
        if not BIRTH_YEARS[0] <= year <= BIRTH_YEARS[1]:
            raise FormInvalid([FieldError("birth_year", "minimum" if year < BIRTH_YEARS[0] else "maximum",
                                          {"limit": BIRTH_YEARS[0] if year < BIRTH_YEARS[0] else BIRTH_YEARS[1]})])
        return year
    name = str(field)
    if value is not None and not isinstance(value, str):
        raise FormInvalid([FieldError(name, "type", {"type": "string"})])
    text = (value or "").strip()
    if field == "name" and not text:
        raise FormInvalid([FieldError("name", "required")])
    if len(text) > NAME_MAX:
        raise FormInvalid([FieldError(name, "maxLength", {"limit": NAME_MAX})])
    if "\x00" in text:
        raise FormInvalid([FieldError(name, "format", {"format": "text"})])
    return text or None

