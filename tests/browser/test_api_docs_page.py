"""/api/v1/docs in Chromium: Swagger UI draws every operation of the API's own document from local files."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import screenshot

pytestmark = pytest.mark.browser


def test_the_api_docs_page_shows_the_operations_without_any_outside_request(page, live_server):
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(live_server) else None)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server}/api/v1/docs")
    expect(page.locator("h1").first).to_have_text("つなぐAPI")
    expect(page.locator(".opblock-summary-path", has_text="/tasks/{task_id}/complete")).to_be_visible()
    expect(page.locator(".opblock-summary-path", has_text="/process-definitions/key/{key}/start")).to_be_visible()
    screenshot(page, "api-docs")
    page.set_viewport_size({"width": 375, "height": 812})
    screenshot(page, "api-docs-375")
    assert outside == []
