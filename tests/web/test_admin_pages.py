"""Administration pages: the audit log as a CSV Excel opens, incidents with their retry, the council's public notice."""
from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

from conftest import complete_element, reread
from page_text import element, text
from sqlalchemy import select

from tsunagu.engine.casefile.governance import CouncilMemberRecord, CouncilMunicipalityRecord, CouncilRecord
from tsunagu.engine.commands import cases
from tsunagu.engine.commands.scheduler import TimerPolicy, run_pass
from tsunagu.engine.models import AuditRecord, CaseStatus
from tsunagu.engine.ops.tables import IncidentRecord
from tsunagu.processes.deployment import deploy
from tsunagu.processes.loader import load_definition

FAILING_TIMER = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn" / "failing_timer"


def test_the_admin_page_links_the_audit_export_and_incidents_for_administrators_only(client, login, admin,
                                                                                     caseworker):
    login(admin)
    links = element(client.get("/admin").get_data(as_text=True), "admin-links")
    assert 'href="/admin/audit.csv"' in links and 'href="/admin/incidents"' in links
    assert '<a href="/admin">管理</a>' in client.get("/").get_data(as_text=True)
    login(caseworker)
    assert 'href="/admin"' not in client.get("/").get_data(as_text=True)
    for url in ("/admin", "/admin/audit.csv", "/admin/incidents"):
        assert client.get(url).status_code == 403, url


def test_the_audit_csv_is_an_attachment_in_utf8_with_a_bom_and_the_export_is_logged(client, login, session, admin,
                                                                                  caseworker, standard_case):
    case = standard_case(until="assessed")
    login(caseworker)
    client.get(f"/cases/{case.id}")
    login(admin)
    response = client.get("/admin/audit.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="tsunagu-audit-20261127.csv"'
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")  # Excel in Japan needs the BOM to read UTF-8
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    viewed = [r for r in rows if r["action"] == "case.viewed"]
    assert viewed and viewed[0]["actor"] == "caseworker" and viewed[0]["case_reference"] == case.reference
    assert '"basis": "staff"' in viewed[0]["detail"]
    assert any(r["action"] == "login.succeeded" and r["actor"] == "admin" for r in rows)
    reread(session)
    assert session.scalar(select(AuditRecord.actor_id).where(AuditRecord.action == "audit.exported")) == admin.id


def test_an_incident_is_listed_and_retried_by_an_administrator(client, login, session, session_factory, clock,
                                                               caseworker, admin):
    version = deploy(session, clock, load_definition(FAILING_TIMER)).version
    session.commit()
    case = cases.start_case(session, clock, caseworker, version, "タイマー失敗")
    complete_element(session, clock, caseworker, case, "prepare", {"note": "準備"})
    clock.advance(timedelta(days=1, minutes=1))
    assert run_pass(session_factory, clock, TimerPolicy(max_attempts=1), "test").incidents

    login(admin)
    table = element(client.get("/admin/incidents").get_data(as_text=True), "incidents")
    assert case.reference in text(table) and "broken" in text(table) and "missing_variable" in text(table)
    incident = session.scalar(select(IncidentRecord))
    response = client.post(f"/admin/incidents/{incident.id}/retry")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/incidents"
    page = client.get("/admin/incidents").get_data(as_text=True)
    assert "未対応のインシデントはありません。" in page and f"ケース {case.reference} を再開しました" in page
    reread(session)
    assert session.get(IncidentRecord, incident.id).resolved_by_id == admin.id
    assert session.get(type(case), case.id).status != CaseStatus.ERROR


def test_the_public_notice_is_shown_to_coordinators_and_administrators(client, login, session, municipality,
                                                                      coordinator, admin, caseworker, catalogue):
    council = session.scalar(select(CouncilRecord).join(CouncilMunicipalityRecord).where(
        CouncilMunicipalityRecord.municipality_id == municipality.id))  # the coordinator fixture's council
    council.coordinating_body_id, council.coordinating_designated_on = catalogue["fukushi"].id, None
    session.get(type(coordinator), coordinator.id).organisation_id = catalogue["fukushi"].id
    session.add_all(CouncilMemberRecord(council_id=council.id, organisation_id=body.id)
                    for body in (catalogue["shakyo"], catalogue["npo_ibasho"]))
    session.commit()
    login(coordinator)
    assert 'href="/council/notice"' in client.get("/council").get_data(as_text=True)
    notice = element(client.get("/council/notice").get_data(as_text=True), "public-notice")
    assert notice.startswith("<pre") and "つながり市孤独・孤立対策地域協議会の設置について（公示）" in notice
    assert "3 孤独・孤立対策調整機関　福祉課（調整機関）" in notice
    assert "NPO法人 つながる居場所、市社会福祉協議会" in notice
    login(admin)
    assert client.get("/council/notice").status_code == 200
    login(caseworker)
    assert client.get("/council/notice").status_code == 403


def test_without_a_council_the_notice_page_says_so(client, login, admin):
    login(admin)
    page = client.get("/council/notice").get_data(as_text=True)
    assert "この自治体の地域協議会はまだ登録されていません。" in page and "<pre" not in page
