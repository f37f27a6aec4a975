"""The shipped standard process, paths (a) to (d), driven through the engine's commands with real users
per role and a fixed clock. Every command of the `story` helper (tests/integration/scenario.py) restores
the stored workflow afterwards and asserts it waits on exactly the tasks the inbox shows as open.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from tsunagu.engine.casefile.sharing import SharingRefused
from tsunagu.engine.casefile.tables import CLOSED_ACTION_STATUSES, ActionStatus
from tsunagu.engine.errors import Forbidden, FormInvalid, InvalidState, NotFound
from tsunagu.engine.models import CaseStatus, TaskRecord, TaskStatus

from .scenario import (
    ACCEPT,
    CLOSURE_GOAL,
    FIRST_REVIEW,
    MEETING,
    WATCH,
    assessment,
    at,
    consent_refused,
    contact_attempt,
    crisis_action,
    deliver_action,
    intake,
    review_cycle,
    tabling,
)


def test_the_restore_check_notices_an_inbox_that_no_longer_matches_the_workflow(story):
    case = story.start()
    story.assert_restores(case)
    with story.session_factory() as session:  # an open task the workflow still waits on is lost
        session.get(TaskRecord, story.task(case, "intake").id).status = TaskStatus.CANCELLED
        session.commit()

    with pytest.raises(AssertionError, match="intake"):
        story.assert_restores(case)


# --- (a) the consented case, from intake to a goal reached --------------------------------------


def test_a_consented_case_runs_through_the_council_two_actions_and_two_reviews_to_a_goal_reached_closure(story):
    cast, bodies = story.cast, story.cast.bodies
    case = story.start()
    story.to_consent(case, assessment_data=assessment(3, (2, 3, 2)))
    assert story.open_elements(case) == ["consent_capture"]
    story.complete(case, "consent_capture", cast.caseworker, story.consent_given("shakyo", "houkatsu"))
    story.complete(case, "table_case", cast.coordinator, tabling(MEETING))
    assert story.case(case).status == CaseStatus.WAITING

    home_visit, phone_check = story.action_type("home_visit"), story.action_type("phone_check")
    decision = story.decide(case, [
        {"action_type_id": home_visit.id, "due_on": "2026-12-20", "note": "週1回の訪問"},
        {"action_type_id": phone_check.id, "owner_body_id": bodies["houkatsu"].id, "due_on": "2026-12-10",
         "note": "包括が電話で安否確認"},
    ], next_review_on=FIRST_REVIEW)

    # Each action is offered to the partners of its own owner body, and to nobody else.
    responses = story.open_tasks(case, "action_response")
    assert sorted(t.candidate_body_id for t in responses) == sorted([bodies["shakyo"].id, bodies["houkatsu"].id])
    for task in responses:
        assert [t.id for t in story.available(story.partner_for(task))] == [task.id]
    assert story.available(cast.partners["npo_ibasho"]) == []
    assert story.case(case).next_timer_at == at(FIRST_REVIEW)

    story.clock.advance(timedelta(days=7))
    for task in responses:
        deliver_action(story, case, task)
    assert story.open_elements(case) == []
    assert story.case(case).status == CaseStatus.WAITING

    # First review: the timer at next_review_at, not a minute before.
    assert story.pass_time_until(at(FIRST_REVIEW) - timedelta(minutes=1)) == []
    assert story.pass_time(timedelta(minutes=2)) == [case.id]
    assert story.open_elements(case) == ["review_assessment"]
    review_cycle(story, case, "continue", lonely=2, ucla=(2, 2, 1))
    # Normal risk and a UCLA total under 9: the next review in three months.
    second_review = at("2027-04-10", 9, 1)
    assert story.case(case).next_timer_at == second_review

    assert story.pass_time_until(second_review - timedelta(minutes=1)) == []
    assert story.pass_time(timedelta(minutes=2)) == [case.id]
    review_cycle(story, case, "close", lonely=1, ucla=(1, 1, 1))
    assert story.open_elements(case) == ["closure"]
    story.complete(case, "closure", cast.caseworker, CLOSURE_GOAL)

    closed = story.case(case)
    assert (closed.status, closed.closure_reason, closed.completed_at) == (
        CaseStatus.COMPLETED, "goal_reached", story.clock())
    assert closed.next_timer_at is None
    assert story.tasks(case, TaskStatus.OPEN) == []

    # Three administrations (baseline, two reviews), one row per instrument each, scores never mixed.
    rows = story.assessments(case)
    assert [(r.stage, r.instrument) for r in rows] == [
        (stage, instrument) for stage in ("baseline", "review", "review")
        for instrument in ("direct_loneliness_jp", "ucla3_jp", "isolation_indicators")]
    assert [r.score for r in rows if r.instrument == "ucla3_jp"] == [7, 5, 3]
    assert [r.answers for r in rows if r.instrument == "ucla3_jp"][0] == {"ucla_1": 2, "ucla_2": 3, "ucla_3": 2}
    assert [r.score for r in rows if r.instrument == "direct_loneliness_jp"] == [3, 2, 1]
    assert [r.score for r in rows if r.instrument == "isolation_indicators"] == [3, 3, 3]
    assert {r.person_id for r in rows} == {closed.person_id}

    (consent,) = story.consents(case)
    assert (consent.decision, consent.method, consent.withdrawn_at, consent.valid_from.isoformat()) == (
        "given", "written", None, "2026-11-28")
    assert consent.purposes == ["support_planning", "information_sharing", "council"]
    assert consent.recipient_body_ids == [bodies["shakyo"].id, bodies["houkatsu"].id]

    assert [(d.recipient, d.basis, d.consent_id, d.reason) for d in story.disclosures(case)] == [
        (f"個別ケース検討会議 {MEETING}", "consent", consent.id, None),
        ("市社会福祉協議会", "consent", consent.id, home_visit.name),
        ("地域包括支援センター", "consent", consent.id, phone_check.name),
    ]
    actions = story.actions(case)
    assert [(a.action_type_id, a.owner_body_id, a.decision_id, a.status) for a in actions] == [
        (home_visit.id, bodies["shakyo"].id, decision.id, ActionStatus.DELIVERED),
        (phone_check.id, bodies["houkatsu"].id, decision.id, ActionStatus.DELIVERED),
    ]
    assert all(a.first_contact_on.isoformat() == "2026-12-12" and a.closed_at is not None for a in actions)
    assert story.audit(case).count("timer.fired") == 2


def test_closing_a_case_ends_its_unfinished_actions_and_with_them_the_owner_bodys_access(story):
    cast = story.cast
    case = story.start()
    story.to_council(case, MEETING)
    story.attend(case, "houkatsu")  # the consent does not name 地域包括; it attends the meeting
    story.decide(case, [{"action_type_id": story.action_type("care_referral").id}], next_review_on=FIRST_REVIEW)
    houkatsu = cast.partners["houkatsu"]
    story.complete(case, "action_response", houkatsu, ACCEPT)
    story.pass_time_until(at(FIRST_REVIEW, 9, 1))
    review_cycle(story, case, "close")

    story.complete(case, "closure", cast.caseworker, CLOSURE_GOAL)

    assert story.case(case).status == CaseStatus.COMPLETED
    assert story.tasks(case, TaskStatus.OPEN) == []  # the partner's first-contact task was withdrawn
    (action,) = story.actions(case)
    assert action.status in CLOSED_ACTION_STATUSES and action.closed_at == story.clock()
    assert not story.can_view(houkatsu, case)


def test_a_closed_cases_consent_can_still_be_withdrawn_and_the_ledger_and_audit_say_so(story):
    cast = story.cast
    case = story.start()
    story.to_council(case, MEETING)
    story.decide(case, [], next_review_on=FIRST_REVIEW)
    story.pass_time_until(at(FIRST_REVIEW, 9, 1))
    review_cycle(story, case, "close")
    story.complete(case, "closure", cast.caseworker, CLOSURE_GOAL)
    (consent,) = [c for c in story.consents(case) if c.decision == "given"]

    story.withdraw_consent(consent.id, cast.caseworker)

    (consent,) = [c for c in story.consents(case) if c.decision == "given"]
    assert consent.withdrawn_at == story.clock()
    assert story.case(case).status == CaseStatus.COMPLETED  # no process runs for a closed case
    assert "consent.withdrawn" in story.audit(case)


# --- (b) crisis -------------------------------------------------------------------------------


def test_suicidal_thoughts_open_an_urgent_safety_action_whose_sharing_a_supervisor_reviews_before_consent(story):
    cast = story.cast
    case = story.start()
    story.to_consent(case, intake(special_care=["mental_health", "suicidal_thoughts"]))

    safety = story.task(case, "crisis_safety_action")
    assert (safety.role, safety.due_at) == ("caseworker", story.clock() + timedelta(hours=4))
    assert story.data_at(case, "risk_gateway")["risk_level"] == "urgent"
    story.complete(case, "crisis_safety_action", cast.caseworker, crisis_action())

    (disclosure,) = story.disclosures(case)
    assert (disclosure.recipient, disclosure.basis, disclosure.consent_id, disclosure.reason) == (
        "保健センター", "life_protection", None, "希死念慮の訴えがあり、同意を得る時間がなかった")
    crisis_review = story.task(case, "crisis_review")
    assert crisis_review.role == "supervisor"
    with pytest.raises(Forbidden):
        story.complete(case, crisis_review, cast.caseworker, {"sharing_appropriate": "yes"})
    story.complete(case, crisis_review, cast.supervisor, {"sharing_appropriate": "yes"})

    assert story.open_elements(case) == ["consent_capture"]
    assert story.consents(case) == []


def test_sharing_in_a_crisis_without_a_reason_is_refused_and_records_nothing(story):
    case = story.start()
    story.to_consent(case, intake(immediate_danger=True))

    with pytest.raises(FormInvalid) as caught:
        story.complete(case, "crisis_safety_action", story.cast.caseworker,
                       {k: v for k, v in crisis_action().items() if k != "life_protection_reason"})

    assert [(e.field, e.code) for e in caught.value.errors] == [("life_protection_reason", "required")]
    assert story.disclosures(case) == []
    assert story.open_elements(case) == ["crisis_safety_action"]


# --- (c) refusal --------------------------------------------------------------------------------


def test_a_refusal_leads_to_watching_and_contact_attempts_then_the_council_under_secrecy_and_a_renewed_consent(story):
    cast, bodies = story.cast, story.cast.bodies
    case = story.start()
    story.to_consent(case)
    story.complete(case, "consent_capture", cast.caseworker, consent_refused())

    assert story.open_elements(case) == ["watch_arrangement"]
    story.complete(case, "watch_arrangement", cast.caseworker, WATCH)
    story.complete(case, "contact_attempt", cast.caseworker, contact_attempt("retry"))
    assert story.open_elements(case) == ["contact_attempt"]  # the loop asks again
    story.complete(case, "contact_attempt", cast.caseworker, contact_attempt("stop", "2026-12-08", "declined"))
    assert story.open_elements(case) == ["table_case"]
    assert [t.element_id for t in story.tasks(case, TaskStatus.COMPLETED)].count("contact_attempt") == 2

    story.complete(case, "table_case", cast.coordinator, tabling("2026-12-10", basis="council_art16"))
    assert story.latest_agenda_item(case).basis == "council_art16"
    story.attend(case, "minsei")  # the body the council asks to act attends the meeting
    story.decide(case, [{"action_type_id": story.action_type("phone_check").id}], next_review_on=FIRST_REVIEW)

    # Without consent: the watcher to protect life, the council and its attending owner body under Art. 16.
    assert [(d.recipient, d.basis, d.consent_id) for d in story.disclosures(case)] == [
        ("民生委員 田中", "life_protection", None),
        ("個別ケース検討会議 2026-12-10", "council", None), (bodies["minsei"].name, "council", None)]

    assert story.pass_time_until(at(FIRST_REVIEW, 9, 1)) == [case.id]
    story.complete(case, "review_assessment", cast.caseworker, assessment())
    assert story.open_elements(case) == ["action_response", "consent_renewal"]
    story.complete(case, "consent_renewal", cast.caseworker, story.consent_given(consent_date="2027-01-10"))

    assert story.open_elements(case) == ["action_response", "follow_up_review"]
    assert story.data_objects(case)["consent_status"] == "given"
    assert [(c.decision, c.valid_from.isoformat()) for c in story.consents(case)] == [
        ("refused", "2026-11-28"), ("given", "2027-01-10")]


def test_a_person_who_agrees_during_a_contact_attempt_is_asked_for_consent_again(story):
    case = story.start()
    story.to_consent(case)
    story.complete(case, "consent_capture", story.cast.caseworker, consent_refused())
    story.complete(case, "watch_arrangement", story.cast.caseworker, WATCH)

    story.complete(case, "contact_attempt", story.cast.caseworker, contact_attempt("consent", result="reached"))

    assert story.open_elements(case) == ["consent_capture"]
    story.complete(case, "consent_capture", story.cast.caseworker, story.consent_given(consent_date="2026-12-01"))
    assert story.open_elements(case) == ["table_case"]
    assert [c.decision for c in story.consents(case)] == ["refused", "given"]


# --- (d) withdrawal -----------------------------------------------------------------------------


def test_consent_withdrawn_during_support_asks_for_a_followup_and_for_renewed_consent_at_the_next_review(story):
    cast = story.cast
    case = story.start()
    story.to_council(case, MEETING)
    story.decide(case, [{"action_type_id": story.action_type("home_visit").id}], next_review_on=FIRST_REVIEW)
    (consent,) = story.consents(case)
    story.clock.advance(timedelta(days=10))

    story.withdraw_consent(consent.id)

    assert story.consents(case)[0].withdrawn_at == story.clock()
    assert story.data_objects(case)["consent_status"] == "withdrawn"
    assert story.open_elements(case) == ["action_response", "withdrawal_followup"]
    assert story.task(case, "withdrawal_followup").role == "caseworker"
    story.complete(case, "withdrawal_followup", cast.caseworker,
                   {"withdrawal_bodies_informed": "社協に撤回を伝えた", "withdrawal_table_under_secrecy": "no"})

    # Not continued under the council's secrecy: the NPO the withdrawn consent named gets nothing more,
    # neither on that consent nor relabelled as council business.
    with pytest.raises(SharingRefused) as refused:
        story.add_action(case, {"action_type_id": story.action_type("ibasho_referral").id})
    assert refused.value.code == "consent_withdrawn"
    assert story.case(case).secrecy_since is None

    assert story.pass_time_until(at(FIRST_REVIEW, 9, 1)) == [case.id]
    story.complete(case, "review_assessment", cast.caseworker, assessment())
    assert story.data_objects(case)["consent_status"] == "withdrawn"
    assert story.open_elements(case) == ["action_response", "consent_renewal"]
    with pytest.raises(InvalidState):
        story.withdraw_consent(consent.id)  # a withdrawn consent is not withdrawn twice


def test_after_a_withdrawal_a_partner_whose_action_relied_on_the_consent_is_no_longer_offered_its_task(story):
    case = story.start()
    story.to_council(case, MEETING)  # the consent names 社協 and the NPO
    # A home visit owned by 社協, shared on the consent that names it; 地域包括 leads the case.
    story.decide(case, [{"action_type_id": story.action_type("home_visit").id}],
                 lead_body_id=story.cast.bodies["houkatsu"].id)
    shakyo = story.cast.partners["shakyo"]
    response = story.task(case, "action_response")
    assert [(d.basis, d.consent_id is not None) for d in story.disclosures(case) if d.action_id] == [("consent", True)]
    assert [t.id for t in story.available(shakyo)] == [response.id]

    story.withdraw_consent(story.consents(case)[0].id)

    with pytest.raises(NotFound):  # the consent the sharing relied on is gone: the task is no longer theirs
        story.complete(case, response, shakyo, ACCEPT)
    assert story.available(shakyo) == []
