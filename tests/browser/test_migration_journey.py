"""A process designer moves the demo's running cases to a new version of the standard process: the dry run
shows how many can move, the start button runs the batch in slices the page posts on its own until the
progress bar is full and the page says 完了, and one case is moved back with a confirmation."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from tsunagu.engine.admin.staff_directory import user_by_username
from tsunagu.engine.clock import system_clock
from tsunagu.engine.commands import cases, migration
from tsunagu.engine.commands.versions import live_version
from tsunagu.engine.db import make_engine, make_session_factory
from tsunagu.engine.models import CaseMigrationRecord, CaseRecord
from tsunagu.processes.deployment import deploy
from tsunagu.processes.loader import build_definition, read_folder
from tsunagu.web import case_migration

from .conftest import screenshot
from .test_standard_path_journey import _sign_in

pytestmark = pytest.mark.browser

KEY = "kodoku_koritsu_case"
STANDARD = Path(__file__).resolve().parents[2] / "bpmn" / KEY
SLICE = 2


@pytest.fixture
def new_version(live_server, database_url):
    """Six more intakes beside the demo's cases, then version 2 of the standard process: the intake is due in
    five days instead of three, so every waiting case can carry over. The dry run's numbers, as the engine
    plans them."""
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        worker, designer = user_by_username(session, "caseworker"), user_by_username(session, "designer")
        version = live_version(session, worker.municipality_id, KEY)
        for n in range(6):
            cases.start_case(session, system_clock, worker, version, f"移行確認{n + 1}")
        files = read_folder(STANDARD)
        files[f"{KEY}.bpmn"] = files[f"{KEY}.bpmn"].replace(
            '<spiffworkflow:property name="dueIn" value="P3D" />', '<spiffworkflow:property name="dueIn" value="P5D" />',
            1)
        deploy(session, system_clock, build_definition(files), municipality_id=worker.municipality_id)
        session.commit()
        found = migration.plan(session, system_clock, designer, KEY, designer.municipality_id)
        yield found.movable, found.total, found.target.version_number
    engine.dispose()


def test_a_designer_moves_running_cases_in_slices_and_moves_one_back(
        page, live_server, new_version, database_url, monkeypatch):
    movable, total, target = new_version
    assert movable == total > 3 * SLICE  # several slices, each posted by the page itself
    monkeypatch.setattr(case_migration, "SLICE_CASES", SLICE)
    slices: list[str] = []
    page.on("request", lambda r: slices.append(r.url) if r.method == "POST" and "/migrate/" in r.url else None)

    _sign_in(page, live_server, "designer")
    page.goto(f"{live_server}/designer/processes/{KEY}")
    page.locator("#migrate-link").click()
    counts = page.locator("#plan-counts")
    # (English until the lead merges this change's translations)
    expect(counts).to_contain_text(re.compile(rf"ケース{total}件すべてを移行できます|All {total} running cases can move"))
    start = page.locator("#start-migration button")
    expect(start).to_contain_text(f"{movable}件を版{target}へ移行する")
    screenshot(page, "designer-migrate-dry-run")

    start.click()
    expect(page.locator("#batch-counts")).to_contain_text("完了", timeout=30_000)
    expect(page.locator("#batch-counts")).to_contain_text(f"{movable}件中{movable}件を移行")
    progress = page.locator("#migration-progress")
    assert progress.get_attribute("value") == progress.get_attribute("max") == str(movable)
    assert len(slices) >= movable // SLICE - 1  # the first slice came with the start; the page posted the rest
    screenshot(page, "designer-migrate-finished")

    page.locator("#batch a[href$='/migrate']").click()
    moved = page.locator("#moved-cases tbody tr")
    expect(moved).to_have_count(movable)
    case_id = int(moved.first.get_attribute("data-case"))
    moved.first.get_by_role("button", name="元の版に戻す").click()
    expect(page.locator(".flashes")).to_contain_text("ケースを元の版に戻しました。")
    expect(page.locator("#moved-cases tbody tr")).to_have_count(movable - 1)
    expect(page.locator(f"#moved-cases tr[data-case='{case_id}']")).to_have_count(0)

    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        case = session.get_one(CaseRecord, case_id)
        assert case.process_version_id != session.scalar(select(CaseMigrationRecord.to_version_id).limit(1))
        assert session.scalar(select(func.count()).select_from(CaseMigrationRecord)
                              .where(CaseMigrationRecord.moved_back_at.is_(None))) == movable - 1
    engine.dispose()
