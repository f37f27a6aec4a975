"""What the designers' editor pages (modeller, decision editor, form editor) share in their tests: the page's
data island, the `base` hash a save must post back, the count of drafts, and a stand-in for a built bundle."""
from __future__ import annotations

import json
import re
from pathlib import Path

from sqlalchemy import func, select

from tsunagu.engine.models import ProcessDraftRecord


def island(html: str) -> dict:
    found = re.search(r'<script type="application/json" id="modeller-data">(.*?)</script>', html, re.S)
    assert found, "the page has no data island"
    return json.loads(found.group(1))


def base_of(html: str) -> str:
    found = re.search(r'<input type="hidden" name="base" value="([0-9a-f]+)">', html)
    assert found, "the page has no base hash"
    return found.group(1)


def draft_count(session) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(ProcessDraftRecord))


def stand_in_bundle(app, tmp_path: Path, monkeypatch, name: str) -> Path:
    """The bundle as `make modeller` leaves it (a stand-in file, so the page tests need no npm)."""
    static = tmp_path / "static"
    (static / "modeller").mkdir(parents=True, exist_ok=True)
    (static / "modeller" / name).write_text("/* bundle */")
    monkeypatch.setattr(app, "static_folder", str(static))
    return static
