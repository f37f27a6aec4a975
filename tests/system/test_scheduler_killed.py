"""A scheduler killed with SIGKILL in the middle of a firing loses nothing and fires nothing twice."""
from __future__ import annotations

import json
import signal
import sqlite3
import time
import uuid
from datetime import timedelta

from sqlalchemy import func, make_url, select, text

from tsunagu.engine.clock import FixedClock
from tsunagu.engine.commands.scheduler import TimerPolicy, run_pass
from tsunagu.engine.models import AuditRecord, TaskRecord

from .support import firings_per_case, open_reviews_per_case, spawn_scheduler, still_due, wait_for_file

CASES = 30
KILLED_ON = 10  # the firing the scheduler is killed in, before its commit
LEASE_S = 60
BACKEND_GONE_S = 10


def test_a_scheduler_killed_mid_firing_leaves_that_case_to_fire_once_after_restart(
        database_url, session, session_factory, clock, waiting_cases, children, tmp_path):
    case_ids = waiting_cases(CASES)
    fire_at = clock() + timedelta(days=7, minutes=1)
    marker = tmp_path / "hanging"
    child_name = f"killed-{uuid.uuid4().hex[:12]}"
    children.append(spawn_scheduler(_named(database_url, child_name), "killed", fire_at, "--lease-s", str(LEASE_S),
                                    "--block-at", str(KILLED_ON), "--marker", str(marker)))
    killed = children[-1]
    wait_for_file(marker, killed)
    (mid_firing,) = json.loads(marker.read_text())["case_ids"]
    _assert_holds_an_open_write_transaction(session, database_url, child_name)

    killed.send_signal(signal.SIGKILL)
    assert killed.wait(timeout=30) == -signal.SIGKILL
    _wait_until_backend_gone(session, child_name)

    session.expire_all()
    before_restart = firings_per_case(session)
    assert sum(before_restart.values()) == KILLED_ON - 1
    assert mid_firing not in before_restart  # its uncommitted firing died with the process
    assert open_reviews_per_case(session)[mid_firing] == 0

    restart_clock = FixedClock(fire_at)
    policy = TimerPolicy(lease_s=LEASE_S)
    if session.bind.dialect.name == "sqlite":
        # The dead scheduler's lease stands until it expires; then another scheduler takes over.
        assert run_pass(session_factory, restart_clock, policy, "restarted").skipped
    restart_clock.advance(timedelta(seconds=LEASE_S + 1))
    report = run_pass(session_factory, restart_clock, policy, "restarted")

    assert not report.skipped and len(report.fired) == CASES - (KILLED_ON - 1) and mid_firing in report.fired
    session.expire_all()
    assert firings_per_case(session) == {case_id: 1 for case_id in case_ids}
    assert open_reviews_per_case(session) == {case_id: 1 for case_id in case_ids}
    assert still_due(session, restart_clock()) == 0
    fired_at = session.scalar(select(AuditRecord.at).where(AuditRecord.action == "timer.fired",
                                                           AuditRecord.case_id == mid_firing))
    assert fired_at == restart_clock()  # fired by the restarted scheduler, not half by the dead one
    review_rows = session.scalar(select(func.count()).select_from(TaskRecord).where(
        TaskRecord.case_id == mid_firing, TaskRecord.element_id == "review"))
    assert review_rows == 1


def _named(url: str, name: str) -> str:
    """The URL with a PostgreSQL application_name, so the parent can see the child's connection go."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return url
    return parsed.update_query_dict({"application_name": name}).render_as_string(hide_password=False)


def _assert_holds_an_open_write_transaction(session, url: str, name: str) -> None:
    """The kill must land inside the firing's transaction, with its writes sent but not committed."""
    if session.bind.dialect.name == "postgresql":
        state = session.scalar(text("SELECT state FROM pg_stat_activity WHERE application_name = :n"), {"n": name})
        session.rollback()
        assert state == "idle in transaction"
        return
    probe = sqlite3.connect(make_url(url).database, timeout=0, isolation_level=None)
    try:
        try:
            probe.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            assert "locked" in str(error)
        else:
            raise AssertionError("the hanging scheduler holds no write lock: its firing was not mid-transaction")
    finally:
        probe.close()


def _wait_until_backend_gone(session, name: str) -> None:
    """PostgreSQL rolls back a dead client's transaction and frees its row locks once it notices the
    closed socket; wait for that, so the restarted pass does not skip the still-locked case."""
    if session.bind.dialect.name != "postgresql":
        return  # SQLite's locks are file locks, released by the kernel with the process
    deadline = time.monotonic() + BACKEND_GONE_S
    while session.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :n"), {"n": name}):
        session.rollback()
        assert time.monotonic() < deadline, "PostgreSQL kept the killed scheduler's connection"
        time.sleep(0.05)
    session.rollback()
