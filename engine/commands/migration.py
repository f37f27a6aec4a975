"""Moving a process's running cases of a municipality to another version, and moving one back.

`plan` is the dry run: every open case of the process on another version is classified movable, or not
with a stable reason and the element concerned, by moving its workflow in memory with SpiffWorkflow's
own diff and migration (`engine.runtime.migration`); it writes one audit row. `start_batch` plans and
records a batch; `run_batch` moves the batch's cases in id order, each in its own transaction (checked
again, moved, task rows projected anew, an audit row and a `case_migrations` row kept for moving back),
as far as a limit or deadline allows, so a web request can do a slice and the next one go on from the
cursor. `migrate` does both at once for the command line. Workflows are loaded one case at a time.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Select, func, select, update
from sqlalchemy.orm import Session, lazyload, load_only, undefer

from .. import audit
from ..access.permissions import require_designer
from ..clock import Clock
from ..db import transaction
from ..errors import Conflict, InvalidState, NotFound
from ..models import (
    AuditRecord,
    CaseMigrationRecord,
    CaseRecord,
    CaseStatus,
    MigrationBatchRecord,
    ProcessVersionRecord,
    TaskRecord,
    TaskStatus,
    UserRecord,
)
from ..runtime.kinds import task_kind
from ..runtime.migration import Obstacle, move
from ..runtime.workflow import UserTaskView, load_state, parse_duration, ready_user_tasks
from .cases import _lock_case, record_step
from .versions import live_version, not_deployed

CASE_IN_ERROR, CASE_COMPLETED, CASE_SUSPENDED = "case_in_error", "case_completed", "case_suspended"
STOPPED = {CaseStatus.ERROR: CASE_IN_ERROR, CaseStatus.COMPLETED: CASE_COMPLETED,
           CaseStatus.SUSPENDED: CASE_SUSPENDED}
OPEN = (CaseStatus.RUNNING, CaseStatus.WAITING, CaseStatus.ERROR, CaseStatus.SUSPENDED)
RUNNING, FINISHED = "running", "finished"
CHUNK = 100  # case ids read per statement while streaming


@dataclass(frozen=True)
class Verdict:
    """One case of a plan: movable, or the stable reason it is not and the element concerned."""

    case_id: int
    reference: str | None
    from_version_id: int
    reason: str | None = None
    element: str | None = None
    changes: tuple[str, ...] = ()

    @property
    def movable(self) -> bool:
        return self.reason is None


@dataclass
class MigrationPlan:
    """The dry run: how many open cases would move to `target`, and the others with their reasons."""

    process_id: str
    municipality_id: int
    target: ProcessVersionRecord
    movable: int = 0
    blocked: list[Verdict] = field(default_factory=list)
    closed_elsewhere: int = 0  # completed cases on other versions: they stay where they ran

    @property
    def total(self) -> int:
        return self.movable + len(self.blocked)

    def groups(self) -> list[tuple[str, str | None, int]]:
        """Not movable cases counted by reason and element, most first."""
        counts: dict[tuple[str, str | None], int] = {}
        for verdict in self.blocked:
            key = (verdict.reason or "", verdict.element)
            counts[key] = counts.get(key, 0) + 1
        return sorted(((r, e, n) for (r, e), n in counts.items()), key=lambda g: (-g[2], g[0], g[1] or ""))


@dataclass(frozen=True)
class BatchStep:
    """How far a slice of a batch went: the last case id looked at, and whether the batch is done."""

    batch: MigrationBatchRecord
    cursor: int
    done: bool


Progress = Callable[[int], None]  # called with 1 for each case moved or refused


def target_version(session: Session, process_id: str, municipality_id: int,
                   to_version_id: int | None = None) -> ProcessVersionRecord:
    """The version cases move to: the one named (the municipality's own or the template's), else the live one."""
    if to_version_id is None:
        return live_version(session, municipality_id, process_id)
    version = session.get(ProcessVersionRecord, to_version_id)
    if version is None or version.process_id != process_id or version.municipality_id not in (None, municipality_id):
        raise not_deployed(process_id)
    return version


def plan(session: Session, clock: Clock, actor: UserRecord | None, process_id: str, municipality_id: int,
         to_version_id: int | None = None, *, operator: str | None = None) -> MigrationPlan:
    """Classify every open case of the process on another version; writes only its audit row."""
    with transaction(session):
        require_designer(actor, municipality_id)
        target = target_version(session, process_id, municipality_id, to_version_id)
        result = MigrationPlan(process_id, municipality_id, target)
        specs = _Specs(session)
        for case_id in _ids(session, _candidates(process_id, municipality_id, target.id)):
            case = _case(session, case_id)
            if case is None:
                continue
            verdict = classify(specs, case, target)
            session.expunge(case)  # let each workflow go once it is classified
            if verdict.movable:
                result.movable += 1
            else:
                result.blocked.append(verdict)
        result.closed_elsewhere = session.scalar(
            select(func.count(CaseRecord.id)).join(ProcessVersionRecord, CaseRecord.process_version_id == ProcessVersionRecord.id)
            .where(*_scope(process_id, municipality_id, target.id), CaseRecord.status == CaseStatus.COMPLETED)) or 0
        audit.record(session, clock, actor, "migration.planned", municipality=municipality_id, process=process_id,
                     to_version=target.id, movable=result.movable, not_movable=len(result.blocked),
                     via="web" if actor is not None else "cli", operator=operator)
    return result


def classify(specs: _Specs, case: CaseRecord, target: ProcessVersionRecord) -> Verdict:
    """Whether one case can move to `target` now, by moving its workflow in memory."""
    verdict = Verdict(case.id, case.reference, case.process_version_id)
    stopped = STOPPED.get(case.status)
    if stopped is not None:
        return Verdict(case.id, case.reference, case.process_version_id, stopped,
                       case.error_element if case.status == CaseStatus.ERROR else None)
    obstacle = specs.move(case, target)[1]
    if obstacle is None:
        return verdict
    return Verdict(case.id, case.reference, case.process_version_id, obstacle.code, obstacle.element,
                   obstacle.changes)


class _Specs:
    """Each version's specs read once per command, whatever the number of cases (not loaded per row)."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._specs: dict[int, str] = {}

    def spec(self, version_id: int) -> str:
        found = self._specs.get(version_id)
        if found is None:
            found = self._specs[version_id] = self._session.scalars(
                select(ProcessVersionRecord.spec).where(ProcessVersionRecord.id == version_id)).one()
        return found

    def move(self, case: CaseRecord, target: ProcessVersionRecord) -> tuple[str | None, Obstacle | None]:
        moved = move(self.spec(case.process_version_id), case.workflow_state, self.spec(target.id))
        return moved.state, moved.obstacle


