"""A per-token rate limit: at most `api_requests_per_minute` requests in any sliding minute, counted in this
worker process (no database write per request). Over the limit the answer is 429 with Retry-After."""
from __future__ import annotations

import threading
from collections import deque

WINDOW_S = 60.0
_KEPT_TOKENS = 10_000  # beyond this many tokens seen, the idlest are forgotten


class SlidingWindow:
    """Request times per token within the last minute; thread-safe (gunicorn threads, the test server)."""

    def __init__(self) -> None:
        self._seen: dict[int, deque[float]] = {}
        self._lock = threading.Lock()

    def admit(self, token_id: int, now: float, limit: int) -> float | None:
        """Count a request at `now` (seconds); None when admitted, else the seconds until one would be."""
        with self._lock:
            times = self._seen.setdefault(token_id, deque())
            while times and now - times[0] >= WINDOW_S:
                times.popleft()
            if len(times) >= limit:
                return WINDOW_S - (now - times[0])
            times.append(now)
            if len(self._seen) > _KEPT_TOKENS:
                for idle in [t for t, q in self._seen.items() if not q or now - q[-1] >= WINDOW_S]:
                    del self._seen[idle]
            return None

