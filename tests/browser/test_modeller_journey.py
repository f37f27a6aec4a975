"""A process designer changes the flow's shape in the browser's modeller: a task taken from the palette
becomes a user task, gets its form and due time in the panel, a due time that is not ISO 8601 is refused and
marked on the task, the corrected diagram becomes a draft that is deployed, and new cases reach the task."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import screenshot
from .test_standard_path_journey import _sign_in

pytestmark = pytest.mark.browser

KEY = "kodoku_koritsu_case"


def _element_ids(page) -> set[str]:
    return set(page.evaluate("() => window.tsunaguModeller.get('elementRegistry').getAll().map(e => e.id)"))


def _screen_point(page, element_id: str, dx: float = 0, dy: float = 0) -> tuple[float, float]:
    """Where an element's centre (moved by dx, dy in diagram units) is on the screen."""
    return tuple(page.evaluate("""([id, dx, dy]) => {
        const m = window.tsunaguModeller, e = m.get('elementRegistry').get(id), canvas = m.get('canvas');
        const box = canvas.getContainer().getBoundingClientRect(), vb = canvas.viewbox();
        return [box.left + (e.x + e.width / 2 + dx - vb.x) * vb.scale,
                box.top + (e.y + e.height / 2 + dy - vb.y) * vb.scale];
    }""", [element_id, dx, dy]))


def _marked(page, element_id: str) -> bool:
    return page.evaluate("id => window.tsunaguModeller.get('canvas').hasMarker(id, 'tsunagu-problem')", element_id)


def test_a_designer_adds_a_user_task_in_the_modeller_fixes_a_refused_due_time_and_deploys_it(page, live_server):
    refused: list[str] = []  # what the page's Content-Security-Policy blocked in the modeller
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text and "/modeller" in message.location.get("url", "") else None)
    _sign_in(page, live_server, "designer")
    page.goto(f"{live_server}/designer/processes/{KEY}/modeller")
    expect(page.locator("h1")).to_have_text("モデラー")
    expect(page.locator("html[data-modeller=ready]")).to_have_count(1)
    expect(page.locator("#canvas g[data-element-id=intake]")).to_contain_text("相談受付")
    expect(page.locator(".bjs-powered-by")).to_be_visible()  # bpmn.io's licence: the watermark stays visible

    # The palette's task tool, dropped into the caseworkers' lane below the intake, then made a user task
    # through the context pad's "change type" menu.
    before = _element_ids(page)
    page.locator(".djs-palette [data-action='create.task']").click()
    x, y = _screen_point(page, "intake", dx=0, dy=110)
    page.mouse.move(x - 20, y - 20)
    page.mouse.move(x, y)
    page.mouse.click(x, y)
    assert len(_element_ids(page) - before) == 1  # one task, placed in the lane
    page.locator(".djs-context-pad [data-action='replace']").click()
    page.locator(".djs-popup [data-id='replace-with-user-task']").click()
    [task] = {e for e in _element_ids(page) - before if not e.endswith("_label")}
    assert page.evaluate("id => window.tsunaguModeller.get('elementRegistry').get(id).type", task) == "bpmn:UserTask"
    # Wired in after the intake with bpmn-js's modeling API (drawing connections by dragging is slow to script).
    page.evaluate("""id => {
        const m = window.tsunaguModeller, reg = m.get('elementRegistry'), modeling = m.get('modeling');
        modeling.removeElements([reg.get('flow_intake_assessment')]);
        modeling.connect(reg.get('intake'), reg.get(id));
        modeling.connect(reg.get(id), reg.get('baseline_assessment'));
        m.get('selection').select(reg.get(id));
    }""", task)

    panel = page.locator("#properties")
    expect(panel.locator("#p-type")).to_have_text("ユーザータスク")
    expect(panel.locator("#p-lane")).to_contain_text("相談支援員")
    page.fill("#p-name", "電話での状況確認")
    page.select_option("#p-form", "contact-attempt-schema.json")
    expect(page.locator("#p-layout")).to_have_value("contact-attempt-uischema.json")
    page.fill("#p-due", "3日")
    page.fill("#p-kind", "contact")
    page.get_by_role("button", name="検査して下書きに保存").click()

    problems = page.locator("#problems")
    expect(problems).to_contain_text("何も登録していません")
    expect(problems).to_contain_text(task)
    expect(page.locator("html[data-modeller=ready]")).to_have_count(1)
    assert _marked(page, task)
    expect(page.locator(f"#canvas g[data-element-id='{task}']")).to_contain_text("電話での状況確認")
    expect(panel.locator("#p-problems")).to_contain_text("ISO 8601")  # the refused task is selected
    expect(page.locator("#p-due")).to_have_value("3日")
    screenshot(page, "designer-modeller")
    assert refused == []

    page.fill("#p-due", "P3D")
    page.get_by_role("button", name="検査して下書きに保存").click()
    expect(page.locator(".flashes")).to_contain_text("下書きとして保存しました")
    expect(page.locator("#diagram")).to_contain_text("電話での状況確認")
    page.fill("#note", "受付のあとに電話での状況確認を加えた")
    page.get_by_role("button", name="下書きを登録して有効にする").click()
    expect(page.locator(".flashes")).to_contain_text("有効にしました")
    expect(page.locator("#history")).to_contain_text("電話での状況確認を加えた")
