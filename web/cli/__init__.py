"""The `tsunagu` command: one module per noun, each adding its commands to the `main` group."""
from __future__ import annotations

from . import catalogue, core, municipalities, organisations, processes, settings, users  # noqa: F401  (register commands)
from .base import main

__all__ = ["main"]
