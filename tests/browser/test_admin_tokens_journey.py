"""An administrator gives another system an API token in the pages: the secret is shown once, the list then
shows only its start, and revoking it asks first."""
from __future__ import annotations

import re

import pyotp
import pytest
from playwright.sync_api import expect

from .conftest import screenshot
from .test_admin_creates_caseworker import DESKTOP, PASSWORD, PHONE, _sign_in, admin_secret  # noqa: F401

pytestmark = pytest.mark.browser


def test_an_administrator_creates_a_scoped_token_sees_its_secret_once_and_revokes_it(
        page, live_server, admin_secret):  # noqa: F811  (the fixture imported above)
    page.set_viewport_size(DESKTOP)
    _sign_in(page, live_server, "admin", PASSWORD)
    page.fill("#code", pyotp.TOTP(admin_secret).now())
    page.click("button:has-text('確認')")
    page.click("nav >> text=管理")
    page.click("#admin-links a[href='/admin/tokens']")
    expect(page.locator("h1")).to_have_text("APIトークン")
    expect(page.locator("#no-tokens")).to_be_visible()

    page.click("#create-token")  # nothing filled in: every missing field named in Japanese
    expect(page.locator("#field-name .error")).to_be_visible()
    page.select_option("#user", page.locator("#user option", has_text="(caseworker)").get_attribute("value"))
    page.fill("#name", "相談窓口システム")
    page.fill("#expires_days", "90")
    page.check("input[name=roles][value=caseworker]")
    page.click("#create-token")
    secret = page.locator("#token-secret").input_value()
    assert re.fullmatch(r"tsunagu_[A-Za-z0-9_-]{43}", secret)
    page.set_viewport_size(PHONE)
    screenshot(page, "admin-token-created-375")
    page.set_viewport_size(DESKTOP)
    screenshot(page, "admin-token-created")

    page.click("#handover ~ .form-actions a.primary")
    row = page.locator("#tokens tbody tr").first
    expect(row).to_contain_text("相談窓口システム")
    expect(row).to_contain_text(secret[:14] + "…")
    expect(page.locator("#tokens")).not_to_contain_text(secret[14:])  # never shown again
    screenshot(page, "admin-tokens")
    page.set_viewport_size(PHONE)
    screenshot(page, "admin-tokens-375")
    page.set_viewport_size(DESKTOP)

    row.locator("a[id^=revoke-]").click()
    screenshot(page, "admin-token-revoke")
    page.click("#confirm-button")
    expect(page.locator("#tokens tbody tr").first).to_contain_text("失効")
