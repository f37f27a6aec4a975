"""The coordinating body's council pages: meetings, the agenda, and recording a decision per case."""
from __future__ import annotations

from datetime import datetime

from page_text import element, options, text
from sqlalchemy import func, select

from tsunagu.engine.access import users
from tsunagu.engine.casefile.tables import (
    AgendaItemRecord,
    CouncilDecisionRecord,
    CouncilMeetingRecord,
    SupportActionRecord,
)
from tsunagu.engine.models import CaseStatus, TaskRecord, TaskStatus

MEETING_DAY = "2026-12-03"  # the meeting the fixture process tables cases at (tests/web/conftest.py)

DECISION = {
    "situation": "退職後に一人暮らし。本人は地域の集まりに関心がある。",
    "risk": "high",
    "plan": "社協の訪問と居場所へのつなぎを並行して行う。",
    "key_person": "民生委員 田中",
    "next_review_on": "2027-03-01",
}


def _decision(bodies, **overrides):
    return {**DECISION, "lead_body_id": str(bodies["shakyo"].id), **overrides}


def _decision_count(session) -> int:
    return session.scalar(select(func.count()).select_from(CouncilDecisionRecord))


def test_the_council_link_is_shown_to_the_coordinating_bodys_staff_only(
        client, login, session, clock, municipality, coordinator, caseworker, bodies, user_password):
    role_only = users.create_user(session, clock, municipality_id=municipality.id, username="npo-coordinator",
                                  display_name="NPO 調整", password=user_password, roles=["coordinator"],
                                  organisation_id=bodies["npo"].id)
    session.commit()
    for user in (caseworker, role_only):  # the coordinator role alone runs no council business
        login(user)
        assert "/council" not in _nav(client.get("/").get_data(as_text=True))
        client.post("/logout")
    login(coordinator)
    nav = _nav(client.get("/").get_data(as_text=True))
    assert '<a href="/council">協議会</a>' in nav


def _nav(html: str) -> str:
    return html.split("<nav", 1)[1].split("</nav>", 1)[0]


def test_a_caseworker_is_refused_the_council_pages_in_japanese(client, login, caseworker, start_council_case,
                                                              meeting_of):
    meeting = meeting_of(start_council_case())
    login(caseworker)
    for url in ("/council", f"/council/{meeting.id}"):
        response = client.get(url)
        assert response.status_code == 403
        assert "この操作を行う権限がありません。" in response.get_data(as_text=True)


def test_the_meeting_list_shows_date_title_and_how_many_cases_are_tabled_and_decided(
        client, login, coordinator, start_council_case, meeting_of, session, clock, bodies):
    first = start_council_case("山田さん")
    start_council_case("佐藤さん", person="佐藤 一郎")
    meeting = meeting_of(first)
    # One of the two cases already has its decision (recorded directly: this test is about counting).
    decision = CouncilDecisionRecord(meeting_id=meeting.id, case_id=first.id, situation="s", risk="normal", plan="p",
                                     lead_body_id=bodies["shakyo"].id, next_review_on=datetime(2027, 3, 1).date(),
                                     recorded_by_id=coordinator.id, recorded_at=clock())
    session.add(decision)
    session.flush()
    session.scalar(select(AgendaItemRecord).where(AgendaItemRecord.case_id == first.id)).decision_id = decision.id
    session.add(CouncilMeetingRecord(municipality_id=meeting.municipality_id, title="個別ケース検討会議 2026-10-01",
                                     held_on=datetime(2026, 10, 1).date(), created_at=clock()))
    session.commit()
    login(coordinator)
    rows = element(client.get("/council").get_data(as_text=True), "meetings").split("<tr>")[2:]
    assert len(rows) == 2
    newest, older = (text(r) for r in rows)
    assert newest.startswith(MEETING_DAY) and f"個別ケース検討会議 {MEETING_DAY}" in newest
    assert newest.endswith("2 1 未決定 1 件")
    assert older.startswith("2026-10-01") and older.endswith("0 0")
    assert f'href="/council/{meeting.id}"' in rows[0]


