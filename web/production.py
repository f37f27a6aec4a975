"""`tsunagu serve --production`: the web app under gunicorn, a pre-forking WSGI server.

Each worker process builds its own app (and so its own database connection pool) after the fork: nothing
that holds a connection or a thread crosses a fork. Workers are plain synchronous processes, as many as the
machine has cores plus one by default; a request that runs longer than `timeout` seconds (a stuck script is
already cut off at TSUNAGU_SCRIPT_WALL_S) has its worker replaced. Every worker and every machine must share
the same TSUNAGU_SECRET_KEY (sessions are signed cookies), database and mail settings; the scheduler runs
as its own service (`tsunagu scheduler`), once or on several machines (its passes lock their rows)."""
from __future__ import annotations

import os
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from tsunagu.engine.config import Settings


def default_workers() -> int:
    return (os.cpu_count() or 1) + 1


def production_problems(settings: Settings) -> list[str]:
    """Why these settings must not serve real cases (empty when they may)."""
    problems = []
    if not settings.secret_key:
        problems.append("TSUNAGU_SECRET_KEY is not set: every worker and machine must sign sessions with the "
                        "same key (generate one with: python -c 'import secrets; print(secrets.token_hex(32))')")
    if settings.scheduler_in_web:
        problems.append("TSUNAGU_SCHEDULER_IN_WEB is true: in production run the scheduler as its own service "
                        "(tsunagu scheduler), not inside each web worker")
    return problems


class ProductionServer(BaseApplication):  # type: ignore[misc]  (gunicorn ships no type hints)
    """gunicorn with its settings given here, not read from a file or the command line."""

    def __init__(self, settings: Settings, options: dict[str, Any]):
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        from tsunagu.web import create_app  # in the worker, after the fork

        return create_app({"SETTINGS": self.settings})


def serve(settings: Settings, *, host: str, port: int, workers: int, timeout: int, access_log: bool) -> None:
    options: dict[str, Any] = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "sync",
        "timeout": timeout,
        "graceful_timeout": 30,
        "keepalive": 5,
        # A worker is replaced after this many requests (with jitter), bounding any slow growth in memory.
        "max_requests": 10_000,
        "max_requests_jitter": 1_000,
        "preload_app": False,
        "proc_name": "tsunagu",
        "errorlog": "-",
        "loglevel": "info",
        # Behind the municipality's reverse proxy (TLS there): trust its X-Forwarded-* headers only from
        # the addresses in FORWARDED_ALLOW_IPS (gunicorn's own setting; 127.0.0.1 by default).
        "forwarded_allow_ips": os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
    }
    if access_log:
        options["accesslog"] = "-"
    ProductionServer(settings, options).run()