def _scope(process_id: str, municipality_id: int, target_id: int) -> tuple[ColumnElement[bool], ...]:
    return (CaseRecord.municipality_id == municipality_id, ProcessVersionRecord.process_id == process_id,
            CaseRecord.process_version_id != target_id)


def _candidates(process_id: str, municipality_id: int, target_id: int, after: int = 0) -> Select[int]:
    return (select(CaseRecord.id).join(ProcessVersionRecord, CaseRecord.process_version_id == ProcessVersionRecord.id)
            .where(*_scope(process_id, municipality_id, target_id), CaseRecord.status.in_(OPEN),
                   CaseRecord.id > after)
            .order_by(CaseRecord.id))


def _ids(session: Session, ids_query: Select[int]) -> Iterator[int]:
    """The candidate case ids in order, read in chunks: never every case at once."""
    after = 0
    while True:
        ids = list(session.scalars(ids_query.where(CaseRecord.id > after).limit(CHUNK)))
        yield from ids
        if len(ids) < CHUNK:
            return
        after = ids[-1]


def _case(session: Session, case_id: int) -> CaseRecord | None:
    # Never the version relationship (its files and specs would come with every case row).
    return session.scalars(select(CaseRecord).where(CaseRecord.id == case_id)
                           .options(lazyload(CaseRecord.process_version), load_only(
                               CaseRecord.id, CaseRecord.reference, CaseRecord.status, CaseRecord.error_element,
                               CaseRecord.process_version_id, CaseRecord.workflow_state, CaseRecord.lock_version,
                               CaseRecord.municipality_id, CaseRecord.updated_at))).one_or_none()


