"""The privacy desk in the real browser: a supervisor receives a request to stop use (利用停止請求), finds and
links the person, opens the disclosure document, stops the use of the person's case (which then says so and
offers no task work) and resumes it; at desktop width and on a 375 px phone."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tsunagu.engine.models import CaseRecord, CaseStatus
from tsunagu.engine.runtime.forms import today_in_japan

from .conftest import screenshot
from .test_admin_totp import demo_db  # noqa: F401  (fixture)
from .test_standard_path_journey import _sign_in, _sign_out

pytestmark = pytest.mark.browser

CASE_TITLE = "T.Y. さん（アウトリーチ）"  # the demo's decided case of 田村 洋一 (タムラ ヨウイチ)
PHONE = {"width": 375, "height": 812}


def _wide(page, name: str, fits: bool = True) -> None:
    """A picture at the page's own width and one on a phone; the desk's own pages need no sideways scrolling
    there (`fits`; the case page's wide ledgers are older than this journey)."""
    screenshot(page, name)
    size = page.viewport_size
    page.set_viewport_size(PHONE)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    screenshot(page, f"{name}-375")
    page.set_viewport_size(size)
    assert not fits or overflow <= 0, f"{name}: {overflow}px wider than a 375 px screen"


def test_the_desk_receives_a_stop_use_request_links_the_person_reads_the_document_and_suspends_and_resumes(
        page, live_server, demo_db):  # noqa: F811
    case = demo_db.scalar(select(CaseRecord).where(CaseRecord.title == CASE_TITLE))
    today = today_in_japan(datetime.now(timezone.utc))
    _sign_in(page, live_server, "supervisor")

    page.locator("nav").get_by_role("link", name="開示等の請求").click()
    expect(page.locator("h1")).to_have_text("開示等の請求")
    page.get_by_role("link", name="請求を受け付ける").click()
    page.get_by_role("button", name="受付を記録").click()  # nothing filled in: each field says what is missing
    expect(page.locator("#error-summary")).to_contain_text("請求の種類: 選択肢から選んでください。")
    expect(page.locator("#error-summary")).to_contain_text("請求者: この項目は必須です。")
    page.locator("#field-kind").get_by_label("利用停止請求").check()
    page.fill("#requester", "田村 洋一（本人）")
    page.fill("#received_on", (today - timedelta(days=2)).isoformat())
    page.fill("#details", "相談の記録の利用を当面やめてほしい。")
    _wide(page, "subject-request-new")
    page.get_by_role("button", name="受付を記録").click()
    due = (today - timedelta(days=2) + timedelta(days=30)).isoformat()
    expect(page.locator(".flashes")).to_contain_text(f"決定期限は {due} です。")
    expect(page.locator("#request-meta")).to_contain_text(f"利用停止決定期限 {due}")

    page.fill("#q", "たむら")
    page.get_by_role("button", name="検索").click()
    page.locator("#persons-found tr", has_text="田村 洋一").get_by_role("button", name="この方が本人").click()
    expect(page.locator(".flashes")).to_contain_text("請求を本人に紐付けました。")
    expect(page.locator("#linked-person")).to_contain_text("田村 洋一")
    expect(page.locator("#person-cases")).to_contain_text(case.reference)
    _wide(page, "subject-request-linked")
    request_page = page.url.split("#")[0]

    page.get_by_role("link", name="開示する書類（印刷）").click()
    expect(page.locator("h1")).to_have_text("保有個人情報の開示書類")
    expect(page.locator(f"#document-case-{case.id}")).to_contain_text("社会福祉協議会が訪問で関係をつくり")
    withheld = page.locator("#withheld")
    expect(withheld).to_contain_text("協議会が定めたキーパーソン")  # the daughter the council named
    expect(withheld).to_contain_text("第78条第1項第2号")
    expect(page.locator("body")).not_to_contain_text("長女（県外在住）")
    _wide(page, "subject-request-document")
    page.goto(request_page)

    suspend = page.locator("#suspend-form")
    expect(suspend.locator("#to-suspend")).to_contain_text(case.reference)
    suspend.locator("textarea[name=reason]").fill("本人からの利用停止請求（第98条）")
    suspend.get_by_role("button", name="利用停止する").click()
    expect(page.locator("#error-summary")).to_contain_text("確認: この項目は必須です。")  # the box, first
    page.locator("#suspend-form").get_by_label("本人のケース 1 件の利用を停止します").check()
    page.locator("#suspend-form").get_by_role("button", name="利用停止する").click()
    expect(page.locator(".flashes")).to_contain_text("本人のケース 1 件を停止中にしました。")

    page.goto(f"{live_server}/cases/{case.id}")
    banner = page.locator("#suspended-banner")
    expect(banner).to_contain_text("利用停止中")
    expect(banner).to_contain_text("本人からの利用停止請求（第98条）")
    expect(page.locator("#case-tasks a")).to_have_count(0)  # no task to open and work
    _wide(page, "subject-request-case-suspended", fits=False)
    demo_db.expire_all()
    assert demo_db.get(CaseRecord, case.id).status == CaseStatus.SUSPENDED
    page.goto(request_page)

    resume = page.locator("#resume-form")
    resume.locator("textarea[name=reason]").fill("本人が支援の再開を希望")
    resume.get_by_label("ケース 1 件の利用を再開します").check()
    resume.get_by_role("button", name="利用を再開する").click()
    expect(page.locator(".flashes")).to_contain_text("本人のケース 1 件を再開しました。")
    demo_db.expire_all()
    assert demo_db.get(CaseRecord, case.id).status in (CaseStatus.RUNNING, CaseStatus.WAITING)

    page.locator("#decide-form").get_by_label("利用停止しない").check()
    page.fill("#decide-note", "本人が再開を希望し、請求の目的が失われたため。")
    page.get_by_role("button", name="決定を記録").click()
    expect(page.locator("#outcome")).to_contain_text("利用停止しない")
    page.locator("nav").get_by_role("link", name="開示等の請求").click()
    expect(page.locator("#requests")).to_have_text("決定を待つ請求はありません。")
    page.get_by_role("link", name="すべての請求").click()
    expect(page.locator("#requests")).to_contain_text("田村 洋一")
    _wide(page, "subject-request-register")
    _sign_out(page)
