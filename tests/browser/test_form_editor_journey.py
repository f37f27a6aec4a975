"""A process designer renames a field of the intake form and adds a required one in the form editor, sees
both in the preview, saves and deploys the draft, and a caseworker's new intake shows them and insists on
the new field."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import screenshot
from .test_standard_path_journey import _sign_in, _sign_out

pytestmark = pytest.mark.browser

KEY = "kodoku_koritsu_case"


def test_a_renamed_label_and_a_new_required_field_reach_the_caseworkers_form(page, live_server):
    _sign_in(page, live_server, "designer")
    page.goto(f"{live_server}/designer/processes/{KEY}")
    page.locator("#forms-link").click()
    page.locator("main a[href$=\"/forms/intake-schema.json\"]").click()

    name_field = page.locator("fieldset.form-field", has=page.locator("input[value=person_name]"))
    name_field.locator("summary").click()
    name_field.locator("input[id$=-title]").fill("氏名（通称可）")
    page.locator("#add-field").click()
    new = page.locator("fieldset.form-field").last
    new.locator("input[id$=-name]").fill("contact_phone")
    new.locator("input[id$=-title]").fill("連絡先電話番号")
    new.locator("input[id$=-required]").check()
    page.locator("#update-preview").click()
    preview = page.locator("#preview-form")
    expect(preview).to_contain_text("氏名（通称可）")
    expect(preview).to_contain_text("連絡先電話番号")
    screenshot(page, "designer-form-editor")

    page.locator("#save").click()
    expect(page.locator(".flashes")).to_contain_text("下書き")
    page.goto(f"{live_server}/designer/processes/{KEY}?draft=1")
    page.fill("#note", "受付で連絡先を必ず聞く")
    page.get_by_role("button", name="下書きを登録して有効にする").click()
    expect(page.locator(".flashes")).to_contain_text("第1版を有効にしました")
    _sign_out(page)

    _sign_in(page, live_server, "caseworker")
    page.locator("nav").get_by_role("link", name="新規相談").click()
    page.fill("#title", "新しいフォームでの相談")
    page.get_by_role("button", name="開始").click()
    expect(page.locator("#field-person_name")).to_contain_text("氏名（通称可）")
    expect(page.locator("#field-contact_phone")).to_contain_text("連絡先電話番号")
    page.get_by_role("button", name="完了する").click()
    expect(page.locator("#field-contact_phone")).to_contain_text("必須")
