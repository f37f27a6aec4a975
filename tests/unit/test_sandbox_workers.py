"""The worker pool itself: a killed or crashed worker, oversized data and dates, without a database."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from tsunagu.engine.runtime import codec, workers
from tsunagu.engine.runtime.restricted import ScriptInputTooLarge
from tsunagu.engine.runtime.sandbox import (
    SandboxEnvironment,
    ScriptCrashed,
    ScriptFailed,
    ScriptMemory,
    ScriptOutputTooLarge,
    ScriptTooLong,
)


@pytest.fixture
def sandbox():
    return SandboxEnvironment()


def _worker_pids() -> set[int]:
    pool = workers._get_pool()
    with pool.lock:
        return {w.proc.pid for w in pool.idle}


def test_a_worker_killed_mid_script_is_reported_as_a_crash_and_replaced(sandbox):
    sandbox.evaluate("1", {})
    before = _worker_pids()
    failure = {}

    def run():
        try:
            sandbox.execute("n = 0\nwhile True:\n    n += 1", {})
        except Exception as error:  # noqa: BLE001
            failure["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(0.2)
    busy = before - _worker_pids()
    for pid in busy:
        os.kill(pid, signal.SIGSEGV)  # what a segfault inside C would look like
    thread.join(5)
    assert isinstance(failure["error"], ScriptCrashed)
    assert sandbox.evaluate("1 + 1", {}) == 2  # a fresh worker took over


@pytest.mark.parametrize(("script", "error"), [
    ("raise SystemExit(1)", ScriptFailed),
    ("raise KeyboardInterrupt", ScriptFailed),
    ("raise BaseException('x')", ScriptFailed),
    ("while True:\n    try:\n        while True:\n            pass\n    except BaseException:\n        pass", ScriptTooLong),
    ("s = 'a'\nwhile True:\n    s += s", ScriptMemory),
    ("x = 'x'.ljust(10 ** 9)", ScriptMemory),
    ("big = ['y' * 100000] * 20", ScriptOutputTooLarge),
])
def test_what_a_script_does_comes_back_as_an_ordinary_error(sandbox, script, error):
    with pytest.raises(error):
        sandbox.execute(script, {})
    assert sandbox.evaluate("2 * 3", {}) == 6


def test_a_hang_inside_c_ends_within_the_deadline(sandbox):
    started = time.monotonic()
    with pytest.raises(ScriptTooLong):
        sandbox.evaluate("sum([[0] * 1000] * 30000, [])", {})
    assert time.monotonic() - started < workers.current_limits().wall_s + 0.5


def test_task_data_larger_than_the_limit_is_refused_before_it_is_sent(sandbox):
    with pytest.raises(ScriptInputTooLarge):
        sandbox.evaluate("1", {"blob": "x" * 2_000_000})


def test_dates_decimals_and_tuples_travel_to_a_script_and_back(sandbox):
    context = {"born": date(1950, 4, 1), "seen": datetime(2026, 1, 2, 3, 4, tzinfo=timezone.utc),
               "gap": timedelta(days=3), "amount": Decimal("1.50"), "pair": (1, 2), "codes": {1: "a"}}
    sandbox.execute("later = born + gap\nyear = seen.year\nfirst = pair[0]\nname = codes[1]", context)
    assert context["later"] == date(1950, 4, 4) and context["year"] == 2026
    assert context["amount"] == Decimal("1.50") and context["pair"] == (1, 2) and context["name"] == "a"


def test_today_and_strptime_work_inside_scripts(sandbox):
    context = {}
    sandbox.execute("today = date.today()\nparsed = datetime.strptime('2026-04-01', '%Y-%m-%d').date()", context)
    assert isinstance(context["today"], date) and context["parsed"] == date(2026, 4, 1)


def test_functions_never_travel_as_data():
    with pytest.raises(codec.NotData):
        codec.dumps({"f": len})


def test_the_pool_starts_on_first_use_and_leaves_no_process_behind_at_exit():
    program = (
        "from tsunagu.engine.runtime import workers, workflow\n"
        "assert workers._pool is None\n"
        "assert workflow.SCRIPT_ENGINE.environment.evaluate('1 + 1', {}) == 2\n"
        "print(*[w.proc.pid for w in workers._pool.idle])\n"
    )
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=20, check=True)
    assert time.monotonic() - started < 10
    for pid in map(int, done.stdout.split()):
        time.sleep(0.2)
        assert not os.path.exists(f"/proc/{pid}") or "zombie" in open(f"/proc/{pid}/status").read()
