"""The `tsunagu` command: one module per noun, each adding its commands to the `main` group."""
from __future__ import annotations

from . import (  # noqa: F401  (register commands)
    backup,
    catalogue,
    core,
    decisions,
    designer,
    diff,
    file_register,
    forms,
    meetings,
    migrate,
    municipalities,
    organisations,
    process_edits,
    processes,
    reports,
    retention,
    seed,
    settings,
    teams,
    tokens,
    users,
)
from .base import main

__all__ = ["main"]
