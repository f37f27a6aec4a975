"""An administrator reads the file register (個人情報ファイル簿) of the demo municipality, words its own entries,
and opens the printable version for publication, which names none of the demo's people."""
from __future__ import annotations

import pyotp
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tsunagu.engine.casefile.tables import PersonRecord
from tsunagu.engine.db import make_engine, make_session_factory

from .conftest import screenshot
from .test_admin_creates_caseworker import DESKTOP, PASSWORD, PHONE, _sign_in, admin_secret  # noqa: F401

pytestmark = pytest.mark.browser


def _people(database_url) -> list[str]:
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        names = [n for n in session.scalars(select(PersonRecord.name)) if n]
    engine.dispose()
    return names


def _both_widths(page, name):
    page.set_viewport_size(PHONE)
    screenshot(page, f"{name}-375")
    # Nothing wider than the phone's screen: the page scrolls down, never sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.set_viewport_size(DESKTOP)
    screenshot(page, f"{name}-1280")


def test_an_administrator_reads_words_and_prints_the_file_register(
        page, live_server, database_url, admin_secret):  # noqa: F811  (the fixture imported above)
    people = _people(database_url)
    assert people  # the demo has people, whom the register must not name
    page.set_viewport_size(DESKTOP)
    _sign_in(page, live_server, "admin", PASSWORD)
    page.fill("#code", pyotp.TOTP(admin_secret).now())
    page.click("button:has-text('確認')")
    page.click("nav >> text=管理")
    page.click("#admin-links a[href='/admin/file-register']")
    expect(page.locator("#entry-unsaved")).to_be_visible()
    expect(page.locator("#reg-items")).to_contain_text("相談受付")
    expect(page.locator("#reg-special-care")).to_contain_text("希死念慮")
    _both_widths(page, "admin-file-register")

    page.fill("#file_name", "")
    page.fill("#department", "福祉課 地域共生係")
    page.click("#edit-entry button[type=submit]")
    expect(page.locator("#field-file_name .error")).to_be_visible()
    page.fill("#file_name", "孤独・孤立相談支援記録")
    page.fill("#notes", "所在地: つながり市役所本庁舎2階")
    page.click("#edit-entry button[type=submit]")
    expect(page.locator("#entry-unsaved")).to_have_count(0)
    expect(page.locator("#reg-file-name")).to_contain_text("孤独・孤立相談支援記録")
    expect(page.locator("#reg-requests")).to_contain_text("福祉課 地域共生係")

    page.click("#print-link")
    expect(page.locator("#print-public")).to_be_visible()
    expect(page.locator("#print-secret")).to_have_count(0)
    body = page.locator("body").inner_text()
    assert "孤独・孤立相談支援記録" in body and "所在地: つながり市役所本庁舎2階" in body
    for name in people:
        assert name not in body, name
    _both_widths(page, "admin-file-register-print")
