"""What API tests share: a bearer header for a new API token of a user, and the small two-form process."""
from __future__ import annotations

from pathlib import Path

from tsunagu.engine.access import tokens

TWO_FORMS = Path(__file__).resolve().parents[2] / "bench" / "models" / "two_forms"  # start, A, B, end


def bearer(session, clock, user, **scope) -> dict[str, str]:
    """The Authorization header of a new API token acting as `user` (created from the command line)."""
    _record, secret = tokens.create_token(session, clock, None, user, "hotline", **scope)
    return {"Authorization": f"Bearer {secret}"}
