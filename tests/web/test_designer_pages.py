"""The process designers' pages: the processes of the municipality, a process drawn with the cases waiting
at its elements, uploads into drafts, deployment with a note, history, download and rollback."""
from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from page_text import element, text
from sqlalchemy import func, select

from tsunagu.engine.commands import cases, queries
from tsunagu.engine.models import ProcessDraftRecord, ProcessVersionRecord

KEY = "kodoku_koritsu_case"


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(f"{KEY}/{name}", content)
    return buffer.getvalue()


def _changed(standard_definition, title="相談受付（当市版）") -> dict[str, str]:
    schema = json.loads(standard_definition.files["intake-schema.json"])
    schema["title"] = title
    return {**standard_definition.files, "intake-schema.json": json.dumps(schema, ensure_ascii=False)}


def _upload(client, files: dict[str, str], **form):
    return client.post("/designer/upload", data={"package": (io.BytesIO(_zip(files)), "package.zip"), **form},
                       content_type="multipart/form-data")


def _count(session, record) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(record))


def test_the_processes_page_lists_the_live_version_its_origin_and_open_cases(
        client, login, designer, standard_version, session, clock, caseworker):
    cases.start_case(session, clock, caseworker, standard_version, "山田さん")
    login(designer)
    html = client.get("/designer").get_data(as_text=True)
    row = text(element(html, f"process-{KEY}"))
    assert standard_version.name in row and "全国標準テンプレート" in row and "第1版" in row
    assert "テンプレート v1: 1" in row  # one open case on the template's version
    assert 'href="/designer"' in element(html, "main-nav")


def test_a_caseworker_is_refused_the_designer_pages_in_japanese(client, login, caseworker, standard_version):
    login(caseworker)
    response = client.get("/designer")
    assert response.status_code == 403
    assert "権限" in response.get_data(as_text=True)


def test_an_upload_becomes_a_draft_that_is_deployed_with_a_note_and_shown_in_the_history(
        client, login, designer, standard_version, standard_definition, session):
    login(designer)
    response = _upload(client, _changed(standard_definition))
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"].endswith(f"/designer/processes/{KEY}?draft=1")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "下書き" in text(element(page, "draft"))
    assert 'id="el-intake"' in page  # the draft's diagram, each element addressable
    assert _count(session, ProcessDraftRecord) == 1

    deployed = client.post(f"/designer/processes/{KEY}/draft/deploy", data={"note": "受付票の題名を市の表記に"},
                           follow_redirects=True)
    html = deployed.get_data(as_text=True)
    assert deployed.status_code == 200
    history = text(element(html, "history"))
    assert "受付票の題名を市の表記に" in history and "設計 太郎" in history
    assert _count(session, ProcessDraftRecord) == 0
    live = session.scalar(select(ProcessVersionRecord).where(ProcessVersionRecord.municipality_id.is_not(None)))
    assert live.note == "受付票の題名を市の表記に" and live.deployed_via == "web"
    assert "相談受付（当市版）" in live.files["intake-schema.json"]


def test_broken_xml_is_refused_with_the_file_and_line_and_nothing_is_stored(
        client, login, designer, standard_version, standard_definition, session):
    login(designer)
    files = {**standard_definition.files, f"{KEY}.bpmn": "<bpmn:definitions>\n<oops\n"}
    response = _upload(client, files)
    assert response.status_code == 422
    problems = text(element(response.get_data(as_text=True), "problems"))
    assert f"{KEY}.bpmn" in problems and "何も登録していません" in problems
    assert _count(session, ProcessDraftRecord) == 0
    assert _count(session, ProcessVersionRecord) == 1


