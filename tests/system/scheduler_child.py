"""A scheduler process for the multi-process tests: run passes on a fixed clock until nothing is left
to fire, then print what it fired as one JSON line.

    python scheduler_child.py URL HOLDER NOW [--ready FILE --go FILE] [--block-at N --marker FILE]

--ready/--go: connect, touch READY, and start only once GO exists, so that two processes begin together.
--block-at N: on the Nth firing, write the firing's rows to the database, put the case id in MARKER,
and hang before the commit, for the parent to kill this process there.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

from tsunagu.engine.clock import FixedClock
from tsunagu.engine.commands import scheduler
from tsunagu.engine.commands.scheduler import TimerPolicy, run_pass
from tsunagu.engine.db import make_engine, make_session_factory
from tsunagu.engine.models import CaseRecord

START_WAIT_S = 60
HANG_S = 120  # longer than any parent waits: the parent kills the process long before


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    clock = FixedClock(datetime.fromisoformat(args.now))
    engine = make_engine(args.url)
    session_factory = make_session_factory(engine)
    policy = TimerPolicy(lease_s=args.lease_s)
    if args.block_at:
        _hang_on_firing(args.block_at, Path(args.marker))
    if args.ready:
        with engine.connect():
            pass  # the connection pool is warm before the start line
        Path(args.ready).touch()
        _wait_for(Path(args.go))
    fired: list[int] = []
    passes = skipped = 0
    while True:
        report = run_pass(session_factory, clock, policy, args.holder)
        passes += 1
        skipped += report.skipped
        fired.extend(report.fired)
        if not report.fired and not report.failed:
            break
    print(json.dumps({"holder": args.holder, "fired": fired, "passes": passes, "skipped": skipped}))
    engine.dispose()
    return 0


def _hang_on_firing(nth: int, marker: Path) -> None:
    """Count firings through the scheduler's `fire_timers`; hang in the commit of the Nth one."""
    real_fire_timers = scheduler.fire_timers
    state = {"firings": 0, "armed": False}

    def counting_fire_timers(workflow):
        real_fire_timers(workflow)
        state["firings"] += 1
        state["armed"] = state["firings"] == nth

    scheduler.fire_timers = counting_fire_timers

    @event.listens_for(Session, "before_commit")
    def hang(session):
        if not state["armed"]:
            return
        session.flush()  # the fired workflow, its new task row and its audit row reach the database, uncommitted
        case_ids = {obj.id for obj in session.identity_map.values() if isinstance(obj, CaseRecord)}
        partial = marker.with_suffix(".tmp")
        partial.write_text(json.dumps({"case_ids": sorted(case_ids), "pid": os.getpid()}))
        partial.rename(marker)
        time.sleep(HANG_S)
        sys.exit("the parent never killed this scheduler")


def _wait_for(path: Path) -> None:
    deadline = time.monotonic() + START_WAIT_S
    while not path.exists():
        if time.monotonic() > deadline:
            sys.exit(f"no start signal {path}")
        time.sleep(0.01)


def _parse(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("holder")
    parser.add_argument("now", help="ISO 8601 time the FixedClock shows")
    parser.add_argument("--lease-s", type=int, default=120)
    parser.add_argument("--ready")
    parser.add_argument("--go")
    parser.add_argument("--block-at", type=int, default=0)
    parser.add_argument("--marker")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
