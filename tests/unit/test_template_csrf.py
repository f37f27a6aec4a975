"""Every form that posts carries the CSRF token: without it the real browser gets a refusal page (the web
tests switch CSRF checking off, so only this reads the templates themselves)."""
from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"


def test_every_posting_form_in_the_templates_carries_the_csrf_token():
    missing = []
    for template in sorted(TEMPLATES.glob("*.html")):
        for form in re.findall(r"<form\b.*?</form>", template.read_text(encoding="utf-8"), flags=re.S):
            opening = form.split(">", 1)[0]
            if re.search(r'method="post"', opening, flags=re.I) and "csrf_token" not in form:
                missing.append(f"{template.name}: {opening[:80]}")
    assert missing == []
