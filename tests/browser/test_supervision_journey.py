"""The supervisor and the coordinating body in the real browser: the dashboard's overdue count leads to the
late task, which is handed to a caseworker with a reason; the coordinator schedules a meeting, chooses who
attends and records the council's decisions on two cases, after putting a case due for review on the
agenda of a later meeting."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tsunagu.engine.models import CaseRecord, TaskRecord, TaskStatus, UserRecord
from tsunagu.engine.runtime.forms import today_in_japan

from .conftest import screenshot
from .test_admin_totp import demo_db  # noqa: F401  (fixture)
from .test_standard_path_journey import _sign_in, _sign_out

pytestmark = pytest.mark.browser

LATE_CASE = "A.K. さん（電話相談）"


def test_the_supervisor_follows_the_overdue_count_and_hands_the_late_task_to_a_caseworker(
        page, live_server, demo_db):  # noqa: F811
    late = demo_db.scalar(select(TaskRecord).join(CaseRecord, CaseRecord.id == TaskRecord.case_id).where(
        CaseRecord.title == LATE_CASE, TaskRecord.status == TaskStatus.OPEN))
    late.due_at = datetime.now(timezone.utc) - timedelta(days=2)  # the intake should have been done by now
    demo_db.commit()

    _sign_in(page, live_server, "supervisor")
    page.locator("nav").get_by_role("link", name="スーパービジョン").click()
    overdue = page.locator("#figure-overdue")
    expect(overdue.locator(".number")).to_have_text("1")
    screenshot(page, "supervision-dashboard")
    overdue.locator("a").first.click()
    row = page.locator("tr", has_text=LATE_CASE)
    expect(row).to_have_count(1)
    row.get_by_role("link", name="引き継ぎ").click()
    expect(page.locator("h1")).to_contain_text("相談受付")
    page.select_option("#assignee", label="相談 花子（相談支援員）")
    page.locator("#hand-to textarea[name=reason]").fill("受付が2日遅れているため担当を決める")
    page.locator("#hand-to").get_by_role("button", name="割り当て").click()
    expect(page.locator(".flashes")).to_contain_text("を割り当てました。")
    screenshot(page, "supervision-assigned")

    demo_db.expire_all()
    caseworker = demo_db.scalar(select(UserRecord).where(UserRecord.username == "caseworker"))
    assert demo_db.get(TaskRecord, late.id).assignee_id == caseworker.id
    _sign_out(page)


def test_the_coordinator_schedules_a_meeting_builds_its_agenda_chooses_attendees_and_records_two_decisions(
        page, live_server):
    today = today_in_japan(datetime.now(timezone.utc))
    _sign_in(page, live_server, "coordinator")
    page.locator("nav").get_by_role("link", name="協議会").click()
    page.fill("#held_on", (today + timedelta(days=14)).isoformat())
    page.locator("#field-kind").get_by_label("定例会（全ケースの進行管理）").check()
    page.get_by_role("button", name="設定する").click()
    expect(page.locator(".flashes")).to_contain_text("の会議を設定しました。")
    expect(page.locator("h1")).to_contain_text("定例会")
    # The decided case whose review falls due by then is offered for the agenda.
    due = page.locator("#due-for-review tr", has_text="T.Y. さん")
    expect(due).to_have_count(1)
    screenshot(page, "council-agenda-prepare")
    due.get_by_role("button", name="議題に加える").click()
    expect(page.locator(".flashes")).to_contain_text("見直しのため、ケースを議題に加えました。")
    expect(page.locator("section.agenda-item", has_text="T.Y. さん")).to_contain_text("進捗の見直し")

    # Today's meeting: two cases wait for the council's decision.
    page.locator("nav").get_by_role("link", name="協議会").click()
    page.locator("#meetings tr", has_text=today.isoformat()).locator("a").click()
    agenda_url = page.url
    page.get_by_role("link", name="出席機関").first.click()
    meeting_bodies = page.locator("#meeting-bodies")
    meeting_bodies.get_by_label("保健センター").check()
    meeting_bodies.get_by_role("button").click()
    expect(page.locator(".flashes")).to_contain_text("出席機関を保存しました。")
    expect(page.locator("#meeting-bodies").get_by_label("保健センター")).to_be_checked()
    screenshot(page, "council-attendees-journey")
    page.goto(agenda_url)
    expect(page.locator("form.decision-form")).to_have_count(2)
    plans = ("NPOの居場所につなぎ、月1回の面談で様子をみる。", "民生委員が週1回訪問し、地域のサロンを紹介する。")
    for plan in plans:
        item = page.locator("section.agenda-item", has=page.locator("form.decision-form")).first
        item = page.locator("#" + item.get_attribute("id"))
        form = item.locator("form.decision-form")
        form.locator("textarea[name=situation]").fill("家族以外との交流がほとんどない。")
        form.locator("select[name=risk]").select_option(label="通常")
        form.locator("textarea[name=plan]").fill(plan)
        form.locator("select[name=lead_body_id]").select_option(index=1)
        form.locator("input[name=next_review_on]").fill((today + timedelta(days=30)).isoformat())
        form.locator("button[type=submit]").click()
        expect(page.locator(".flashes")).to_contain_text("協議会の決定を記録しました。")
        expect(item.locator(".decision")).to_contain_text(plan)
    expect(page.locator("form.decision-form")).to_have_count(0)
    page.locator("#minutes-text").fill("Y.O. さん・H.K. さんの件: それぞれ居場所と見守りにつなぐことを決定。")
    page.get_by_role("button", name="議事録を記録").click()
    expect(page.locator(".flashes")).to_contain_text("議事録と出席を記録しました。")
    screenshot(page, "council-minutes")
