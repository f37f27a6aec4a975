"""Every setting Tsunagu reads, declared once with its default and a strict parse."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from .clock import DEFAULT_ZONE
from .errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _parse_bool(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(name, f"expected a boolean (true/false), got {raw!r}")


def _parse_int(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(name, f"expected an integer, got {raw!r}") from None


def _parse_seconds(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(name, f"expected a number of seconds, got {raw!r}") from None
    if not 0 < value < 3600:
        raise ConfigError(name, f"expected a number of seconds between 0 and 3600, got {raw!r}")
    return value


def _parse_zone(name: str, raw: str) -> str:
    try:
        ZoneInfo(raw)
    except Exception:
        raise ConfigError(name, f"unknown time zone {raw!r}") from None
    return raw


@dataclass(frozen=True)
class Settings:
    """The whole configuration; `from_env` reads each TSUNAGU_* variable once."""

    instance_dir: str = field(default=str(PROJECT_ROOT / "instance"), metadata={"env": "TSUNAGU_INSTANCE_DIR"})
    database_url: str = field(
        default=f"sqlite:///{PROJECT_ROOT / 'instance' / 'tsunagu.db'}",
        metadata={"env": "TSUNAGU_DATABASE_URL"},
    )
    # A read replica the reports read from (empty: the database itself); their audit rows go to the database.
    reports_database_url: str = field(default="", metadata={"env": "TSUNAGU_REPORTS_DATABASE_URL"})
    secret_key: str = field(default="", metadata={"env": "TSUNAGU_SECRET_KEY"})
    time_zone: str = field(default=DEFAULT_ZONE, metadata={"env": "TSUNAGU_TIME_ZONE", "parse": _parse_zone})
    default_locale: str = field(default="ja", metadata={"env": "TSUNAGU_DEFAULT_LOCALE"})
    main_process: str = field(default="kodoku_koritsu_case", metadata={"env": "TSUNAGU_MAIN_PROCESS"})
    process_dir: str = field(default=str(PROJECT_ROOT / "bpmn"), metadata={"env": "TSUNAGU_PROCESS_DIR"})
    host: str = field(default="127.0.0.1", metadata={"env": "TSUNAGU_HOST"})
    port: int = field(default=5000, metadata={"env": "TSUNAGU_PORT", "parse": _parse_int})
    secure_cookies: bool = field(default=False, metadata={"env": "TSUNAGU_SECURE_COOKIES", "parse": _parse_bool})
    session_minutes: int = field(default=30, metadata={"env": "TSUNAGU_SESSION_MINUTES", "parse": _parse_int})
    # However active, a session ends this many hours after sign-in (the idle limit above ends it sooner).
    session_max_hours: int = field(default=12, metadata={"env": "TSUNAGU_SESSION_MAX_HOURS", "parse": _parse_int})
    # API requests per token and minute, counted by each web worker (several workers: each allows this many).
    api_requests_per_minute: int = field(default=600, metadata={"env": "TSUNAGU_API_REQUESTS_PER_MINUTE",
                                                                "parse": _parse_int})
    sqlite_busy_ms: int = field(default=10000, metadata={"env": "TSUNAGU_SQLITE_BUSY_MS", "parse": _parse_int})
    # Scheduler: how often it looks for due timers and tasks, and how it treats failing timers.
    scheduler_in_web: bool = field(default=False, metadata={"env": "TSUNAGU_SCHEDULER_IN_WEB", "parse": _parse_bool})
    scheduler_interval_s: int = field(default=30, metadata={"env": "TSUNAGU_SCHEDULER_INTERVAL_S", "parse": _parse_int})
    timer_max_attempts: int = field(default=5, metadata={"env": "TSUNAGU_TIMER_MAX_ATTEMPTS", "parse": _parse_int})
    timer_backoff_s: int = field(default=60, metadata={"env": "TSUNAGU_TIMER_BACKOFF_S", "parse": _parse_int})
    due_soon_hours: int = field(default=24, metadata={"env": "TSUNAGU_DUE_SOON_HOURS", "parse": _parse_int})
    # Mail: notifications are mailed only when a server is configured and the user has an address.
    smtp_host: str = field(default="", metadata={"env": "TSUNAGU_SMTP_HOST"})
    smtp_port: int = field(default=25, metadata={"env": "TSUNAGU_SMTP_PORT", "parse": _parse_int})
    smtp_starttls: bool = field(default=False, metadata={"env": "TSUNAGU_SMTP_STARTTLS", "parse": _parse_bool})
    smtp_username: str = field(default="", metadata={"env": "TSUNAGU_SMTP_USERNAME"})
    smtp_password: str = field(default="", metadata={"env": "TSUNAGU_SMTP_PASSWORD"})
    mail_from: str = field(default="tsunagu@localhost", metadata={"env": "TSUNAGU_MAIL_FROM"})
    mail_max_attempts: int = field(default=20, metadata={"env": "TSUNAGU_MAIL_MAX_ATTEMPTS", "parse": _parse_int})
    base_url: str = field(default="http://127.0.0.1:5000", metadata={"env": "TSUNAGU_BASE_URL"})
    # Script sandbox: each script, condition, decision or timer expression runs in a worker process
    # with these limits per call; a worker that exceeds them is killed and the case stops in error.
    script_cpu_s: float = field(default=0.5, metadata={"env": "TSUNAGU_SCRIPT_CPU_S", "parse": _parse_seconds})
    script_wall_s: float = field(default=2.0, metadata={"env": "TSUNAGU_SCRIPT_WALL_S", "parse": _parse_seconds})
    script_memory_mb: int = field(default=256, metadata={"env": "TSUNAGU_SCRIPT_MEMORY_MB", "parse": _parse_int})
    script_data_bytes: int = field(default=1_000_000, metadata={"env": "TSUNAGU_SCRIPT_DATA_BYTES",
                                                                "parse": _parse_int})
    script_workers: int = field(default=4, metadata={"env": "TSUNAGU_SCRIPT_WORKERS", "parse": _parse_int})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> "Settings":
        """Build settings from the environment, then apply explicit overrides (tests, CLI flags)."""
        source: Mapping[str, str] = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = source.get(f.metadata["env"])
            if raw is None:
                continue
            parse = f.metadata.get("parse")
            values[f.name] = parse(f.metadata["env"], raw) if parse else raw
        return replace(cls(**values), **overrides)

    @staticmethod
    def variables() -> dict[str, object]:
        """Map each environment variable to its default, for documentation and `tsunagu config`."""
        return {f.metadata["env"]: f.default for f in fields(Settings)}
