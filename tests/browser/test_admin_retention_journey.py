"""An administrator sets a retention period (a refused value named first), holds a case from disposal, disposes
of a case closed long ago after a confirmation, reads the disposal log and lifts the hold with a reason; at a
desk and on a phone."""
from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from playwright.sync_api import expect
from sqlalchemy import select, update

from tsunagu.engine.clock import system_clock
from tsunagu.engine.db import make_engine, make_session_factory
from tsunagu.engine.models import CaseRecord, CaseStatus
from tsunagu.engine.records.tables import CaseRemovalRecord

from .conftest import screenshot
from .test_admin_creates_caseworker import DESKTOP, PASSWORD, PHONE, _sign_in, admin_secret  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture
def demo_cases(live_server, database_url):
    """The demo's closed case, as if closed five years ago (its removal times have passed), and an open case."""
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        closed = session.scalar(select(CaseRecord).where(CaseRecord.status == CaseStatus.COMPLETED))
        running = session.scalar(select(CaseRecord).where(CaseRecord.status != CaseStatus.COMPLETED)
                                 .order_by(CaseRecord.id))
        session.execute(update(CaseRemovalRecord).where(CaseRemovalRecord.case_id == closed.id)
                        .values(removal_at=system_clock() - timedelta(days=1)))
        session.commit()
        found = {"closed": (closed.id, closed.reference), "running": running.reference}
    engine.dispose()
    return found


def _both_widths(page, name):
    page.set_viewport_size(PHONE)
    screenshot(page, f"{name}-375")
    page.set_viewport_size(DESKTOP)
    screenshot(page, name)


def test_an_administrator_sets_a_period_holds_a_case_disposes_of_what_is_due_and_lifts_the_hold(
        page, live_server, database_url, admin_secret, demo_cases):  # noqa: F811  (the fixture imported above)
    page.set_viewport_size(DESKTOP)
    _sign_in(page, live_server, "admin", PASSWORD)
    page.fill("#code", pyotp.TOTP(admin_secret).now())
    page.click("button:has-text('確認')")
    page.click("nav >> text=管理")
    page.click("#admin-links a[href='/admin/retention']")
    expect(page.locator("#policy-list tbody tr")).to_have_count(6)
    expect(page.locator("#due-case_file")).to_be_visible()
    _both_widths(page, "admin-retention")

    # A period: a refused value is named beside its field, then the records rule is kept with the period.
    page.click("#edit-case_file")
    page.fill("#years", "0")
    page.click("#save-policy")
    expect(page.locator("#field-years .error")).to_be_visible()
    _both_widths(page, "admin-retention-policy-error")
    page.fill("#years", "10")
    page.fill("#rule", "文書管理規程 別表第1")
    page.click("#save-policy")
    expect(page.locator("#policy-case_file")).to_contain_text("文書管理規程 別表第1")
    expect(page.locator("#policy-case_file")).to_contain_text("10")

    # A hold: an unknown reference is refused beside its field, then the open case is held.
    page.fill("#reference", "1999-999999")
    page.fill("#reason", "訴訟係属中")
    page.click("#place-hold")
    expect(page.locator("#field-reference .error")).to_be_visible()
    running = demo_cases["running"]
    page.fill("#reference", running)
    page.click("#place-hold")
    expect(page.locator(f"[id='hold-{running}']")).to_contain_text("訴訟係属中")

    # Disposal: asked first, then the closed case's records are anonymised and logged without its name.
    closed_id, closed_ref = demo_cases["closed"]
    page.click("#dispose-now")
    expect(page.locator("#confirm-button")).to_be_visible()
    _both_widths(page, "admin-retention-dispose")
    page.click("#confirm-button")
    expect(page.locator("#disposal-log tbody tr").first).to_be_visible()
    expect(page.locator("#nothing-due")).to_be_visible()
    expect(page.locator("#disposal-log")).not_to_contain_text("K.H.")
    _both_widths(page, "admin-retention-disposed")
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        assert session.get(CaseRecord, closed_id).anonymised_at is not None
    engine.dispose()

    # Lifting the hold: asked first, and refused without a reason.
    page.click(f"[id='lift-{running}']")
    expect(page.locator("#confirm")).to_contain_text("訴訟係属中")
    page.click("#confirm-button")
    expect(page.locator("#field-reason .error")).to_be_visible()
    _both_widths(page, "admin-retention-lift")
    page.fill("#reason", "判決確定により訴訟終了")
    page.click("#confirm-button")
    expect(page.locator("#no-holds")).to_be_visible()
    assert closed_ref not in page.locator("#holds").inner_text()
