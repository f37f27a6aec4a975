"""The coordinating body chooses the bodies attending a meeting and each tabled case, in Japanese."""
from __future__ import annotations

from sqlalchemy import select

from tsunagu.engine.casefile.tables import AgendaAttendeeRecord


def test_the_coordinator_chooses_who_attends_one_case_and_sees_the_choice(
        client, login, coordinator, start_council_case, meeting_of, session, bodies):
    case = start_council_case()
    meeting = meeting_of(case)
    login(coordinator)

    page = client.get(f"/council/{meeting.id}/attendees")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "出席" in html and bodies["npo"].name in html and bodies["shakyo"].name in html

    response = client.post(f"/council/{meeting.id}/cases/{case.id}/attendees",
                           data={"organisation_ids": [str(bodies["npo"].id)]})
    assert response.status_code == 302

    chosen = session.scalars(select(AgendaAttendeeRecord.organisation_id)).all()
    assert chosen == [bodies["npo"].id]
    again = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "保存しました" in again


def test_a_body_that_is_not_a_member_is_refused_beside_the_form_and_nothing_changes(
        client, login, coordinator, start_council_case, meeting_of, session, bodies):
    case = start_council_case()
    meeting = meeting_of(case)
    login(coordinator)

    response = client.post(f"/council/{meeting.id}/cases/{case.id}/attendees",
                           data={"organisation_ids": [str(bodies["department"].id)]})

    assert response.status_code == 422
    assert 'id="attendees-error"' in response.get_data(as_text=True)
    assert session.scalars(select(AgendaAttendeeRecord)).all() == []


def test_a_caseworker_cannot_reach_the_attendance_page(client, login, caseworker, start_council_case, meeting_of):
    case = start_council_case()
    login(caseworker)

    response = client.get(f"/council/{meeting_of(case).id}/attendees")

    assert response.status_code in (403, 404)
    assert "<html" in response.get_data(as_text=True)