def start_batch(session: Session, clock: Clock, actor: UserRecord | None, process_id: str, municipality_id: int,
                to_version_id: int | None = None, *, via: str = "web",
                operator: str | None = None) -> tuple[MigrationBatchRecord, MigrationPlan]:
    """Plan and record a batch whose total is the number of movable cases; one batch per process at a time."""
    found = plan(session, clock, actor, process_id, municipality_id, to_version_id, operator=operator)
    with transaction(session):
        running = session.scalar(select(MigrationBatchRecord.id).where(
            MigrationBatchRecord.municipality_id == municipality_id, MigrationBatchRecord.process_id == process_id,
            MigrationBatchRecord.status == RUNNING).limit(1))
        if running is not None:
            raise Conflict("a migration of this process is already running", element=process_id, batch=running)
        batch = MigrationBatchRecord(municipality_id=municipality_id, process_id=process_id,
                                     to_version_id=found.target.id, status=RUNNING, total=found.movable, moved=0,
                                     refused=0, started_by_id=actor.id if actor else None, started_via=via,
                                     started_at=clock())
        session.add(batch)
        session.flush()
        audit.record(session, clock, actor, "migration.started", municipality=municipality_id, process=process_id,
                     batch=batch.id, to_version=found.target.id, total=found.movable, via="web" if actor is not None else "cli", operator=operator)
    return batch, found


def run_batch(session: Session, clock: Clock, actor: UserRecord | None, batch_id: int, *, after: int = 0,
              limit: int | None = None, seconds: float | None = None, progress: Progress | None = None,
              operator: str | None = None) -> BatchStep:
    """Move the batch's cases after `after` in id order, each in its own transaction, until done or the
    limit of cases or seconds is reached; the batch row keeps the counts."""
    batch = _batch(session, actor, batch_id)
    if batch.status != RUNNING:
        return BatchStep(batch, after, True)
    target = session.get_one(ProcessVersionRecord, batch.to_version_id)
    specs, began, handled, cursor = _Specs(session), time.monotonic(), 0, after
    query = _candidates(batch.process_id, batch.municipality_id, target.id)
    for case_id in _ids(session, query.where(CaseRecord.id > after)):
        outcome = _move_one(session, clock, actor, specs, batch, target, case_id, operator)
        cursor, handled = case_id, handled + 1
        if progress is not None and outcome != "skipped":
            progress(1)
        if (limit is not None and handled >= limit) or (seconds is not None and time.monotonic() - began > seconds):
            break
    else:
        return BatchStep(_finish(session, clock, actor, batch, operator), cursor, True)
    if session.scalar(query.where(CaseRecord.id > cursor).limit(1)) is None:
        return BatchStep(_finish(session, clock, actor, batch, operator), cursor, True)
    session.refresh(batch)
    return BatchStep(batch, cursor, False)


def migrate(session: Session, clock: Clock, actor: UserRecord | None, process_id: str, municipality_id: int,
            to_version_id: int | None = None, *, progress: Progress | None = None, via: str = "cli",
            operator: str | None = None) -> MigrationBatchRecord:
    """Plan, then move every movable case, each in its own transaction; the batch row holds the counts."""
    batch, _found = start_batch(session, clock, actor, process_id, municipality_id, to_version_id, via=via,
                                operator=operator)
    return run_batch(session, clock, actor, batch.id, progress=progress, operator=operator).batch


def _batch(session: Session, actor: UserRecord | None, batch_id: int) -> MigrationBatchRecord:
    batch = session.get(MigrationBatchRecord, batch_id)
    if batch is None or (actor is not None and batch.municipality_id != actor.municipality_id):
        raise NotFound("no such migration", element=str(batch_id))
    require_designer(actor, batch.municipality_id)
    return batch


