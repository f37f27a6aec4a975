"""Municipalities (地方公共団体): identified by their 全国地方公共団体コード, checked to the check digit."""
from __future__ import annotations

import re
import unicodedata

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..clock import Clock
from ..errors import FieldError, FormInvalid, NotFound
from ..models import MunicipalityRecord
from .checks import record_change

NAME_MAX_LENGTH = 200
CODE_MAX_LENGTH = 16  # the width of MunicipalityRecord.code
_CODE = re.compile(r"[0-9]{6}")
_WEIGHTS = (6, 5, 4, 3, 2)


def check_digit(first_five: str) -> int:
    """The check digit (検査数字) of a five-digit code: modulus 11 with weights 6..2, last digit of 11 - rest."""
    remainder = sum(int(digit) * weight for digit, weight in zip(first_five, _WEIGHTS, strict=True)) % 11
    return (11 - remainder) % 10


def normalise_code(code: str | None) -> str:
    """Full-width digits (１３１０１６), as Japanese input methods often type them, read as ASCII."""
    return unicodedata.normalize("NFKC", code or "").strip()


def code_problem(code: str) -> str | None:
    """Why `code` is not a 全国地方公共団体コード (a stable code), or None when it is one."""
    if not _CODE.fullmatch(code):
        return "municipality_code_format"  # six digits, check digit included
    if not 1 <= int(code[:2]) <= 47:
        return "prefecture_code_unknown"  # 01 北海道 .. 47 沖縄県
    if check_digit(code[:5]) != int(code[5]):
        return "check_digit_wrong"
    return None


def register_municipality(session: Session, clock: Clock, *, code: str, name: str,
                          operator: str | None = None) -> MunicipalityRecord:
    """Add a municipality to the current transaction after checking its code and name; audited."""
    code, name = normalise_code(code), (name or "").strip()
    errors = []
    problem = code_problem(code)
    if problem:
        errors.append(FieldError("code", problem))
    elif session.scalar(select(MunicipalityRecord.id).where(MunicipalityRecord.code == code)) is not None:
        errors.append(FieldError("code", "municipality_exists"))
    if not name:
        errors.append(FieldError("name", "required"))
    elif len(name) > NAME_MAX_LENGTH or "\x00" in name:
        errors.append(FieldError("name", "maxLength" if len(name) > NAME_MAX_LENGTH else "pattern",
                                 {"limit": NAME_MAX_LENGTH}))
    if errors:
        raise FormInvalid(errors, element="municipality")
    town = MunicipalityRecord(code=code, name=name, is_demo=False, created_at=clock())
    session.add(town)
    session.flush()
    record_change(session, clock, None, "municipality.added", town.id, operator, code=code, name=name)
    return town


def find_municipality(session: Session, code: str) -> MunicipalityRecord:
    """The municipality with this code; `NotFound` naming the code otherwise."""
    code = normalise_code(code)
    # Never a stored code: longer than the column, or holding a NUL (which PostgreSQL refuses to compare).
    storable = len(code) <= CODE_MAX_LENGTH and "\x00" not in code
    town = session.scalar(select(MunicipalityRecord).where(MunicipalityRecord.code == code)) if storable else None
    if town is None:
        shown = code[:CODE_MAX_LENGTH].replace("\x00", "?")
        raise NotFound(f"municipality {shown} not found", element=shown)
    return town


def list_municipalities(session: Session) -> list[MunicipalityRecord]:
    """Every municipality of the installation, by code."""
    return list(session.scalars(select(MunicipalityRecord).order_by(MunicipalityRecord.code)))
