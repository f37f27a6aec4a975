"""What the process boundary adds per script call: in-process RestrictedPython vs the warm worker pool.

Runs the same gateway condition and the same small script task both ways, many times, and prints the
median per call of each, their difference and their ratio, in one run. Target: the pool adds about a
millisecond or less per call.

    .venv/bin/python bench/sandbox_call.py
    .venv/bin/python bench/sandbox_call.py --calls 5000
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from tsunagu.engine.runtime import restricted, workers
from tsunagu.engine.runtime.helpers import SCRIPT_GLOBALS
from tsunagu.engine.runtime.sandbox import SandboxEnvironment

CONTEXT = {"risk_level": "high", "flags": ["suicidal_thoughts"], "ucla_total": 7, "items": [1, 2, 3],
           "intake": {"name": "山田", "age": 72, "notes": "近所との交流がない" * 10}}
CASES = {
    "condition": ("eval", 'risk_level == "urgent" or "suicidal_thoughts" in flags'),
    "script": ("exec", "total = sum(items)\nlevel = {'high': 1, 'normal': 2}[risk_level]\n"
                       "next_review_at = add_duration('2026-11-27T09:00:00+09:00', 'P1M')"),
}


def _median_us(run, calls: int) -> float:
    for _ in range(50):
        run()  # warm-up: workers started, code compiled and cached
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


def main(argv: list[str] | None = None) -> None:
    """Print in-process and pool medians per call, and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    calls = args.calls
    figures = {}
    pool = SandboxEnvironment()
    print(f"{'call':<10} {'in-process µs':>14} {'pool µs':>10} {'added µs':>10} {'ratio':>7}")
    for name, (mode, source) in CASES.items():
        def in_process(mode=mode, source=source):
            return restricted.run(mode, source, dict(CONTEXT), {}, SCRIPT_GLOBALS)

        def in_pool(mode=mode, source=source):
            context = dict(CONTEXT)
            return pool.evaluate(source, context) if mode == "eval" else pool.execute(source, context)

        local, remote = _median_us(in_process, calls), _median_us(in_pool, calls)
        print(f"{name:<10} {local:>14.1f} {remote:>10.1f} {remote - local:>10.1f} {remote / local:>7.1f}")
        figures[name] = {"in_process_us": local, "pool_us": remote, "added_us": remote - local, "ratio": remote / local}
    workers.shutdown()
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