def _move_one(session: Session, clock: Clock, actor: UserRecord | None, specs: _Specs, batch: MigrationBatchRecord,
              target: ProcessVersionRecord, case_id: int, operator: str | None) -> str:
    """Check one case again and move it; `moved`, `refused` (it changed since the batch began and now
    cannot move, or someone changed it meanwhile) or `skipped` (it could not move when planned either)."""
    try:
        with transaction(session):
            with session.no_autoflush:
                case = session.get_one(CaseRecord, case_id, populate_existing=True,
                                       options=[undefer(CaseRecord.workflow_state)])
                state = _recheck(specs, case, target)
                if state is None:
                    changed = case.updated_at is not None and case.updated_at > batch.started_at
                    if changed:
                        _refuse(session, clock, actor, batch, case, operator)
                    return "refused" if changed else "skipped"
                source = session.get_one(ProcessVersionRecord, case.process_version_id)
                before = ready_user_tasks(load_state(source.spec, case.workflow_state))
                workflow = load_state(target.spec, state)
            _lock_case(session, case)
            previous, now = case.workflow_state, clock()
            case.process_version = target
            _refresh_rows(session, case, before, ready_user_tasks(workflow))
            record_step(session, clock, actor, case, workflow, None)
            audit.record(session, clock, actor, "case.migrated", case_id=case.id, batch=batch.id,
                         from_version=source.id, to_version=target.id, municipality=case.municipality_id,
                         via="web" if actor is not None else "cli", operator=operator)
            session.flush()  # the case row's final write: its lock version is now the one to compare
            session.add(CaseMigrationRecord(case_id=case.id, batch_id=batch.id, from_version_id=source.id,
                                            to_version_id=target.id, previous_state=previous,
                                            lock_version_after=case.lock_version, migrated_at=now,
                                            migrated_by_id=actor.id if actor else None))
            # A case refused earlier in this batch (a pass continued after a closed page) counts once, as moved.
            _count(session, batch, moved=1, refused=-1 if _refused_before(session, batch, case.id) else 0)
    except Conflict:
        with transaction(session):
            _refuse(session, clock, actor, batch, session.get_one(CaseRecord, case_id), operator)
        return "refused"
    finally:
        session.expire_all()
    return "moved"


def _recheck(specs: _Specs, case: CaseRecord, target: ProcessVersionRecord) -> str | None:
    """The case's state moved to `target`, or None if it cannot move now."""
    if case.process_version_id == target.id or case.status in STOPPED:
        return None
    state, obstacle = specs.move(case, target)
    return state if obstacle is None else None


def _refused_before(session: Session, batch: MigrationBatchRecord, case_id: int) -> bool:
    """Whether this batch has already refused the case (a batch continued from its start visits it again)."""
    details: Iterator[object] = session.scalars(select(AuditRecord.detail).where(AuditRecord.case_id == case_id,
                                                               AuditRecord.action == "case.migration_refused"))
    return any(isinstance(d, dict) and d.get("batch") == batch.id for d in details)


def _refuse(session: Session, clock: Clock, actor: UserRecord | None, batch: MigrationBatchRecord, case: CaseRecord,
            operator: str | None) -> None:
    """Count the case as refused by this batch, once however often the batch visits it, with an audit row."""
    if _refused_before(session, batch, case.id):
        return
    audit.record(session, clock, actor, "case.migration_refused", case_id=case.id, batch=batch.id,
                 municipality=case.municipality_id, via="web" if actor is not None else "cli", operator=operator)
    _count(session, batch, refused=1)


def _count(session: Session, batch: MigrationBatchRecord, *, moved: int = 0, refused: int = 0) -> None:
    # One UPDATE adding to the counts, so that two requests working the same batch never lose a count.
    session.execute(update(MigrationBatchRecord).where(MigrationBatchRecord.id == batch.id)
                    .values(moved=MigrationBatchRecord.moved + moved, refused=MigrationBatchRecord.refused + refused)
                    .execution_options(synchronize_session=False))


def _finish(session: Session, clock: Clock, actor: UserRecord | None, batch: MigrationBatchRecord,
            operator: str | None) -> MigrationBatchRecord:
    with transaction(session):
        session.refresh(batch)
        if batch.status == RUNNING:
            batch.status, batch.finished_at = FINISHED, clock()
            audit.record(session, clock, actor, "migration.finished", municipality=batch.municipality_id,
                         process=batch.process_id, batch=batch.id, total=batch.total, moved=batch.moved,
                         refused=batch.refused, via="web" if actor is not None else "cli", operator=operator)
    return batch


