"""A process designer in the real browser: an upload with an error is refused with the problem marked on its
element in the diagram; the fixed package becomes a draft, is deployed with a note, and a caseworker's new
case follows the new version."""
from __future__ import annotations

import zipfile

import pytest
from playwright.sync_api import expect

from tsunagu.processes.loader import read_folder

from .conftest import PROJECT_ROOT, screenshot
from .test_standard_path_journey import _sign_in, _sign_out

pytestmark = pytest.mark.browser

KEY = "kodoku_koritsu_case"
SCRIPT = "<bpmn:script>next_review_at = add_duration(now(), review_interval)</bpmn:script>"


def _zip(path, files: dict[str, str]):
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(f"{KEY}/{name}", content)
    return path


def test_a_designer_fixes_a_refused_upload_deploys_it_with_a_note_and_new_cases_follow_it(
        page, live_server, tmp_path):
    files = read_folder(PROJECT_ROOT / "bpmn" / KEY)
    renamed = files[f"{KEY}.bpmn"].replace('name="相談受付"', 'name="相談受付（つなぐ市）"')
    assert SCRIPT in renamed
    broken = renamed.replace(SCRIPT, "<bpmn:script>import time\nnext_review_at = add_duration(now(), "
                                     "review_interval)</bpmn:script>")
    broken_zip = _zip(tmp_path / "broken.zip", {**files, f"{KEY}.bpmn": broken})
    fixed_zip = _zip(tmp_path / "fixed.zip", {**files, f"{KEY}.bpmn": renamed})

    _sign_in(page, live_server, "designer")
    page.locator("nav").get_by_role("link", name="プロセス").click()
    expect(page.locator("h1")).to_have_text("プロセス")
    page.get_by_role("link", name="プロセスをアップロード").click()
    page.set_input_files("#package", str(broken_zip))
    page.get_by_role("button", name="検査して下書きに保存").click()

    problems = page.locator("#problems")
    expect(problems).to_contain_text("何も登録していません")
    expect(problems).to_contain_text("schedule_next_review")
    marked = page.locator("#problem-diagram g#el-schedule_next_review")
    assert "problem" in (marked.get_attribute("class") or "").split()
    marked.scroll_into_view_if_needed()
    screenshot(page, "designer-upload-refused")

    page.set_input_files("#package", str(fixed_zip))
    page.get_by_role("button", name="検査して下書きに保存").click()
    expect(page.locator(".flashes")).to_contain_text("下書きとして保存しました")
    expect(page.locator("#draft")).to_be_visible()
    expect(page.locator("#diagram g#el-intake")).to_contain_text("相談受付（つなぐ市）")
    page.fill("#note", "受付の名称を市の呼び方に合わせた")
    page.get_by_role("button", name="下書きを登録して有効にする").click()
    expect(page.locator(".flashes")).to_contain_text("第1版を有効にしました")
    expect(page.locator("#history")).to_contain_text("受付の名称を市の呼び方に合わせた")
    expect(page.locator("#version-municipal-1")).to_contain_text("現行")
    screenshot(page, "designer-deployed")
    _sign_out(page)

    _sign_in(page, live_server, "caseworker")
    page.locator("nav").get_by_role("link", name="新規相談").click()
    page.fill("#title", "新しい版で始まる相談")
    page.get_by_role("button", name="開始").click()
    expect(page.locator("h1")).to_have_text("相談受付（つなぐ市）")
