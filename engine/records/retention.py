"""Retention policies: how long each record type is kept, per municipality, and from when.

A municipality's records rules (文書管理規程) set the periods; a record type without a policy of its own
keeps the default below. Case-bound types (the case file, consents, assessments, council papers) count
from the case's closure or opening; the logs count each row from its own time.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit
from ..access import permissions
from ..clock import Clock
from ..db import transaction
from ..errors import FieldError, FormInvalid
from ..models import CaseRecord, UserRecord
from .tables import CaseRemovalRecord, CountedFrom, RecordType, RetentionPolicyRecord

CASE_BOUND = (RecordType.CASE_FILE, RecordType.CONSENTS, RecordType.ASSESSMENTS, RecordType.COUNCIL_PAPERS)
LOGS = (RecordType.DISCLOSURE_LOG, RecordType.AUDIT_LOG)
MIN_YEARS, MAX_YEARS = 1, 100
RULE_MAX_LENGTH = 200


@dataclass(frozen=True)
class Policy:
    record_type: RecordType
    years: int
    counted_from: CountedFrom
    rule: str | None = None
    default: bool = False  # no policy of the municipality's own: the default applies


# Five years after closure: the usual period for consultation records (相談記録) in municipal records rules.
DEFAULTS = {
    RecordType.CASE_FILE: Policy(RecordType.CASE_FILE, 5, CountedFrom.CLOSURE, default=True),
    RecordType.CONSENTS: Policy(RecordType.CONSENTS, 5, CountedFrom.CLOSURE, default=True),
    RecordType.ASSESSMENTS: Policy(RecordType.ASSESSMENTS, 5, CountedFrom.CLOSURE, default=True),
    RecordType.COUNCIL_PAPERS: Policy(RecordType.COUNCIL_PAPERS, 5, CountedFrom.CLOSURE, default=True),
    RecordType.DISCLOSURE_LOG: Policy(RecordType.DISCLOSURE_LOG, 5, CountedFrom.CREATION, default=True),
    RecordType.AUDIT_LOG: Policy(RecordType.AUDIT_LOG, 5, CountedFrom.CREATION, default=True),
}


def policies_of(session: Session, municipality_id: int) -> dict[RecordType, Policy]:
    """Every record type's policy for the municipality: its own where it set one, else the default."""
    policies = dict(DEFAULTS)
    for row in session.scalars(select(RetentionPolicyRecord)
                               .where(RetentionPolicyRecord.municipality_id == municipality_id)):
        policies[row.record_type] = Policy(row.record_type, row.years, row.counted_from, row.rule)
    return policies



def add_years(moment: datetime, years: int) -> datetime:
    """`moment` moved by whole calendar years (negative: back); 29 February becomes 28 February."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, day=28)


def _parsed(record_type: RecordType | str, years: object, counted_from: CountedFrom | str | None,
            rule: object) -> tuple[RecordType, int, CountedFrom, str | None]:
    """The policy's fields checked together, so a form shows every problem at once."""
    errors: list[FieldError] = []
    kind = _record_type(record_type)
    number: int | None = None
    if isinstance(years, str) and years.strip().isascii() and years.strip().isdigit() and len(years.strip()) <= 4:
        number = int(years.strip())
    elif isinstance(years, int) and not isinstance(years, bool):
        number = years
    if number is None:
        errors.append(FieldError("years", "required" if years in (None, "") else "type", {"type": "integer"}))
    elif number < MIN_YEARS:
        errors.append(FieldError("years", "minimum", {"limit": MIN_YEARS}))
    elif number > MAX_YEARS:
        errors.append(FieldError("years", "maximum", {"limit": MAX_YEARS}))
    start: CountedFrom | None = None
    try:
        start = CountedFrom(counted_from.strip() if isinstance(counted_from, str) else counted_from)
    except ValueError:
        errors.append(FieldError("counted_from", "enum", {"allowed": [c.value for c in CountedFrom]}))
    if start == CountedFrom.CLOSURE and kind in LOGS:  # a log row belongs to no one case's closure
        errors.append(FieldError("counted_from", "enum", {"allowed": [CountedFrom.CREATION.value]}))
    text = rule.strip() if isinstance(rule, str) else None
    if text and (len(text) > RULE_MAX_LENGTH or any(ord(ch) < 32 for ch in text)):
        errors.append(FieldError("rule", "maxLength" if len(text) > RULE_MAX_LENGTH else "pattern",
                                 {"limit": RULE_MAX_LENGTH}))
    if errors or number is None or start is None:
        raise FormInvalid(errors, element="retention_policy")
    return kind, number, start, text or None


def _record_type(value: RecordType | str) -> RecordType:
    try:
        return RecordType(value.strip() if isinstance(value, str) else value)
    except ValueError:
        raise FormInvalid([FieldError("record_type", "enum", {"allowed": [t.value for t in RecordType]})],
                          element="retention_policy") from None


def _described(policy: Policy) -> dict[str, Any]:
    return {"years": policy.years, "counted_from": policy.counted_from.value, "rule": policy.rule,
            "default": policy.default}


def _audit_change(session: Session, clock: Clock, actor: UserRecord | None, municipality_id: int,
                  before: Policy, after: Policy, operator: str | None) -> None:
    origin: dict[str, Any] = {"via": "web"} if actor is not None else {"via": "cli", "operator": operator}
    audit.record(session, clock, actor, "retention.policy_set", municipality=municipality_id,
                 record_type=after.record_type.value, before=_described(before), after=_described(after), **origin)