def test_the_agenda_shows_each_tabled_case_with_its_legal_basis_and_a_decision_form(
        client, login, coordinator, start_council_case, meeting_of, bodies, action_types, hold_meeting):
    by_consent = start_council_case("山田さん", basis="consent")
    by_council = start_council_case("佐藤さん", person="佐藤 一郎", basis="council_art16")
    hold_meeting(meeting_of(by_consent))
    login(coordinator)
    html = client.get(f"/council/{meeting_of(by_consent).id}").get_data(as_text=True)
    first, second = element(html, f"case-{by_consent.id}"), element(html, f"case-{by_council.id}")
    assert by_consent.reference in first and "山田さん" in first
    assert text(element(first, "c%d-situation" % by_consent.id)) == ""
    assert "本人同意" in text(first) and "協議会（法第16条・第18条）" in text(second)
    risk = element(first, f"c{by_consent.id}-risk")
    assert options(risk) == [("", "— 選択してください —"), ("normal", "通常"), ("high", "高"), ("urgent", "緊急")]
    lead = text(element(first, f"c{by_consent.id}-lead_body_id"))
    assert "市社会福祉協議会" in lead and "NPO法人 つながる居場所" in lead and "税務課" not in lead
    assert "支援プラン" in first and "主担当機関" in first and "キーパーソン" in first
    for row in range(4):
        kinds = text(element(first, f"c{by_consent.id}-a{row}-action_type_id"))
        assert kinds.startswith("—（支援なし）—") and "訪問による見守り・相談" in kinds
        assert "—（既定の担当機関）—" in element(first, f"c{by_consent.id}-a{row}-owner_body_id")
    assert 'type="date"' in element(first, f"c{by_consent.id}-a3-due_on")
    assert 'name="csrf_token"' in first


