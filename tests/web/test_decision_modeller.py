"""The decision table editor page (dmn-js): the DMN file travels to the editor in a data island, the edited file
posted back becomes a draft once every entry passes the sandbox's check, and a refused file comes back with
each problem listed by rule and column, its entry handed to the editor to mark, and nothing stored."""
from __future__ import annotations

import pytest
from editor_pages import base_of, draft_count, island, stand_in_bundle
from page_text import element, text
from sqlalchemy import select

from tsunagu.engine.models import AuditRecord, ProcessDraftRecord
from tsunagu.processes import decision_tables

KEY = "kodoku_koritsu_case"
DMN = "risk_triage.dmn"
URL = f"/designer/processes/{KEY}/decisions/risk_triage/modeller"
# Rule 2 of risk_triage: "urgent" when life or body is in immediate danger.
DANGER_OUTPUT = '<outputEntry id="Rule_urgent_danger_risk_level">\n          <text>"urgent"</text>'
SCHEME_LABEL = 'label="既存の制度による支援"'


@pytest.fixture
def built(app, tmp_path, monkeypatch):
    return stand_in_bundle(app, tmp_path, monkeypatch, "decisions.js")


def test_the_page_carries_the_live_dmn_file_and_the_decision_to_open_to_the_editor(
        client, login, designer, standard_version, built):
    login(designer)
    page = client.get(URL)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    data = island(html)
    assert data["xml"] == standard_version.files[DMN] and data["file"] == DMN
    assert data["decision"] == "risk_triage" and data["problems"] == []
    assert "Add rule" in data["text"]["ui"] and "Input expression" in data["text"]["ui"]
    assert "現行の第1版から" in text(element(html, "source"))
    assert 'src="/static/modeller/decisions.js"' in html and "/static/modeller/decisions.css" in html
    assert "<script>" not in html  # the page's Content-Security-Policy runs no inline script
    # The table page links to the editor once it is built.
    table_page = client.get(f"/designer/processes/{KEY}/decisions/risk_triage").get_data(as_text=True)
    assert f'href="{URL}"' in element(table_page, "decision-modeller-link")


def test_without_the_built_bundle_the_page_says_to_run_make_modeller_and_the_table_page_does_not_link(
        client, login, designer, standard_version, app, tmp_path, monkeypatch):
    monkeypatch.setattr(app, "static_folder", str(tmp_path / "nothing-built"))
    login(designer)
    page = client.get(URL)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "make modeller を実行してください" in text(element(html, "modeller-missing"))
    assert "decisions.js" not in html
    table_page = client.get(f"/designer/processes/{KEY}/decisions/risk_triage").get_data(as_text=True)
    assert "decision-modeller-link" not in table_page


def test_a_caseworker_and_an_unknown_decision_are_refused(client, login, caseworker, designer, standard_version,
                                                          built):
    login(caseworker)
    assert client.get(URL).status_code == 403
    assert client.post(URL, data={"xml": "<definitions/>", "base": ""}).status_code == 403
    login(designer)
    assert client.get(f"/designer/processes/{KEY}/decisions/no_such_table/modeller").status_code == 404
    assert client.get("/designer/processes/no_such_process/decisions/risk_triage/modeller").status_code == 404


