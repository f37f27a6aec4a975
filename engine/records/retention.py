"""Retention policies: how long each record type is kept, per municipality, and from when.

A municipality's records rules (文書管理規程) set the periods; a record type without a policy of its own
keeps the default below. Case-bound types (the case file, consents, assessments, council papers) count
from the case's closure or opening; the logs count each row from its own time.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .tables import CountedFrom, RecordType, RetentionPolicyRecord

CASE_BOUND = (RecordType.CASE_FILE, RecordType.CONSENTS, RecordType.ASSESSMENTS, RecordType.COUNCIL_PAPERS)
LOGS = (RecordType.DISCLOSURE_LOG, RecordType.AUDIT_LOG)
MIN_YEARS, MAX_YEARS = 1, 100


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
