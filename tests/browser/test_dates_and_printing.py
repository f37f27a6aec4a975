"""Plausible dates are refused beside the field in the browser, and the printed case file and agenda look
like papers: a Japanese header marking them confidential, no navigation."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from .conftest import screenshot

pytestmark = pytest.mark.browser


def sign_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server}/login")
    page.fill("#username", username)
    page.fill("#password", "tsunagu-demo")
    page.click("button[type=submit].primary")
    expect(page.locator("h1")).to_have_text("受信箱")


def test_a_consultation_date_in_the_future_is_refused_beside_the_field_and_the_case_file_prints(page, live_server):
    today = datetime.now(ZoneInfo("Asia/Tokyo")).date()
    sign_in(page, live_server, "caseworker")
    page.click("text=新規相談 >> nth=0")
    page.fill("#title", "日付 テスト さん")
    page.click("button:has-text('開始')")
    expect(page.locator("h1")).to_have_text("相談受付")

    page.fill("#consultation_date", (today + timedelta(days=1)).isoformat())
    page.check("input[name=channel][value=outreach]")
    page.fill("#person_name", "試験 二郎")
    page.fill("#concern", "一人暮らしで外出が減っている。")
    page.check("input[name=existing_scheme][value=none]")
    page.click("button:has-text('完了する')")

    error = page.locator("#field-consultation_date .error")
    expect(error).to_contain_text(today.isoformat())
    expect(page.locator("#consultation_date")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "intake-future-date")

    page.fill("#consultation_date", today.isoformat())
    page.click("button:has-text('完了する')")
    expect(page.locator("h1")).to_have_text("受信箱")
    page.locator("#available-tasks tr", has_text="日付 テスト さん").locator("a").first.click()
    page.locator(".crumbs a[href^='/cases/']").click()
    page.click("#print-link")
    expect(page.locator("#print-secret")).to_be_visible()
    expect(page.locator("h1")).to_contain_text("日付 テスト さん")
    expect(page.locator("nav")).to_have_count(0)
    screenshot(page, "case-file-print")
    page.emulate_media(media="print")
    expect(page.locator(".screen-only")).to_be_hidden()


def test_the_coordinator_prints_the_agenda_as_papers_marked_confidential(page, live_server):
    sign_in(page, live_server, "coordinator")
    page.goto(f"{live_server}/council")
    page.locator("table a[href^='/council/']").first.click()
    page.click("#print-agenda-link")
    expect(page.locator("#secrecy-notice")).to_be_visible()
    expect(page.locator(".agenda-item").first).to_be_visible()
    screenshot(page, "agenda-print")
