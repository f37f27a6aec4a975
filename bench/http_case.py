"""The core case over HTTP against the floor: what a caseworker's four requests cost compared with bare
SpiffWorkflow running the same two forms in memory.

The process (`bench/models/two_forms`): start, task A (a text and an integer), task B (one choice), end.
One case over HTTP is four requests, as a caseworker makes them: open the case (POST /cases/new, which
runs it to task A), submit A, read the inbox, submit B. The floor is the same diagram on bare
SpiffWorkflow in memory: start, complete A, complete B, with the workflow serialized and deserialized
after each user task (a persistent engine can do no less).

    .venv/bin/python bench/http_case.py                              # SQLite, the production server
    .venv/bin/python bench/http_case.py --server werkzeug            # `tsunagu serve` (the demo's server)
    .venv/bin/python bench/http_case.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/http_case.py --cases 50 --clients 8 --seconds 20 --workers 3

Printed: the floor's median per case; sequential cases over HTTP (median and p95 per case and per
request, the ratio to the floor); then `--clients` clients at once for `--seconds` seconds (requests per
second, task completions per second, median and p95 per request, errors). The server runs in its own
processes; the clients are threads of this one (they only send forms and read a page's links).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from databases import Database  # bench/databases.py, beside this script

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.system.http_client import Browser, Page, free_port, wait_until_serving  # noqa: E402  (the system tests' client)

MODEL = ROOT / "bench" / "models" / "two_forms"
TSUNAGU = str(Path(sys.executable).with_name("tsunagu"))
CODE = "139998"
PASSWORD = "bench-http-password-2026"
TASK_ROW = re.compile(r'href="/tasks/(\d+)">.*?</td>\s*<td>(.*?)</td>', re.S)
VERSION_OPTION = re.compile(r'<option value="(\d+)">二つのフォーム</option>')


# --- the floor: bare SpiffWorkflow in memory ----------------------------------------------------------

def floor(cases: int) -> list[float]:
    """Seconds per case on bare SpiffWorkflow: start, A, B, serialize and deserialize after each user task."""
    from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
    from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
    from SpiffWorkflow.util.task import TaskState

    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(MODEL / "two_forms.bpmn"))
    spec = parser.get_spec("two_forms")
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    answers = [{"note": "電話で相談", "count": 3}, {"outcome": "done"}]
    times = []
    for _ in range(cases + 3):
        began = time.perf_counter()
        workflow = BpmnWorkflow(spec)
        workflow.do_engine_steps()
        state = serializer.serialize_json(workflow)
        for data in answers:
            workflow = serializer.deserialize_json(state)
            task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
            task.data.update(data)
            task.run()
            workflow.do_engine_steps()
            state = serializer.serialize_json(workflow)
        assert workflow.is_completed()
        times.append(time.perf_counter() - began)
    return times[3:]


# --- the municipality, its caseworkers and the server ------------------------------------------------

def tsunagu(environment: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run([TSUNAGU, *args], env=environment, input=stdin, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise SystemExit(f"tsunagu {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def prepare(database_url: str, folder: Path, users: int) -> dict[str, str]:
    environment = {**os.environ, "TSUNAGU_DATABASE_URL": database_url, "TSUNAGU_INSTANCE_DIR": str(folder),
                   "TSUNAGU_SECRET_KEY": "bench-http-secret", "TSUNAGU_SCHEDULER_IN_WEB": "false"}
    tsunagu(environment, "municipality", "add", "--code", CODE, "--name", "ベンチ町")
    tsunagu(environment, "deploy", str(MODEL), "--municipality", CODE, "--note", "bench")
    for n in range(users):
        tsunagu(environment, "user", "add", f"bench-cw-{n}", "--municipality", CODE, "--role", "caseworker",
                "--display-name", f"相談 員{n}", "--password-stdin", stdin=PASSWORD + "\n")
    return environment


def start_server(environment: dict[str, str], server: str, workers: int) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    command = [TSUNAGU, "serve", "--port", str(port)]
    if server == "production":
        command += ["--production", "--workers", str(workers)]
    process = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True)
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(process, base)
    return process, base


# --- one caseworker's browser ------------------------------------------------------------------------

class Caseworker:
    def __init__(self, base: str, username: str):
        self.client = Browser(base)
        self.username = username
        self.version_id = ""
        self.form_page: Page | None = None  # a page of this session: its CSRF token serves every form
        self.requests: list[float] = []
        self.errors = 0

    def sign_in(self) -> None:
        page = self.client.get("/login")
        self.client.post("/login", {"username": self.username, "password": PASSWORD}, page)
        page = self.client.get("/pledge")
        self.client.post("/pledge", {"agree": "on", **_pledge_fields(page.text)}, page)
        new = self.client.get("/cases/new")
        found = VERSION_OPTION.search(new.text)
        if new.status != 200 or not found:
            raise SystemExit(f"{self.username} cannot open a case: {new.status}\n{new.text[:1500]}")
        self.version_id = found.group(1)
        self.form_page = new

    def _timed(self, method: str, path: str, form: dict[str, str] | None = None, expect: int = 302) -> str:
        began = time.perf_counter()
        page = self.client.get(path) if method == "GET" else self.client.post(path, form or {}, self.form_page)
        self.requests.append(time.perf_counter() - began)
        if page.status != expect:
            self.errors += 1
            errors = re.findall(r'class="error" id="err-[^>]*>([^<]*)', page.text) or [page.text[:800]]
            raise RuntimeError(f"{method} {path}: {page.status} (expected {expect}): {errors}")
        return page.location or page.text

    def one_case(self, n: int) -> None:
        """Open a case (runs to task A), submit A, read the inbox, submit B."""
        title = f"{self.username} {n}"
        location = self._timed("POST", "/cases/new", {"version_id": self.version_id, "title": title})
        task_a = location.rsplit("/tasks/", 1)[-1]
        self._timed("POST", f"/tasks/{task_a}", {"note": "電話で相談", "count": "3"})
        inbox = self._timed("GET", "/", expect=200)
        task_b = next((t for t, case in TASK_ROW.findall(inbox) if case.endswith(f" {title}") and t != task_a), None)
        if task_b is None:
            self.errors += 1
            raise RuntimeError("task B is not in the inbox")
        self._timed("POST", f"/tasks/{task_b}", {"outcome": "done"})


def _pledge_fields(text: str) -> dict[str, str]:
    """The pledge form's hidden fields (its id), whatever they are named."""
    return {m.group(1): m.group(2) for m in re.finditer(r'<input type="hidden" name="(?!csrf_token)([^"]+)" '
                                                       r'value="([^"]*)"', text)}


