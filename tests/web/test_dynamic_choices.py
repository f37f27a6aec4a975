"""A uiSchema `{"ui:source": "member_bodies"}` turns an integer field into a choice of the municipality's bodies."""
from __future__ import annotations

from page_text import element, options, text
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from tsunagu.engine.commands import council
from tsunagu.engine.models import FormSubmissionRecord, TaskRecord, TaskStatus
from tsunagu.web.formschema import build_fields, parse_submission

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


def _review_task(session, clock, coordinator, case, meeting, bodies, hold_meeting):
    hold_meeting(meeting)
    council.record_decision(session, clock, coordinator, meeting.id, case.id, {
        "situation": "状況", "risk": "normal", "plan": "プラン", "lead_body_id": bodies["shakyo"].id,
        "next_review_on": "2027-03-01"})
    return session.scalar(select(TaskRecord).where(TaskRecord.case_id == case.id, TaskRecord.element_id == "review",
                                                   TaskRecord.status == TaskStatus.OPEN))


def test_the_review_task_offers_the_municipalitys_member_bodies_and_the_case_page_names_the_choice(
        client, login, caseworker, coordinator, start_council_case, meeting_of, session, clock, bodies,
        hold_meeting):
    case = start_council_case()
    task = _review_task(session, clock, coordinator, case, meeting_of(case), bodies, hold_meeting)
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
        client, login, caseworker, coordinator, start_council_case, meeting_of, session, clock, bodies,
        hold_meeting):
    case = start_council_case()
    task = _review_task(session, clock, coordinator, case, meeting_of(case), bodies, hold_meeting)
    login(caseworker)
    response = client.post(f"/tasks/{task.id}", data={"lead_body_id": bodies["npo"].id})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "この項目は必須です。" in text(element(html, "field-review_decision"))
    assert (str(bodies["npo"].id), "NPO法人 つながる居場所") in options(element(html, "lead_body_id"))
    assert f'<option value="{bodies["npo"].id}" selected>' in element(html, "lead_body_id")


def test_an_array_with_a_source_offers_each_body_as_a_checkbox():
    schema = {"type": "object", "properties": {"recipient_body_ids": {
        "type": "array", "uniqueItems": True, "items": {"type": "integer"}, "title": "情報を提供する構成機関等"}}}
    ui = {"recipient_body_ids": {"ui:widget": "checkboxes", "ui:source": "member_bodies"}}
    (field,) = build_fields(schema, ui, values={"recipient_body_ids": [7]},
                            sources={"member_bodies": [(3, "社協"), (7, "NPO")]})
    assert field.widget == "checkboxes" and field.options == [("3", "社協"), ("7", "NPO")]
    assert field.is_selected("7") and not field.is_selected("3")
    posted = parse_submission(schema, MultiDict([("recipient_body_ids", "3"), ("recipient_body_ids", "7")]))
    assert posted == {"recipient_body_ids": [3, 7]}


# Depends on the shipped standard process (bpmn/kodoku_koritsu_case): tasks intake -> baseline_assessment ->
# consent_capture, whose form lists the recipient bodies with "ui:source": "member_bodies".
INTAKE = {"consultation_date": "2026-11-27", "channel": "phone", "person_name": "山田 花子", "household": "alone",
          "concern": "一人暮らしで話し相手がいない", "existing_scheme": "none"}
ASSESSMENT = {"assessed_on": "2026-11-27", "respondent": "self", "loneliness_direct": 4, "ucla_1": 3, "ucla_2": 3,
              "ucla_3": 3, "contact_frequency": "monthly", "participation": "no", "support_received": "no",
              "helps_others": "no"}


def test_the_standard_consent_form_offers_the_member_bodies_as_recipients_and_the_case_names_them(
        client, login, caseworker, standard_version, session, clock, bodies):
    from tsunagu.engine.commands import cases, queries

    case = cases.start_case(session, clock, caseworker, standard_version, "山田さん")
    for element_id, data in (("intake", INTAKE), ("baseline_assessment", ASSESSMENT)):
        task = queries.open_tasks_of_case(session, case.id)[0]
        assert task.element_id == element_id
        cases.complete_task(session, clock, caseworker, task.id, data)
    task = queries.open_tasks_of_case(session, case.id)[0]
    assert task.element_id == "consent_capture"
    login(caseworker)
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    block = element(html, "field-recipient_body_ids")
    assert block.count('type="checkbox"') == 2 and "市社会福祉協議会" in block and "税務課" not in block
    response = client.post(f"/tasks/{task.id}", data={
        "consent_decision": "given", "purposes": ["support_planning"], "recipient_body_ids": [bodies["npo"].id],
        "method": "written", "consent_date": "2026-11-27"})
    assert response.status_code == 302, response.get_data(as_text=True)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "NPO法人 つながる居場所" in text(element(page, "consent-list"))
    assert "情報を提供する構成機関等 NPO法人 つながる居場所" in text(page)
