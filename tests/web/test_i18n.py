"""Every message in code and templates has a Japanese translation."""
from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
METHOD_MAP = [("web/**.py", "python"), ("web/templates/**.html", "jinja2")]


def test_every_message_has_a_japanese_translation():
    with open(ROOT / "web/translations/ja/LC_MESSAGES/messages.po", "rb") as handle:
        catalog = read_po(handle)
    keywords = {"_": None, "gettext": None, "lazy_gettext": None}
    found = {
        (message if isinstance(message, str) else message[0])
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), METHOD_MAP, keywords=keywords, options_map={})
    }
    untranslated = sorted(m for m in found if not (catalog.get(m) and catalog.get(m).string))
    assert untranslated == []