def test_an_empty_upload_names_what_to_choose(client, login, designer, standard_version):
    login(designer)
    response = client.post("/designer/upload", data={}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "zip" in text(element(response.get_data(as_text=True), "problems"))


def test_an_earlier_version_is_made_live_again_with_a_note(
        client, login, designer, standard_version, standard_definition, session):
    login(designer)
    for title, note in (("一版", "最初の版"), ("二版", "二つ目の版")):
        assert _upload(client, _changed(standard_definition, title)).status_code == 302
        client.post(f"/designer/processes/{KEY}/draft/deploy", data={"note": note})
    response = client.post(f"/designer/processes/{KEY}/versions/1/rollback", data={"note": "二版に誤り"},
                           follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "現行" in text(element(html, "version-municipal-1")) and "現行" not in text(element(html, "version-municipal-2"))
    assert "二版に誤り" in text(element(html, "history"))
    session.rollback()
    live = session.scalars(select(ProcessVersionRecord).where(ProcessVersionRecord.municipality_id.is_not(None))
                           .order_by(ProcessVersionRecord.activated_at.desc())).first()
    assert live.version_number == 1


def test_a_version_downloads_as_a_zip_of_exactly_its_files(client, login, designer, standard_version):
    login(designer)
    response = client.get(f"/designer/processes/{KEY}/versions/1.zip?scope=template")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        files = {name: archive.read(name).decode("utf-8") for name in archive.namelist()}
    assert files == standard_version.files


def test_the_process_page_shows_how_many_cases_wait_at_each_task_and_how_many_are_overdue(
        client, login, designer, standard_version, session, clock, caseworker):
    for title in ("一人目", "二人目"):
        cases.start_case(session, clock, caseworker, standard_version, title)
    clock.advance(timedelta(days=4))  # the intake is due in three days: both are late now
    cases.start_case(session, clock, caseworker, standard_version, "三人目")
    login(designer)
    html = client.get(f"/designer/processes/{KEY}").get_data(as_text=True)
    waiting = text(element(element(html, "settings-intake"), "settings-intake"))
    assert "3" in waiting and "2 件期限超過" in waiting
    diagram = element(html, "el-intake")
    assert "heat-" in diagram


def test_unknown_processes_and_versions_are_japanese_404s(client, login, designer, standard_version):
    login(designer)
    assert client.get("/designer/processes/nope").status_code == 404
    assert client.get(f"/designer/processes/{KEY}?version=99").status_code == 404
    assert client.get(f"/designer/processes/{KEY}/versions/99999999999999999999.zip").status_code == 404
    assert client.post(f"/designer/processes/{KEY}/draft/deploy", data={"note": "x"}).status_code == 404


def test_a_lane_that_is_not_a_role_is_mapped_at_upload_and_its_tasks_go_to_that_role(
        client, login, designer, caseworker, session, clock):
    folder = Path(__file__).parents[1] / "fixtures" / "models" / "lane-mapping-unknown-role"
    files = {p.name: p.read_text(encoding="utf-8") for p in folder.iterdir() if p.name != "tsunagu.json"}
    login(designer)
    refused = _upload(client, files)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "lane_unknown_role" in text(element(html, "problems"))
    table = element(html, "lane-roles")
    assert "相談支援員" in text(table) and 'name="lane-0"' in table

    accepted = _upload(client, files, **{"lane-0": "caseworker"})
    assert accepted.status_code == 302, text(element(accepted.get_data(as_text=True), "problems"))
    session.rollback()
    draft = session.scalar(select(ProcessDraftRecord))
    assert json.loads(draft.files["tsunagu.json"]) == {"lane_roles": {"相談支援員": "caseworker"}}
    key = draft.process_id
    assert client.post(f"/designer/processes/{key}/draft/deploy", data={"note": "レーンを相談支援員に"}
                       ).status_code == 302
    session.rollback()
    version = session.scalar(select(ProcessVersionRecord).where(ProcessVersionRecord.process_id == key))
    case = cases.start_case(session, clock, caseworker, version, "レーンの確認")
    assert [t.role for t in queries.open_tasks_of_case(session, case.id)] == ["caseworker"]


@pytest.mark.parametrize("path", ["/designer/processes/%00/tasks", "/designer/processes/%00/decisions",
                                  "/designer/processes/a%00b", "/designer/processes/%00/forms/x%00.json",
                                  "/designer/processes/%00/modeller", "/designer/processes/%00/diff"])
def test_a_nul_byte_in_the_address_is_not_found_before_any_database_reads_it(
        client, login, designer, standard_version, path):
    login(designer)
    response = client.get(path)
    assert response.status_code == 404
    assert "見つかりません" in response.get_data(as_text=True)