# --- the runs ----------------------------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def sequential(base: str, cases: int) -> tuple[list[float], list[float]]:
    worker = Caseworker(base, "bench-cw-0")
    worker.sign_in()
    for n in range(3):  # warm-up: every worker process's first requests load templates and specs
        worker.one_case(n)
    worker.requests.clear()
    per_case = []
    for n in range(cases):
        began = time.perf_counter()
        worker.one_case(n)
        per_case.append(time.perf_counter() - began)
    return per_case, worker.requests


def concurrent(base: str, clients: int, seconds: float) -> dict[str, float]:
    workers = [Caseworker(base, f"bench-cw-{n}") for n in range(clients)]
    for worker in workers:
        worker.sign_in()
        worker.one_case(-1)
        worker.requests.clear()
    finished = [0] * clients
    failures: list[str] = []
    stop = time.perf_counter() + seconds

    def run(index: int) -> None:
        worker, n = workers[index], 0
        while time.perf_counter() < stop:
            try:
                worker.one_case(n)
                finished[index] += 1
            except Exception as error:  # counted and reported, the run goes on
                failures.append(str(error).splitlines()[0])
            n += 1

    began = time.perf_counter()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    requests = [r for w in workers for r in w.requests]
    for failure in sorted(set(failures))[:5]:
        print(f"  error: {failure}")
    return {"seconds": elapsed, "cases": sum(finished), "requests": len(requests),
            "completions": 2 * sum(finished), "median": statistics.median(requests) if requests else 0.0,
            "p95": percentile(requests, 0.95) if requests else 0.0, "errors": sum(w.errors for w in workers)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None, help="a PostgreSQL server (default: a SQLite file)")
    parser.add_argument("--server", choices=("production", "werkzeug"), default="production")
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 1) + 1)
    parser.add_argument("--cases", type=int, default=40, help="sequential cases timed")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15.0, help="how long the concurrent clients run")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)

    floor_times = floor(max(args.cases, 200))
    floor_ms = statistics.median(floor_times) * 1000
    database = Database(args.database_url)
    folder = Path(tempfile.mkdtemp(prefix="tsunagu-bench-http-"))
    try:
        environment = prepare(database.url, folder, max(args.clients, 1))
        process, base = start_server(environment, args.server, args.workers)
        try:
            per_case, per_request = sequential(base, args.cases)
            together = concurrent(base, args.clients, args.seconds) if args.clients > 0 else None
        finally:
            process.terminate()
            process.wait(timeout=60)
    finally:
        database.drop()
        shutil.rmtree(folder, ignore_errors=True)

    store = "PostgreSQL" if args.database_url else "SQLite"
    server = f"gunicorn, {args.workers} workers" if args.server == "production" else "werkzeug"
    case_ms = statistics.median(per_case) * 1000
    print(f"core case over HTTP ({store}, {server}; {os.cpu_count()} cores)")
    print(f"  floor (bare SpiffWorkflow, in memory, serialized after each task): {floor_ms:.2f} ms per case")
    print(f"  sequential: {case_ms:.1f} ms per case (p95 {percentile(per_case, 0.95) * 1000:.1f}), "
          f"{statistics.median(per_request) * 1000:.1f} ms per request (p95 "
          f"{percentile(per_request, 0.95) * 1000:.1f})")
    print(f"  ratio to the floor: {case_ms / floor_ms:.1f}x (target at most 10x)")
    if together:
        print(f"  {args.clients} clients for {together['seconds']:.0f} s: {together['cases'] / together['seconds']:.1f} "
              f"cases/s, {together['completions'] / together['seconds']:.1f} task completions/s "
              f"(target at least 120), per request median {together['median'] * 1000:.1f} ms, "
              f"p95 {together['p95'] * 1000:.1f} ms, errors {together['errors']:.0f}")
    if args.json:
        figures = {"database": store, "server": server, "floor_ms": floor_ms, "case_ms": case_ms,
                   "case_p95_ms": percentile(per_case, 0.95) * 1000, "ratio": case_ms / floor_ms,
                   "request_ms": statistics.median(per_request) * 1000,
                   "request_p95_ms": percentile(per_request, 0.95) * 1000, "clients": args.clients}
        if together:
            figures.update({"cases_per_second": together["cases"] / together["seconds"],
                            "completions_per_second": together["completions"] / together["seconds"],
                            "concurrent_request_ms": together["median"] * 1000,
                            "concurrent_request_p95_ms": together["p95"] * 1000, "errors": together["errors"]})
        Path(args.json).write_text(json.dumps(figures, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
