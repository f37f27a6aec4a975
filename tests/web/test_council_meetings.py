"""The coordinating body schedules meetings (cases tabled for the date join them) and records minutes and
attendance on or after the meeting day."""
from __future__ import annotations

from page_text import element, text
from sqlalchemy import select

from tsunagu.engine.casefile.tables import AgendaItemRecord, CouncilMeetingRecord, MeetingBodyRecord
from tsunagu.engine.commands import council
from tsunagu.engine.models import AuditRecord


def test_a_scheduled_meeting_takes_the_cases_tabled_for_its_date(
        client, login, coordinator, start_council_case, session):
    login(coordinator)
    response = client.post("/council/meetings", data={"held_on": "2026-12-03", "kind": "review"})
    assert response.status_code == 302
    session.rollback()
    meeting = session.scalar(select(CouncilMeetingRecord))
    assert (meeting.kind, meeting.title) == ("review", "定例会（全ケースの進行管理） 2026-12-03")
    case = start_council_case()  # tabled for 2026-12-03
    session.expire_all()
    assert session.scalar(select(AgendaItemRecord.meeting_id).where(AgendaItemRecord.case_id == case.id)) == meeting.id
    assert session.scalar(select(AuditRecord).where(AuditRecord.action == "council.meeting_scheduled")
                          ).detail["kind"] == "review"
    assert "定例会" in text(element(client.get("/council").get_data(as_text=True), "meetings"))


def test_a_past_or_taken_date_is_refused_beside_the_date_and_a_caseworker_cannot_schedule(
        client, login, coordinator, caseworker, session):
    login(coordinator)
    past = client.post("/council/meetings", data={"held_on": "2026-11-26"})
    assert past.status_code == 422
    assert "2026-11-27" in text(element(past.get_data(as_text=True), "field-held_on"))
    assert client.post("/council/meetings", data={"held_on": "2026-12-10", "title": "第3回"}).status_code == 302
    taken = client.post("/council/meetings", data={"held_on": "2026-12-10"})
    assert taken.status_code == 422
    assert "既に" in text(element(taken.get_data(as_text=True), "field-held_on"))
    assert client.post("/council/meetings", data={"held_on": "x" * 50, "kind": "\x00"}).status_code == 422
    client.post("/logout")
    login(caseworker)
    assert client.post("/council/meetings", data={"held_on": "2026-12-11"}).status_code == 403
    session.rollback()
    assert [m.title for m in session.scalars(select(CouncilMeetingRecord))] == ["第3回"]


def test_minutes_and_attendance_are_recorded_from_the_meeting_day_for_invited_bodies_only(
        client, login, coordinator, start_council_case, meeting_of, session, clock, bodies, hold_meeting):
    case = start_council_case()
    meeting = meeting_of(case)
    council.set_attendees(session, clock, coordinator, meeting.id, [bodies["shakyo"].id, bodies["npo"].id])
    login(coordinator)
    early = client.post(f"/council/{meeting.id}/minutes", data={"minutes": "早すぎる"})
    assert early.status_code == 422
    assert "2026-12-03" in text(element(early.get_data(as_text=True), "minutes"))

    hold_meeting(meeting)
    login(coordinator)
    stranger = client.post(f"/council/{meeting.id}/minutes",
                           data={"minutes": "議事", "present_body_ids": [str(bodies["department"].id)]})
    assert stranger.status_code == 422
    response = client.post(f"/council/{meeting.id}/minutes",
                           data={"minutes": "山田さんの件: 社協が訪問を継続。", "present_body_ids": [str(bodies["npo"].id)]})
    assert response.status_code == 302
    session.rollback()
    session.expire_all()
    stored = session.get(CouncilMeetingRecord, meeting.id)
    assert stored.minutes == "山田さんの件: 社協が訪問を継続。" and stored.minutes_recorded_by_id == coordinator.id
    present = dict(session.execute(select(MeetingBodyRecord.organisation_id, MeetingBodyRecord.present)
                                   .where(MeetingBodyRecord.meeting_id == meeting.id)).all())
    assert present == {bodies["shakyo"].id: False, bodies["npo"].id: True}
    page = client.get(f"/council/{meeting.id}").get_data(as_text=True)
    assert "社協が訪問を継続" in element(page, "minutes")
