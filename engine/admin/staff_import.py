"""Creating many staff accounts from a CSV file as Excel writes it: every row is good, or nothing is written."""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..access.permissions import require_municipal_admin
from ..casefile.tables import OrganisationRecord
from ..clock import Clock
from ..db import transaction
from ..errors import FieldError, FormInvalid
from ..models import UserRecord
from ..roles import ROLE_CODES
from .checks import record_change
from .staff import EMAIL, USERNAME, add_staff_user, clean_text

COLUMNS = ("username", "display_name", "email", "roles", "organisation", "team")
REQUIRED_COLUMNS = ("username", "roles")
MAX_ROWS = 500
MAX_BYTES = 1_000_000
ROLE_SEPARATORS = re.compile(r"[;\s]+")  # "caseworker;supervisor" or "caseworker supervisor"


@dataclass(frozen=True)
class StaffRow:
    """One person of the file, with the line it starts on."""

    line: int
    username: str
    roles: list[str]
    display_name: str | None = None
    email: str | None = None
    organisation: str | None = None
    team: str | None = None


def decode_csv(data: bytes) -> str:
    """The file's text: UTF-8 with or without the byte order mark Excel writes ("CSV UTF-8")."""
    if len(data) > MAX_BYTES:
        raise FormInvalid([FieldError("file", "file_too_large", {"limit": MAX_BYTES})], element="csv")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:  # Excel's plain "CSV" is Shift_JIS on Japanese Windows
        raise FormInvalid([FieldError("file", "encoding_not_utf8")], element="csv") from exc


def _header(names: list[str]) -> list[FieldError]:
    problems = [FieldError(f"line 1: {name or '(blank)'}", "unknown_column") for name in names if name not in COLUMNS]
    problems += [FieldError(f"line 1: {name}", "duplicate_column") for name in sorted(set(names))
                 if names.count(name) > 1]
    problems += [FieldError(f"line 1: {name}", "missing_column") for name in REQUIRED_COLUMNS if name not in names]
    return problems


def _row(line: int, cells: dict[str, str], problems: list[FieldError]) -> StaffRow:
    where = f"line {line}: "
    username = cells.get("username", "").strip()
    if not USERNAME.fullmatch(username):
        problems.append(FieldError(where + "username", "username_invalid", {"min": 3, "max": 80}))
    roles = [r for r in ROLE_SEPARATORS.split(cells.get("roles", "").strip()) if r]
    if not roles:
        problems.append(FieldError(where + "roles", "required"))
    elif set(roles) - ROLE_CODES:
        problems.append(FieldError(where + "roles", "enum", {"values": sorted(set(roles) - ROLE_CODES)}))
    text = {name: clean_text(where + name, cells.get(name), problems)
            for name in ("display_name", "email", "organisation", "team")}
    if text["email"] is not None and not EMAIL.fullmatch(text["email"]):
        problems.append(FieldError(where + "email", "email_invalid"))
    return StaffRow(line=line, username=username, roles=sorted(set(roles)), **text)


def parse_staff_csv(text: str) -> tuple[list[StaffRow], list[FieldError]]:
    """The file's people and every problem found without the database, each named `line N: column`."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        header = next(reader, None)
        if header is None:
            return [], [FieldError("line 1", "file_empty")]
        names = [name.strip().lower() for name in header]
        problems = _header(names)
        if problems:
            return [], problems
        rows: list[StaffRow] = []
        first_line: dict[str, int] = {}
        line = reader.line_num + 1
        for record in reader:
            start, line = line, reader.line_num + 1
            if not any(cell.strip() for cell in record):
                continue  # Excel leaves empty rows like ",,,,," at the end
            if len(rows) == MAX_ROWS:
                problems.append(FieldError(f"line {start}", "too_many_rows", {"limit": MAX_ROWS}))
                break
            if len(record) > len(names):
                problems.append(FieldError(f"line {start}", "too_many_fields", {"limit": len(names)}))
            row = _row(start, dict(zip(names, record, strict=False)), problems)
            key = row.username.lower()
            if key in first_line:
                problems.append(FieldError(f"line {start}: username", "duplicate_in_file",
                                           {"line": first_line[key]}))
            first_line.setdefault(key, start)
            rows.append(row)
    except csv.Error as exc:  # an unclosed quote or an absurdly long field
        return [], [FieldError(f"line {reader.line_num}", "csv_invalid", {"detail": str(exc)})]
    if not rows and not problems:
        problems.append(FieldError("line 2", "file_empty"))
    return rows, problems


def _line_of(problem: FieldError) -> int:
    return int(problem.field.split(":")[0].removeprefix("line "))


def import_staff_csv(session: Session, clock: Clock, actor: UserRecord | None, municipality_id: int, text: str,
                     operator: str | None = None) -> list[tuple[UserRecord, str]]:
    """Create every person of the file with a one-time password, or raise `FormInvalid` naming each bad line."""
    require_municipal_admin(actor, municipality_id)
    rows, problems = parse_staff_csv(text)
    try:
        return _import(session, clock, actor, municipality_id, rows, problems, operator)
    except IntegrityError as exc:  # a name in the file was created by someone else a moment ago
        raise FormInvalid([FieldError("file", "username_taken")], element="csv") from exc


def _import(session: Session, clock: Clock, actor: UserRecord | None, municipality_id: int, rows: list[StaffRow],
            problems: list[FieldError], operator: str | None) -> list[tuple[UserRecord, str]]:
    with transaction(session):
        wanted = [r.username.lower() for r in rows if USERNAME.fullmatch(r.username)]
        taken: set[str] = set(session.scalars(select(func.lower(UserRecord.username))
                                    .where(func.lower(UserRecord.username).in_(wanted)))) if wanted else set()
        bodies = {b.name: b for b in session.scalars(select(OrganisationRecord).where(
            OrganisationRecord.municipality_id == municipality_id))}
        for row in rows:
            if row.username.lower() in taken:
                problems.append(FieldError(f"line {row.line}: username", "username_taken"))
            body = bodies.get(row.organisation) if row.organisation else None
            if row.organisation and body is None:
                problems.append(FieldError(f"line {row.line}: organisation", "organisation_unknown",
                                           {"name": row.organisation}))
            elif body is not None and not body.active:
                problems.append(FieldError(f"line {row.line}: organisation", "organisation_inactive"))
        if problems:
            raise FormInvalid(sorted(problems, key=_line_of), element="csv")
        created = []
        for row in rows:
            body = bodies.get(row.organisation) if row.organisation else None
            user, initial = add_staff_user(session, clock, municipality_id, username=row.username, roles=row.roles,
                                           display_name=row.display_name or row.username, email=row.email,
                                           organisation_id=body.id if body else None, team=row.team, password=None)
            record_change(session, clock, actor, "user.created", municipality_id, operator, user=user.id,
                                username=user.username, roles=row.roles, organisation=user.organisation_id,
                                team=user.team, one_time_password=True, source="csv", line=row.line)
            created.append((user, initial or ""))
        record_change(session, clock, actor, "users.imported", municipality_id, operator, count=len(created))
    return created
