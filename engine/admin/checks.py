"""Input checks and record look-ups shared by the commands that set up a municipality.

Every field is checked before anything is refused, so a form or a command line shows all its problems
at once; a record asked for by id is found only inside the municipality it is asked for.
"""
from __future__ import annotations

from datetime import date
from typing import Any, Protocol, TypeVar

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from .. import audit
from ..clock import Clock
from ..errors import FieldError, FormInvalid, NotFound
from ..models import MAX_ID, UserRecord

NAME_MAX_LENGTH = 200
# Ids arrive from URLs and command lines; PostgreSQL's integer ends here, and a larger one is simply absent.


class Checks:
    """Collects field errors while values are parsed; `done` raises them together."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def fail(self, field: str, problem: str, **params: Any) -> None:
        self.errors.append(FieldError(field, problem, params))

    def text(self, field: str, value: object, limit: int = NAME_MAX_LENGTH) -> str:
        """A required one-line text, trimmed; empty, too long or with control characters is an error
        (and "" is returned, so nothing is looked up by it)."""
        value = value.strip() if isinstance(value, str) else ""
        if not value:
            self.fail(field, "required")
        elif len(value) > limit:
            self.fail(field, "maxLength", limit=limit)
        elif any(ord(ch) < 32 for ch in value):  # NUL is refused by PostgreSQL, line breaks break lists
            self.fail(field, "pattern")
        else:
            return value
        return ""

    def integer(self, field: str, value: object, low: int, high: int) -> int | None:
        """A whole number between `low` and `high`, given as an int or as digits."""
        if isinstance(value, str):
            value = value.strip()
            if not value:
                self.fail(field, "required")
                return None
            if not (value.isascii() and value.lstrip("-").isdigit()) or len(value) > 12:
                self.fail(field, "type", type="integer")
                return None
            value = int(value)
        if value is None:
            self.fail(field, "required")
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(field, "type", type="integer")
            return None
        if value < low:
            self.fail(field, "minimum", limit=low)
        elif value > high:
            self.fail(field, "maximum", limit=high)
        return value

    def day(self, field: str, value: object) -> date | None:
        """A date, given as a date or as YYYY-MM-DD."""
        if isinstance(value, date):
            return value
        value = value.strip() if isinstance(value, str) else ""
        if not value:
            self.fail(field, "required")
            return None
        try:
            if len(value) != 10:
                raise ValueError(value)
            return date.fromisoformat(value)
        except ValueError:
            self.fail(field, "format", format="date")
            return None

    def done(self, element: str) -> None:
        if self.errors:
            raise FormInvalid(self.errors, element=element)


def checked(value: _T | None) -> _T:
    """A value whose checks passed: a missing one was already reported as a field error, so None never gets here."""
    if value is None:
        raise AssertionError("a checked value is missing")
    return value


def record_id(value: object) -> int | None:
    """An id as a positive int within the database's range, or None when it cannot name a row."""
    if isinstance(value, str):
        value = value.strip()
        value = int(value) if value.isascii() and value.isdigit() and len(value) <= 10 else None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        return None
    return value


class _Owned(Protocol):
    @property
    def municipality_id(self) -> int | None: ...


_R = TypeVar("_R", bound=_Owned)
_T = TypeVar("_T")


def owned(session: Session, model: type[_R], row_id: object, municipality_id: int, what: str) -> _R:
    """The row of `model` with this id if it belongs to the municipality; `NotFound` alike otherwise."""
    found = record_id(row_id)
    row = session.get(model, found) if found is not None else None
    if row is None or row.municipality_id != municipality_id:
        raise NotFound(f"no such {what}", element=str(row_id)[:40])
    return row


def named(session: Session, model: type[_R], municipality_id: int, name: str, what: str) -> _R:
    """The row of `model` with exactly this name in the municipality (the command line names rows by name)."""
    columns = inspect(model).columns
    row = session.scalar(select(model).where(columns["municipality_id"] == municipality_id,
                                             columns["name"] == (name or "").strip()))
    if row is None:
        raise NotFound(f"{what} '{name}' not found in this municipality", element=name)
    return row


def record_change(session: Session, clock: Clock, actor: UserRecord | None, action: str, municipality_id: int,
                  operator: str | None, **detail: Any) -> None:
    """Audit an administrator's change; a command-line one names the operating-system account."""
    if actor is None:
        detail.update(via="cli", operator=operator)
    else:
        detail.update(via="web")
    audit.record(session, clock, actor, action, municipality=municipality_id, **detail)
