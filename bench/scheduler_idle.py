"""What one scheduler pass costs: with many waiting cases none of which is due, and with due ones.

The scheduler finds due work through the `cases.next_timer_at` index, so an idle pass should cost
about the same with 1,000 or 100,000 waiting cases (target: idle(100k) / idle(1k) below 2), and a
busy pass (`--due` timers, default 1,000, added to the same databases) should grow with the number of
due timers only, not with the waiting cases.

    .venv/bin/python bench/scheduler_idle.py                      # SQLite file in a temporary folder
    .venv/bin/python bench/scheduler_idle.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Rows are made with bulk SQL: idle cases share the workflow state of one real waiting case (an idle
pass must never load it), due cases are copies of that case with fresh SpiffWorkflow task ids, so
firing them runs the real engine. On PostgreSQL everything happens in a private schema, dropped after.
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from databases import Database  # bench/databases.py, beside this script
from sqlalchemy import insert, make_url, select, text

from tsunagu.engine.access.users import create_user
from tsunagu.engine.clock import FixedClock
from tsunagu.engine.commands import cases
from tsunagu.engine.commands.scheduler import TimerPolicy, run_pass
from tsunagu.engine.models import CaseRecord, MunicipalityRecord, TaskRecord, TaskStatus
from tsunagu.processes.deployment import deploy
from tsunagu.processes.loader import load_definition

TIMERS_FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "bpmn" / "timers"
START = datetime(2026, 11, 27, 0, 0, tzinfo=timezone.utc)
FIRE_AT = START + timedelta(days=7, minutes=1)  # the 7-day timer of the fixture is due
IDLE_AT = START + timedelta(days=1)  # nothing is due yet
WARM_UP = 20  # due cases fired before the timed busy passes: pools, caches and the parsed spec warm
SPIFF_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CHUNK = 5000
CASES = CaseRecord.__table__
TASKS = TaskRecord.__table__


@dataclass
class Row:
    kind: str  # idle, idle+T (with open overdue tasks), due
    waiting: int  # waiting cases in the database, not due (for `due`: besides the due ones)
    due: int
    median_ms: float
    queries: int
    fired: int


def seed_template(db: Database) -> dict[str, Any]:
    """One real case of the timers fixture, waiting on its 7-day timer; return its cases row."""
    clock = FixedClock(START)
    with db.session_factory() as session:
        town = MunicipalityRecord(code="139999", name="ベンチ市")
        session.add(town)
        session.commit()
        worker = create_user(session, clock, municipality_id=town.id, username="bench", display_name="bench",
                             password="bench-password", roles=["caseworker"])
        session.commit()
        version = deploy(session, clock, load_definition(TIMERS_FIXTURE)).version
        session.commit()
        case = cases.start_case(session, clock, worker, version, "ベンチ")
        task = session.scalar(select(TaskRecord).where(TaskRecord.case_id == case.id,
                                                       TaskRecord.status == TaskStatus.OPEN))
        cases.complete_task(session, clock, worker, task.id, {})
        return dict(session.execute(select(CASES).where(CASES.c.id == case.id)).mappings().one())


def insert_cases(db: Database, template: dict[str, Any], count: int, *, due: bool, tag: str) -> list[int]:
    """Bulk-insert `count` waiting cases: idle ones share the template's state, due ones get their own."""
    base = {k: v for k, v in template.items() if k not in ("id", "reference")}
    ids = []
    with db.engine.begin() as conn:
        for first in range(0, count, CHUNK):
            rows = []
            for i in range(first, min(first + CHUNK, count)):
                row = {**base, "reference": f"{tag}-{i:07d}"}
                if due:
                    fresh: dict[str, str] = {}
                    row["workflow_state"] = SPIFF_ID.sub(lambda m: fresh.setdefault(m.group(0), str(uuid.uuid4())),  # noqa: B023
                                                         template["workflow_state"])
                else:  # due 1 to 29 days after the busy passes' moment, spread over the index: never due here
                    row["next_timer_at"] = FIRE_AT + timedelta(days=1, seconds=(i * 2593) % (28 * 86400))
                rows.append(row)
            ids += conn.execute(insert(CASES).returning(CASES.c.id, sort_by_parameter_order=True), rows).scalars()
    return ids


def insert_overdue_tasks(db: Database, template: dict[str, Any], case_ids: list[int]) -> None:
    """Give each case one open task, long overdue and already announced as due soon and overdue:
    the steady state of a busy office, which a pass must not read again and again."""
    with db.engine.begin() as conn:
        for first in range(0, len(case_ids), CHUNK):
            conn.execute(insert(TASKS), [
                {"case_id": case_id, "municipality_id": template["municipality_id"],
                 "spiff_task_id": str(uuid.uuid4()), "element_id": "review", "name": "見直し",
                 "role": "caseworker", "form_file": "note-schema.json", "status": TaskStatus.OPEN, "priority": 0,
                 "created_at": START, "due_at": IDLE_AT - timedelta(hours=1 + i % 500),
                 "due_soon_noticed_at": START, "overdue_noticed_at": START}
                for i, case_id in enumerate(case_ids[first:first + CHUNK], start=first)])


def time_pass(db: Database, now: datetime) -> tuple[float, int, int]:
    """Wall time of one pass in ms, the queries it issued and the cases it fired."""
    db.queries = 0
    started = time.perf_counter()
    report = run_pass(db.session_factory, FixedClock(now), TimerPolicy(), "bench")
    elapsed = (time.perf_counter() - started) * 1000
    assert not report.skipped and not report.failed
    return elapsed, db.queries, len(report.fired)


