"""An administrator creates a caseworker in the pages and hands over the one-time password; the caseworker's
first sign-in makes them choose their own password and accept the pledge before the inbox."""
from __future__ import annotations

import re

import pyotp
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tsunagu.engine.access.security import confirm_totp_enrolment, start_totp_enrolment
from tsunagu.engine.clock import system_clock
from tsunagu.engine.db import make_engine, make_session_factory
from tsunagu.engine.models import UserRecord

from .conftest import screenshot

pytestmark = pytest.mark.browser
PASSWORD = "tsunagu-demo"
NEW_PASSWORD = "夕焼けの商店街をゆっくり歩く"
DESKTOP, PHONE = {"width": 1280, "height": 900}, {"width": 375, "height": 812}


@pytest.fixture
def admin_secret(live_server, database_url):
    """The demo administrator with a second factor already on, as after the enrolment in test_admin_totp."""
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        admin = session.scalar(select(UserRecord).where(UserRecord.username == "admin"))
        start_totp_enrolment(session, admin)
        confirm_totp_enrolment(session, system_clock, admin, pyotp.TOTP(admin.totp_secret).now())
        secret = admin.totp_secret
    engine.dispose()
    return secret


def _both_widths(page, name):
    """Pictures at a desk and on a phone, for people reviewing the change."""
    page.set_viewport_size(PHONE)
    screenshot(page, f"{name}-375")
    page.set_viewport_size(DESKTOP)
    screenshot(page, f"{name}-1280")


def _sign_in(page, live_server, username, password):
    page.goto(f"{live_server}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit].primary")


def test_an_administrator_creates_a_caseworker_who_changes_the_one_time_password_at_first_sign_in(
        page, live_server, admin_secret):
    page.set_viewport_size(DESKTOP)
    _sign_in(page, live_server, "admin", PASSWORD)
    page.fill("#code", pyotp.TOTP(admin_secret).now())
    page.click("button:has-text('確認')")
    expect(page.locator("h1")).to_have_text("受信箱")

    page.click("nav >> text=管理")
    page.click("#admin-links a[href='/admin/users']")
    expect(page.locator("#users")).to_contain_text("caseworker")
    _both_widths(page, "admin-users")

    page.click("#new-user")
    page.fill("#username", "hanako.sato")
    page.fill("#display_name", "佐藤 花子")
    page.check("input[name=roles][value=caseworker]")
    page.select_option("#organisation", index=1)
    page.fill("#team", "地域福祉係")
    page.click("#user-form button[type=submit]")
    one_time = page.locator("#one-time-password").inner_text().strip()
    assert re.fullmatch(r"[2-9a-z]{4}(-[2-9a-z]{4}){3}", one_time)
    expect(page.locator("#new-username")).to_have_text("hanako.sato")
    _both_widths(page, "admin-user-created")
    page.click(".form-actions a.primary")  # on to the new user's page
    expect(page.locator("#user-status")).to_contain_text("hanako.sato")
    expect(page.locator("input[name=roles][value=caseworker]")).to_be_checked()
    expect(page.locator("#user-status")).not_to_contain_text(one_time)  # shown once only
    _both_widths(page, "admin-user-edit")
    page.click("text=ログアウト")

    _sign_in(page, live_server, "hanako.sato", one_time)
    expect(page).to_have_url(re.compile(r"/account/password"))
    expect(page.locator("#first-sign-in")).to_be_visible()
    page.goto(f"{live_server}/")  # nothing else is reachable yet
    expect(page).to_have_url(re.compile(r"/account/password"))
    page.fill("#current_password", one_time)
    page.fill("#new_password", "short")
    page.fill("#confirm_password", "short")
    page.click("button[type=submit].primary")
    expect(page.locator("#err-new_password")).to_be_visible()
    expect(page.locator("#new_password")).to_have_attribute("aria-invalid", "true")
    _both_widths(page, "change-password")

    page.fill("#current_password", one_time)
    page.fill("#new_password", NEW_PASSWORD)
    page.fill("#confirm_password", NEW_PASSWORD)
    page.click("button[type=submit].primary")
    expect(page.locator("h1")).to_have_text("守秘義務に関する誓約")
    page.check("#agree")
    page.click("button:has-text('誓約する')")
    expect(page.locator("h1")).to_have_text("受信箱")
    expect(page.locator(".who")).to_have_text("佐藤 花子")
