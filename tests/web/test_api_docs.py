"""/api/v1/docs: Swagger UI on the API's own document, every file served by Tsunagu itself (no CDN)."""
from __future__ import annotations

import re


def test_the_docs_page_loads_only_files_tsunagu_serves_and_needs_no_token(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    assert "<title>つなぐAPI — つなぐ</title>" in text
    linked = re.findall(r'(?:src|href)="([^"]+)"', text)
    assert linked and all(url.startswith("/") and not url.startswith("//") for url in linked), linked
    for url in linked:  # the inbox link answers with the sign-in page; every file is there
        assert client.get(url).status_code == (302 if url == "/" else 200), url
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]


def test_only_the_listed_swagger_files_are_served(client):
    assert client.get("/api/v1/docs/assets/index.html").status_code == 404
    assert client.get("/api/v1/docs/assets/..%2Fpackage.json").status_code == 404


def test_every_operation_is_grouped_under_one_described_tag(client):
    document = client.get("/api/v1/openapi.json").json
    described = [tag["name"] for tag in document["tags"]]
    assert described[:2] == ["Process definitions", "Tasks"] and all(t["description"] for t in document["tags"])
    used = {path: op["tags"] for path, ops in document["paths"].items() for op in ops.values()}
    assert all(len(tags) == 1 and tags[0] in described for tags in used.values()), used
    assert used["/cases/{case_id}/consents"] == ["Cases"] and used["/incidents"] == ["Incidents"]
    assert {tags[0] for tags in used.values()} == set(described)
