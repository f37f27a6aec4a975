"""The modeller page: the diagram travels to bpmn-js in a data island, the edited file posted back becomes a
draft validated like an upload, and a refused file comes back with its problems and nothing stored."""
from __future__ import annotations

import json

import pytest
from editor_pages import base_of, draft_count, island, stand_in_bundle
from page_text import element, text
from sqlalchemy import select

from tsunagu.engine.models import AuditRecord, ProcessDraftRecord

KEY = "kodoku_koritsu_case"
BPMN = f"{KEY}.bpmn"
URL = f"/designer/processes/{KEY}/modeller"


@pytest.fixture
def built(app, tmp_path, monkeypatch):
    return stand_in_bundle(app, tmp_path, monkeypatch, "modeller.js")


def test_the_page_carries_the_live_diagram_to_the_modeller_with_the_packages_forms_and_decisions(
        client, login, designer, standard_version, built):
    login(designer)
    page = client.get(URL)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    data = island(html)
    assert data["xml"] == standard_version.files[BPMN] and data["file"] == BPMN and data["problems"] == []
    assert data["roles"]["caseworker"] == "相談支援員"
    assert "intake-uischema.json" in data["layouts"]
    assert '<option value="intake-schema.json">' in element(html, "p-form")
    assert '<option value="risk_triage">' in element(html, "decision-ids")
    assert "現行の第1版から" in text(element(html, "source"))
    assert 'src="/static/modeller/modeller.js"' in html
    assert "<script>" not in html  # the page's Content-Security-Policy runs no inline script
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]


def test_without_the_built_bundle_the_page_says_to_run_make_modeller(client, login, designer, standard_version,
                                                                       app, tmp_path, monkeypatch):
    monkeypatch.setattr(app, "static_folder", str(tmp_path / "nothing-built"))
    login(designer)
    page = client.get(URL)
    assert page.status_code == 200
    missing = text(element(page.get_data(as_text=True), "modeller-missing"))
    assert "make modeller を実行してください" in missing
    assert "modeller.js" not in page.get_data(as_text=True)


def test_a_changed_diagram_becomes_the_draft_with_only_its_bpmn_file_replaced(
        client, login, designer, standard_version, session, built):
    login(designer)
    html = client.get(URL).get_data(as_text=True)
    edited = island(html)["xml"].replace('name="相談受付"', 'name="相談受付（窓口・電話）"')
    saved = client.post(URL, data={"xml": edited, "base": base_of(html)})
    assert saved.status_code == 302, saved.get_data(as_text=True)
    assert saved.headers["Location"].endswith(f"/designer/processes/{KEY}?draft=1")
    session.rollback()
    draft = session.scalar(select(ProcessDraftRecord))
    old, new = standard_version.files, draft.files
    assert {n for n in set(old) | set(new) if old.get(n) != new.get(n)} == {BPMN}
    assert new[BPMN] == edited
    [audited] = session.scalars(select(AuditRecord).where(AuditRecord.action == "process.diagram_edited")).all()
    assert audited.detail["file"] == BPMN and audited.detail["source"] == "version 1"

    again = client.get(URL).get_data(as_text=True)  # the modeller now opens the waiting draft
    assert island(again)["xml"] == edited and "登録待ちの下書きから" in text(element(again, "source"))


def test_a_refused_due_time_is_listed_and_handed_back_to_the_modeller_to_mark_and_nothing_is_stored(
        client, login, designer, standard_version, session, built):
    login(designer)
    html = client.get(URL).get_data(as_text=True)
    edited = island(html)["xml"].replace('name="dueIn" value="P3D"', 'name="dueIn" value="3日"', 1)
    refused = client.post(URL, data={"xml": edited, "base": base_of(html)})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    listed = text(element(page, "problems"))
    assert "何も登録していません" in listed and "intake" in listed and "ISO 8601" in listed
    data = island(page)
    assert data["xml"] == edited  # the designer's work comes back, not the stored file
    assert [p["element"] for p in data["problems"]] == ["intake"]
    assert 'data-element="intake"' in element(page, "problems")
    assert draft_count(session) == 0


