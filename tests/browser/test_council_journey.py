"""The coordinating body in the real browser: open the council agenda, fix a decision form, see the case file."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import screenshot

pytestmark = pytest.mark.browser


def _sign_in(page, live_server, username):
    page.goto(f"{live_server}/login")
    page.fill("#username", username)
    page.fill("#password", "tsunagu-demo")
    page.click("button[type=submit].primary")
    expect(page.locator("h1")).to_have_text("受信箱")


def test_coordinator_records_a_council_decision_after_fixing_the_form(page, live_server):
    _sign_in(page, live_server, "coordinator")
    page.click("nav >> text=協議会")
    expect(page.locator("h1")).to_have_text("孤独・孤立対策地域協議会 個別ケース検討会議")
    page.locator("#meetings tr", has_text="未決定").locator("a").click()
    expect(page.locator(".notice")).to_contain_text("守秘義務（法第18条）")

    # The first of today's cases still to decide (the demo tables two).
    first = page.locator("section.agenda-item", has=page.locator("form.decision-form")).first
    item = page.locator("#" + first.get_attribute("id"))
    form = item.locator("form.decision-form")
    expect(item.locator(".basis")).to_have_text("本人同意")
    form.locator("textarea[name=plan]").fill("社協の訪問で関係をつくり、居場所へのつなぎを並行して進める。")
    form.locator("select[name='actions-1-action_type_id']").select_option(label="居場所へのつなぎ")
    form.locator("button[type=submit]").click()

    form = item.locator("form.decision-form")
    situation = form.locator("textarea[name=situation]")
    expect(situation).to_have_attribute("aria-invalid", "true")
    expect(form.locator("[id^='field-'][id$='-situation'] .error")).to_have_text("この項目は必須です。")
    expect(form.locator("[id^='field-'][id$='-plan'] .error")).to_have_count(0)
    expect(form.locator("textarea[name=plan]")).to_have_value("社協の訪問で関係をつくり、居場所へのつなぎを並行して進める。")
    expect(form.locator("select[name='actions-1-action_type_id'] option:checked")).to_have_text("居場所へのつなぎ")
    screenshot(page, "council-decision-error")

    situation.fill("離職後、家族以外との交流がない。本人は同世代と話せる場所に行ってみたい。")
    form.locator("select[name=risk]").select_option(label="高")
    form.locator("select[name=lead_body_id]").select_option(label="市社会福祉協議会")
    form.locator("input[name=key_person]").fill("民生委員 田中")
    form.locator("input[name=next_review_on]").fill("2099-03-01")
    form.locator("button[type=submit]").click()

    expect(page.locator(".flashes")).to_contain_text("協議会の決定を記録しました。")
    decided = item.locator(".decision")
    expect(decided).to_contain_text("市社会福祉協議会")
    expect(decided.locator("tr", has_text="居場所へのつなぎ")).to_contain_text("NPO法人 つながる居場所")
    expect(decided.locator("tr", has_text="居場所へのつなぎ")).to_contain_text("依頼中")
    screenshot(page, "council-decision-recorded")

    item.locator("h2 a").click()
    expect(page.locator("#council")).to_contain_text("決定済")
    expect(page.locator("#action-list")).to_contain_text("居場所へのつなぎ")
    chart = page.locator("#instrument-ucla3_jp svg[role=img]")
    expect(chart).to_have_attribute("aria-label", re.compile(r"^UCLA孤独感尺度 3項目版（3〜12） — \d{4}-\d{2}-\d{2}: \d+"))
    expect(page.locator("#instrument-ucla3_jp svg title")).to_contain_text("UCLA孤独感尺度")
    screenshot(page, "case-file")
