"""Disposal: the records whose retention has run out, deleted or anonymised, each run recorded.

Case-bound records are found by their stamped removal times (`case_removals`, through its index); the logs
by their own time against the policy in force at the run. A case on legal hold, and a case not closed yet,
is never touched: its due records wait until the hold is lifted or the case closes. Anonymisation keeps
what the reports count (dates, status, channel, risk, closure reason, task kinds and times, action types
and statuses, assessment scores, the consent facts the statistics rest on), so the reports' figures are
the same before and after.
"""
from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Select, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session, undefer

from .. import audit
from ..access import permissions
from ..casefile.tables import (
    AgendaItemRecord,
    AssessmentRecord,
    BreakGlassRecord,
    ConsentRecord,
    CouncilDecisionRecord,
    DisclosureRecord,
    PersonRecord,
    SupportActionRecord,
)
from ..clock import Clock
from ..db import transaction
from ..errors import Conflict
from ..models import (
    AuditRecord,
    CaseMigrationRecord,
    CaseRecord,
    CaseStatus,
    FormSubmissionRecord,
    MunicipalityRecord,
    ParkedInputRecord,
    TaskDraftRecord,
    TaskRecord,
    UserRecord,
)
from ..ops.tables import IncidentRecord
from .retention import CASE_BOUND, LOGS, Policy, add_years, policies_of
from .tables import CaseRemovalRecord, DisposalRecord, LegalHoldRecord, RecordType

DELETED, ANONYMISED = "deleted", "anonymised"
METHODS = {RecordType.CASE_FILE: ANONYMISED, RecordType.CONSENTS: ANONYMISED, RecordType.ASSESSMENTS: ANONYMISED,
           RecordType.COUNCIL_PAPERS: ANONYMISED, RecordType.DISCLOSURE_LOG: DELETED, RecordType.AUDIT_LOG: DELETED}
CHUNK = 500  # case ids per statement: well under SQLite's and PostgreSQL's parameter limits
# What a stripped workflow state keeps of each serialized task and (sub)process: their structure and
# states, never their data (the forms' and scripts' values), correlations or pending events.
_STRIPPED: dict[str, Any] = {"data": {}, "internal_data": {}, "correlations": {}, "bpmn_events": []}


@dataclass(frozen=True)
class Planned:
    """What a disposal would do now for one record type: how many cases' records and rows."""

    record_type: RecordType
    policy: Policy
    cases: int
    rows: int


@dataclass(frozen=True)
class _Part:
    """One statement of a disposal: the rows of `model` matching `where`, deleted (`change` None) or updated."""

    model: Any
    where: ColumnElement[bool]
    change: dict[str, Any] | None = None


def _not_held(case_id: Any) -> ColumnElement[bool]:
    return ~exists().where(LegalHoldRecord.case_id == case_id)


def _due_removals(municipality_id: int, kind: RecordType, now: datetime) -> tuple[ColumnElement[bool], ...]:
    """The case removals of `kind` due at `now`, not disposed of, of closed cases not on legal hold."""
    return (CaseRemovalRecord.municipality_id == municipality_id, CaseRemovalRecord.record_type == kind,
            CaseRemovalRecord.removal_at <= now, CaseRemovalRecord.disposed_at.is_(None),
            CaseRemovalRecord.case_id.in_(select(CaseRecord.id).where(CaseRecord.status == CaseStatus.COMPLETED)),
            _not_held(CaseRemovalRecord.case_id))


def _log_cutoff(policy: Policy, now: datetime) -> datetime:
    return add_years(now, -policy.years)