def test_broken_xml_and_a_diagram_without_its_process_are_refused_and_nothing_is_stored(
        client, login, designer, standard_version, session, built):
    login(designer)
    html = client.get(URL).get_data(as_text=True)
    xml = island(html)["xml"]
    broken = client.post(URL, data={"xml": xml.replace("</bpmn:definitions>", ""), "base": base_of(html)})
    assert broken.status_code == 422
    assert "xml_invalid" in text(element(broken.get_data(as_text=True), "problems"))
    renamed = client.post(URL, data={"xml": xml.replace(f'id="{KEY}"', 'id="another_process"')
                                     .replace(f'processRef="{KEY}"', 'processRef="another_process"'),
                                     "base": base_of(html)})
    assert renamed.status_code == 422 and "process_missing" in renamed.get_data(as_text=True)
    empty = client.post(URL, data={"xml": "", "base": base_of(html)})
    assert empty.status_code == 422
    assert draft_count(session) == 0


def test_other_staff_are_refused_and_an_unchanged_or_stale_save_stores_nothing(
        client, login, designer, caseworker, standard_version, session, built):
    login(caseworker)
    assert client.get(URL).status_code == 403
    assert client.post(URL, data={"xml": "<x/>"}).status_code == 403
    client.post("/logout")
    login(designer)
    assert client.get("/designer/processes/nope/modeller").status_code == 404
    html = client.get(URL).get_data(as_text=True)
    xml = island(html)["xml"]
    unchanged = client.post(URL, data={"xml": xml, "base": base_of(html)})
    assert unchanged.status_code == 302 and unchanged.headers["Location"].endswith(URL)
    stale = client.post(URL, data={"xml": xml.replace("相談受付", "受付"), "base": "0" * 64})
    assert stale.status_code == 302 and stale.headers["Location"].endswith(URL)
    assert draft_count(session) == 0


def _lane_mapping(draft) -> dict:
    return json.loads(draft.files["tsunagu.json"])["lane_roles"]


def test_the_lane_mapping_posted_with_the_diagram_is_kept_in_tsunagu_json_for_the_diagrams_lanes_only(
        client, login, designer, standard_version, session, built):
    login(designer)
    html = client.get(URL).get_data(as_text=True)
    assert island(html)["laneRoles"] == {}  # the standard model names its lanes with role codes
    xml = island(html)["xml"]
    posted = json.dumps({"caseworker": "supervisor", "a lane deleted in the modeller": "caseworker"})
    saved = client.post(URL, data={"xml": xml, "base": base_of(html), "lane_roles": posted})
    assert saved.status_code == 302, saved.get_data(as_text=True)
    session.rollback()
    draft = session.scalar(select(ProcessDraftRecord))
    assert _lane_mapping(draft) == {"caseworker": "supervisor"}
    assert {n for n in draft.files if draft.files[n] != standard_version.files.get(n)} == {"tsunagu.json"}
    [audited] = session.scalars(select(AuditRecord).where(AuditRecord.action == "process.diagram_edited")).all()
    assert audited.detail["lane_roles"] == {"caseworker": "supervisor"} and audited.detail["via"] == "web"

    again = client.get(URL).get_data(as_text=True)
    assert island(again)["laneRoles"] == {"caseworker": "supervisor"}
    # A lane renamed in the panel keeps its mapping under its new name.
    renamed = island(again)["xml"].replace('name="caseworker"', 'name="相談支援"', 1)
    saved = client.post(URL, data={"xml": renamed, "base": base_of(again),
                                   "lane_roles": json.dumps({"相談支援": "supervisor"})})
    assert saved.status_code == 302, saved.get_data(as_text=True)
    session.rollback()
    assert _lane_mapping(session.scalar(select(ProcessDraftRecord))) == {"相談支援": "supervisor"}


