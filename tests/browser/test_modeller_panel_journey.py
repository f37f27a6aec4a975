"""A process designer sets in the modeller's panel what Tsunagu reads beside the flow's shape: the process
itself, which role works a lane (kept in tsunagu.json, shown on the lane's tasks), and a message a throw event
sends with its payload and correlation; the draft holds them, and leaving with unsaved changes asks first."""
from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tsunagu.engine.db import make_engine, make_session_factory
from tsunagu.engine.models import ProcessDraftRecord

from .conftest import screenshot
from .test_standard_path_journey import _sign_in

pytestmark = pytest.mark.browser

KEY = "kodoku_koritsu_case"
SAVE = "検査して下書きに保存"


def _select(page, element_id: str) -> None:
    page.evaluate("""id => { const m = window.tsunaguModeller, reg = m.get('elementRegistry');
        m.get('selection').select(reg.get(id)); }""", element_id)


def _draft_files(database_url) -> dict[str, str]:
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            return dict(session.scalar(select(ProcessDraftRecord).where(ProcessDraftRecord.process_id == KEY)).files)
    finally:
        engine.dispose()


def test_a_designer_sets_a_lanes_role_and_a_message_in_the_panel_and_is_warned_before_leaving_unsaved(
        page, live_server, database_url):
    dialogs: list[str] = []

    def answer(dialog):
        dialogs.append(dialog.type)
        dialog.accept()

    page.on("dialog", answer)
    _sign_in(page, live_server, "designer")
    page.goto(f"{live_server}/designer/processes/{KEY}/modeller")
    expect(page.locator("html[data-modeller=ready]")).to_have_count(1)
    panel = page.locator("#properties")
    # Nothing selected: the process itself, its id read-only and its name editable.
    expect(panel.locator("#p-process-id")).to_have_text(KEY)
    expect(page.locator("#p-process-name")).to_have_value("孤独・孤立 相談支援ケース")
    page.fill("#p-process-name", "孤独・孤立 相談支援ケース（改訂）")
    page.locator("#p-process-name").press("Tab")

    _select(page, "Lane_caseworker")
    expect(panel.locator("#p-type")).to_have_text("レーン")
    expect(page.locator("#p-lane-role-none")).to_contain_text("相談支援員")  # its name is already a role
    page.select_option("#p-lane-role", "supervisor")
    screenshot(page, "modeller-panel")
    _select(page, "intake")
    expect(panel.locator("#p-lane")).to_contain_text("スーパーバイザー")
    expect(panel.locator("#p-lane")).to_contain_text("caseworker → supervisor")

    # A message throw event after the intake, made with bpmn-js's modeling API, then set in the panel.
    page.evaluate("""() => {
        const m = window.tsunaguModeller, reg = m.get('elementRegistry'), modeling = m.get('modeling');
        const shape = m.get('elementFactory').createShape({ type: 'bpmn:IntermediateThrowEvent',
            eventDefinitionType: 'bpmn:MessageEventDefinition' });
        const intake = reg.get('intake');
        const event = modeling.createShape(shape, { x: 435, y: 280 }, intake.parent);
        modeling.removeElements([reg.get('flow_intake_assessment')]);
        modeling.connect(intake, event);
        modeling.connect(event, reg.get('baseline_assessment'));
        m.get('selection').select(event);
    }""")
    expect(panel.locator("#p-type")).to_have_text("中間イベント（送出）")
    expect(page.locator("#p-payload")).to_be_visible()
    expect(page.locator("#p-message-variable")).to_be_hidden()
    page.fill("#p-name", "受付を知らせる")
    page.fill("#p-message", "intake_notified")
    page.locator("#p-message").press("Tab")
    page.fill("#p-payload", '{"kind": "intake"}')
    page.fill("#p-correlation", "intake_kind = kind")
    page.locator("#p-correlation").press("Tab")
    expect(page.locator("#p-correlation-keys")).to_contain_text("MainCorrelationKey")
    # A catching element offers the message's name among the diagram's messages and asks for a variable.
    _select(page, "wait_council_decision")
    expect(page.locator("#p-message")).to_have_value("council_decision")
    expect(page.locator("#p-message-variable")).to_have_value("council_decision")
    expect(page.locator("#message-names option[value=intake_notified]")).to_have_count(1)

    page.get_by_role("button", name=SAVE).click()
    expect(page.locator(".flashes")).to_contain_text("下書きとして保存しました")
    assert dialogs == []  # saving is not leaving
    files = _draft_files(database_url)
    assert json.loads(files["tsunagu.json"]) == {"lane_roles": {"caseworker": "supervisor"}}
    bpmn = files[f"{KEY}.bpmn"]
    assert 'name="intake_notified"' in bpmn and "受付を知らせる" in bpmn
    assert '<spiffworkflow:messagePayload>{"kind": "intake"}</spiffworkflow:messagePayload>' in bpmn
    assert '<bpmn:correlationProperty id="intake_kind"' in bpmn
    assert 'name="孤独・孤立 相談支援ケース（改訂）"' in bpmn

    # Back in the modeller the mapping is read again; a change and then leaving asks first.
    page.goto(f"{live_server}/designer/processes/{KEY}/modeller")
    expect(page.locator("html[data-modeller=ready]")).to_have_count(1)
    _select(page, "Lane_caseworker")
    expect(page.locator("#p-lane-role")).to_have_value("supervisor")
    page.get_by_role("link", name="プロセスに戻る").click()
    expect(page.locator("#diagram")).to_be_visible()
    assert dialogs == []  # nothing changed: no question
    page.go_back()
    expect(page.locator("html[data-modeller=ready]")).to_have_count(1)
    _select(page, "intake")
    page.fill("#p-name", "相談受付（窓口）")
    page.locator("#p-name").press("Tab")
    page.get_by_role("link", name="プロセスに戻る").click()
    expect(page.locator("#diagram")).to_be_visible()
    assert dialogs == ["beforeunload"]
