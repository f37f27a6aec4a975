"""A newcomer's first case in the real browser: log in, open a case, fix a form error, see the next task."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import screenshot

pytestmark = pytest.mark.browser


def test_caseworker_opens_a_case_fixes_an_intake_error_and_sees_the_next_task(page, live_server):
    page.goto(f"{live_server}/login")
    expect(page.locator("h1")).to_have_text("ログイン")
    page.fill("#username", "caseworker")
    page.fill("#password", "tsunagu-demo")
    page.click("button[type=submit].primary")
    expect(page.locator("h1")).to_have_text("受信箱")

    page.click("text=新規相談 >> nth=0")
    page.fill("#title", "ブラウザ テスト さん")
    page.click("button:has-text('開始')")
    expect(page.locator("h1")).to_have_text("相談受付")

    page.fill("#consultation_date", "2026-11-27")
    page.check("input[name=channel][value=outreach]")
    page.fill("#person_name", "試験 一郎")
    page.fill("#birth_year", "千九百五十")  # not a number: must be refused beside the field
    page.fill("#concern", "妻を亡くして一人暮らし。食事が十分に摂れていない様子。")
    page.check("input[name=existing_scheme][value=none]")
    page.click("button:has-text('完了する')")

    birth_year = page.locator("#field-birth_year")
    expect(birth_year.locator(".error")).to_have_text("整数で入力してください。")
    expect(page.locator("#birth_year")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#concern")).to_have_value("妻を亡くして一人暮らし。食事が十分に摂れていない様子。")
    screenshot(page, "intake-error")

    page.fill("#birth_year", "1950")
    page.click("button:has-text('完了する')")
    expect(page.locator("h1")).to_have_text("受信箱")
    expect(page.locator(".flashes")).to_contain_text("次のタスク:「初回アセスメント（孤独・孤立の状況）」")
    row = page.locator("#available-tasks tr", has_text="ブラウザ テスト さん")
    expect(row).to_contain_text("初回アセスメント（孤独・孤立の状況）")
    screenshot(page, "inbox-next-task")

    row.locator("a").first.click()
    expect(page.locator("h1")).to_have_text("初回アセスメント（孤独・孤立の状況）")
