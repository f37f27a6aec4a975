"""The shipped standard process, paths (e) to (h), referral out, on-demand review and tabling mistakes,
driven like tests/integration/test_standard_process.py.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from tsunagu.engine.casefile.sharing import SharingRefused
from tsunagu.engine.casefile.tables import ActionStatus, AgendaItemRecord, PersonRecord
from tsunagu.engine.errors import Forbidden, FormInvalid, InvalidState
from tsunagu.engine.models import CaseStatus
from tsunagu.engine.runtime.workflow import NotWaiting

from .scenario import (
    ACCEPT,
    FIRST_REVIEW,
    MEETING,
    WATCH,
    assessment,
    at,
    consent_refused,
    contact_attempt,
    intake,
    review,
    review_cycle,
    tabling,
)

# --- (e) a declined action ----------------------------------------------------------------------


def test_a_declined_action_is_reassigned_by_the_coordinator_and_offered_only_to_the_new_bodys_partners(story):
    cast, bodies = story.cast, story.cast.bodies
    case = story.start()
    story.to_council(case, MEETING)
    story.decide(case, [{"action_type_id": story.action_type("home_visit").id}])
    response = story.task(case, "action_response")
    shakyo = cast.partners["shakyo"]

    with pytest.raises(FormInvalid) as caught:
        story.complete(case, response, shakyo, {"response": "decline"})
    assert [(e.field, e.code) for e in caught.value.errors] == [("decline_reason", "required")]
    story.complete(case, response, shakyo, {"response": "decline", "decline_reason": "訪問できる職員がいない"})

    (action,) = story.actions(case)
    assert (action.status, action.decline_reason) == (ActionStatus.DECLINED, "訪問できる職員がいない")
    reassign = story.task(case, "action_reassign")
    assert (reassign.role, reassign.candidate_body_id, reassign.subject_id) == ("coordinator", None, action.id)
    with pytest.raises(Forbidden):
        story.complete(case, reassign, cast.caseworker, {"owner_body_id": bodies["houkatsu"].id})
    with pytest.raises(FormInvalid):  # only a member body of the municipality can take an action over
        story.complete(case, reassign, cast.coordinator, {"owner_body_id": 9999})
    # The consent names 社協 and the NPO, not 地域包括, and 地域包括 does not attend the meeting: refused.
    with pytest.raises(SharingRefused) as refused:
        story.complete(case, reassign, cast.coordinator, {"owner_body_id": bodies["houkatsu"].id})
    assert [(e.field, e.code) for e in refused.value.errors] == [("owner_body_id", "body_not_attending")]
    story.attend(case, "houkatsu")
    story.complete(case, reassign, cast.coordinator, {"owner_body_id": bodies["houkatsu"].id,
                                                      "reassign_note": "包括が引き受ける"})

    again = story.task(case, "action_response")
    assert (again.candidate_body_id, again.subject_id) == (bodies["houkatsu"].id, action.id)
    assert story.available(shakyo) == []
    assert [t.id for t in story.available(cast.partners["houkatsu"])] == [again.id]
    assert story.notifications(again) == [("task_assigned", cast.partners["houkatsu"].id)]
    with pytest.raises(Forbidden):
        story.complete(case, again, shakyo, ACCEPT)
    story.complete(case, again, cast.partners["houkatsu"], ACCEPT)

    (action,) = story.actions(case)
    assert (action.owner_body_id, action.status) == (bodies["houkatsu"].id, ActionStatus.ACCEPTED)
    assert story.task(case, "action_first_contact").candidate_body_id == bodies["houkatsu"].id
    # 地域包括 attends the meeting the case is tabled at: the reassignment is shared on the council's basis.
    assert [(d.recipient, d.basis) for d in story.disclosures(case)][-1] == ("地域包括支援センター", "council")


# --- (f) revision -------------------------------------------------------------------------------


def test_a_review_that_revises_the_plan_tables_the_case_again_and_the_second_decision_is_marked_revised(story):
    cast = story.cast
    case = story.start()
    story.to_council(case, MEETING)
    first = story.decide(case, [], next_review_on=FIRST_REVIEW)
    assert story.data_at(case, "apply_council_decision")["plan_revised"] is False

    story.pass_time_until(at(FIRST_REVIEW, 9, 1))
    review_cycle(story, case, "revise")

    assert story.open_elements(case) == ["table_case"]
    assert story.case(case).next_timer_at is None  # no review waits while the council reconsiders
    story.complete(case, "table_case", cast.coordinator, tabling("2027-01-20"))
    second = story.decide(case, [], next_review_on="2027-02-20", plan="居場所に加え、保健センターの相談につなぐ")

    assert [d.id for d in story.decisions(case)] == [first.id, second.id]
    data = story.data_at(case, "apply_council_decision")
    assert (data["decision_id"], data["plan_revised"]) == (second.id, True)
    assert story.case(case).next_timer_at == at("2027-02-20")
    assert [(i.meeting_id, i.decision_id) for i in story.rows(AgendaItemRecord, case)] == [
        (first.meeting_id, first.id), (second.meeting_id, second.id)]


def test_a_decision_on_a_meeting_that_already_decided_the_case_is_refused(story):
    case = story.start()
    story.to_council(case, MEETING)
    first = story.decide(case, [], next_review_on=FIRST_REVIEW)
    story.pass_time_until(at(FIRST_REVIEW, 9, 1))
    review_cycle(story, case, "revise")
    story.complete(case, "table_case", story.cast.coordinator, tabling("2027-01-20"))
    old_item, new_item = story.rows(AgendaItemRecord, case)

    with pytest.raises(InvalidState):
        story.decide(case, [], next_review_on="2027-02-20", meeting_id=old_item.meeting_id)

    assert [(i.id, i.decision_id) for i in story.rows(AgendaItemRecord, case)] == [
        (old_item.id, first.id), (new_item.id, None)]
    assert story.case(case).status == CaseStatus.WAITING and len(story.decisions(case)) == 1


# --- (g) reopening ------------------------------------------------------------------------------


def test_a_closed_case_is_reopened_as_a_second_episode_of_the_same_person_starting_at_intake(story):
    case = story.start()
    story.to_consent(case, intake(existing_scheme="kaigo"))
    story.complete(case, "referral_out", story.cast.caseworker,
                   {"scheme": "kaigo", "receiving_body": "地域包括支援センター", "referral_basis": "no_sharing",
                    "referred_on": "2026-11-28"})
    closed = story.case(case)
    story.clock.advance(timedelta(days=200))

    reopened = story.reopen(case)

    reopened = story.case(reopened)
    assert reopened.id != closed.id
    assert (reopened.person_id, reopened.episode, reopened.previous_case_id) == (closed.person_id, 2, closed.id)
    assert (reopened.status, story.open_elements(reopened)) == (CaseStatus.RUNNING, ["intake"])
    story.to_consent(reopened)
    # The new episode starts its own baseline, for the same person; no second person is registered.
    assert [(r.stage, r.person_id) for r in story.assessments(reopened)] == [("baseline", closed.person_id)] * 3
    with story.session_factory() as session:
        assert session.query(PersonRecord).count() == 1
    with pytest.raises(InvalidState):
        story.reopen(reopened)  # only a closed case is reopened


# --- (h) an overdue review ----------------------------------------------------------------------


def test_a_review_left_open_for_fourteen_days_escalates_to_the_supervisor_and_stays_open(story):
    cast = story.cast
    case = story.start()
    story.to_council(case, MEETING)
    story.decide(case, [], next_review_on=FIRST_REVIEW)
    story.pass_time_until(at(FIRST_REVIEW, 9, 1))
    story.complete(case, "review_assessment", cast.caseworker, assessment())
    review_task = story.task(case, "follow_up_review")
    ready_at = story.clock()
    assert story.case(case).next_timer_at == ready_at + timedelta(days=14)

    assert story.pass_time_until(ready_at + timedelta(days=14) - timedelta(minutes=1)) == []
    assert story.open_elements(case) == ["follow_up_review"]
    assert story.pass_time(timedelta(minutes=2)) == [case.id]

    assert story.open_elements(case) == ["follow_up_review", "review_escalation"]
    assert story.task(case, "follow_up_review").id == review_task.id  # the same task, still open
    escalation = story.task(case, "review_escalation")
    assert (escalation.role, escalation.due_at) == ("supervisor", story.clock() + timedelta(days=3))
    assert [t.id for t in story.available(cast.supervisor)] == [escalation.id]
    assert escalation.id not in [t.id for t in story.available(cast.caseworker)]
    assert story.pass_time(timedelta(days=14)) == []  # escalated once, not every fortnight
    assert story.open_elements(case) == ["follow_up_review", "review_escalation"]

    story.complete(case, escalation, cast.supervisor, {"escalation_action": "reminded",
                                                       "escalation_note": "担当者に督促した"})
    story.complete(case, review_task, cast.caseworker, review("continue"))
    assert story.open_elements(case) == []


def test_an_escalated_review_is_announced_to_every_supervisor(story):
    case = story.start()
    story.to_council(case, MEETING)
    story.decide(case, [], next_review_on=FIRST_REVIEW)
    story.pass_time_until(at(FIRST_REVIEW, 9, 1))
    story.complete(case, "review_assessment", story.cast.caseworker, assessment())
    story.pass_time(timedelta(days=14, minutes=1))

    escalation = story.task(case, "review_escalation")

    assert ("task_escalated", story.cast.supervisor.id) in story.notifications(escalation)


def test_a_review_completed_in_time_never_escalates(story):
    case = story.start()
    story.to_council(case, MEETING)
    story.decide(case, [], next_review_on=FIRST_REVIEW)
    story.pass_time_until(at(FIRST_REVIEW, 9, 1))
    story.complete(case, "review_assessment", story.cast.caseworker, assessment())
    story.clock.advance(timedelta(days=13))
    story.complete(case, "follow_up_review", story.cast.caseworker, review("continue"))

    story.pass_time(timedelta(days=2))

    assert story.open_elements(case) == []
    assert "review_escalation" not in [t.element_id for t in story.tasks(case)]


# --- referral out and on-demand review ----------------------------------------------------------


def test_a_case_for_an_existing_scheme_is_referred_out_and_closed_as_transferred(story):
    case = story.start()
    story.to_consent(case, intake(existing_scheme="seikatsu_konkyu"))
    assert story.data_at(case, "risk_gateway")["risk_level"] == "refer_out"
    assert story.task(case, "referral_out").role == "caseworker"

    story.complete(case, "referral_out", story.cast.caseworker,
                   {"scheme": "seikatsu_konkyu", "receiving_body": "自立相談支援機関", "referral_basis": "other_statute",
                    "referral_statute": "生活困窮者自立支援法第8条", "referred_on": "2026-11-28"})

    closed = story.case(case)
    assert (closed.status, closed.closure_reason, closed.completed_at) == (
        CaseStatus.COMPLETED, "transferred", story.clock())
    assert [(d.recipient, d.basis, d.statute, d.reason) for d in story.disclosures(case)] == [
        ("自立相談支援機関", "statute", "生活困窮者自立支援法第8条", "seikatsu_konkyu")]
    assert story.consents(case) == [] and story.actions(case) == []


def test_an_on_demand_review_starts_now_and_a_high_risk_case_is_then_reviewed_monthly(story):
    cast = story.cast
    case = story.start()
    story.to_consent(case, assessment_data=assessment(4, (2, 2, 2)))  # 時々ある: high risk
    story.complete(case, "consent_capture", cast.caseworker, story.consent_given())
    story.complete(case, "table_case", cast.coordinator, tabling(MEETING))
    with pytest.raises(NotWaiting):
        story.request_review(case)  # nothing to bring forward before the council decided
    story.decide(case, [], next_review_on=FIRST_REVIEW)
    story.clock.advance(timedelta(days=20))

    story.request_review(case)

    assert story.open_elements(case) == ["review_assessment"]
    assert story.case(case).next_timer_at is None  # the scheduled review was replaced, not added
    assert "review.requested" in story.audit(case)
    with pytest.raises(NotWaiting):
        story.request_review(case)
    review_cycle(story, case, "continue", lonely=4)
    assert story.case(case).next_timer_at == story.clock() + timedelta(days=31)  # P1M from 2026-12-17
    assert story.pass_time(timedelta(days=31, minutes=1)) == [case.id]
    assert story.open_elements(case) == ["review_assessment"]


# --- tabling mistakes the writer should refuse -------------------------------------------------


def test_tabling_a_case_again_at_a_meeting_it_is_already_on_names_the_meeting_date(story):
    case = story.start()
    story.to_council(case, MEETING)
    story.decide(case, [], next_review_on=MEETING)
    story.pass_time_until(at(MEETING, 9, 1))
    review_cycle(story, case, "revise")

    with pytest.raises(FormInvalid) as caught:
        story.complete(case, "table_case", story.cast.coordinator, tabling(MEETING))

    assert [e.field for e in caught.value.errors] == ["meeting_date"]
    assert story.open_elements(case) == ["table_case"]


def test_tabling_on_the_consent_basis_without_a_consent_in_force_is_refused(story):
    case = story.start()
    story.to_consent(case)
    story.complete(case, "consent_capture", story.cast.caseworker, consent_refused())
    story.complete(case, "watch_arrangement", story.cast.caseworker, WATCH)
    story.complete(case, "contact_attempt", story.cast.caseworker, contact_attempt("stop"))

    with pytest.raises(FormInvalid) as caught:
        story.complete(case, "table_case", story.cast.coordinator, tabling(MEETING, basis="consent"))

    assert [e.field for e in caught.value.errors] == ["basis"]
    # Only the watcher's sharing (to protect life) is on the log: nothing reached a meeting.
    assert story.rows(AgendaItemRecord, case) == []
    assert [d.basis for d in story.disclosures(case)] == ["life_protection"]
