"""A supervisor without a basis may open a case in an emergency: a written reason, a few hours, the
coordinating body told, a red banner while it lasts, and refused again once it runs out."""
from __future__ import annotations

from datetime import timedelta

from conftest import reread
from page_text import element, options, text
from sqlalchemy import select

from tsunagu.engine.casefile.tables import BreakGlassRecord
from tsunagu.engine.models import AuditRecord, MunicipalityRecord
from tsunagu.engine.ops.tables import NotificationRecord

REASON = "本人の家族から、連絡が取れず安否が心配との通報があった"


def test_a_refused_supervisor_sees_the_missing_page_and_finds_break_glass_from_the_inbox(
        client, login, supervisor, standard_case):
    case = standard_case(until="tabled")
    login(supervisor)
    response = client.get(f"/cases/{case.id}")
    assert response.status_code == 404 and 'id="break-glass"' not in response.get_data(as_text=True)
    inbox = client.get("/").get_data(as_text=True)
    assert 'href="/break-glass"' in element(inbox, "break-glass-link")
    form = element(client.get("/break-glass").get_data(as_text=True), "break-glass")
    assert 'action="/break-glass"' in form and 'name="reference"' in form
    assert [label for _value, label in options(element(form, "hours"))] == ["1時間", "2時間", "4時間", "8時間"]
    assert "理由" in text(element(form, "field-reason"))


def test_a_supervisor_opens_a_case_by_its_reference(client, login, session, supervisor, standard_case):
    case = standard_case(until="tabled")
    login(supervisor)
    response = client.post("/break-glass", data={"reference": case.reference, "reason": REASON, "hours": "1"})
    assert response.status_code == 302 and response.headers["Location"] == f"/cases/{case.id}"
    assert client.get(f"/cases/{case.id}").status_code == 200


def test_an_unknown_reference_and_one_of_another_municipality_answer_alike(
        client, login, session, clock, supervisor, standard_case):
    case = standard_case(until="tabled")
    other = MunicipalityRecord(code="999999", name="別市")
    session.add(other)
    session.flush()
    case.municipality_id = other.id
    session.commit()
    login(supervisor)
    answers = []
    for reference in (case.reference, "2099-999999"):
        response = client.post("/break-glass", data={"reference": reference, "reason": REASON, "hours": "1"})
        html = response.get_data(as_text=True)
        answers.append((response.status_code, text(element(html, "field-reference")).replace(reference, "")))
    assert answers[0] == answers[1] and answers[0][0] == 422
    assert "見つかりません" in answers[0][1] or "No case" in answers[0][1]  # the field says why, beside it
    reread(session)
    assert session.scalar(select(BreakGlassRecord)) is None


def test_the_form_is_not_offered_to_other_roles(client, login, partner, standard_case):
    case = standard_case(until="tabled")
    login(partner)
    response = client.get(f"/cases/{case.id}")
    assert response.status_code == 404 and 'id="break-glass"' not in response.get_data(as_text=True)
    assert 'id="break-glass-link"' not in client.get("/").get_data(as_text=True)
    assert client.get("/break-glass").status_code == 403
    assert client.post(f"/cases/{case.id}/break-glass", data={"reason": REASON, "hours": "1"}).status_code == 403
    assert client.post("/cases/999999/break-glass", data={"reason": REASON, "hours": "1"}).status_code == 403


def test_a_short_reason_is_refused_beside_the_field_and_nothing_opens(client, login, session, supervisor,
                                                                      standard_case):
    case = standard_case(until="tabled")
    login(supervisor)
    response = client.post(f"/cases/{case.id}/break-glass", data={"reason": "急ぎ", "hours": "2"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "10 文字以上で入力してください。" in text(element(html, "field-reason"))
    assert 'aria-invalid="true"' in element(html, "reason") and "急ぎ" in element(html, "reason")
    assert ("2", "2時間") in [(v, label) for v, label in options(element(html, "hours"))]
    assert 'value="2" selected' in element(html, "hours")
    response = client.post(f"/cases/{case.id}/break-glass", data={"reason": REASON, "hours": "24"})
    assert response.status_code == 422
    assert "選択肢から選んでください。" in text(element(response.get_data(as_text=True), "field-hours"))
    reread(session)
    assert session.scalar(select(BreakGlassRecord)) is None
    assert client.get(f"/cases/{case.id}").status_code == 404


def test_breaking_the_glass_opens_the_case_with_a_banner_an_audit_row_and_a_notice_until_it_expires(
        client, login, session, clock, supervisor, coordinator, standard_case):
    case = standard_case(until="tabled")
    login(supervisor)
    assert client.get(f"/cases/{case.id}").status_code == 404
    response = client.post(f"/cases/{case.id}/break-glass", data={"reason": REASON, "hours": "2"})
    assert response.status_code == 302 and response.headers["Location"] == f"/cases/{case.id}"

    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    banner = text(element(html, "break-glass-banner"))
    assert "緊急閲覧中" in banner and "2026-11-27 11:00 まで" in banner  # opened at 09:00 for two hours
    assert "緊急時の閲覧（期限付き）" in text(element(html, "access-basis"))

    reread(session)
    (row,) = session.scalars(select(AuditRecord).where(AuditRecord.action == "case.break_glass"))
    assert (row.case_id, row.actor_id, row.detail["reason"], row.detail["hours"]) == (case.id, supervisor.id,
                                                                                      REASON, 2)
    (notice,) = session.scalars(select(NotificationRecord).where(NotificationRecord.kind == "break_glass"))
    assert notice.user_id == coordinator.id and notice.case_id == case.id and case.reference in notice.subject

    clock.advance(timedelta(hours=1, minutes=59))
    login(supervisor)  # the idle session ended meanwhile
    assert client.get(f"/cases/{case.id}").status_code == 200
    clock.advance(timedelta(minutes=2))
    response = client.get(f"/cases/{case.id}")
    assert response.status_code == 404 and 'id="break-glass"' not in response.get_data(as_text=True)


def test_a_supervisor_who_already_sees_the_case_needs_no_break_glass(client, login, session, clock, supervisor,
                                                                    standard_case):
    case = standard_case(until="tabled")
    login(supervisor)
    client.post(f"/cases/{case.id}/break-glass", data={"reason": REASON, "hours": "1"})
    response = client.post(f"/cases/{case.id}/break-glass", data={"reason": REASON, "hours": "1"})
    assert response.status_code == 409
