"""A pool of warm worker processes that run every script, condition and decision-table expression.

RestrictedPython cannot stop work done inside C (`sum([[0]*1000]*30000, [])`, huge integers) or
memory built by padding, and a script may catch whatever the interpreter raises. So user code runs
in a separate process with an address-space limit, a CPU-time limit and a wall-clock deadline after
which the parent kills it; a dead worker is replaced by a fresh one on the next call. Data crosses as
size-checked JSON lines (`codec`); the parent never runs user code and never sees its exceptions.
"""
from __future__ import annotations

import atexit
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import IO, Any

from ..config import Settings
from . import codec
from .restricted import (
    LIMIT_ERRORS,
    ScriptBusy,
    ScriptCrashed,
    ScriptFailed,
    ScriptInputTooLarge,
    ScriptOutputTooLarge,
    ScriptRefused,
    ScriptTooLong,
)

# Errors a script may raise that come back as themselves; anything else (SystemExit,
# KeyboardInterrupt, BaseException) comes back as ScriptFailed and never as what it was.
PASSED_ERRORS = {cls.__name__: cls for cls in (
    NameError, UnboundLocalError, AttributeError, TypeError, ValueError, KeyError, IndexError, LookupError,
    ZeroDivisionError, ArithmeticError, OverflowError, ImportError, NotImplementedError, RecursionError,
    AssertionError, RuntimeError, UnicodeError, Exception)}


@dataclass(frozen=True)
class Limits:
    """How much one call may use: CPU seconds, wall seconds, worker memory and data in or out."""

    cpu_s: float = 0.5
    wall_s: float = 2.0
    memory_mb: int = 256
    data_bytes: int = 1_000_000
    workers: int = 4


_limits: Limits | None = None


def configure(limits: Limits | None) -> None:
    """Set the limits every later call uses (None: read them from the settings again)."""
    global _limits
    _limits = limits


def current_limits() -> Limits:
    """The configured limits, read lazily from the environment's settings on first use."""
    global _limits
    if _limits is None:
        settings = Settings.from_env()
        _limits = Limits(settings.script_cpu_s, settings.script_wall_s, settings.script_memory_mb,
                         settings.script_data_bytes, settings.script_workers)
    return _limits


class _Worker:
    def __init__(self, limits: Limits):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
        if "PYTHONPATH" in os.environ:
            env["PYTHONPATH"] = os.environ["PYTHONPATH"]
        # No secrets or database URL in the environment, no inherited descriptors.
        self.proc = subprocess.Popen(  # noqa: S603  (our own interpreter and module)
            [sys.executable, *([] if "PYTHONPATH" in env else ["-I"]), "-m", f"{__package__}.worker",
             str(limits.memory_mb * 1024 * 1024), str(limits.data_bytes)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, close_fds=True)
        if self.proc.stdin is None or self.proc.stdout is None:  # never: both were asked for as pipes
            raise OSError("the sandbox worker has no pipes")
        self.stdin: IO[bytes] = self.proc.stdin
        self.stdout: IO[bytes] = self.proc.stdout
        self.memory_mb = limits.memory_mb

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.stdin, self.stdout):
            try:
                stream.close()
            except OSError:
                pass


class _Pool:
    def __init__(self) -> None:
        self.pid = os.getpid()
        self.lock = threading.Condition()
        self.idle: list[_Worker] = []
        self.busy = 0
        self.closed = False

    def acquire(self, limits: Limits) -> _Worker:
        deadline = time.monotonic() + max(30.0, limits.wall_s * 5)
        with self.lock:
            while not self.idle and self.busy >= limits.workers:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ScriptBusy("no sandbox worker became free in time")
                self.lock.wait(remaining)
            self.busy += 1
            while self.idle:
                worker = self.idle.pop()
                if worker.proc.poll() is None and worker.memory_mb == limits.memory_mb:
                    return worker
                worker.kill()
        try:
            return _Worker(limits)
        except BaseException:
            self.release(None)
            raise

    def release(self, worker: _Worker | None) -> None:
        with self.lock:
            self.busy -= 1
            if worker is not None:
                self.idle.append(worker)
            self.lock.notify()

    def replenish(self, limits: Limits) -> None:
        """Start a fresh worker in the background for one that was killed, so the next call finds it warm."""
        def spawn() -> None:
            try:
                worker = _Worker(limits)
            except OSError:
                return  # the next call starts one itself
            with self.lock:
                keep = not self.closed and len(self.idle) + self.busy < limits.workers
                if keep:
                    self.idle.append(worker)
                    self.lock.notify()
            if not keep:
                worker.kill()

        threading.Thread(target=spawn, name="sandbox-replenish", daemon=True).start()

    def shutdown(self) -> None:
        with self.lock:
            self.closed = True
            idle, self.idle = self.idle, []
        for worker in idle:
            try:
                worker.stdin.close()  # the worker exits at the end of its input
                worker.proc.wait(timeout=0.5)
            except (OSError, subprocess.TimeoutExpired):
                pass
            worker.kill()


