"""A process designer opens the risk triage in the DMN editor (dmn-js) from its table page, types an entry the
sandbox refuses and sees it listed by rule and column and marked in the table, corrects it by typing, renames an
input column's label, saves, and the draft's comparison with the live version lists the changed rule."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import screenshot
from .test_standard_path_journey import _sign_in

pytestmark = pytest.mark.browser

KEY = "kodoku_koritsu_case"
UCLA_CELL = "td[data-element-id=Rule_high_ucla_ucla_total]"  # rule 4: high risk from a UCLA-3 total of 9
SCHEME_COLUMN = "th[data-col-id=Input_existing_scheme]"
# The hashes of the inline styles of bpmn.io's logo, which dmn-js writes as markup (the CSP blocks them; the
# page's stylesheet places the logo the same way).
LOGO_STYLES = ("sha256-r3vOsuepBDg6tz/cOusiNJ9Y4Lp9hGQTT7pzDks1Xxc=", "sha256-CA/eh4+2R0J7cEQ14gBMtx834RIOjzMUqCM+evtrkp4=")


def _type_in_cell(page, cell: str, entry: str) -> None:
    """Click the table cell and replace its entry by typing, as a designer does."""
    page.locator(f"{cell} [contenteditable=true]").click()
    page.keyboard.press("Control+A")
    page.keyboard.type(entry)
    page.locator("#decision-editor .decision-table-name").click()  # leave the cell so the edit is committed


def test_a_designer_edits_a_rule_and_a_column_label_in_the_dmn_editor_and_the_draft_lists_the_change(
        page, live_server):
    refused: list[str] = []  # inline styles the page's Content-Security-Policy blocked
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text and "/modeller" in page.url else None)
    _sign_in(page, live_server, "designer")
    page.goto(f"{live_server}/designer/processes/{KEY}/decisions/risk_triage")
    page.locator("#decision-modeller-link a").click()
    expect(page.locator("html[data-modeller=ready]")).to_have_count(1)
    expect(page.locator(f"{SCHEME_COLUMN} .input-label")).to_have_text("既存の制度による支援")
    expect(page.locator(f"{UCLA_CELL} [contenteditable=true]")).to_have_text(">= 9")
    logo = page.locator("#decision-editor .bjs-powered-by")  # bpmn.io's licence: the watermark stays visible
    expect(logo).to_be_visible()
    assert logo.evaluate("a => getComputedStyle(a).position") == "absolute"
    # Opening the table, the page's Content-Security-Policy blocked nothing but the logo's inline styles. (Once
    # a cell is edited, dmn-js's expression field, CodeMirror, writes inline styles it also sets by script.)
    assert [m for m in refused if not any(style in m for style in LOGO_STYLES)] == []

    # A name starting with _ is refused by the sandbox: the save comes back with the entry listed and marked.
    _type_in_cell(page, UCLA_CELL, ">= _limit")
    page.locator("#modeller-save").click()
    problems = page.locator("#problems")
    expect(problems).to_contain_text("何も登録していません")
    expect(problems).to_contain_text("ルール4")
    expect(problems).to_contain_text("UCLA孤独感尺度")
    expect(problems).to_contain_text("サンドボックス")
    expect(page.locator("html[data-modeller=ready]")).to_have_count(1)
    marked = page.locator(f"{UCLA_CELL}.tsunagu-problem")
    expect(marked).to_have_count(1)
    expect(marked).to_have_attribute("title", re.compile("サンドボックス"))
    expect(page.locator(f"{UCLA_CELL} [contenteditable=true]")).to_have_text(">= _limit")  # the designer's work came back
    screenshot(page, "decision-modeller")
    page.set_viewport_size({"width": 375, "height": 800})
    expect(page.locator("#modeller-save")).to_be_visible()
    screenshot(page, "decision-modeller-375")
    page.set_viewport_size({"width": 1200, "height": 900})

    # Corrected by typing, and a column renamed in the column's editor (double-click its heading).
    _type_in_cell(page, UCLA_CELL, ">= 7")
    page.locator(f"{SCHEME_COLUMN} .input-label").dblclick()
    label = page.locator(".context-menu .dms-input-label")
    label.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("既存制度の利用状況")
    page.keyboard.press("Escape")
    expect(page.locator(f"{SCHEME_COLUMN} .input-label")).to_have_text("既存制度の利用状況")
    assert page.evaluate("""() => window.tsunaguDecisionModeller.getActiveView().element
        .decisionLogic.input.find(i => i.id === 'Input_existing_scheme').label""") == "既存制度の利用状況"
    page.locator("#modeller-save").click()

    # Saved as the draft: its comparison with the live version names the changed rule and entry.
    expect(page).to_have_url(f"{live_server}/designer/processes/{KEY}/diff")
    expect(page.locator(".flashes")).to_be_visible()
    changes = page.locator("#diff-decisions")
    expect(changes).to_contain_text("ルール4")
    expect(changes).to_contain_text(">= 7")
    # The comparison lists entries, not column labels: the renamed column is read back from the draft.
    page.goto(f"{live_server}/designer/processes/{KEY}/decisions/risk_triage/modeller")
    expect(page.locator("html[data-modeller=ready]")).to_have_count(1)
    expect(page.locator("#source")).to_contain_text("下書き")
    expect(page.locator(f"{SCHEME_COLUMN} .input-label")).to_have_text("既存制度の利用状況")
    expect(page.locator(f"{UCLA_CELL} [contenteditable=true]")).to_have_text(">= 7")
