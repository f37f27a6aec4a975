"""A uiSchema `{"ui:source": "member_bodies"}` turns an integer field into a choice of the municipality's bodies."""
from __future__ import annotations

from sqlalchemy import select

from tsunagu.engine import council
from tsunagu.engine.models import FormSubmissionRecord, TaskRecord, TaskStatus
from tsunagu.web.formschema import build_fields, parse_submission
from werkzeug.datastructures import MultiDict

from page_text import element, options, text

SCHEMA = {"type": "object", "properties": {"lead_body_id": {"type": "integer", "title": "主担当機関"},
                                           "count": {"type": "integer", "title": "回数"}}}
UI = {"lead_body_id": {"ui:source": "member_bodies"}}


def test_a_field_with_a_source_becomes_a_select_of_that_source():
    fields = {f.name: f for f in build_fields(SCHEMA, UI, values={"lead_body_id": 7},
                                              sources={"member_bodies": [(3, "社協"), (7, "NPO")]})}
    assert fields["lead_body_id"].widget == "select"
    assert fields["lead_body_id"].options == [("3", "社協"), ("7", "NPO")]
    assert fields["lead_body_id"].is_selected("7") and not fields["lead_body_id"].is_selected("3")
    assert fields["count"].widget == "integer" and fields["count"].options == []


def test_a_field_whose_source_is_not_given_stays_a_plain_number_input():
    (lead, _count) = build_fields(SCHEMA, UI)
    assert lead.widget == "integer" and lead.options == []


def test_the_chosen_body_is_posted_back_as_an_integer():
    assert parse_submission(SCHEMA, MultiDict({"lead_body_id": "7"})) == {"lead_body_id": 7}


def _review_task(session, clock, coordinator, case, meeting, bodies):
    council.record_decision(session, clock, coordinator, meeting.id, case.id, {
        "situation": "状況", "risk": "normal", "plan": "プラン", "lead_body_id": bodies["shakyo"].id,
        "next_review_on": "2027-03-01"})
    return session.scalar(select(TaskRecord).where(TaskRecord.case_id == case.id, TaskRecord.element_id == "review",
                                                   TaskRecord.status == TaskStatus.OPEN))


def test_the_review_task_offers_the_municipalitys_member_bodies_and_the_case_page_names_the_choice(
        client, login, caseworker, coordinator, start_council_case, meeting_of, session, clock, bodies):
    case = start_council_case()
    task = _review_task(session, clock, coordinator, case, meeting_of(case), bodies)
    login(caseworker)
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    choices = options(element(html, "lead_body_id"))
    assert choices == [("", "— 選択してください —"), (str(bodies["npo"].id), "NPO法人 つながる居場所"),
                       (str(bodies["shakyo"].id), "市社会福祉協議会")]  # member bodies only: no 税務課
    response = client.post(f"/tasks/{task.id}", data={"lead_body_id": bodies["npo"].id,
                                                      "review_decision": "continue"})
    assert response.status_code == 302
    submission = session.scalar(select(FormSubmissionRecord).where(FormSubmissionRecord.task_id == task.id))
    assert submission.data["lead_body_id"] == bodies["npo"].id
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    review = page[page.index("<h2>モニタリング</h2>"):]
    assert "主担当機関 NPO法人 つながる居場所" in text(review.split("</section>", 1)[0])


def test_a_missing_choice_is_shown_beside_the_select_and_the_options_stay(
        client, login, caseworker, coordinator, start_council_case, meeting_of, session, clock, bodies):
    case = start_council_case()
    task = _review_task(session, clock, coordinator, case, meeting_of(case), bodies)
    login(caseworker)
    response = client.post(f"/tasks/{task.id}", data={"lead_body_id": bodies["npo"].id})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "この項目は必須です。" in text(element(html, "field-review_decision"))
    assert (str(bodies["npo"].id), "NPO法人 つながる居場所") in options(element(html, "lead_body_id"))
    assert f'<option value="{bodies["npo"].id}" selected>' in element(html, "lead_body_id")
