"""Renaming a form field's data name in the browser: a field nothing reads is renamed in the form, its layout,
its order and the required list; a field a gateway condition reads is refused naming the condition, and a
bad or taken name is refused beside the field, nothing stored."""
from __future__ import annotations

import json

from editor_pages import draft_count
from page_text import element, text
from sqlalchemy import select
from test_form_editor_page import _index_of, _posted, app  # noqa: F401  (the fixture registering the editor)

from tsunagu.engine.models import AuditRecord, ProcessDraftRecord

KEY = "kodoku_koritsu_case"
FORM, LAYOUT = "contact-attempt-schema.json", "contact-attempt-uischema.json"
EDITOR = f"/designer/processes/{KEY}/forms/{FORM}"


def test_a_field_nothing_reads_is_renamed_in_the_form_its_layout_order_and_required_list(
        client, login, designer, standard_version, session):
    login(designer)
    page = client.get(EDITOR).get_data(as_text=True)
    posted = _posted(page)
    note, date = _index_of(posted, "contact_note"), _index_of(posted, "attempted_on")
    assert posted[f"f-{note}-name"] == "contact_note"
    assert "help-f-" in element(page, f"f-{note}")  # the name's help, saying who reads it and what stays
    posted.update({f"f-{note}-name": "visit_record", f"f-{date}-name": "attempt_date"})

    previewed = client.post(EDITOR, data={**posted, "action": "preview"}).get_data(as_text=True)
    pending = element(previewed, "changes")
    assert "contact_note → visit_record" in text(pending) and "attempted_on → attempt_date" in text(pending)
    assert "field-preview-visit_record" in element(previewed, "preview-form")

    saved = client.post(EDITOR, data={**_posted(previewed), "action": "save"})
    assert saved.status_code == 302, saved.get_data(as_text=True)
    draft = session.scalar(select(ProcessDraftRecord))
    schema, ui = json.loads(draft.files[FORM]), json.loads(draft.files[LAYOUT])
    assert list(schema["properties"]) == ["attempt_date", "contact_method", "contact_result", "visit_record",
                                          "attempt_next_step"]
    assert schema["properties"]["visit_record"] == {"type": "string", "title": "記録", "maxLength": 4000}
    assert schema["required"] == ["attempt_date", "contact_method", "contact_result", "attempt_next_step"]
    assert ui["ui:order"] == ["attempt_date", "contact_method", "contact_result", "visit_record",
                              "attempt_next_step"]
    assert ui["visit_record"] == {"ui:widget": "textarea"} and "contact_note" not in ui
    assert list(ui).index("visit_record") == 3  # the layout entry kept its place
    audited = session.scalar(select(AuditRecord).where(AuditRecord.action == "process.form_changed"))
    assert {"field": "visit_record", "change": "renamed", "from": "contact_note"} in audited.detail["changes"]
    assert audited.detail["via"] == "web"
    assert not [c for c in audited.detail["changes"] if c["change"] in ("added", "removed")]


def test_renaming_a_field_a_gateway_condition_reads_is_refused_naming_the_flow(
        client, login, designer, standard_version, session):
    login(designer)
    posted = _posted(client.get(EDITOR).get_data(as_text=True))
    step = _index_of(posted, "attempt_next_step")
    refused = client.post(EDITOR, data={**posted, f"f-{step}-name": "next_step", "action": "save"})
    assert refused.status_code == 422
    beside = text(element(refused.get_data(as_text=True), f"f-{step}"))
    assert "flow_contact_retry" in beside and "flow_contact_consent" in beside
    assert "kodoku_koritsu_case.bpmn" in beside
    assert draft_count(session) == 0


def test_a_bad_or_taken_new_name_is_refused_beside_the_field(client, login, designer, standard_version, session):
    login(designer)
    posted = _posted(client.get(EDITOR).get_data(as_text=True))
    note, method = _index_of(posted, "contact_note"), _index_of(posted, "contact_method")
    bad = client.post(EDITOR, data={**posted, f"f-{note}-name": "1 note", "action": "save"})
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert 'id="err-f-' in element(html, f"f-{note}") and 'id="err-f-' not in element(html, f"f-{method}")
    assert "記録" in text(element(html, "problems"))  # the refused field, by its title

    taken = client.post(EDITOR, data={**posted, f"f-{note}-name": "contact_method", "action": "save"})
    assert taken.status_code == 422 and 'id="err-f-' in element(taken.get_data(as_text=True), f"f-{note}")
    elsewhere = client.post(EDITOR, data={**posted, f"f-{note}-name": "person_name", "action": "save"})
    assert elsewhere.status_code == 422
    assert "intake-schema.json" in text(element(elsewhere.get_data(as_text=True), f"f-{note}"))
    assert draft_count(session) == 0


def test_a_field_of_a_form_the_case_file_stores_keeps_its_name(client, login, designer, standard_version, session):
    login(designer)
    editor = f"/designer/processes/{KEY}/forms/intake-schema.json"
    posted = _posted(client.get(editor).get_data(as_text=True))
    concern = _index_of(posted, "concern")
    refused = client.post(editor, data={**posted, f"f-{concern}-name": "worry", "action": "save"})
    assert refused.status_code == 422
    assert "intake" in text(element(refused.get_data(as_text=True), f"f-{concern}"))
    assert draft_count(session) == 0
