"""Every sharing decides its legal basis or is refused (engine/casefile/sharing.py): consent naming the body
and purpose, the council for bodies attending the meeting within its window, or a named exception."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tsunagu.engine.casefile.sharing import SharingRefused
from tsunagu.engine.casefile.tables import AgendaItemRecord
from tsunagu.engine.errors import FormInvalid

from .scenario import (
    MEETING,
    WATCH,
    consent_refused,
    contact_attempt,
    intake,
    tabling,
)


def _refused_consent_and_tabled(story, case, meeting=MEETING):
    story.to_consent(case)
    story.complete(case, "consent_capture", story.cast.caseworker, consent_refused())
    story.complete(case, "watch_arrangement", story.cast.caseworker, WATCH)
    story.complete(case, "contact_attempt", story.cast.caseworker, contact_attempt("stop"))
    story.complete(case, "table_case", story.cast.coordinator, tabling(meeting, basis="council_art16"))


def test_an_action_before_tabling_without_a_consent_naming_the_body_is_refused(story):
    case = story.start()
    story.to_consent(case)
    story.complete(case, "consent_capture", story.cast.caseworker, consent_refused())

    with pytest.raises(SharingRefused) as refused:
        story.add_action(case, {"action_type_id": story.action_type("home_visit").id}, story.cast.caseworker)

    assert refused.value.code == "sharing_needs_consent_or_tabling"
    assert [(e.field, e.code) for e in refused.value.errors] == [("owner_body_id", "sharing_needs_consent_or_tabling")]
    assert story.actions(case) == []
    assert "council" not in [d.basis for d in story.disclosures(case)]


def test_after_tabling_only_a_body_attending_the_meeting_receives_on_the_council_basis(story):
    case = story.start()
    _refused_consent_and_tabled(story, case)
    story.attend(case, "shakyo")

    story.add_action(case, {"action_type_id": story.action_type("home_visit").id})  # 社協 attends
    with pytest.raises(SharingRefused) as refused:  # 地域包括 does not
        story.add_action(case, {"action_type_id": story.action_type("care_referral").id})

    assert refused.value.code == "body_not_attending"
    (shared,) = [d for d in story.disclosures(case) if d.action_id]
    assert (shared.recipient, shared.basis, shared.purpose, shared.consent_id) == (
        story.cast.bodies["shakyo"].name, "council", "information_sharing", None)


def test_the_council_basis_ends_with_the_meetings_window(story):
    case = story.start()
    _refused_consent_and_tabled(story, case)
    story.attend(case, "shakyo")
    story.clock.advance(timedelta(days=60))  # the meeting on 2026-12-03 plus 30 days is long past

    with pytest.raises(SharingRefused) as refused:
        story.add_action(case, {"action_type_id": story.action_type("home_visit").id})
    assert refused.value.code == "sharing_needs_consent_or_tabling"


def test_a_watch_arrangement_logs_the_watcher_as_a_recipient(story):
    case = story.start()
    story.to_consent(case)
    story.complete(case, "consent_capture", story.cast.caseworker, consent_refused())

    no_basis = {**WATCH, "watch_sharing_basis": "consent_or_council"}
    with pytest.raises(SharingRefused) as refused:  # a 民生委員 outside the member bodies: no consent, no council
        story.complete(case, "watch_arrangement", story.cast.caseworker, no_basis)
    assert refused.value.code == "recipient_needs_consent_or_reason"
    story.complete(case, "watch_arrangement", story.cast.caseworker, WATCH)

    (watch,) = story.disclosures(case)
    assert (watch.recipient, watch.basis, watch.reason) == ("民生委員 田中", "life_protection", WATCH["watch_basis_reason"])


def test_a_consent_for_planning_only_refuses_tabling_on_the_consent_basis(story):
    case = story.start()
    story.to_consent(case)
    story.complete(case, "consent_capture", story.cast.caseworker, story.consent_given(purposes=["support_planning"]))

    with pytest.raises(SharingRefused) as refused:
        story.complete(case, "table_case", story.cast.coordinator, tabling(MEETING, basis="consent"))

    assert [(e.field, e.code) for e in refused.value.errors] == [("basis", "consent_lacks_purpose")]
    assert story.rows(AgendaItemRecord, case) == [] and story.disclosures(case) == []
    story.complete(case, "table_case", story.cast.coordinator, tabling(MEETING, basis="council_art16"))
    assert [(d.basis, d.purpose) for d in story.disclosures(case)] == [("council", "council")]


def test_tabling_sets_the_meetings_council(story):
    case = story.start()
    story.to_council(case, MEETING)
    item = story.latest_agenda_item(case)
    with story.session_factory() as session:
        from tsunagu.engine.casefile.governance import council_of
        from tsunagu.engine.casefile.tables import CouncilMeetingRecord
        meeting = session.get(CouncilMeetingRecord, item.meeting_id)
        assert meeting.council_id == council_of(session, story.case(case).municipality_id).id


def test_withdrawal_continued_under_secrecy_switches_sharing_to_the_council_basis(story):
    case = story.start()
    story.to_council(case, MEETING)
    story.attend(case, "npo_ibasho")
    (consent,) = story.consents(case)
    story.withdraw_consent(consent.id)
    story.complete(case, "withdrawal_followup", story.cast.caseworker,
                   {"withdrawal_bodies_informed": "社協とNPOに撤回を伝えた", "withdrawal_table_under_secrecy": "yes",
                    "withdrawal_note": "家族には知らせないでほしい"})

    switched = story.case(case)
    assert switched.secrecy_since == story.clock() and switched.secrecy_wishes == "家族には知らせないでほしい"
    assert "case.secrecy_basis" in story.audit(case)
    story.add_action(case, {"action_type_id": story.action_type("ibasho_referral").id})  # the NPO attends
    assert [(d.basis, d.consent_id) for d in story.disclosures(case)][-1] == ("council", None)
    with pytest.raises(SharingRefused) as refused:  # 社協 was named by the consent but does not attend
        story.add_action(case, {"action_type_id": story.action_type("home_visit").id})
    assert refused.value.code == "body_not_attending"


def test_withdrawal_without_secrecy_refuses_the_next_action_for_the_body_the_consent_named(story):
    case = story.start()
    story.to_council(case, MEETING)
    story.attend(case, "shakyo")  # even attending, the body relied on the withdrawn consent
    (consent,) = story.consents(case)
    story.withdraw_consent(consent.id)
    story.complete(case, "withdrawal_followup", story.cast.caseworker,
                   {"withdrawal_bodies_informed": "社協に撤回を伝えた", "withdrawal_table_under_secrecy": "no"})

    with pytest.raises(SharingRefused) as refused:
        story.add_action(case, {"action_type_id": story.action_type("home_visit").id})
    assert refused.value.code == "consent_withdrawn"
    assert story.case(case).secrecy_since is None


def test_a_referral_out_without_consent_or_a_named_statute_is_refused(story):
    case = story.start()
    story.to_consent(case, intake(existing_scheme="seikatsu_konkyu"))
    referral = {"scheme": "seikatsu_konkyu", "receiving_body": "自立相談支援機関", "referral_basis": "consent",
                "referred_on": "2026-11-28"}

    with pytest.raises(SharingRefused) as refused:
        story.complete(case, "referral_out", story.cast.caseworker, referral)
    assert refused.value.code == "referral_needs_consent_or_statute"
    with pytest.raises(FormInvalid) as unnamed:  # the form asks for the statute's name
        story.complete(case, "referral_out", story.cast.caseworker, {**referral, "referral_basis": "other_statute"})
    assert [e.field for e in unnamed.value.errors] == ["referral_statute"]
    assert story.disclosures(case) == []


def test_an_action_due_before_today_is_refused_beside_its_due_date(story):
    case = story.start()
    story.to_council(case)

    with pytest.raises(FormInvalid) as refused:
        story.add_action(case, {"action_type_id": story.action_type("home_visit").id, "due_on": "2026-11-26"})

    assert [(e.field, e.code, e.params) for e in refused.value.errors] == [
        ("due_on", "x_not_before", {"limit": "2026-11-27"})]
    assert story.actions(case) == []
