"""Words for stored codes: translated once per request and language, and an unknown code shown escaped."""
from __future__ import annotations

from flask import session

from tsunagu.web.labels import label


def test_a_known_code_is_worded_in_the_readers_language_and_an_unknown_one_escaped(app):
    with app.test_request_context("/", headers={"Accept-Language": "ja"}):
        assert label("risk", "urgent") == "緊急"
        assert str(label("case_status", "<script>")) == "&lt;script&gt;"
    with app.test_request_context("/?lang=en"):
        session["lang"] = "en"
        assert label("risk", "urgent") == "Urgent"
