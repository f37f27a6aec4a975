"""Read rendered pages the way a person scans them: one element by id, its visible text."""
from __future__ import annotations

import re
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Finder(HTMLParser):
    def __init__(self, element_id: str):
        super().__init__(convert_charrefs=True)
        self.element_id = element_id
        self.depth = 0
        self.start = self.end = None

    def handle_starttag(self, tag, attrs):
        if self.end is not None:
            return
        if self.start is None:
            if dict(attrs).get("id") == self.element_id:
                self.start = self.getpos()
                self.depth = 0 if tag in VOID else 1
                if tag in VOID:
                    self.end = self.getpos()
            return
        if tag not in VOID:
            self.depth += 1

    def handle_endtag(self, tag):
        if self.start is None or self.end is not None or tag in VOID:
            return
        self.depth -= 1
        if self.depth == 0:
            self.end = self.getpos()


def element(html: str, element_id: str) -> str:
    """The HTML of the element with `element_id`, from its start tag to its end tag."""
    finder = _Finder(element_id)
    finder.feed(html)
    assert finder.start is not None, f"no element with id={element_id!r}"
    assert finder.end is not None, f"element id={element_id!r} is not closed"
    lines = html.splitlines(keepends=True)

    def offset(pos):
        line, col = pos
        return sum(len(x) for x in lines[:line - 1]) + col

    end = offset(finder.end)
    return html[offset(finder.start):html.index(">", end) + 1]


def text(fragment: str) -> str:
    """Visible text with tags removed and white space collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)).strip()


def options(fragment: str) -> list[tuple[str, str]]:
    """The (value, label) pairs of every <option> in a select."""
    return [(value, label.strip()) for value, label in
            re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', fragment)]
