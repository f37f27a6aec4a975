"""Signing in safely in the real browser: an administrator enrols and then uses a second factor, a revised
secrecy pledge is accepted, and a supervisor's emergency opening shows up in the case's access log."""
from __future__ import annotations

import re

import pyotp
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tsunagu.engine.access.security import confirm_totp_enrolment, start_totp_enrolment
from tsunagu.engine.admin import teams
from tsunagu.engine.casefile.governance import DEFAULT_PLEDGE, publish_pledge
from tsunagu.engine.clock import system_clock
from tsunagu.engine.db import make_engine, make_session_factory
from tsunagu.engine.models import CaseRecord, UserRecord

from .conftest import screenshot

pytestmark = pytest.mark.browser
PASSWORD = "tsunagu-demo"
REVISION = "（令和8年4月改訂）退職・異動の後も、知り得た秘密を漏らしてはなりません。"


def _sign_in(page, live_server, username):
    page.goto(f"{live_server}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit].primary")


@pytest.fixture
def demo_db(live_server, database_url):
    """A session on the live server's database, for what the engine prepares before the browser acts."""
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        yield session
    engine.dispose()


def test_an_administrator_must_enrol_a_second_factor_and_can_with_the_key_on_the_page(page, live_server):
    _sign_in(page, live_server, "admin")
    expect(page.locator("h1")).to_have_text("2段階認証")
    expect(page.locator("#totp-required")).to_contain_text("システム管理者は2段階認証の利用が必須です。")
    page.goto(f"{live_server}/admin")  # nothing else is reachable yet
    expect(page).to_have_url(re.compile(r"/account/totp$"))

    page.click("button:has-text('2段階認証を設定する')")
    expect(page.locator("svg.qr")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    screenshot(page, "totp-enrol")
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("button:has-text('2段階認証を有効にする')")
    expect(page.locator("h1")).to_have_text("受信箱")
    expect(page.locator(".flashes")).to_contain_text("2段階認証を有効にしました。")
    page.click("nav >> text=管理")
    expect(page.locator("h1")).to_have_text("管理")


def test_an_administrator_with_a_second_factor_signs_in_with_the_code_and_accepts_the_revised_pledge(
        page, live_server, demo_db):
    admin = demo_db.scalar(select(UserRecord).where(UserRecord.username == "admin"))
    start_totp_enrolment(demo_db, admin)
    confirm_totp_enrolment(demo_db, system_clock, admin, pyotp.TOTP(admin.totp_secret).now())
    publish_pledge(demo_db, system_clock, admin.municipality_id, DEFAULT_PLEDGE + "\n\n" + REVISION)
    demo_db.commit()

    _sign_in(page, live_server, "admin")
    expect(page.locator("h1")).to_have_text("2段階認証")
    page.fill("#code", "000000" if pyotp.TOTP(admin.totp_secret).now() != "000000" else "111111")
    page.click("button:has-text('確認')")
    expect(page.locator("#err-code")).to_have_text("確認コードが違います。")
    expect(page.locator("#code")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "totp-login")
    page.fill("#code", pyotp.TOTP(admin.totp_secret).now())
    page.click("button:has-text('確認')")

    expect(page.locator("h1")).to_have_text("守秘義務に関する誓約")
    expect(page.locator("#pledge-version")).to_contain_text("第2版")
    expect(page.locator("#pledge-text")).to_contain_text(REVISION)
    page.click("button:has-text('誓約する')")  # without the checkbox: refused beside it
    expect(page.locator("#err-agree")).to_have_text("誓約するには、チェックを入れてください。")
    screenshot(page, "pledge")
    page.check("#agree")
    page.click("button:has-text('誓約する')")
    expect(page.locator("h1")).to_have_text("受信箱")


def test_a_supervisors_emergency_opening_is_bannered_and_shows_in_the_access_log(page, live_server, demo_db):
    case = demo_db.scalar(select(CaseRecord).where(CaseRecord.title == "Y.O. さん（窓口相談）"))  # tabled by the demo
    # The case's caseworker leaves the supervisor's team: the case is outside it, so only break-glass opens it.
    team = teams.team_named(demo_db, case.municipality_id, "相談支援チーム")
    worker = demo_db.scalar(select(UserRecord).where(UserRecord.username == "caseworker"))
    teams.remove_member(demo_db, system_clock, None, case.municipality_id, team.id, worker.id, operator="test")

    _sign_in(page, live_server, "supervisor")
    expect(page.locator("h1")).to_have_text("受信箱")
    page.goto(f"{live_server}/cases/{case.id}")
    expect(page.locator("h1")).to_have_text("指定されたものが見つかりません。")  # as if there were no such case
    page.goto(f"{live_server}/")
    page.click("#break-glass-link a")
    page.fill("#reference", case.reference)
    page.fill("#reason", "急ぎ")
    page.click("button:has-text('緊急閲覧を開始')")
    expect(page.locator("#err-reason")).to_have_text("10 文字以上で入力してください。")
    screenshot(page, "break-glass-form")
    page.fill("#reason", "本人から夜間に危険を示す電話があり、担当者と連絡が取れないため")
    page.select_option("#hours", "2")
    page.click("button:has-text('緊急閲覧を開始')")
    expect(page.locator("#break-glass-banner")).to_contain_text("緊急閲覧中")
    screenshot(page, "break-glass-banner")
    page.click("text=ログアウト")

    _sign_in(page, live_server, "coordinator")
    expect(page.locator("#bell .unread")).to_have_text("1")  # told of the emergency opening
    page.goto(f"{live_server}/cases/{case.id}")
    page.click("#access-log-link")
    expect(page.locator("h1")).to_contain_text("閲覧記録")
    rows = page.locator("#access-log tbody tr")
    expect(rows.nth(0)).to_contain_text("閲覧記録の確認")
    expect(page.locator("#access-log")).to_contain_text("緊急閲覧")
    expect(page.locator("#access-log")).to_contain_text("閲覧拒否")
    screenshot(page, "access-log")
