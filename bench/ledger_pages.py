"""What one page of the progress ledger (進行管理台帳, /ledger) costs with 1,000 and with 10,000 open cases.

The ledger reads one page (200 rows) in a fixed number of statements; this prints the p50 and p95 of
20 reads per size and sort, and the ratio large / small (target: at most 1.5).

    .venv/bin/python bench/ledger_pages.py                      # 1,000 and 10,000 cases, SQLite file
    .venv/bin/python bench/ledger_pages.py --with-100k          # and 100,000
    .venv/bin/python bench/ledger_pages.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Rows are made with bulk SQL straight into the tables, no process runs: every case is tabled at one of
the council's meetings (one in ten still waits to be tabled, with an open `table_case` task), has a
decision with two support actions and a completed contact task. On PostgreSQL everything happens in a
private schema, dropped after.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from databases import Database  # bench/databases.py, beside this script
from sqlalchemy import Connection, Table, insert, text

from tsunagu.engine.access.users import create_user
from tsunagu.engine.casefile.governance import CouncilMunicipalityRecord, CouncilRecord
from tsunagu.engine.casefile.tables import (
    ActionStatus,
    ActionTypeRecord,
    AgendaItemRecord,
    CouncilDecisionRecord,
    CouncilMeetingRecord,
    OrganisationKind,
    OrganisationRecord,
    SupportActionRecord,
)
from tsunagu.engine.clock import FixedClock
from tsunagu.engine.commands.ledger import LedgerFilters, LedgerSort, ledger
from tsunagu.engine.models import CaseRecord, CaseStatus, MunicipalityRecord, TaskRecord, TaskStatus, UserRecord
from tsunagu.processes.deployment import deploy
from tsunagu.processes.loader import load_definition

STANDARD = Path(__file__).resolve().parents[1] / "bpmn" / "kodoku_koritsu_case"
NOW = datetime(2026, 12, 10, 1, 0, tzinfo=timezone.utc)
CHUNK = 5000
CASES_PER_MEETING = 50
TARGET = 1.5


def seed_world(db: Database) -> dict[str, int]:
    """A municipality, its council and coordinating body, a coordinator, two member bodies and the process."""
    clock = FixedClock(NOW)
    with db.session_factory() as session:
        town = MunicipalityRecord(code="139999", name="ベンチ市")
        session.add(town)
        session.flush()
        coordinating = OrganisationRecord(municipality_id=town.id, name="地域福祉課", kind=OrganisationKind.DEPARTMENT,
                                          is_coordinating_body=True)
        npo = OrganisationRecord(municipality_id=town.id, name="NPO", kind=OrganisationKind.MEMBER_BODY)
        shakyo = OrganisationRecord(municipality_id=town.id, name="社協", kind=OrganisationKind.MEMBER_BODY)
        session.add_all([coordinating, npo, shakyo])
        session.flush()
        council = CouncilRecord(name="ベンチ協議会", established_on=date(2024, 4, 1), coordinating_body_id=coordinating.id,
                                coordinating_designated_on=date(2024, 4, 1))
        session.add(council)
        session.flush()
        session.add(CouncilMunicipalityRecord(council_id=council.id, municipality_id=town.id))
        visit = ActionTypeRecord(municipality_id=town.id, code="visit", name="訪問", default_owner_body_id=shakyo.id)
        session.add(visit)
        user = create_user(session, clock, municipality_id=town.id, username="bench-coordinator",
                           display_name="bench", password="bench-password", roles=["coordinator"],
                           organisation_id=coordinating.id)
        session.commit()
        version = deploy(session, clock, load_definition(STANDARD)).version
        session.commit()
        return {"town": town.id, "council": council.id, "user": user.id, "version": version.id, "npo": npo.id,
                "shakyo": shakyo.id, "visit": visit.id}


def _insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    return list(conn.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows).scalars())


def seed_cases(db: Database, world: dict[str, int], count: int) -> None:
    """Bulk-insert `count` open cases with their meetings, agenda items, decisions, actions and tasks."""
    cases, tasks, items = CaseRecord.__table__, TaskRecord.__table__, AgendaItemRecord.__table__
    decisions, actions = CouncilDecisionRecord.__table__, SupportActionRecord.__table__
    with db.engine.begin() as conn:
        meetings = _insert(conn, CouncilMeetingRecord.__table__, [
            {"municipality_id": world["town"], "council_id": world["council"], "title": f"会議 {m}", "kind": "case",
             "held_on": date(2026, 1, 1) + timedelta(days=m % 330), "created_at": NOW}
            for m in range(count // CASES_PER_MEETING + 1)])
        for first in range(0, count, CHUNK):
            numbers = range(first, min(first + CHUNK, count))
            ids = _insert(conn, cases, [
                {"reference": f"B-{i:07d}", "municipality_id": world["town"], "process_version_id": world["version"],
                 "title": f"ベンチ {i}", "status": CaseStatus.WAITING.value, "workflow_state": "{}", "lock_version": 1,
                 "created_by_id": world["user"], "created_at": NOW - timedelta(days=i % 400), "updated_at": NOW,
                 "episode": 1, "timer_attempts": 0} for i in numbers])
            waiting = [(i, case) for i, case in zip(numbers, ids, strict=True) if i % 10 == 0]
            tabled = [(i, case) for i, case in zip(numbers, ids, strict=True) if i % 10 != 0]
            decided = _insert(conn, decisions, [
                {"meeting_id": meetings[i // CASES_PER_MEETING], "case_id": case, "situation": "状況",
                 "risk": ("normal", "high", "urgent")[i % 3], "plan": "居場所につなぎ、電話で見守る。" * 5,
                 "lead_body_id": world["npo"] if i % 2 else world["shakyo"],
                 "next_review_on": date(2026, 6, 1) + timedelta(days=i % 365), "recorded_by_id": world["user"],
                 "recorded_at": NOW} for i, case in tabled])
            conn.execute(insert(items), [
                {"meeting_id": meetings[i // CASES_PER_MEETING], "case_id": case,
                 "basis": "consent" if i % 4 else "council_art16", "tabled_at": NOW, "decision_id": decision}
                for (i, case), decision in zip(tabled, decided, strict=True)])
            conn.execute(insert(actions), [
                {"case_id": case, "action_type_id": world["visit"], "owner_body_id": body, "decision_id": decision,
                 "status": ActionStatus.ACCEPTED.value, "created_by_id": world["user"], "created_at": NOW}
                for (_i, case), decision in zip(tabled, decided, strict=True) for body in (world["npo"], world["shakyo"])])
            conn.execute(insert(tasks), [
                {"case_id": case, "municipality_id": world["town"], "spiff_task_id": str(uuid.uuid4()),
                 "element_id": "table_case" if open_ else "contact_attempt", "name": "付議" if open_ else "連絡",
                 "role": "coordinator" if open_ else "caseworker",
                 "status": (TaskStatus.OPEN if open_ else TaskStatus.COMPLETED).value, "priority": 0,
                 "created_at": NOW - timedelta(days=i % 90), "completed_at": None if open_ else NOW - timedelta(days=i % 90)}
                for rows, open_ in ((waiting, True), (tabled, False)) for i, case in rows])
    with db.engine.begin() as conn:  # fresh statistics, as autovacuum would gather after a day's work
        conn.execute(text("ANALYZE"))


def time_ledger(db: Database, world: dict[str, int], sort: LedgerSort, runs: int) -> tuple[float, float, int]:
    """p50 and p95 in milliseconds of `runs` reads of the ledger's first page, after 2 warm-ups."""
    clock = FixedClock(NOW)
    times = []
    with db.session_factory() as session:
        user = session.get(UserRecord, world["user"])
        assert user is not None
        total = 0
        for run in range(runs + 2):
            started = time.perf_counter()
            total = ledger(session, clock, user, LedgerFilters(), sort).total
            if run >= 2:
                times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))], total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a PostgreSQL URL (default: a SQLite file in a temporary folder)")
    parser.add_argument("--with-100k", action="store_true", help="also measure 100,000 cases")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args(argv)
    sizes = [1000, 10000] + ([100000] if args.with_100k else [])
    results: dict[tuple[LedgerSort, int], tuple[float, float, int]] = {}
    for size in sizes:
        db = Database(args.database_url)
        try:
            started = time.perf_counter()
            world = seed_world(db)
            seed_cases(db, world, size)
            print(f"  ... {size:,} cases seeded ({time.perf_counter() - started:.0f}s)", flush=True)
            for sort in LedgerSort:
                results[(sort, size)] = time_ledger(db, world, sort, args.runs)
        finally:
            db.drop()
    print(f"\n{'sort':<13}{'cases':>9}{'ledger rows':>13}{'p50 ms':>10}{'p95 ms':>10}")
    for (sort, size), (p50, p95, total) in results.items():
        print(f"{sort.value:<13}{size:>9,}{total:>13,}{p50:>10.1f}{p95:>10.1f}")
    print()
    missed = False
    for sort in LedgerSort:
        small, large = results[(sort, sizes[0])], results[(sort, sizes[-1])]
        ratio = large[0] / small[0]
        missed |= ratio > TARGET
        print(f"{sort.value}: p50({sizes[-1]:,}) / p50({sizes[0]:,}) = {ratio:.2f}  "
              f"(p95 ratio {large[1] / small[1]:.2f}; target at most {TARGET})")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