def test_an_unknown_role_for_a_lane_is_refused_naming_the_lane_and_nothing_is_stored(
        client, login, designer, standard_version, session, built):
    login(designer)
    html = client.get(URL).get_data(as_text=True)
    posted = json.dumps({"caseworker": "mayor"})
    refused = client.post(URL, data={"xml": island(html)["xml"].replace("相談受付", "受付"), "base": base_of(html),
                                     "lane_roles": posted})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    listed = text(element(page, "problems"))
    assert "何も登録していません" in listed and "Lane_caseworker" in listed and "caseworker" in listed
    assert "mayor" in listed and "is not a role" in listed
    data = island(page)
    assert data["laneRoles"] == {"caseworker": "mayor"}  # the designer's choice comes back with the diagram
    assert data["unsaved"] is True
    assert [p["element"] for p in data["problems"]] == ["Lane_caseworker"]
    assert draft_count(session) == 0


@pytest.mark.parametrize("posted", ["{not json", "[1, 2]", '{"caseworker": 3}', "x" * 30_000])
def test_a_malformed_lane_mapping_is_refused_with_a_problem_and_nothing_is_stored(
        client, login, designer, standard_version, session, built, posted):
    login(designer)
    html = client.get(URL).get_data(as_text=True)
    refused = client.post(URL, data={"xml": island(html)["xml"], "base": base_of(html), "lane_roles": posted})
    assert refused.status_code == 422
    listed = text(element(refused.get_data(as_text=True), "problems"))
    assert "tsunagu.json" in listed and "lane_mapping_invalid" in listed
    assert island(refused.get_data(as_text=True))["laneRoles"] == {}
    assert draft_count(session) == 0


THROW = ('<bpmn:intermediateThrowEvent id="notify_intake" name="受付を知らせる">'
         '<bpmn:incoming>flow_intake_notify</bpmn:incoming><bpmn:outgoing>flow_intake_assessment</bpmn:outgoing>'
         '<bpmn:messageEventDefinition id="med_notify_intake" messageRef="message_intake_notified">'
         '<bpmn:extensionElements><spiffworkflow:messagePayload>{"case_ref": case_ref, "risk": "intake"}'
         '</spiffworkflow:messagePayload></bpmn:extensionElements></bpmn:messageEventDefinition>'
         '</bpmn:intermediateThrowEvent>'
         '<bpmn:sequenceFlow id="flow_intake_notify" sourceRef="intake" targetRef="notify_intake" />')


def test_a_message_throw_event_with_its_payload_and_correlation_round_trips_through_the_draft(
        client, login, designer, standard_version, session, built):
    login(designer)
    html = client.get(URL).get_data(as_text=True)
    xml = island(html)["xml"]
    edited = (xml.replace('<bpmn:message id="message_council_decision"',
                          '<bpmn:message id="message_intake_notified" name="intake_notified" />'
                          '<bpmn:correlationProperty id="case_ref" name="case_ref">'
                          '<bpmn:correlationPropertyRetrievalExpression messageRef="message_intake_notified">'
                          '<bpmn:messagePath>case_ref</bpmn:messagePath>'
                          '</bpmn:correlationPropertyRetrievalExpression></bpmn:correlationProperty>'
                          '<bpmn:message id="message_council_decision"', 1)
              .replace('<bpmn:outgoing>flow_intake_assessment</bpmn:outgoing>',
                       '<bpmn:outgoing>flow_intake_notify</bpmn:outgoing>', 1)
              .replace('<bpmn:sequenceFlow id="flow_intake_assessment" sourceRef="intake"',
                       THROW + '<bpmn:sequenceFlow id="flow_intake_assessment" sourceRef="notify_intake"', 1))
    saved = client.post(URL, data={"xml": edited, "base": base_of(html), "lane_roles": "{}"})
    assert saved.status_code == 302, text(element(saved.get_data(as_text=True), "problems"))
    session.rollback()
    draft = session.scalar(select(ProcessDraftRecord))
    assert "tsunagu.json" not in draft.files  # no mapping: no file
    reopened = island(client.get(URL).get_data(as_text=True))["xml"]
    assert '<spiffworkflow:messagePayload>{"case_ref": case_ref, "risk": "intake"}' in reopened
    assert 'messageRef="message_intake_notified"' in reopened and 'name="intake_notified"' in reopened
