"""A human task's instructions (spiffworkflow:instructionsForEndUser), rendered safely as Markdown.

SpiffArena treats the instructions as a Jinja template; Tsunagu never evaluates one. A `{{ name }}`
placeholder of a simple name shows that task data value, escaped; anything else stays as text.
"""
from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from markdown_it import MarkdownIt

INSTRUCTIONS_EXTENSION = "instructionsForEndUser"
SAFE_LINK = re.compile(r"^(https?:|mailto:)", re.IGNORECASE)
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
VALUE_MARK = "TSUNAGUVALUE{}X"  # letters only: Markdown leaves it alone, so the escaped value goes in afterwards


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable("image")  # no picture from elsewhere loads on a case page
    md.validateLink = lambda url: bool(SAFE_LINK.match(url.strip()))  # type: ignore[method-assign]
    return md


MARKDOWN = _markdown()


def render_instructions(text: str | None, data: Mapping[str, Any] | None = None) -> str:
    """HTML for instructions written in Markdown: raw HTML escaped, links only http(s) and mailto."""
    if not text or not text.strip():
        return ""
    values: list[str] = []

    def hold(match: re.Match[str]) -> str:
        values.append(_shown((data or {}).get(match.group(1))))
        return VALUE_MARK.format(len(values) - 1)

    rendered: str = MARKDOWN.render(PLACEHOLDER.sub(hold, text))
    for index, value in enumerate(values):
        rendered = rendered.replace(VALUE_MARK.format(index), html.escape(value))
    return rendered


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def instructions_of(spec_json: str, element_id: str) -> str | None:
    """The instructions written on an element of a stored process version, if any."""
    return _instructions_by_element(spec_json).get(element_id)


@lru_cache(maxsize=64)
def _instructions_by_element(spec_json: str) -> dict[str, str]:
    # Decoded once per version (the stored specs do not change), not once per page view.
    specs = json.loads(spec_json)
    found: dict[str, str] = {}
    for process in [specs.get("spec", {}), *specs.get("subprocess_specs", {}).values()]:
        for name, task_spec in (process.get("task_specs") or {}).items():
            text = (task_spec.get("extensions") or {}).get(INSTRUCTIONS_EXTENSION)
            if isinstance(text, str) and text.strip():
                found.setdefault(task_spec.get("bpmn_id") or name, text)
    return found
