"""Helpers for the multi-process scheduler tests: many waiting cases made fast, scheduler child
processes, and counts read back from the database.

Many cases: one case is started and worked through engine commands, then its rows are copied with
SQL. Each copy is an independent case: its own id and reference, fresh SpiffWorkflow task ids in its
workflow state, and its own task rows under those ids.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from tsunagu.engine.clock import Clock
from tsunagu.engine.commands import cases
from tsunagu.engine.models import AuditRecord, CaseRecord, ProcessVersionRecord, TaskRecord, TaskStatus, UserRecord

SPIFF_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CASES = CaseRecord.__table__
TASKS = TaskRecord.__table__
CHILD = Path(__file__).with_name("scheduler_child.py")


def start_waiting_case(session: Session, clock: Clock, actor: UserRecord, version: ProcessVersionRecord) -> CaseRecord:
    """A case of the timers fixture past its first task, waiting on its 7-day timer."""
    case = cases.start_case(session, clock, actor, version, "複製元")
    task = session.scalar(select(TaskRecord).where(TaskRecord.case_id == case.id, TaskRecord.status == TaskStatus.OPEN))
    cases.complete_task(session, clock, actor, task.id, {})
    return case


def clone_case(session: Session, case_id: int, copies: int) -> list[int]:
    """Insert and commit `copies` independent copies of a case; return their ids."""
    template = session.execute(select(CASES).where(CASES.c.id == case_id)).mappings().one()
    task_rows = session.execute(select(TASKS).where(TASKS.c.case_id == case_id)).mappings().all()
    rows, renames = [], []
    for _ in range(copies):
        fresh: dict[str, str] = {}
        state = SPIFF_ID.sub(lambda m: fresh.setdefault(m.group(0), str(uuid.uuid4())),  # noqa: B023  (used at once)
                             template["workflow_state"])
        rows.append({**_without(template, "id", "reference"), "workflow_state": state})
        renames.append(fresh)
    connection = session.connection()
    ids = list(connection.execute(insert(CASES).returning(CASES.c.id, sort_by_parameter_order=True), rows).scalars())
    year = template["reference"].split("-")[0]
    connection.execute(update(CASES).where(CASES.c.id == bindparam("case_id")).values(reference=bindparam("ref")),
                       [{"case_id": i, "ref": f"{year}-{i:06d}"} for i in ids])
    if task_rows:
        connection.execute(insert(TASKS), [
            {**_without(row, "id"), "case_id": new_id,
             "spiff_task_id": fresh.get(row["spiff_task_id"]) or str(uuid.uuid4())}
            for new_id, fresh in zip(ids, renames, strict=True) for row in task_rows])
    session.commit()
    return ids


def _without(row, *names) -> dict:
    return {k: v for k, v in row.items() if k not in names}


def spawn_scheduler(url: str, holder: str, now, *options: str) -> subprocess.Popen:
    """Start a scheduler child process (see scheduler_child.py) on a fixed clock."""
    return subprocess.Popen([sys.executable, str(CHILD), url, holder, now.isoformat(), *options],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(child: subprocess.Popen, timeout: float = 60) -> dict:
    """Wait for a scheduler child to end on its own and return its JSON report."""
    out, err = child.communicate(timeout=timeout)
    assert child.returncode == 0, f"scheduler child failed ({child.returncode}):\n{err}"
    return json.loads(out.strip().splitlines()[-1])


def wait_for_file(path: Path, child: subprocess.Popen, timeout: float = 60) -> None:
    """Wait until a child process creates `path`; fail early if the child ends first."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if child.poll() is not None:
            raise AssertionError(f"scheduler child ended early ({child.returncode}):\n{child.stderr.read()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no {path.name} from the scheduler child after {timeout}s")
        time.sleep(0.02)


def firings_per_case(session: Session) -> Counter:
    """How many `timer.fired` audit rows each case has."""
    return Counter(dict(session.execute(select(AuditRecord.case_id, func.count()).where(
        AuditRecord.action == "timer.fired").group_by(AuditRecord.case_id)).all()))


def open_reviews_per_case(session: Session) -> Counter:
    """How many open `review` task rows each case has."""
    return Counter(dict(session.execute(select(TaskRecord.case_id, func.count()).where(
        TaskRecord.element_id == "review", TaskRecord.status == TaskStatus.OPEN).group_by(TaskRecord.case_id)).all()))


def still_due(session: Session, now) -> int:
    """Cases the scheduler would still pick up at `now`."""
    return session.scalar(select(func.count()).select_from(CaseRecord).where(CaseRecord.next_timer_at < now))