def idle_database(base_url: str | None, waiting: int, open_tasks: bool) -> tuple[Database, dict[str, Any]]:
    """A database of `waiting` waiting cases, none due (the template case among them); and the template."""
    db = Database(base_url)
    template = seed_template(db)
    case_ids = insert_cases(db, template, waiting - 1, due=False, tag="I")
    if open_tasks:
        insert_overdue_tasks(db, template, case_ids)
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return db, template


def idle_rows(base_url: str | None, kind: str, sizes: list[int], runs: int, due: int = 0,
              due_runs: int = 0) -> list[Row]:
    """Time idle passes on one database per size, taking turns, so that load from other programs
    on the machine falls on every size alike; then, with `due`, busy passes in the same databases."""
    started = time.perf_counter()
    dbs = []
    try:
        for size in sizes:
            dbs.append(idle_database(base_url, size, open_tasks=kind == "idle+T"))
        print(f"  ... {kind} databases ready ({time.perf_counter() - started:.0f}s)", flush=True)
        times: list[list[float]] = [[] for _ in dbs]
        queries = [0] * len(dbs)
        for run in range(runs + 2):  # the first two warm pools and caches
            for i, (db, _template) in enumerate(dbs):
                ms, queries[i], fired = time_pass(db, IDLE_AT)
                assert fired == 0
                if run >= 2:
                    times[i].append(ms)
        rows = [Row(kind, size, 0, statistics.median(t), q, 0) for size, t, q in zip(sizes, times, queries, strict=True)]
        if due:
            rows += [due_row(db, template, size, due, due_runs) for size, (db, template) in zip(sizes, dbs, strict=True)]
        return rows
    finally:
        for db, _template in dbs:
            db.drop()


def due_row(db: Database, template: dict[str, Any], waiting: int, due: int, runs: int) -> Row:
    """Median of `runs` passes, each firing a fresh batch of `due` due cases added to the `waiting` ones,
    after one warm-up pass firing a few (and the template case)."""
    started = time.perf_counter()
    times = []
    for run in range(runs + 1):
        insert_cases(db, template, due if run else WARM_UP, due=True, tag=f"D{run}")
        ms, queries, fired = time_pass(db, FIRE_AT)  # fired cases then wait 3 days on their reminder
        if run:
            assert fired == due, fired
            times.append(ms)
    print(f"  ... {due:,} due among {waiting:,} waiting ({time.perf_counter() - started:.0f}s with seeding)", flush=True)
    return Row("due", waiting, due, statistics.median(times), queries, fired)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="PostgreSQL URL (default: a SQLite file in a temporary folder)")
    parser.add_argument("--sizes", default="1000,100000", help="numbers of idle waiting cases (default 1000,100000)")
    parser.add_argument("--due", type=int, default=1000, help="due cases fired in one pass, at every size (default 1000; 0: skip)")
    parser.add_argument("--runs", type=int, default=15, help="idle passes timed per size (median), sizes taking turns")
    parser.add_argument("--due-runs", type=int, default=3, help="busy passes timed (median)")
    parser.add_argument("--no-open-tasks", dest="open_tasks", action="store_false",
                        help="skip the idle+T rows (every case also has an open task, overdue and already announced)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    backend = make_url(args.database_url).get_backend_name() if args.database_url else "sqlite"
    print(f"scheduler pass on {backend}: median of {args.runs} idle / {args.due_runs} busy passes", flush=True)

    rows = idle_rows(args.database_url, "idle", sizes, args.runs, args.due, args.due_runs)
    if args.open_tasks:
        rows += idle_rows(args.database_url, "idle+T", sizes, args.runs)

    print()
    print(f"{'pass':<8}{'cases':>10}{'due':>8}{'median ms':>12}{'queries':>10}{'fired':>8}{'ms/firing':>11}")
    for row in rows:
        per = f"{row.median_ms / row.fired:.1f}" if row.fired else "-"
        print(f"{row.kind:<8}{row.waiting:>10,}{row.due:>8,}{row.median_ms:>12.1f}{row.queries:>10,}"
              f"{row.fired:>8,}{per:>11}")
    if args.open_tasks:
        print("idle+T: every waiting case also has one open task, overdue and already announced")
    if args.due:
        print("due: the due cases fired by one pass, added to the idle database of that many waiting cases")
    print()
    ok = True
    ratios = {}
    for kind in ("idle", "idle+T", "due"):
        same = [r for r in rows if r.kind == kind]
        if len(same) < 2:
            continue
        small, large = same[0], same[-1]
        ratio = large.median_ms / small.median_ms
        ratios[kind] = ratio
        if kind == "due":  # the issue sets no target on busy passes: informative
            print(f"due({large.waiting:,}) / due({small.waiting:,}) = {ratio:.2f}  (informative: the same"
                  f" {large.due:,} firings among more waiting cases)")
            continue
        ok &= ratio < 2
        verdict = "about the same: OK" if ratio < 2 else "grows with the number of cases: NOT OK"
        print(f"{kind}({large.waiting:,}) / {kind}({small.waiting:,}) = {ratio:.2f}  "
              f"(target: about the same, below 2) -> {verdict}")
    if args.json:
        Path(args.json).write_text(json.dumps({"database": backend, "ratios": ratios, "rows": [
            {"kind": r.kind, "cases": r.waiting, "due": r.due, "median_ms": r.median_ms, "queries": r.queries,
             "fired": r.fired} for r in rows]}, indent=1), encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