def set_policy(session: Session, clock: Clock, actor: UserRecord | None, municipality_id: int,
               record_type: RecordType | str, years: object, counted_from: CountedFrom | str | None,
               rule: str | None, *, operator: str | None = None) -> Policy:
    """Set the municipality's retention for one record type; audited `retention.policy_set` with old and new.

    Removal times already stamped do not move (as Camunda's removal time): the new period applies to the
    cases whose clock starts from now on. The logs' periods apply at each disposal run, to every row.
    """
    permissions.require_municipal_admin(actor, municipality_id)
    kind, number, start, text = _parsed(record_type, years, counted_from, rule)
    with transaction(session):
        before = policies_of(session, municipality_id)[kind]
        row = session.get(RetentionPolicyRecord, (municipality_id, kind))
        if row is None:
            row = RetentionPolicyRecord(municipality_id=municipality_id, record_type=kind)
            session.add(row)
        row.years, row.counted_from, row.rule = number, start, text
        row.updated_at, row.updated_by_id = clock(), actor.id if actor else None
        after = Policy(kind, number, start, text)
        if after != before:
            _audit_change(session, clock, actor, municipality_id, before, after, operator)
    return after


def reset_policy(session: Session, clock: Clock, actor: UserRecord | None, municipality_id: int,
                 record_type: RecordType | str, *, operator: str | None = None) -> Policy:
    """Go back to the default for one record type; audited when it had one of its own. Removal times already
    stamped do not move."""
    permissions.require_municipal_admin(actor, municipality_id)
    kind = _record_type(record_type)
    with transaction(session):
        row = session.get(RetentionPolicyRecord, (municipality_id, kind))
        if row is not None:
            before = Policy(kind, row.years, row.counted_from, row.rule)
            session.delete(row)
            _audit_change(session, clock, actor, municipality_id, before, DEFAULTS[kind], operator)
    return DEFAULTS[kind]


def stamp_opening(session: Session, case: CaseRecord) -> None:
    """Stamp the removal times of the case's record types counted from its opening (`created_at`), in the
    caller's transaction. A policy changed later does not move them (like Camunda's removal time)."""
    _stamp(session, case, {CountedFrom.CREATION: case.created_at})


def stamp_closure(session: Session, case: CaseRecord) -> None:
    """Stamp the removal times of the case's record types counted from its closure (`completed_at`), in the
    caller's transaction; a type already stamped keeps its time, and one the policy came to count from the
    opening after the case opened is stamped from its opening now. A policy changed later does not move them."""
    if case.completed_at is not None:
        _stamp(session, case, {CountedFrom.CLOSURE: case.completed_at, CountedFrom.CREATION: case.created_at})


def stamp_missing(session: Session, clock: Clock, actor: UserRecord | None, municipality_id: int, *,
                  operator: str | None = None) -> int:
    """Stamp the cases that have no removal time yet although their clock has started (cases opened before
    retention was introduced): from their opening, and for closed cases from their closure, under today's
    policies. One transaction; how many removal times were stamped. Not run by itself: an operator decides
    when the cases kept so far begin to fall due."""
    permissions.require_municipal_admin(actor, municipality_id)
    stamped = 0
    with transaction(session):
        policies = policies_of(session, municipality_id)
        for kind in CASE_BOUND:
            policy = policies[kind]
            query = select(CaseRecord).where(
                CaseRecord.municipality_id == municipality_id,
                ~select(CaseRemovalRecord.case_id).where(CaseRemovalRecord.case_id == CaseRecord.id,
                                                         CaseRemovalRecord.record_type == kind).exists())
            if policy.counted_from == CountedFrom.CLOSURE:
                query = query.where(CaseRecord.completed_at.is_not(None))
            for case in session.scalars(query):
                start = case.completed_at if policy.counted_from == CountedFrom.CLOSURE else case.created_at
                if start is None:
                    continue
                session.add(CaseRemovalRecord(case_id=case.id, record_type=kind, municipality_id=municipality_id,
                                              removal_at=add_years(start, policy.years)))
                stamped += 1
        if stamped:
            origin: dict[str, Any] = {"via": "web"} if actor is not None else {"via": "cli", "operator": operator}
            audit.record(session, clock, actor, "retention.stamped", municipality=municipality_id, removals=stamped,
                         **origin)
    return stamped


def _stamp(session: Session, case: CaseRecord, starts: dict[CountedFrom, datetime]) -> None:
    # Reads without autoflush: the commands calling this write the case row once, after every change.
    with session.no_autoflush:
        policies = policies_of(session, case.municipality_id)
        kinds = [kind for kind in CASE_BOUND if policies[kind].counted_from in starts]
        stamped = set(session.scalars(select(CaseRemovalRecord.record_type).where(
            CaseRemovalRecord.case_id == case.id, CaseRemovalRecord.record_type.in_(kinds)))) if kinds else set()
    # Stamped earlier in this very command (a case opened and closed at once), not yet written.
    stamped |= {row.record_type for row in session.new if isinstance(row, CaseRemovalRecord) and row.case_id == case.id}
    for kind in kinds:
        if kind not in stamped:
            session.add(CaseRemovalRecord(case_id=case.id, record_type=kind, municipality_id=case.municipality_id,
                                          removal_at=add_years(starts[policies[kind].counted_from],
                                                               policies[kind].years)))