def _refresh_rows(session: Session, case: CaseRecord, before: list[UserTaskView], after: list[UserTaskView]) -> None:
    """Open task rows that wait on in the new version take on its name, form, kind, priority and due period
    (counted from when the task was opened); a due date moved by hand stays unless the period changed."""
    old = {view.spiff_id: view for view in before}
    new = {view.spiff_id: view for view in after}
    rows = session.scalars(select(TaskRecord).where(TaskRecord.case_id == case.id,
                                                    TaskRecord.status == TaskStatus.OPEN))
    for row in rows:
        was, now = old.get(row.spiff_task_id), new.get(row.spiff_task_id)
        if was is None or now is None or (was.properties == now.properties and was.name == now.name):
            continue
        props, prior = now.properties, was.properties
        row.name = now.name[:300]
        row.form_file, row.ui_file = props.get("formJsonSchemaFilename"), props.get("formUiSchemaFilename")
        row.kind, row.priority = task_kind(props), int(props.get("priority", 0) or 0)
        if props.get("dueIn") != prior.get("dueIn"):
            row.due_at = parse_duration(props["dueIn"], row.created_at) if props.get("dueIn") else None
        if props.get("followUpIn") != prior.get("followUpIn"):
            row.follow_up_at = parse_duration(props["followUpIn"], row.created_at) if props.get("followUpIn") else None


def move_back(session: Session, clock: Clock, actor: UserRecord | None, case_id: int, *,
              operator: str | None = None) -> CaseMigrationRecord:
    """Put a migrated case back on its previous version and state, if it has not advanced since the move."""
    with transaction(session):
        with session.no_autoflush:
            case = session.get(CaseRecord, case_id, options=[undefer(CaseRecord.workflow_state)])
            if case is None or (actor is not None and case.municipality_id != actor.municipality_id):
                raise NotFound("no such case", element=str(case_id))
            require_designer(actor, case.municipality_id)
            row = session.scalar(select(CaseMigrationRecord).where(CaseMigrationRecord.case_id == case.id)
                                 .order_by(CaseMigrationRecord.id.desc()).limit(1))
            if row is None or row.moved_back_at is not None:
                raise InvalidState("the case was not moved to another version", element=case.reference,
                                   reason="not_migrated")
            if case.process_version_id != row.to_version_id or case.lock_version != row.lock_version_after:
                raise InvalidState("the case has advanced since it was moved", element=case.reference,
                                   reason="case_advanced")
            previous = session.get_one(ProcessVersionRecord, row.from_version_id)
            before = ready_user_tasks(load_state(case.process_version.spec, case.workflow_state))
            workflow = load_state(previous.spec, row.previous_state)
        _lock_case(session, case)
        case.process_version = previous
        _refresh_rows(session, case, before, ready_user_tasks(workflow))
        record_step(session, clock, actor, case, workflow, None)
        row.moved_back_at = clock()
        audit.record(session, clock, actor, "case.migrated_back", case_id=case.id, migration=row.id,
                     from_version=row.to_version_id, to_version=previous.id, municipality=case.municipality_id,
                     via="web" if actor is not None else "cli", operator=operator)
    return row


def migrations_of(session: Session, case_id: int) -> list[CaseMigrationRecord]:
    """A case's moves between versions, newest first."""
    return list(session.scalars(select(CaseMigrationRecord).where(CaseMigrationRecord.case_id == case_id)
                                .order_by(CaseMigrationRecord.id.desc())))


def latest_batch(session: Session, municipality_id: int, process_id: str) -> MigrationBatchRecord | None:
    """The newest batch of the process in the municipality, running or not."""
    return session.scalar(select(MigrationBatchRecord).where(MigrationBatchRecord.municipality_id == municipality_id,
                                                             MigrationBatchRecord.process_id == process_id)
                          .order_by(MigrationBatchRecord.id.desc()).limit(1))



def batch_moves(session: Session, batch_id: int, limit: int = 200) -> list[tuple[CaseMigrationRecord, str | None]]:
    """The cases a batch moved that are not moved back, with their references, oldest first."""
    rows = session.execute(select(CaseMigrationRecord, CaseRecord.reference)
                           .join(CaseRecord, CaseRecord.id == CaseMigrationRecord.case_id)
                           .where(CaseMigrationRecord.batch_id == batch_id, CaseMigrationRecord.moved_back_at.is_(None))
                           .order_by(CaseMigrationRecord.id).limit(limit)).all()
    return [(row[0], row[1]) for row in rows]
