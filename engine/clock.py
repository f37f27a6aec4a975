"""Time as the engine sees it: always timezone-aware, and replaceable in tests."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Callable
from zoneinfo import ZoneInfo

Clock = Callable[[], datetime]

# Japanese municipalities keep one zone; TSUNAGU_TIME_ZONE changes how times are shown.
DEFAULT_ZONE = "Asia/Tokyo"


def system_clock() -> datetime:
    """The real current time in UTC."""
    return datetime.now(timezone.utc)


class FixedClock:
    """A clock a test sets and advances by hand, so nothing sleeps."""

    def __init__(self, start: datetime):
        if start.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware start")
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> datetime:
        self.now = self.now + delta
        return self.now


def local(moment: datetime | None, zone: str) -> datetime | None:
    """Show a stored moment in the municipality's zone (Asia/Tokyo by default)."""
    if moment is None:
        return None
    if moment.tzinfo is None:  # SQLite hands back naive UTC values
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(ZoneInfo(zone))