def _parts(kind: RecordType, ids: Sequence[int] | Select[Any], municipality_id: int,
           cutoff: datetime | None) -> list[_Part]:
    """The statements disposing of `kind` for the cases `ids` (case-bound) or before `cutoff` (the logs).
    The case rows and the assessments' answers, changed in Python, are handled apart."""
    if kind == RecordType.CASE_FILE:
        tasks = select(TaskRecord.id).where(TaskRecord.case_id.in_(ids))
        others_open = exists().where(CaseRecord.person_id == PersonRecord.id, CaseRecord.anonymised_at.is_(None),
                                     CaseRecord.id.not_in(ids))
        return [
            _Part(FormSubmissionRecord, FormSubmissionRecord.case_id.in_(ids)),
            _Part(TaskDraftRecord, TaskDraftRecord.task_id.in_(tasks)),
            _Part(ParkedInputRecord, ParkedInputRecord.task_id.in_(tasks)),
            # A moved case's previous workflow state holds its data; a closed case is never moved back.
            _Part(CaseMigrationRecord, CaseMigrationRecord.case_id.in_(ids)),
            _Part(SupportActionRecord, SupportActionRecord.case_id.in_(ids)
                  & or_(SupportActionRecord.note.is_not(None), SupportActionRecord.decline_reason.is_not(None),
                        SupportActionRecord.outcome_note.is_not(None)),
                  {"note": None, "decline_reason": None, "outcome_note": None}),
            _Part(BreakGlassRecord, BreakGlassRecord.case_id.in_(ids) & (BreakGlassRecord.reason != ""), {"reason": ""}),
            _Part(IncidentRecord, IncidentRecord.case_id.in_(ids) & (IncidentRecord.error != ""), {"error": ""}),
            # The person goes once none of their cases keeps its case file.
            _Part(PersonRecord, PersonRecord.id.in_(select(CaseRecord.person_id).where(CaseRecord.id.in_(ids)))
                  & (PersonRecord.name != "") & ~others_open,
                  {"name": "", "kana": None, "birth_year": None, "name_key": None, "kana_key": None}),
        ]
    if kind == RecordType.CONSENTS:
        # Anonymised, not deleted: the reports count a case's measures only under a consent to statistics
        # (engine.commands.report_measures.statistics_consent), so its decision, purposes and dates stay.
        return [_Part(ConsentRecord, ConsentRecord.case_id.in_(ids), {"person_id": None, "witness": None,
                                                                       "recipient_bodies": None})]
    if kind == RecordType.COUNCIL_PAPERS:
        return [_Part(AgendaItemRecord, AgendaItemRecord.case_id.in_(ids), {"note": None}),
                _Part(CouncilDecisionRecord, CouncilDecisionRecord.case_id.in_(ids),
                      {"situation": "", "plan": "", "key_person": None})]
    if kind == RecordType.DISCLOSURE_LOG:
        own = select(CaseRecord.id).where(CaseRecord.municipality_id == municipality_id)
        return [_Part(DisclosureRecord, (DisclosureRecord.recorded_at < cutoff) & DisclosureRecord.case_id.in_(own)
                      & _not_held(DisclosureRecord.case_id))]
    if kind == RecordType.AUDIT_LOG:
        # The municipality's rows, and its cases' rows that the scheduler wrote with no municipality named.
        own = select(CaseRecord.id).where(CaseRecord.municipality_id == municipality_id)
        return [_Part(AuditRecord, (AuditRecord.at < cutoff) & or_(
            AuditRecord.municipality_id == municipality_id,
            AuditRecord.municipality_id.is_(None) & AuditRecord.case_id.in_(own))
            & or_(AuditRecord.case_id.is_(None), _not_held(AuditRecord.case_id)))]
    return []  # assessments: handled row by row (their answers are filtered)


def _count(session: Session, part: _Part) -> int:
    return int(session.scalar(select(func.count()).select_from(part.model).where(part.where)) or 0)


def _run(session: Session, part: _Part) -> int:
    statement = (delete(part.model).where(part.where) if part.change is None
                 else update(part.model).where(part.where).values(**part.change))
    result = cast(CursorResult[Any], session.execute(statement.execution_options(synchronize_session=False)))
    return int(result.rowcount or 0)


def due_now(session: Session, clock: Clock, municipality_id: int) -> list[Planned]:
    """What a disposal run would do now, per record type with anything due; writes nothing."""
    now, policies, planned = clock(), policies_of(session, municipality_id), []
    for kind in CASE_BOUND:
        ids = select(CaseRemovalRecord.case_id).where(*_due_removals(municipality_id, kind, now))
        cases = int(session.scalar(select(func.count()).select_from(ids.subquery())) or 0)
        if cases:
            rows = sum(_count(session, part) for part in _parts(kind, ids, municipality_id, None))
            if kind == RecordType.CASE_FILE:
                rows += cases
            elif kind == RecordType.ASSESSMENTS:
                rows += _count(session, _Part(AssessmentRecord, AssessmentRecord.case_id.in_(ids)))
            planned.append(Planned(kind, policies[kind], cases, rows))
    for kind in LOGS:
        rows = sum(_count(session, part) for part in _parts(kind, [], municipality_id,
                                                            _log_cutoff(policies[kind], now)))
        if rows:
            planned.append(Planned(kind, policies[kind], 0, rows))
    return planned


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def stripped_state(state: str) -> str:
    """A serialized workflow with every task's and process's data, correlations and pending events taken out:
    it still restores (its tasks, their states and the path taken stay), but holds no value of the case."""
    if not state:
        return state

    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: (type(_STRIPPED[key])() if key in _STRIPPED else strip(value)) for key, value in node.items()}
        if isinstance(node, list):
            return [strip(item) for item in node]
        return node

    return json.dumps(strip(json.loads(state)))


