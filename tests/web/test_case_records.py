"""Who read a case (the access log) and taking a case file out (the JSON export)."""
from __future__ import annotations

import json
import re

from conftest import reread
from page_text import element, text
from sqlalchemy import select

from tsunagu.engine.models import AuditRecord
from tsunagu.engine.runtime.forms import MASK


def _rows(html: str) -> list[str]:
    return [text(row) for row in re.findall(r"<tr[^>]*>(.*?)</tr>", element(html, "access-log"), re.S)[1:]]


def test_the_access_log_lists_every_read_with_who_what_basis_and_part(client, login, session, caseworker,
                                                                      supervisor, coordinator, standard_case):
    case = standard_case(until="tabled")
    login(caseworker)
    client.get(f"/cases/{case.id}")
    login(supervisor)
    client.get(f"/cases/{case.id}")  # refused: no basis yet
    client.post(f"/cases/{case.id}/break-glass", data={"reason": "夜間に本人から危険を示す連絡があった", "hours": "1"})
    client.get(f"/cases/{case.id}")
    login(coordinator)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert f'href="/cases/{case.id}/access-log"' in element(page, "case-records")

    response = client.get(f"/cases/{case.id}/access-log")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    rows = _rows(html)
    assert rows.pop(0).endswith("調整 次郎 閲覧記録の確認 — —")  # newest first: this very reading of the log
    assert rows[0].endswith("調整 次郎 閲覧 協議会（法第16条・第18条） ケース記録")
    assert rows[1].endswith("supervisor 閲覧 緊急時の閲覧（期限付き） ケース記録")
    assert "supervisor 緊急閲覧 理由: 夜間に本人から危険を示す連絡があった (1時間)" in rows[2]
    assert rows[3].endswith("supervisor 閲覧拒否 根拠なし ケース記録")
    assert rows[4].endswith("caseworker 閲覧 担当職員 ケース記録")
    assert all(row.startswith("2026-11-27 09:00") for row in rows)

    reread(session)
    logged = session.scalars(select(AuditRecord.action).where(AuditRecord.case_id == case.id,
                                                              AuditRecord.actor_id == coordinator.id)).all()
    assert "case.access_log_viewed" in logged


def test_the_access_log_is_not_for_caseworkers_and_not_without_a_basis(client, login, caseworker, supervisor,
                                                                       standard_case):
    case = standard_case(until="tabled")
    login(caseworker)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "access-log-link" not in page
    assert client.get(f"/cases/{case.id}/access-log").status_code == 403
    login(supervisor)  # a supervisor without a basis to the case itself: as if there were no such case
    assert client.get(f"/cases/{case.id}/access-log").status_code == 404


def test_the_export_masks_special_care_unless_the_reader_may_see_it_and_asks(client, login, session, caseworker,
                                                                             standard_case):
    case = standard_case(until="tabled")
    login(caseworker)
    form = element(client.get(f"/cases/{case.id}").get_data(as_text=True), "export-form")
    assert 'name="include_special_care"' in form

    response = client.get(f"/cases/{case.id}/export.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{case.reference}.json"'
    intake = json.loads(response.get_data(as_text=True))["submissions"][0]["data"]
    assert intake["special_care"] == MASK and intake["person_name"] == "山田 花子"

    full = json.loads(client.get(f"/cases/{case.id}/export.json?include_special_care=1").get_data(as_text=True))
    assert full["submissions"][0]["data"]["special_care"] == ["mental_health"]
    reread(session)
    exported = session.scalars(select(AuditRecord).where(AuditRecord.action == "case.exported")
                               .order_by(AuditRecord.id)).all()
    assert [(row.detail["special_care"], row.detail["basis"]) for row in exported] == [(False, "staff"),
                                                                                      (True, "staff")]


def test_the_coordinating_body_reads_the_tabled_case_but_is_offered_no_export_and_is_refused_it(
        client, login, coordinator, standard_case):
    case = standard_case(until="tabled")
    login(coordinator)
    page = client.get(f"/cases/{case.id}")
    assert page.status_code == 200 and 'id="export-form"' not in page.get_data(as_text=True)
    assert client.get(f"/cases/{case.id}/export.json").status_code == 403  # exports are for case staff only
    assert client.get(f"/cases/{case.id}/export.json?include_special_care=1").status_code == 403


def test_a_partner_with_only_the_packet_cannot_export_the_case(client, login, body_partners, standard_case):
    case = standard_case()
    login(body_partners["npo_ibasho"])
    assert 'id="export-form"' not in client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert client.get(f"/cases/{case.id}/export.json").status_code == 403
