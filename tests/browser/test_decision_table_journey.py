"""A process designer lowers the risk triage's UCLA threshold in the decision-table page, tries it, deploys
the draft, and a caseworker's new case with that score is triaged high risk, as an older one was not."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from .conftest import screenshot
from .test_standard_path_journey import _choose, _complete, _fill_assessment, _sign_in, _sign_out

pytestmark = pytest.mark.browser

KEY = "kodoku_koritsu_case"
TITLE = "閾値変更後の相談"
UCLA_RULE_INPUT = "#rule-3-in-3"  # rule 4 of risk_triage: the UCLA total (column 4) from 9 points up is high risk


def test_a_lowered_threshold_deployed_from_the_table_page_triages_a_new_case_high(page, live_server):
    iso = datetime.now(ZoneInfo("Asia/Tokyo")).date().isoformat()
    _sign_in(page, live_server, "designer")
    page.goto(f"{live_server}/designer/processes/{KEY}")
    page.locator("#decisions-link").click()
    page.get_by_role("link", name="リスク判定").first.click()
    expect(page.locator(UCLA_RULE_INPUT)).to_have_value(">= 9")

    # Tried before saving: a UCLA total of 7 is high once the threshold is 7.
    page.fill(UCLA_RULE_INPUT, ">= 7")
    for name, value in (("suicidal_thoughts", "False"), ("immediate_danger", "False"), ("existing_scheme", "none"),
                        ("ucla_total", "7"), ("loneliness_direct", "3")):
        page.fill(f"#try-{name}", value)
    page.locator("#try-button").click()
    expect(page.locator("#trial-result")).to_contain_text("high")
    expect(page.locator("#trial-result")).to_contain_text("ルール4")
    expect(page.locator(UCLA_RULE_INPUT)).to_have_value(">= 7")  # the unsaved change survived the try
    screenshot(page, "designer-decision-table")

    page.locator("#save").click()
    expect(page.locator(".flashes")).to_contain_text("下書き")
    page.fill("#note", "UCLA得点7点以上を高リスクとする（地域の実情に合わせた）")
    page.get_by_role("button", name="下書きを登録して有効にする").click()
    expect(page.locator(".flashes")).to_contain_text("第1版を有効にしました")
    # The comparison with the national template names exactly the changed entry.
    page.locator("#compare-versions").click()
    expect(page.locator("main")).to_contain_text(">= 7")
    screenshot(page, "designer-diff")
    _sign_out(page)

    _sign_in(page, live_server, "caseworker")
    page.locator("nav").get_by_role("link", name="新規相談").click()
    page.fill("#title", TITLE)
    page.get_by_role("button", name="開始").click()
    page.fill("#consultation_date", iso)
    _choose(page, "channel", "窓口")
    page.fill("#person_name", "閾値 花子")
    _choose(page, "household", "単身")
    page.fill("#concern", "近所付き合いがなくなった。")
    _choose(page, "existing_scheme", "該当なし")
    _complete(page, "相談受付", next_task="初回アセスメント（孤独・孤立の状況）")
    page.locator("#available-tasks tr", has_text=TITLE).get_by_role("button", name="担当する").click()
    page.locator("#my-tasks tr", has_text=TITLE).get_by_role("link", name="初回アセスメント（孤独・孤立の状況）").click()
    _fill_assessment(page, iso, {  # UCLA 3 + 2 + 2 = 7, the direct question 3: normal under the old table
        "loneliness_direct": "たまにある", "ucla_1": "時々ある", "ucla_2": "ほとんどない", "ucla_3": "ほとんどない",
        "contact_frequency": "月に1回以上", "participation": "はい", "support_received": "はい",
        "helps_others": "いいえ"}, "外出は週に数回。")
    _complete(page, "初回アセスメント（孤独・孤立の状況）", next_task="本人同意の確認")

    page.locator("nav").get_by_role("link", name="ケース一覧").click()
    row = page.locator("#case-list tbody tr", has_text=TITLE)
    expect(row.locator("td[data-label=リスク]")).to_have_text("高")  # it would say 通常 under the old table
