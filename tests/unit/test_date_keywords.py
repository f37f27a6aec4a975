"""Tsunagu's date keywords: `x-not-after`/`x-not-before` "today" on a date field, checked in Japan's day
by the engine clock, and checked at deployment."""
from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tsunagu.engine.errors import FormInvalid
from tsunagu.engine.runtime.forms import validate_form
from tsunagu.processes.loader import validate_path

ROOT = Path(__file__).resolve().parents[2]
STANDARD = ROOT / "bpmn" / "kodoku_koritsu_case"
# 00:30 on 27 November in Japan is still 26 November in UTC: the rule follows Japan's day.
NOW = datetime(2026, 11, 27, 0, 30, tzinfo=ZoneInfo("Asia/Tokyo"))
SCHEMA = {"type": "object", "properties": {
    "happened_on": {"type": "string", "format": "date", "x-not-after": "today"},
    "due_on": {"type": "string", "format": "date", "x-not-before": "today"}}}


def errors(data, now=NOW):
    try:
        validate_form(SCHEMA, data, now=now)
    except FormInvalid as invalid:
        return [(e.field, e.code, e.params) for e in invalid.errors]
    return []


def test_today_passes_both_rules_in_japans_day():
    assert errors({"happened_on": "2026-11-27", "due_on": "2026-11-27"}) == []


def test_a_date_after_today_is_refused_by_x_not_after_naming_today():
    assert errors({"happened_on": "2026-11-28"}) == [("happened_on", "x_not_after", {"limit": "2026-11-27"})]


def test_a_date_before_today_is_refused_by_x_not_before_naming_today():
    assert errors({"due_on": "2026-11-26"}) == [("due_on", "x_not_before", {"limit": "2026-11-27"})]


def test_a_malformed_date_is_reported_once_by_its_format_only():
    assert errors({"due_on": "2026-13-01"}) == [("due_on", "format", {"format": "date"})]


def test_without_a_clock_the_date_rules_are_not_applied():
    assert errors({"happened_on": "2099-01-01"}, now=None) == []


def standard_copy(tmp_path: Path, form: str, old: str, new: str) -> Path:
    target = tmp_path / "bpmn" / "kodoku_koritsu_case"
    shutil.copytree(STANDARD, target)
    text = (target / form).read_text(encoding="utf-8")
    assert old in text
    (target / form).write_text(text.replace(old, new), encoding="utf-8")
    return target.parent


@pytest.mark.parametrize("new,code", [('"x-not-after": "tomorrow"', "date_keyword_invalid"),
                                      ('"x-not-after": "today", "format": "email"', "date_keyword_not_date")])
def test_a_date_keyword_other_than_today_or_on_a_non_date_field_is_refused_at_deployment(tmp_path, new, code):
    old = '"x-not-after": "today"'
    if "email" in new:
        folder = standard_copy(tmp_path, "intake-schema.json", '"format": "date",\n      "x-not-after": "today",',
                               '"format": "email",\n      "x-not-after": "today",')
    else:
        folder = standard_copy(tmp_path, "intake-schema.json", old, new)
    problems = validate_path(folder)
    assert [(Path(p.file).name, p.code) for p in problems] == [("intake-schema.json", code)]


def test_the_standard_forms_declare_the_plausible_date_rules():
    intake = json.loads((STANDARD / "intake-schema.json").read_text(encoding="utf-8"))
    tabling = json.loads((STANDARD / "tabling-schema.json").read_text(encoding="utf-8"))
    assert intake["properties"]["consultation_date"]["x-not-after"] == "today"
    assert tabling["properties"]["meeting_date"]["x-not-before"] == "today"
