"""What the list pages cost with 1,000 and with 100,000 cases: a caseworker's inbox (/) and its task
counts, the supervisor's dashboard (/supervision), the case list (/cases) and the progress ledger (/ledger).

Each page is read `--runs` times per size after 2 warm-ups, each read in a fresh session as a request
would; this prints the p50 and p95 and the ratio largest / smallest size. The target is that a page does
not grow with the municipality's history: in the `history` world both sizes have the same 300 open cases
and the same team, only the closed cases differ (700 against 99,700); there a p50 ratio above 1.5 makes
the script exit 1. The `growing` world (open cases 300 + 3 % of all, so ten times more at 100,000) and
the `busy` world (every case open) are informative: their pages rightly hold more rows.

    .venv/bin/python bench/list_pages.py                          # history and growing, SQLite file
    .venv/bin/python bench/list_pages.py --worlds history --sizes 1000,10000    # quicker
    .venv/bin/python bench/list_pages.py --worlds busy            # every case open and tabled
    .venv/bin/python bench/list_pages.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/list_pages.py --index ix_x:tasks:case_id,status    # try an index first
    .venv/bin/python bench/list_pages.py --profile dashboard      # each statement's time at the largest size

The world (`seed`, rows inserted in bulk, no process runs; the case columns and `tasks.kind` filled as
the engine fills them): one caseworker per 80 open cases in teams of 5 (5 caseworkers for 300 open
cases, 40 for 3,300), one supervisor of the first team, one coordinator of the council's coordinating
body. Closed cases are spread over the eight years before, among the same caseworkers (in `history` the
supervised team worked every case: the worst case for its lists). Of the open cases 9 in 10 are tabled
(meeting, agenda item, decision with risk and next review, two support actions, an open review task a
third of which are overdue) and 1 in 10 waits to be tabled (an open tabling task); some have an open
partner response or an unassigned contact attempt. A third of the closed cases were tabled once. Every
case has its person (name and kana search keys) and one caseworker. Every case has the history the engine
leaves: a form submission and a `task.completed` audit row per completed task, and audit rows for its
start, one read and (closed cases) its closure; the script prints these history rows per size (over a
million at 100,000 cases).

People, their names and kana keys, the caseworkers and their teams and the bulk inserts come from the
shared seeder, engine/admin/seed.py, which `tsunagu seed` uses too; `tsunagu seed` copies real template
cases, whereas the shapes above (no workflow state, every list column filled) are this benchmark's own.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Any

from databases import Database  # bench/databases.py, beside this script
from sqlalchemy import Connection, event, func, insert, select, text, update
from sqlalchemy.orm import Session

from tsunagu.engine.access.users import create_user
from tsunagu.engine.admin.seed import GIVEN, SURNAMES, caseworkers_for, insert_caseworkers, insert_rows, person_row
from tsunagu.engine.casefile.governance import CouncilMunicipalityRecord, CouncilRecord
from tsunagu.engine.casefile.tables import (
    ActionStatus,
    ActionTypeRecord,
    AgendaItemRecord,
    CaseStaffRecord,
    CouncilDecisionRecord,
    CouncilMeetingRecord,
    OrganisationKind,
    OrganisationRecord,
    PersonRecord,
    SupportActionRecord,
)
from tsunagu.engine.clock import FixedClock
from tsunagu.engine.commands import queries
from tsunagu.engine.commands.case_list import CaseFilters, search_cases
from tsunagu.engine.commands.ledger import LedgerFilters, LedgerSort, ledger
from tsunagu.engine.commands.supervision import dashboard, task_list
from tsunagu.engine.models import (
    AuditRecord,
    CaseRecord,
    CaseStatus,
    FormSubmissionRecord,
    MunicipalityRecord,
    TaskRecord,
    TaskStatus,
    UserRecord,
)
from tsunagu.engine.runtime.forms import today_in_japan
from tsunagu.processes.deployment import deploy
from tsunagu.processes.loader import load_definition

STANDARD = Path(__file__).resolve().parents[1] / "bpmn" / "kodoku_koritsu_case"
NOW = datetime(2026, 12, 10, 1, 0, tzinfo=timezone.utc)
TODAY = date(2026, 12, 10)
CHUNK = 5000
CASES_PER_MEETING = 50
TARGET = 1.5
NAMES = (SURNAMES[:20], GIVEN[:10])  # 20 surnames and 10 given names: 佐藤 花子 is one person in 200
SEARCHED = "佐藤 花"  # a common name, one in 200: its matches grow with the history (informative)
RETURNING = ("鈴鹿", "ゆり", "すずか ゆり")  # one person's five cases, at every size: the same result, more history
CHANNELS = ("walk_in", "phone", "sns", "outreach", "referral")
RISKS = ("normal", "high", "urgent")


def seed_people(db: Database, workers: int) -> dict[str, Any]:
    """The municipality, its council and bodies, the process, the coordinator, supervisor and `workers`
    caseworkers in teams of five."""
    clock = FixedClock(NOW)
    with db.session_factory() as session:
        town = MunicipalityRecord(code="139999", name="ベンチ市")
        session.add(town)
        session.flush()
        bodies = [OrganisationRecord(municipality_id=town.id, name=name, kind=kind, is_coordinating_body=coordinating)
                  for name, kind, coordinating in (("地域福祉課", OrganisationKind.DEPARTMENT, True),
                                                   ("NPO", OrganisationKind.MEMBER_BODY, False),
                                                   ("社協", OrganisationKind.MEMBER_BODY, False))]
        session.add_all(bodies)
        session.flush()
        council = CouncilRecord(name="ベンチ協議会", established_on=date(2018, 4, 1), coordinating_body_id=bodies[0].id,
                                coordinating_designated_on=date(2018, 4, 1))
        session.add(council)
        session.flush()
        session.add(CouncilMunicipalityRecord(council_id=council.id, municipality_id=town.id))
        visit = ActionTypeRecord(municipality_id=town.id, code="visit", name="訪問", default_owner_body_id=bodies[2].id)
        session.add(visit)
        coordinator = create_user(session, clock, municipality_id=town.id, username="bench-coordinator",
                                  display_name="調整 太郎", password="bench-password", roles=["coordinator"],
                                  organisation_id=bodies[0].id)
        supervisor = create_user(session, clock, municipality_id=town.id, username="bench-supervisor",
                                 display_name="監督 花子", password="bench-password", roles=["supervisor"],
                                 organisation_id=bodies[0].id)
        session.commit()
        version = deploy(session, clock, load_definition(STANDARD)).version
        session.commit()
        world = {"town": town.id, "council": council.id, "coordinator": coordinator.id, "supervisor": supervisor.id,
                 "version": version.id, "content_hash": version.content_hash, "department": bodies[0].id, "npo": bodies[1].id, "shakyo": bodies[2].id,
                 "visit": visit.id}
        password_hash = supervisor.password_hash
    with db.engine.begin() as conn:  # caseworkers in bulk, in teams of five: one password hash for all
        ids = insert_caseworkers(conn, municipality_id=world["town"], organisation_id=world["department"],
                                 count=workers, password_hash=password_hash, username=lambda n: f"bench-worker-{n}",
                                 now=NOW, supervisor_id=world["supervisor"])
    world["workers"] = ids
    return world


def _insert(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> list[int]:
    return insert_rows(conn, table, rows)


def _person(i: int, count: int, rng: random.Random) -> dict[str, Any]:
    returning = i in (0, 1, 2, count - 2, count - 1)  # three old closed cases and two open ones of one person
    return person_row(rng, 0, NOW, 1930 + i % 70, *NAMES, name=RETURNING if returning else None)


def seed_cases(db: Database, world: dict[str, Any], count: int, open_count: int) -> None:
    """Bulk-insert `count` cases, the last `open_count` of them open, with everything lists read."""
    rng = random.Random(count)  # noqa: S311 - names for a benchmark, not secrets
    closed = count - open_count
    span = timedelta(days=8 * 365)
    with db.engine.begin() as conn:
        for first in range(0, count, CHUNK):
            numbers = list(range(first, min(first + CHUNK, count)))
            persons = _insert(conn, PersonRecord.__table__, [
                {**_person(i, count, rng), "municipality_id": world["town"]} for i in numbers])
            facts = [_case_facts(i, closed, span) for i in numbers]
            ids = _insert(conn, CaseRecord.__table__, [
                {"reference": f"2026-{i:06d}", "municipality_id": world["town"], "process_version_id": world["version"],
                 "title": f"相談 {i}", "person_id": person, "status": f["status"], "workflow_state": "{}",
                 "lock_version": 1, "created_by_id": world["workers"][i % len(world["workers"])], "created_at": f["created"],
                 "updated_at": f["updated"], "completed_at": f["completed"], "episode": 1, "timer_attempts": 0,
                 "closure_reason": "goal_reached" if f["completed"] else None,
                 "error_element": "review_assessment" if f["status"] == CaseStatus.ERROR.value else None,
                 "channel": CHANNELS[i % len(CHANNELS)], "opened_on": f["created"].date(),
                 "risk": RISKS[i % 3], "last_contact_at": f["contact"]}
                for i, person, f in zip(numbers, persons, facts, strict=True)])
            conn.execute(insert(CaseStaffRecord.__table__), [
                {"case_id": case, "user_id": world["workers"][i % len(world["workers"])], "since": f["created"]}
                for i, case, f in zip(numbers, ids, facts, strict=True)])
            tabled = [(i, case, f) for i, case, f in zip(numbers, ids, facts, strict=True) if f["tabled_on"]]
            _seed_council(conn, world, tabled)
            tasks = [task for i, case, f in zip(numbers, ids, facts, strict=True) for task in _tasks(world, i, case, f)]
            _seed_history(conn, world, list(zip(numbers, ids, facts, strict=True)), tasks,
                          _insert(conn, TaskRecord.__table__, tasks))
        conn.execute(text("ANALYZE"))  # without statistics PostgreSQL plans the update below as nested scans
        # The case keeps its latest decision (council.record_decision), with that decision's risk and review.
        cases, every, one = CaseRecord.__table__, CouncilDecisionRecord.__table__.alias(), CouncilDecisionRecord.__table__.alias()
        newest = select(func.max(every.c.id)).where(every.c.case_id == cases.c.id).scalar_subquery()
        conn.execute(update(cases).where(newest.is_not(None)).values(
            latest_decision_id=newest, risk=select(one.c.risk).where(one.c.id == newest).scalar_subquery(),
            next_review_on=select(one.c.next_review_on).where(one.c.id == newest).scalar_subquery()))
    with db.engine.begin() as conn:  # fresh statistics, as autovacuum would gather after a day's work
        conn.execute(text("ANALYZE"))


def _case_facts(i: int, closed: int, span: timedelta) -> dict[str, Any]:
    if i < closed:  # closed over the eight years before, oldest first
        completed = NOW - span * (closed - i) / closed
        created = completed - timedelta(days=60 + i % 300)
        tabled_on = (created + timedelta(days=30)).date() if i % 3 == 0 else None
        return {"status": CaseStatus.COMPLETED.value, "created": created, "updated": completed, "completed": completed,
                "contact": completed - timedelta(days=7), "tabled_on": tabled_on, "open": False}
    created = NOW - timedelta(days=(i * 7) % 700 + 1)
    status = CaseStatus.ERROR.value if i % 97 == 5 else CaseStatus.WAITING.value
    tabled_on = None if i % 10 == 0 else max(created.date(), TODAY - timedelta(days=(i * 13) % 330))
    return {"status": status, "created": created, "updated": NOW - timedelta(minutes=(i * 37) % 43200),
            "completed": None, "contact": None if i % 6 == 0 else NOW - timedelta(days=(i * 5) % 120),
            "tabled_on": tabled_on, "open": True}


def _seed_council(conn: Connection, world: dict[str, Any], tabled: list[tuple[int, int, dict[str, Any]]]) -> None:
    """Meetings of 50 cases each, an agenda item, a decision and two actions for every tabled case."""
    meetings = _insert(conn, CouncilMeetingRecord.__table__, [
        {"municipality_id": world["town"], "council_id": world["council"], "title": f"個別ケース検討会議 {n}",
         "kind": "case", "held_on": tabled[n][2]["tabled_on"], "created_at": NOW}
        for n in range(0, len(tabled), CASES_PER_MEETING)])
    meeting_of = [meetings[n // CASES_PER_MEETING] for n in range(len(tabled))]
    decided = _insert(conn, CouncilDecisionRecord.__table__, [
        {"meeting_id": meeting, "case_id": case, "situation": "状況", "risk": RISKS[(i * 5) % 3],
         "plan": "居場所につなぎ、電話で見守る。" * 5, "lead_body_id": world["npo"] if i % 2 else world["shakyo"],
         "next_review_on": (TODAY + timedelta(days=(i * 11) % 180 - 60)) if f["open"] else f["tabled_on"],
         "recorded_by_id": world["coordinator"], "recorded_at": NOW}
        for (i, case, f), meeting in zip(tabled, meeting_of, strict=True)])
    conn.execute(insert(AgendaItemRecord.__table__), [
        {"meeting_id": meeting, "case_id": case, "basis": "consent" if i % 4 else "council_art16", "tabled_at": NOW,
         "decision_id": decision}
        for (i, case, _f), meeting, decision in zip(tabled, meeting_of, decided, strict=True)])
    conn.execute(insert(SupportActionRecord.__table__), [
        {"case_id": case, "action_type_id": world["visit"], "owner_body_id": body, "decision_id": decision,
         "status": (ActionStatus.ACCEPTED if f["open"] else ActionStatus.DELIVERED).value,
         "created_by_id": world["coordinator"], "created_at": NOW}
        for (_i, case, f), decision in zip(tabled, decided, strict=True) for body in (world["npo"], world["shakyo"])])


def _tasks(world: dict[str, Any], i: int, case: int, f: dict[str, Any]) -> list[dict[str, Any]]:
    worker = world["workers"][i % len(world["workers"])]

    def task(element: str, kind: str, role: str, done: datetime | None, **more: Any) -> dict[str, Any]:
        return {"case_id": case, "municipality_id": world["town"], "spiff_task_id": str(uuid.uuid4()),
                "element_id": element, "name": element, "role": role, "kind": kind, "priority": 0,
                "status": (TaskStatus.COMPLETED if done else TaskStatus.OPEN).value, "created_at": f["created"],
                "completed_at": done, "completed_by_id": worker if done else None,
                "assignee_id": more.pop("assignee", worker if done else None), "due_at": None,
                "candidate_body_id": None, **more}  # every row has every key: executemany takes the first's

    found = [task("intake", "intake", "caseworker", f["created"])]
    if f["contact"]:
        found.append(task("contact_attempt", "contact", "caseworker", f["contact"]))
    if not f["open"]:
        if f["tabled_on"]:
            found.append(task("review_assessment", "review", "caseworker", f["completed"] - timedelta(days=30)))
        return [*found, task("closure", "closure", "caseworker", f["completed"])]
    if f["tabled_on"] is None:
        found.append(task("table_case", "tabling", "coordinator", None, due_at=NOW + timedelta(days=i % 14 - 4)))
    else:
        found.append(task("review_assessment", "review", "caseworker", None, assignee=worker,
                          due_at=NOW + timedelta(days=(i * 7) % 90 - 30)))
    if i % 5 == 1:
        found.append(task("action_response", "action_response", "partner", None, candidate_body_id=world["npo"],
                          due_at=NOW + timedelta(days=i % 20 - 5)))
    if i % 7 == 3:
        found.append(task("contact_attempt", "contact", "caseworker", None, due_at=NOW + timedelta(days=i % 10 - 3)))
    return found


# What a completed task's form held, by element (the integration tests' answers, abridged).
FORM_DATA: dict[str, dict[str, Any]] = {
    "intake": {"consultation_date": "2026-11-27", "channel": "phone", "household": "alone",
               "concern": "一人暮らしで話し相手がいない", "wishes": "近所で気軽に話せる場がほしい",
               "special_care": [], "immediate_danger": False, "existing_scheme": "none"},
    "contact_attempt": {"attempted_on": "2026-12-01", "contact_method": "visit", "contact_result": "reached",
                        "attempt_next_step": "continue"},
    "review_assessment": {"assessed_on": "2026-11-27", "respondent": "self", "loneliness_direct": 3, "ucla_1": 2,
                          "ucla_2": 2, "ucla_3": 2, "contact_frequency": "monthly", "participation": "no",
                          "support_received": "yes", "helps_others": "no"},
    "closure": {"closure_reason": "goal_reached", "closed_on": "2027-03-01", "closure_note": "居場所に定着した"},
}


def _seed_history(conn: Connection, world: dict[str, Any], cases: list[tuple[int, int, dict[str, Any]]],
                  tasks: list[dict[str, Any]], task_ids: list[int]) -> None:
    """What the engine leaves besides the task rows: a form submission and a `task.completed` audit row per
    completed task, and per case the audit rows of its start, one read and, once closed, its completion."""
    done = [(task, new) for task, new in zip(tasks, task_ids, strict=True) if task["completed_at"] is not None]
    conn.execute(insert(FormSubmissionRecord.__table__), [
        {"case_id": task["case_id"], "task_id": new, "form_id": f"{task['element_id']}-schema.json",
         "form_version": world["content_hash"], "data": FORM_DATA[task["element_id"]],
         "submitted_by_id": task["completed_by_id"], "submitted_at": task["completed_at"]} for task, new in done])

    def audit(at: datetime, actor: int, action: str, case: int, task: int | None, **detail: Any) -> dict[str, Any]:
        return {"at": at, "actor_id": actor, "municipality_id": world["town"], "action": action, "case_id": case,
                "task_id": task, "detail": detail}

    rows = [audit(task["completed_at"], task["completed_by_id"], "task.completed", task["case_id"], new,
                  element=task["element_id"], name=task["name"]) for task, new in done]
    for i, case, f in cases:
        worker = world["workers"][i % len(world["workers"])]
        rows.append(audit(f["created"], worker, "case.started", case, None, episode=1, referral=False,
                          process="kodoku_koritsu_case", version=world["content_hash"][:12]))
        rows.append(audit(f["updated"], worker, "case.viewed", case, None, part="summary", basis="staff", on=None))
        if f["completed"]:
            rows.append(audit(f["completed"], worker, "case.completed", case, None, reason="goal_reached"))
    conn.execute(insert(AuditRecord.__table__), rows)


def history_rows(db: Database) -> dict[str, int]:
    """The history rows in the database: tasks, form submissions and audit rows."""
    with db.engine.connect() as conn:
        return {name: conn.execute(select(func.count()).select_from(record.__table__)).scalar_one()
                for name, record in (("tasks", TaskRecord), ("form submissions", FormSubmissionRecord),
                                     ("audit rows", AuditRecord))}


def _inbox(session: Session, clock: FixedClock, user: UserRecord) -> int:
    """What web/inbox.py `index` reads (its three lists), the rows shown."""
    mine = queries.my_tasks(session, user)
    available = queries.available_tasks(session, user, clock())
    recent = queries.recent_cases(session, user, today_in_japan(clock()))
    return len(mine) + len(available) + len(recent)


def _task_count(session: Session, clock: FixedClock, user: UserRecord) -> int:
    """The task counts the inbox shows beside its headings ("My tasks", "Tasks for my roles"): the lengths
    of its two task lists, which the UI shows nowhere else (the bell counts notices, not tasks)."""
    return len(queries.my_tasks(session, user)) + len(queries.available_tasks(session, user, clock()))


PAGES: dict[str, Callable[..., Any]] = {
    "inbox": lambda s, c, w: _inbox(s, c, s.get(UserRecord, w["workers"][0])),
    "task count": lambda s, c, w: _task_count(s, c, s.get(UserRecord, w["workers"][0])),
    "dashboard": lambda s, c, w: dashboard(s, c, s.get(UserRecord, w["supervisor"])).counts["overdue"],
    "overdue list": lambda s, c, w: len(task_list(s, c, s.get(UserRecord, w["supervisor"]), "overdue")),
    "cases": lambda s, c, w: search_cases(s, c, s.get(UserRecord, w["supervisor"]), CaseFilters()).total,
    "cases name": lambda s, c, w: search_cases(s, c, s.get(UserRecord, w["supervisor"]),
                                               CaseFilters(q=" ".join(RETURNING[:2]))).total,
    "cases common name": lambda s, c, w: search_cases(s, c, s.get(UserRecord, w["supervisor"]),
                                                      CaseFilters(q=SEARCHED)).total,
    "cases overdue": lambda s, c, w: search_cases(s, c, s.get(UserRecord, w["supervisor"]),
                                                  CaseFilters(overdue=True)).total,
    **{f"ledger {sort.value}": partial(lambda s, c, w, sort: ledger(
        s, c, s.get(UserRecord, w["coordinator"]), LedgerFilters(), sort).total, sort=sort) for sort in LedgerSort},
}


def time_page(db: Database, world: dict[str, Any], read: Callable[..., Any], runs: int) -> tuple[float, float, int, int]:
    """p50 and p95 in milliseconds of `runs` reads after 2 warm-ups, the rows counted, the statements of one read."""
    clock = FixedClock(NOW)
    times, shown, statements = [], 0, 0
    for run in range(runs + 2):
        with db.session_factory() as session:
            before, started = db.queries, time.perf_counter()
            shown = read(session, clock, world)
            if run >= 2:
                times.append((time.perf_counter() - started) * 1000)
            statements = db.queries - before
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))], shown, statements


def profile_page(db: Database, world: dict[str, Any], page: str, reads: int = 5) -> None:
    """Each statement of one read with its median time over `reads` reads: what a page spends where."""
    spent: dict[int, list[float]] = {}
    texts: dict[int, str] = {}
    state = {"n": 0, "at": 0.0}

    def before(*_args: Any) -> None:
        state["at"] = time.perf_counter()

    def after(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        spent.setdefault(int(state["n"]), []).append((time.perf_counter() - state["at"]) * 1000)
        texts[int(state["n"])] = " ".join(statement.split())
        state["n"] += 1

    event.listen(db.engine, "before_cursor_execute", before)
    event.listen(db.engine, "after_cursor_execute", after)
    try:
        for _ in range(reads + 1):
            state["n"] = 0
            with db.session_factory() as session:
                PAGES[page](session, FixedClock(NOW), world)
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
        event.remove(db.engine, "after_cursor_execute", after)
    print(f"  profile of {page!r}: median ms per statement over {reads + 1} reads")
    for n in sorted(spent):
        print(f"    {statistics.median(spent[n]):8.2f}  {texts[n][:160]}")


OPEN_CASES = {  # open cases of a municipality with `size` cases in all
    "history": lambda size: min(size, 300),  # the same office, more years: only the closed cases grow
    "growing": lambda size: min(size, 300 + size * 3 // 100),  # a larger town: open cases grow too
    "busy": lambda size: size,  # every case open
}
RESULT_GROWS = {"cases common name"}  # its result holds more cases with more history: informative everywhere
WORLDS = {
    "history": "same open cases (300) and team, more history: the target",
    "growing": "open cases grow with the town (300 + 3 %): informative, no target",
    "busy": "every case open and tabled: informative, no target",
}


def run_world(args: argparse.Namespace, kind: str, sizes: list[int], pages: list[str]
              ) -> dict[tuple[str, int], tuple[float, float, int, int]]:
    """Seed and time every size of one world; the results by page and size."""
    results: dict[tuple[str, int], tuple[float, float, int, int]] = {}
    for size in sizes:
        db = Database(args.database_url)
        try:
            started = time.perf_counter()
            open_count = OPEN_CASES[kind](size)
            world = seed_people(db, caseworkers_for(open_count))
            seed_cases(db, world, size, open_count)
            with db.engine.begin() as conn:
                for index in args.index:
                    name, table, columns = index.split(":")
                    conn.execute(text(f"CREATE INDEX {name} ON {table} ({columns})"))
                conn.execute(text("ANALYZE"))
            history = history_rows(db)
            print(f"  ... {kind}: {size:,} cases ({open_count:,} open, {len(world['workers'])} caseworkers) seeded in"
                  f" {time.perf_counter() - started:.0f}s", flush=True)
            print(f"  history rows at {size:,} cases: {sum(history.values()):,} ("
                  + ", ".join(f"{name} {count:,}" for name, count in history.items()) + ")", flush=True)
            for page in pages:
                results[(page, size)] = time_page(db, world, PAGES[page], args.runs)
                if args.profile and size == sizes[-1] and page in args.profile.split(","):
                    profile_page(db, world, page)
        finally:
            db.drop()
    return results


def report(kind: str, runs: int, sizes: list[int], pages: list[str],
           results: dict[tuple[str, int], tuple[float, float, int, int]]) -> bool:
    """Print one world's table and ratios; whether a p50 ratio missed the target (only `history` has one)."""
    print(f"\n{kind} world ({WORLDS[kind]}), {runs} reads each\n"
          f"{'page':<20}{'cases':>9}{'open':>7}{'rows':>8}{'stmts':>7}{'p50 ms':>10}{'p95 ms':>10}")
    for (page, size), (p50, p95, shown, statements) in sorted(results.items(), key=lambda r: pages.index(r[0][0])):
        print(f"{page:<20}{size:>9,}{OPEN_CASES[kind](size):>7,}{shown:>8,}{statements:>7}{p50:>10.1f}{p95:>10.1f}")
    print()
    missed = False
    for page in pages:
        small, large = results[(page, sizes[0])], results[(page, sizes[-1])]
        ratio = large[0] / small[0]
        target = kind == "history" and page not in RESULT_GROWS
        missed |= target and ratio > TARGET
        verdict = (("OK" if ratio <= TARGET else "NOT OK") + f" (target: at most {TARGET})" if target
                   else f"informative: rows x{large[2] / max(small[2], 1):.0f}, open cases"
                        f" x{OPEN_CASES[kind](sizes[-1]) / OPEN_CASES[kind](sizes[0]):.0f}")
        print(f"{page:<20}p50({sizes[-1]:,}) / p50({sizes[0]:,}) = {ratio:5.2f}   p95 ratio {large[1] / small[1]:5.2f}"
              f"   {verdict}")
    return missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url", help="a PostgreSQL URL (default: a SQLite file in a temporary folder)")
    parser.add_argument("--sizes", default="1000,100000", help="numbers of cases, comma-separated")
    parser.add_argument("--worlds", default="history,growing",
                        help="comma-separated, of: history (the target), growing, busy (informative)")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--pages", default=",".join(PAGES), help="which pages, comma-separated")
    parser.add_argument("--index", action="append", default=[], metavar="NAME:TABLE:COL,COL",
                        help="create this index before timing (to measure one a migration would add)")
    parser.add_argument("--profile", default="", metavar="PAGE,PAGE",
                        help="also print each statement's time of these pages at the largest size")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    pages = [p for p in args.pages.split(",") if p]
    kinds = [k for k in args.worlds.split(",") if k]
    if unknown := [k for k in kinds if k not in WORLDS] + [p for p in pages if p not in PAGES]:
        parser.error(f"unknown world or page: {', '.join(unknown)}")
    results = {kind: run_world(args, kind, sizes, pages) for kind in kinds}
    missed = False
    for kind in kinds:
        missed |= report(kind, args.runs, sizes, pages, results[kind])
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