def test_missing_decision_fields_show_japanese_errors_beside_them_and_keep_what_was_typed(
        client, login, coordinator, start_council_case, meeting_of, session, bodies, action_types, hold_meeting):
    case = start_council_case()
    meeting = meeting_of(case)
    hold_meeting(meeting)
    login(coordinator)
    response = client.post(f"/council/{meeting.id}/cases/{case.id}/decision",
                           data={"plan": "社協が週1回訪問する。", "actions-1-action_type_id": str(action_types["visit"].id),
                                 "actions-1-note": "初回は民生委員と同行"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    form = element(html, f"case-{case.id}")
    for name in ("situation", "risk", "lead_body_id", "next_review_on"):
        assert "この項目は必須です。" in text(element(form, f"field-c{case.id}-{name}")), name
    assert "この項目は必須です。" not in element(form, f"field-c{case.id}-plan")
    assert "社協が週1回訪問する。" in element(form, f"c{case.id}-plan")
    assert 'value="初回は民生委員と同行"' in element(form, f"c{case.id}-a1-note")
    kinds = element(form, f"c{case.id}-a1-action_type_id")
    assert f'<option value="{action_types["visit"].id}" selected>' in kinds
    assert 'aria-invalid="true"' in element(form, f"c{case.id}-situation")
    assert _decision_count(session) == 0


def test_a_review_date_before_the_meeting_is_refused_beside_the_date_field(
        client, login, coordinator, start_council_case, meeting_of, session, bodies, hold_meeting):
    case = start_council_case()
    meeting = meeting_of(case)
    hold_meeting(meeting)
    login(coordinator)
    response = client.post(f"/council/{meeting.id}/cases/{case.id}/decision",
                           data=_decision(bodies, next_review_on="2026-11-30"))
    assert response.status_code == 422
    field = text(element(response.get_data(as_text=True), f"field-c{case.id}-next_review_on"))
    assert f"{MEETING_DAY} 以降の日付を入力してください。" in field
    assert _decision_count(session) == 0


def test_an_action_error_is_shown_beside_the_row_it_came_from(
        client, login, coordinator, start_council_case, meeting_of, session, bodies, action_types, hold_meeting):
    case = start_council_case()
    meeting = meeting_of(case)
    hold_meeting(meeting)
    login(coordinator)
    # Row 0 is blank and dropped, so the engine's actions.0 is the form's row 2.
    response = client.post(f"/council/{meeting.id}/cases/{case.id}/decision", data={
        **_decision(bodies), "actions-2-action_type_id": str(action_types["visit"].id),
        "actions-2-note": "x" * 2001})
    assert response.status_code == 422
    html = element(response.get_data(as_text=True), f"case-{case.id}")
    note_cell = html.split(f'id="c{case.id}-a2-note"', 1)[1].split("</td>", 1)[0]
    assert "2000 文字以内で入力してください。" in text(note_cell)
    assert "class=\"error\"" not in html.split(f'id="c{case.id}-a0-note"', 1)[1].split("</td>", 1)[0]
    assert _decision_count(session) == 0


def test_a_decision_for_a_case_that_is_not_waiting_for_the_council_shows_the_translated_refusal(
        client, login, coordinator, start_council_case, session, clock, bodies, hold_meeting):
    case = start_council_case(until="intake")  # still at its assessment: it waits for no decision
    meeting = CouncilMeetingRecord(municipality_id=case.municipality_id, title="臨時会議",
                                   held_on=datetime(2026, 12, 3).date(), created_at=clock())
    session.add(meeting)
    session.flush()
    session.add(AgendaItemRecord(meeting_id=meeting.id, case_id=case.id, basis="council_art16", tabled_at=clock()))
    session.commit()
    hold_meeting(meeting)
    login(coordinator)
    response = client.post(f"/council/{meeting.id}/cases/{case.id}/decision", data=_decision(bodies))
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "このケースは現在その操作を受け付けていません。" in html
    assert f'href="/cases/{case.id}"' in html  # a way back to the case
    assert _decision_count(session) == 0


def test_recording_a_decision_shows_it_on_the_agenda_drops_blank_rows_and_moves_the_case_on(
        client, login, coordinator, start_council_case, meeting_of, session, bodies, action_types, hold_meeting):
    case = start_council_case()
    meeting = meeting_of(case)
    hold_meeting(meeting)
    login(coordinator)
    response = client.post(f"/council/{meeting.id}/cases/{case.id}/decision", data={
        **_decision(bodies),
        "actions-0-action_type_id": str(action_types["visit"].id), "actions-0-due_on": "2026-12-20",
        "actions-1-owner_body_id": str(bodies["npo"].id), "actions-1-note": "種類が空欄なので捨てられる行",
        "actions-3-action_type_id": str(action_types["ibasho"].id),
    }, follow_redirects=True)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "協議会の決定を記録しました。" in html
    block = text(element(html, f"case-{case.id}"))
    assert "社協の訪問と居場所へのつなぎを並行して行う。" in block and "高" in block
    assert "主担当機関 市社会福祉協議会" in block and "キーパーソン 民生委員 田中" in block
    assert "2027-03-01" in block
    assert "訪問による見守り・相談 市社会福祉協議会 2026-12-20 依頼中" in block
    assert "居場所へのつなぎ NPO法人 つながる居場所" in block  # blank owner: the type's usual body
    assert f'action="/council/{meeting.id}/cases/{case.id}/decision"' not in html
    actions = session.scalars(select(SupportActionRecord).where(SupportActionRecord.case_id == case.id)).all()
    assert len(actions) == 2
    session.expire_all()
    open_tasks = session.scalars(select(TaskRecord.element_id).where(
        TaskRecord.case_id == case.id, TaskRecord.status == TaskStatus.OPEN)).all()
    assert open_tasks == ["review"]
    assert text(element(client.get("/council").get_data(as_text=True), "meetings")).endswith("1 1")


def test_recording_a_second_decision_for_the_same_case_is_refused_in_japanese(
        client, login, coordinator, start_council_case, meeting_of, session, bodies, hold_meeting):
    case = start_council_case()
    meeting = meeting_of(case)
    hold_meeting(meeting)
    login(coordinator)
    url = f"/council/{meeting.id}/cases/{case.id}/decision"
    assert client.post(url, data=_decision(bodies)).status_code == 302
    response = client.post(url, data=_decision(bodies, plan="二重送信"))
    assert response.status_code == 409
    assert "ケースの現在の状態では、この操作はできません。" in response.get_data(as_text=True)
    assert _decision_count(session) == 1
    session.expire_all()
    assert session.get(type(case), case.id).status == CaseStatus.RUNNING


def test_an_action_type_outside_the_catalogue_is_reported_beside_its_row(
        client, login, coordinator, start_council_case, meeting_of, session, bodies, hold_meeting):
    case = start_council_case()
    meeting = meeting_of(case)
    hold_meeting(meeting)
    login(coordinator)
    response = client.post(f"/council/{meeting.id}/cases/{case.id}/decision",
                           data={**_decision(bodies), "actions-0-action_type_id": "9999"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert text(element(html, f"c{case.id}-a0-action_type_id-err")) == "選択肢から選んでください。"
    assert _decision_count(session) == 0


def test_before_its_meeting_day_the_agenda_offers_no_decision_and_a_posted_one_is_refused_in_japanese(
        client, login, coordinator, start_council_case, meeting_of, session, bodies, hold_meeting):
    case = start_council_case()  # tabled on 2026-11-27 for the meeting of 2026-12-03
    meeting = meeting_of(case)
    login(coordinator)
    block = element(client.get(f"/council/{meeting.id}").get_data(as_text=True), f"case-{case.id}")
    assert "2026-12-03 に開催されます。決定はその日から記録できます。" in text(block)
    assert 'class="decision-form"' not in block
    response = client.post(f"/council/{meeting.id}/cases/{case.id}/decision", data=_decision(bodies))
    assert response.status_code == 422
    form = element(response.get_data(as_text=True), f"case-{case.id}")
    assert "2026-12-03 に開催されます。決定はその日から記録できます。" in text(form)
    assert _decision_count(session) == 0
    hold_meeting(meeting)  # on the day itself the decision is recorded (after signing in again: days passed)
    login(coordinator)
    assert client.post(f"/council/{meeting.id}/cases/{case.id}/decision", data=_decision(bodies)).status_code == 302
    session.rollback()  # the request committed on another connection
    assert _decision_count(session) == 1
