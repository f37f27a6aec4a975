"""The buttons of the designers' row editors (decision rules, form fields and their choices) without
JavaScript: each posts `action` as a verb and the positions it acts on (`up-3`, `removechoice-2-0`), and the
editor re-renders the posted rows rearranged. Positions come from the page, so every one is checked here."""
from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

Row = TypeVar("Row")


def parse(action: str) -> tuple[str, list[int]]:
    """The verb and the positions of a posted action; a position that is not a small number is -1."""
    verb, _sep, where = action.partition("-")
    positions = [int(p) if p.isascii() and p.isdigit() and len(p) < 5 else -1 for p in where.split("-")] \
        if where else []
    return verb, positions


def posted_count(form: Mapping[str, str], name: str, limit: int) -> int:
    """How many rows the page says it posted, at most one more than the limit (so a check can refuse it)."""
    raw = form.get(name, "0")
    return min(int(raw), limit + 1) if raw.isascii() and raw.isdigit() and len(raw) < 6 else 0


def rearrange(rows: list[Row], verb: str, index: int) -> bool:
    """Remove the row at `index`, or move it one place up or down; False when the verb is none of these or
    the index is not a row's."""
    if not 0 <= index < len(rows) or verb not in ("remove", "up", "down"):
        return False
    if verb == "remove":
        del rows[index]
    elif verb == "up" and index > 0:
        rows[index - 1], rows[index] = rows[index], rows[index - 1]
    elif verb == "down" and index < len(rows) - 1:
        rows[index + 1], rows[index] = rows[index], rows[index + 1]
    return True
