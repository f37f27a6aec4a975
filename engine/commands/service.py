"""The scheduler as a long-running service on APScheduler, wired once for the CLI and the web app."""
from __future__ import annotations

import logging
import os
import socket

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from ..clock import Clock, system_clock
from ..config import Settings
from ..db import make_engine, make_session_factory
from ..ops.mail import MailSettings
from .scheduler import TimerPolicy, run_pass

log = logging.getLogger(__name__)


def policy_from(settings: Settings) -> TimerPolicy:
    return TimerPolicy(max_attempts=settings.timer_max_attempts, backoff_s=settings.timer_backoff_s,
                       due_soon_hours=settings.due_soon_hours, lease_s=max(4 * settings.scheduler_interval_s, 60))


def holder_name() -> str:
    """Who holds the SQLite lease: host and process, as shown to an operator."""
    return f"{socket.gethostname()}:{os.getpid()}"


def build_scheduler(settings: Settings, *, blocking: bool, clock: Clock = system_clock) -> BaseScheduler:
    """An APScheduler running one pass at start (catch-up after downtime) and then every interval."""
    engine = make_engine(settings.database_url, settings.sqlite_busy_ms)
    session_factory = make_session_factory(engine)
    policy, mail, holder = policy_from(settings), MailSettings.from_settings(settings), holder_name()

    def one_pass() -> None:
        try:
            run_pass(session_factory, clock, policy, holder, mail)
        except Exception:  # a pass that fails is logged and the next one tries again
            log.exception("scheduler pass failed")

    scheduler = (BlockingScheduler if blocking else BackgroundScheduler)(timezone=settings.time_zone)
    scheduler.add_job(one_pass, "interval", seconds=settings.scheduler_interval_s, id="timers",
                      max_instances=1, coalesce=True, next_run_time=clock())
    return scheduler