def test_a_changed_output_and_column_label_become_the_draft_with_only_the_dmn_file_replaced(
        client, login, designer, standard_version, session, built):
    login(designer)
    html = client.get(URL).get_data(as_text=True)
    xml = island(html)["xml"]
    assert DANGER_OUTPUT in xml and SCHEME_LABEL in xml
    edited = xml.replace(DANGER_OUTPUT, DANGER_OUTPUT.replace('"urgent"', '"high"')).replace(
        SCHEME_LABEL, 'label="既存制度の利用状況"')
    saved = client.post(URL, data={"xml": edited, "base": base_of(html)})
    assert saved.status_code == 302, saved.get_data(as_text=True)
    assert saved.headers["Location"].endswith(f"/designer/processes/{KEY}/diff")
    session.rollback()
    draft = session.scalar(select(ProcessDraftRecord))
    old, new = standard_version.files, draft.files
    assert {n for n in set(old) | set(new) if old.get(n) != new.get(n)} == {DMN}
    table = decision_tables.find_table(new, "risk_triage")
    assert table.rules[1].outputs == ['"high"']
    assert table.inputs[2].label == "既存制度の利用状況"
    [audited] = session.scalars(select(AuditRecord).where(AuditRecord.action == "decision.file_edited")).all()
    assert audited.detail["file"] == DMN and audited.detail["via"] == "web"

    diff = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "ルール2" in text(element(diff, "diff-decisions"))
    again = client.get(URL).get_data(as_text=True)  # the editor now opens the waiting draft
    assert island(again)["xml"] == edited and "下書き" in text(element(again, "source"))


def test_an_entry_the_sandbox_refuses_is_listed_by_rule_and_column_marked_and_nothing_is_stored(
        client, login, designer, standard_version, session, built):
    login(designer)
    html = client.get(URL).get_data(as_text=True)
    xml = island(html)["xml"]
    entry = '<inputEntry id="Rule_urgent_danger_ucla_total">\n          <text>-</text>'
    assert entry in xml
    edited = xml.replace(entry, entry.replace("<text>-</text>", '<text>&gt;= __import__("os").getpid()</text>'))
    refused = client.post(URL, data={"xml": edited, "base": base_of(html)})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    listed = text(element(page, "problems"))
    assert "何も登録していません" in listed
    assert "ルール2" in listed and "UCLA孤独感尺度" in listed and "サンドボックス" in listed
    data = island(page)
    assert data["xml"] == edited  # the designer's work comes back, not the stored file
    assert [p["element"] for p in data["problems"]] == ["Rule_urgent_danger_ucla_total"]
    assert 'data-element="Rule_urgent_danger_ucla_total"' in element(page, "problems")
    assert draft_count(session) == 0


def test_broken_xml_a_removed_called_decision_a_nul_and_a_huge_body_are_refused_without_a_500(
        client, login, designer, standard_version, session, built):
    login(designer)
    html = client.get(URL).get_data(as_text=True)
    xml, base = island(html)["xml"], base_of(html)
    broken = client.post(URL, data={"xml": xml.replace("</definitions>", ""), "base": base})
    assert broken.status_code == 422
    assert "xml_invalid" in text(element(broken.get_data(as_text=True), "problems"))
    renamed = client.post(URL, data={"xml": xml.replace('decision id="risk_triage"', 'decision id="risk_triage_2"'),
                                     "base": base})
    assert renamed.status_code == 422
    listed = text(element(renamed.get_data(as_text=True), "problems"))
    assert "decision_missing" in listed and "risk_triage" in listed
    empty = client.post(URL, data={"xml": "   ", "base": base})
    assert empty.status_code == 422
    nul = client.post(URL, data={"xml": xml.replace("リスク判定", "リスク\x00判定"), "base": base})
    assert nul.status_code == 422
    huge = client.post(URL, data={"xml": xml + " " * 2_100_000, "base": base})
    assert huge.status_code == 422
    assert "package_too_large" in text(element(huge.get_data(as_text=True), "problems"))
    assert draft_count(session) == 0


def test_a_stale_base_is_refused_as_a_conflict_and_an_unchanged_file_saves_nothing(
        client, login, designer, standard_version, session, built):
    login(designer)
    html = client.get(URL).get_data(as_text=True)
    xml = island(html)["xml"]
    stale = client.post(URL, data={"xml": xml.replace(SCHEME_LABEL, 'label="制度"'), "base": "0" * 64},
                        follow_redirects=True)
    assert stale.status_code == 200
    assert "別の人がこのプロセスの新しい下書きを保存しました" in stale.get_data(as_text=True)
    unchanged = client.post(URL, data={"xml": xml, "base": base_of(html)}, follow_redirects=True)
    assert "変更はありませんでした" in unchanged.get_data(as_text=True)
    assert draft_count(session) == 0
