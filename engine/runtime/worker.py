"""The sandbox worker process: reads one JSON request a line, runs it restricted, answers one line.

Started by `workers` as `python -m ...runtime.worker MEMORY_BYTES DATA_BYTES`. It limits its own
address space and, per call, its processor time; a script that outlives its CPU time is answered for
by a signal handler the script cannot catch, and one stuck inside C is ended by the kernel.
"""
from __future__ import annotations

import functools
import math
import os
import resource
import signal
import sys
import traceback
from types import CodeType, FrameType, TracebackType
from typing import Any, BinaryIO

from . import codec, restricted
from .helpers import MOMENT, SCRIPT_GLOBALS

RECURSION_LIMIT = 300  # deep recursion ends in RecursionError long before the C stack is at risk
MESSAGE_CHARS = 500


def _script_line(tb: TracebackType | None) -> int | None:
    line: int | None = None
    for frame in traceback.extract_tb(tb):
        if frame.filename == "<string>":
            line = frame.lineno
    return line


def _frame_line(frame: FrameType | None) -> int | None:
    while frame is not None:
        if frame.f_code.co_filename == "<string>":
            return frame.f_lineno
        frame = frame.f_back
    return None


def _error(code: str | None, kind: str, message: str, line: int | None) -> dict[str, Any]:
    return {"error": {"code": code, "type": kind, "message": message[:MESSAGE_CHARS], "line": line},
            "recycle": code is not None}


class _Channel:
    def __init__(self, out: BinaryIO, data_bytes: int):
        self.out, self.data_bytes = out, data_bytes

    def send(self, reply: dict[str, Any]) -> None:
        try:
            text = codec.dumps(reply).encode()
        except (codec.NotData, ValueError) as error:
            text = codec.dumps(_error(None, "TypeError", f"the script's result is not data: {error}", None)).encode()
        if len(text) > self.data_bytes:
            text = codec.dumps(_error("script_output_too_large", "ScriptOutputTooLarge",
                                      f"the script's result is larger than {self.data_bytes} bytes", None)).encode()
        self.out.write(text + b"\n")
        self.out.flush()


@functools.lru_cache(maxsize=512)
def _compiled(source: str, mode: str) -> CodeType:
    return restricted.compile_source(source, mode)


def _arm_cpu(channel: _Channel, cpu_s: float) -> None:
    def out_of_time(signum: int, frame: FrameType | None) -> None:
        # Answer for the script, then leave: raising here could be caught by the script.
        channel.send(_error("script_timeout", "ScriptTooLong",
                            f"the script ran longer than {cpu_s:g} s of processor time and was stopped", _frame_line(frame)))
        os._exit(0)

    signal.signal(signal.SIGPROF, out_of_time)
    signal.setitimer(signal.ITIMER_PROF, cpu_s)
    # The kernel's limit catches work inside C, where the signal handler cannot run.
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(usage.ru_utime + usage.ru_stime + cpu_s)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, resource.RLIM_INFINITY))


def _serve(channel: _Channel, line: bytes) -> None:
    request = codec.loads(line)
    mode, context, external = request["mode"], request["context"], request["external"]
    MOMENT.set(request["now"])
    _arm_cpu(channel, float(request["cpu_s"]))
    try:
        code = _compiled(request["source"], mode)
        result = restricted.run_compiled(mode, code, context, external, SCRIPT_GLOBALS)
        reply: dict[str, Any] = {"result": result} if mode == "eval" else {"context": context}
        body = codec.dumps(reply).encode()  # measured while the time limit still holds
        if len(body) > channel.data_bytes:
            reply = _error("script_output_too_large", "ScriptOutputTooLarge",
                           f"the script's result is larger than {channel.data_bytes} bytes", None)
    except MemoryError as error:
        reply = _error("script_memory", "ScriptMemory", "the script needed more memory than allowed",
                       _script_line(error.__traceback__))
    except restricted.ScriptRefused as error:
        reply = _error(None, "ScriptRefused", str(error.msg), error.lineno)
    except codec.NotData as error:
        reply = _error(None, "TypeError", str(error), None)
    except BaseException as error:  # noqa: BLE001  (SystemExit and friends end here, never the worker)
        reply = _error(None, type(error).__name__, str(error), _script_line(error.__traceback__))
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
    channel.send(reply)


def main() -> None:
    """Serve requests from standard input until it closes."""
    memory_bytes, data_bytes = int(sys.argv[1]), int(sys.argv[2])
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent, which stops us itself
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # nothing a script or library prints can corrupt the answers
    sys.setrecursionlimit(RECURSION_LIMIT)
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    channel = _Channel(out, data_bytes)
    import _strptime  # noqa: F401, PLC0415  (loaded before the limits, so `strptime` needs no import later)
    for line in sys.stdin.buffer:
        try:
            _serve(channel, line)
        except MemoryError:
            os._exit(3)  # too little memory left even to answer: the parent reports a crash


if __name__ == "__main__":
    main()
