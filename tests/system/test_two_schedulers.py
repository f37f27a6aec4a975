"""Two scheduler processes on one database: every due timer fires exactly once.

On PostgreSQL both work side by side (each case is claimed with FOR UPDATE SKIP LOCKED); on SQLite
the lease lets one of them work and the other stands by.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from .conftest import on_postgresql
from .support import finish, firings_per_case, open_reviews_per_case, spawn_scheduler, still_due, wait_for_file

CASES = 300

postgresql_only = pytest.mark.skipif(
    not on_postgresql(),
    reason="several schedulers side by side need PostgreSQL (row locks with SKIP LOCKED); "
           "set TSUNAGU_TEST_DATABASE_URL=postgresql+psycopg://...; on SQLite a lease lets only one work",
)
sqlite_only = pytest.mark.skipif(on_postgresql(), reason="the scheduler lease is how SQLite keeps to one scheduler")


def _run_two(database_url, now, children, tmp_path) -> tuple[dict, dict]:
    go = tmp_path / "go"
    holders = ("scheduler-a", "scheduler-b")
    for holder in holders:
        children.append(spawn_scheduler(database_url, holder, now, "--ready", str(tmp_path / holder), "--go", str(go)))
    for holder, child in zip(holders, children, strict=True):
        wait_for_file(tmp_path / holder, child)
    go.touch()  # both are connected and waiting: start them together
    a, b = (finish(child) for child in children)
    return a, b


@postgresql_only
def test_two_schedulers_fire_every_due_timer_exactly_once_and_share_the_work(
        database_url, session, clock, waiting_cases, children, tmp_path):
    case_ids = waiting_cases(CASES)
    now = clock() + timedelta(days=7, minutes=1)
    assert still_due(session, now) == CASES

    a, b = _run_two(database_url, now, children, tmp_path)

    session.expire_all()
    assert firings_per_case(session) == {case_id: 1 for case_id in case_ids}
    assert open_reviews_per_case(session) == {case_id: 1 for case_id in case_ids}
    assert still_due(session, now) == 0
    assert not set(a["fired"]) & set(b["fired"])
    assert sorted(a["fired"] + b["fired"]) == sorted(case_ids)
    print(f"\nsplit of {CASES} firings: scheduler-a {len(a['fired'])}, scheduler-b {len(b['fired'])}")
    assert a["fired"] and b["fired"], "one scheduler did all the work: they did not run side by side"


@sqlite_only
def test_on_sqlite_one_of_two_schedulers_holds_the_lease_and_fires_every_timer_once(
        database_url, session, clock, waiting_cases, children, tmp_path):
    case_ids = waiting_cases(100)
    now = clock() + timedelta(days=7, minutes=1)

    a, b = _run_two(database_url, now, children, tmp_path)

    session.expire_all()
    assert firings_per_case(session) == {case_id: 1 for case_id in case_ids}
    assert open_reviews_per_case(session) == {case_id: 1 for case_id in case_ids}
    worker, standby = (a, b) if a["fired"] else (b, a)
    assert sorted(worker["fired"]) == sorted(case_ids) and not worker["skipped"]
    assert standby["fired"] == [] and standby["skipped"] == 1
