"""Memory: a web worker's resident memory after warm-up, after 1,000 and after 10,000 requests.

`tsunagu serve --production --workers 1` (gunicorn, one worker) runs on a fresh SQLite file or
PostgreSQL schema prepared as `http_case.py` prepares it (the two-form process, caseworkers). Two
caseworkers (threads, so that the worker is never idle) then run the core case again and again (open a
case, submit A, read the inbox, submit B: four requests), and the worker process's `VmRSS` (from
/proc/<pid>/status) is read after a warm-up of a fifth of `--first`, after `--first` (1,000) and after
`--requests` (10,000). The target is flat memory: the growth from 1,000 to 10,000 requests small against
the warm worker's size (below 10 %). Every case ends, so the inboxes never fill.

    .venv/bin/python bench/worker_memory.py                       # SQLite, 10,000 requests (~2 to 3 min)
    .venv/bin/python bench/worker_memory.py --requests 2000       # quicker
    .venv/bin/python bench/worker_memory.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from databases import Database  # bench/databases.py, beside this script
from http_case import Caseworker, prepare, start_server  # bench/http_case.py: the same server and client

TARGET_GROWTH = 0.10
CLIENTS = 2


def children(pid: int) -> list[int]:
    """The direct child processes of `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise SystemExit(f"no VmRSS for process {pid}")


def web_worker(master: int) -> int:
    """The gunicorn worker: the master's child running the same program (script workers are its children)."""
    command = Path(f"/proc/{master}/cmdline").read_bytes()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        same = [pid for pid in children(master) if Path(f"/proc/{pid}/cmdline").read_bytes() == command]
        if len(same) == 1:
            return same[0]
        time.sleep(0.2)
    raise SystemExit(f"cannot tell the web worker among the children of {master}: {children(master)}")


def run_requests(clients: list[Caseworker], until: int) -> int:
    """Let every client run whole core cases until together they have sent `until` requests; return the count.

    Two clients keep the single worker busy while the other reads its answer, so that the run is quicker.
    """
    def sent() -> int:
        return sum(len(c.requests) for c in clients)

    def run(client: Caseworker) -> None:
        while sent() < until:
            client.one_case(len(client.requests))

    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if sent() < until:
        raise SystemExit("a client stopped before the mark (see its error above)")
    return sent()


def measure(database_url: str | None, first: int, requests: int) -> dict[str, object]:
    database = Database(database_url)
    folder = Path(tempfile.mkdtemp(prefix="tsunagu-bench-memory-"))
    try:
        environment = prepare(database.url, folder, CLIENTS)
        process, base = start_server(environment, "production", 1)
        try:
            worker_pid = web_worker(process.pid)
            clients = [Caseworker(base, f"bench-cw-{n}") for n in range(CLIENTS)]
            for client in clients:
                client.sign_in()
            began = time.perf_counter()
            readings = []
            for mark in (first // 5, first, requests):  # first a warm-up: templates, specs, pools, caches
                readings.append((run_requests(clients, mark), rss_kib(worker_pid)))
            elapsed = time.perf_counter() - began
            if children(process.pid) and worker_pid not in children(process.pid):
                raise SystemExit("the web worker was replaced during the run: its memory is not comparable")
        finally:
            process.terminate()
            process.wait(timeout=60)
    finally:
        database.drop()
        shutil.rmtree(folder, ignore_errors=True)
    _, (n1, at_first), (n2, at_last) = readings
    return {"database": database.engine.dialect.name, "readings": [{"requests": r, "rss_kib": k} for r, k in readings],
            "errors": sum(c.errors for c in clients), "seconds": elapsed, "requests_per_second": n2 / elapsed,
            "growth_ratio": at_last / at_first, "growth_kib": at_last - at_first,
            "growth_per_1000_kib": (at_last - at_first) / max(1, n2 - n1) * 1000,
            "flat": (at_last - at_first) / at_first <= TARGET_GROWTH}


def report(result: dict) -> None:
    print(f"web worker memory (gunicorn, 1 worker, {result['database']}; "
          f"{result['requests_per_second']:.0f} requests/s, errors {result['errors']})")
    for reading in result["readings"]:
        print(f"  after {reading['requests']:>6,} requests: {reading['rss_kib'] / 1024:7.1f} MiB resident")
    print(f"  RSS({result['readings'][-1]['requests']:,}) / RSS({result['readings'][1]['requests']:,}) = "
          f"{result['growth_ratio']:.3f} ({result['growth_per_1000_kib']:.0f} KiB per 1,000 requests; "
          f"target: flat, under {TARGET_GROWTH:.0%}) -> {'OK' if result['flat'] else 'NOT OK'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="a PostgreSQL URL (default: a SQLite file in a temporary folder)")
    parser.add_argument("--first", type=int, default=1000, help="requests at the first reading (warm-up: a fifth)")
    parser.add_argument("--requests", type=int, default=10_000, help="requests in all, at the last reading")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    if args.requests <= args.first:
        parser.error("--requests must be above --first")
    result = measure(args.database_url, args.first, args.requests)
    report(result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