_pool: _Pool | None = None
_pool_lock = threading.Lock()


def _get_pool() -> _Pool:
    global _pool
    with _pool_lock:
        if _pool is None or _pool.pid != os.getpid():  # a forked child never shares its parent's workers
            if _pool is None:
                atexit.register(shutdown)
            _pool = _Pool()
        return _pool


def shutdown() -> None:
    """Stop every idle worker; called at exit so tests and commands never leave processes behind."""
    if _pool is not None and _pool.pid == os.getpid():
        _pool.shutdown()


def call(mode: str, source: str, context: dict[str, Any], external: dict[str, Any], moment: str | None,
         limits: Limits | None = None) -> dict[str, Any]:
    """Run `source` in a worker: `{"result": ...}` for `eval`, `{"context": ...}` for `exec`."""
    limits = limits or current_limits()
    try:
        payload = codec.dumps({"mode": mode, "source": source, "context": context, "external": external,
                               "now": moment, "cpu_s": limits.cpu_s}).encode()
    except codec.NotData as error:
        raise TypeError(str(error)) from None
    if len(payload) > limits.data_bytes:
        raise ScriptInputTooLarge(f"the task data is larger than {limits.data_bytes} bytes")
    pool = _get_pool()
    worker = pool.acquire(limits)
    keep = False
    try:
        reply = _exchange(worker, payload, limits)
        keep = not reply.get("recycle")
    finally:
        if not keep:
            worker.kill()
        pool.release(worker if keep else None)
        if not keep:
            pool.replenish(limits)
    if "error" in reply:
        raise _rebuild(reply["error"])
    return reply


def _exchange(worker: _Worker, payload: bytes, limits: Limits) -> dict[str, Any]:
    deadline = time.monotonic() + limits.wall_s
    try:
        worker.stdin.write(payload + b"\n")
        worker.stdin.flush()
    except OSError:
        raise ScriptCrashed(_death(worker)) from None
    fd = worker.stdout.fileno()
    received = bytearray()
    cap = limits.data_bytes * 2 + 65536
    poller = select.poll()  # not select(): a busy server may hold descriptors above 1024
    poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    while b"\n" not in received:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ScriptTooLong(f"the script ran longer than {limits.wall_s:g} s and was stopped")
        if not poller.poll(max(1, int(remaining * 1000))):
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            worker.kill()
            if worker.proc.returncode == -signal.SIGXCPU:
                raise ScriptTooLong(f"the script ran longer than {limits.cpu_s:g} s of processor time and was stopped")
            raise ScriptCrashed(_death(worker))
        received += chunk
        if len(received) > cap:
            raise ScriptOutputTooLarge(f"the script's result is larger than {limits.data_bytes} bytes")
    reply: dict[str, Any] = codec.loads(bytes(received[:received.index(b"\n")]))
    return reply


def _death(worker: _Worker) -> str:
    worker.kill()
    code = worker.proc.returncode
    how = f"signal {-code}" if code is not None and code < 0 else f"exit status {code}"
    return f"the worker running the script stopped without an answer ({how})"


def _rebuild(error: dict[str, Any]) -> Exception:
    kind, message, line = error.get("type", ""), str(error.get("message", ""))[:1000], error.get("line")
    if error.get("code") in LIMIT_ERRORS:
        return LIMIT_ERRORS[error["code"]](message, line)
    if kind in ("ScriptRefused", "SyntaxError", "IndentationError", "TabError"):
        return ScriptRefused(message, ("<string>", line or 1, 0, ""))
    if kind == "NameError" and not re.match(r"name '.+' is not defined", message):
        kind = "RuntimeError"  # SpiffWorkflow's hint for unknown names expects exactly that sentence
    if kind in PASSED_ERRORS:
        rebuilt = PASSED_ERRORS[kind](message)
        rebuilt.line = line  # type: ignore[attr-defined]
        return rebuilt
    return ScriptFailed(f"{kind}: {message}" if message else kind, line)