def _anonymise_cases(session: Session, ids: list[int], now: datetime) -> int:
    for case in session.scalars(select(CaseRecord).where(CaseRecord.id.in_(ids))
                                .options(undefer(CaseRecord.workflow_state))):
        case.title, case.workflow_state = "", stripped_state(case.workflow_state)
        case.secrecy_wishes = case.suspended_reason = case.error_message = None
        case.anonymised_at = now
    session.flush()
    return len(ids)


def _anonymise_assessments(session: Session, ids: list[int]) -> int:
    """The person link and every answer that is not a number go; the instrument, stage and score stay."""
    found = 0
    for row in session.scalars(select(AssessmentRecord).where(AssessmentRecord.case_id.in_(ids))):
        row.person_id = None
        row.answers = {key: value for key, value in (row.answers or {}).items()
                       if isinstance(value, (int, float, bool))}
        found += 1
    session.flush()
    return found


def _claim(session: Session, municipality_id: int, kind: RecordType, now: datetime) -> list[int]:
    """Mark the due removals of `kind` disposed of and return their cases: of two runs at once, each case
    goes to one (the second's UPDATE finds the row already marked)."""
    result = session.execute(update(CaseRemovalRecord).where(*_due_removals(municipality_id, kind, now))
                             .values(disposed_at=now).returning(CaseRemovalRecord.case_id)
                             .execution_options(synchronize_session=False))
    return sorted(int(case_id) for case_id in result.scalars())


def dispose_due(session: Session, clock: Clock, actor: UserRecord | None, municipality_id: int, *,
                run_by: str) -> list[DisposalRecord]:
    """Dispose of everything due in the municipality in one transaction; one DisposalRecord per record type
    with rows, and one audit row `records.disposed` with the counts (nothing written when nothing was due)."""
    permissions.require_municipal_admin(actor, municipality_id)
    written: list[DisposalRecord] = []
    with transaction(session):
        now, policies = clock(), policies_of(session, municipality_id)
        claimed = 0
        for kind in CASE_BOUND:
            ids = _claim(session, municipality_id, kind, now)
            claimed += len(ids)
            rows = 0
            for chunk in _chunks(ids):
                if kind == RecordType.CASE_FILE:
                    rows += _anonymise_cases(session, chunk, now)
                elif kind == RecordType.ASSESSMENTS:
                    rows += _anonymise_assessments(session, chunk)
                rows += sum(_run(session, part) for part in _parts(kind, chunk, municipality_id, None))
            if rows:
                written.append(_disposal(municipality_id, kind, policies[kind], len(ids), rows, now, now, run_by))
        for kind in LOGS:
            cutoff = _log_cutoff(policies[kind], now)
            rows = sum(_run(session, part) for part in _parts(kind, [], municipality_id, cutoff))
            if rows:
                written.append(_disposal(municipality_id, kind, policies[kind], 0, rows, cutoff, now, run_by))
        if written or claimed:
            session.add_all(written)
            origin: dict[str, Any] = {"via": "web"} if actor is not None else {"via": run_by}
            audit.record(session, clock, actor, "records.disposed", municipality=municipality_id, run_by=run_by,
                         counts={d.record_type.value: {"method": d.method, "cases": d.cases, "rows": d.rows}
                                 for d in written}, **origin)
    return written


def _disposal(municipality_id: int, kind: RecordType, policy: Policy, cases: int, rows: int, due_before: datetime,
              now: datetime, run_by: str) -> DisposalRecord:
    return DisposalRecord(municipality_id=municipality_id, record_type=kind, method=METHODS[kind], years=policy.years,
                          counted_from=policy.counted_from, cases=cases, rows=rows, due_before=due_before,
                          disposed_at=now, run_by=run_by[:100])


def dispose_everywhere(session: Session, clock: Clock) -> int:
    """The scheduler's pass: dispose of what is due in each municipality, each in its own transaction; how
    many rows in all. A municipality another run is disposing of at the same moment is left to that run."""
    total = 0
    for municipality_id in list(session.scalars(select(MunicipalityRecord.id).order_by(MunicipalityRecord.id))):
        try:
            total += sum(d.rows for d in dispose_due(session, clock, None, municipality_id, run_by="scheduler"))
        except Conflict:
            continue
    return total


def disposals_of(session: Session, municipality_id: int, limit: int = 200) -> list[DisposalRecord]:
    """The municipality's disposals, newest first."""
    return list(session.scalars(select(DisposalRecord).where(DisposalRecord.municipality_id == municipality_id)
                                .order_by(DisposalRecord.disposed_at.desc(), DisposalRecord.id.desc())
                                .limit(max(1, min(int(limit), 1000)))))
