"""`tsunagu organisations ...`."""
from __future__ import annotations

from .base import main  # noqa: F401
