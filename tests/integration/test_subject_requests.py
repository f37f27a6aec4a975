"""Data-subject requests (開示・訂正・利用停止請求): the register's due dates, the disclosure document of
everything held on one person, corrections with the old value kept, and stopping use by suspending the
person's cases until it is lifted. Driven through the engine commands on the shipped process."""
from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from tsunagu.engine.access import users
from tsunagu.engine.casefile.names import search_key
from tsunagu.engine.casefile.tables import (
    AgendaItemRecord,
    AssessmentRecord,
    ConsentRecord,
    DisclosureRecord,
    PersonRecord,
    SupportActionRecord,
)
from tsunagu.engine.commands import cases, council, events
from tsunagu.engine.errors import Forbidden, FormInvalid, InvalidState, NotFound
from tsunagu.engine.models import AuditRecord, CaseStatus, FormSubmissionRecord, MunicipalityRecord, UserRecord
from tsunagu.engine.records import corrections, requests, subject_data, suspension
from tsunagu.engine.records.tables import RequestKind, RequestStatus

from .scenario import FIRST_REVIEW, MEETING, at, intake

OTHER_PERSON = {"person_name": "佐藤 太郎", "person_kana": "サトウ タロウ", "birth_year": 1950,
                "concern": "妻を亡くしてから外出しない", "wishes": "囲碁の相手がほしい"}
MINUTES = "佐藤 太郎さんの件: 囲碁クラブへのつなぎを検討。山田さんの件: 居場所と電話で見守る。"


def _as(story, user, command, *args, **kwargs):
    """Run an engine command as `user` in a fresh session, as a request would."""
    with story.session_factory() as session:
        return command(session, story.clock, session.get(UserRecord, user.id), *args, **kwargs)


def _request(story, kind: RequestKind, person_id: int | None, received_on: str = "2026-11-27"):
    return _as(story, story.cast.supervisor, requests.receive, kind, "本人（山田 花子）", received_on,
               "保有個人情報のすべて", person_id=person_id)


def _other_supervisor(story):
    """A supervisor of another municipality."""
    with story.session_factory() as session:
        town = MunicipalityRecord(code="138888", name="となり町")
        session.add(town)
        session.commit()
        user = users.create_user(session, story.clock, municipality_id=town.id, username="other-supervisor",
                                 display_name="other", password="tsunagu-test-password", roles=["supervisor"])
        session.commit()
        return user


def _rows(story, model, condition):
    with story.session_factory() as session:
        return list(session.scalars(select(model).where(condition).order_by(model.id)))


def _closed_first_episode(story, **intake_overrides):
    """A case of 山田 花子 closed by a referral out to the long-term care scheme."""
    case = story.start()
    story.to_consent(case, intake(existing_scheme="kaigo", **intake_overrides))
    story.complete(case, "referral_out", story.cast.caseworker,
                   {"scheme": "kaigo", "receiving_body": "地域包括支援センター", "referral_basis": "no_sharing",
                    "referred_on": "2026-11-28"})
    assert story.case(case).status == CaseStatus.COMPLETED
    return story.case(case)


# --- the disclosure document ------------------------------------------------------------------


def test_a_disclosure_document_holds_every_record_of_the_person_in_both_episodes_and_nothing_of_another(story):
    first = _closed_first_episode(story, referrer="民生委員 田中 一郎")
    story.clock.advance(timedelta(days=1))
    second = story.reopen(first)
    story.to_council(second, MEETING)
    other = story.start("佐藤さんの相談")
    story.to_consent(other, intake(**OTHER_PERSON))
    story.complete(other, "consent_capture", story.cast.caseworker, story.consent_given())
    story.complete(other, "table_case", story.cast.coordinator, {
        "meeting_date": MEETING, "basis": "consent", "issues": "妻を亡くしてから外出しない",
        "wishes_summary": "囲碁の相手がほしい"})
    story.decide(second, [{"action_type_id": story.action_type("home_visit").id}])
    story.decide(other, [{"action_type_id": story.action_type("home_visit").id}], key_person="長男 佐藤 次郎")
    meeting_id = story.latest_agenda_item(second).meeting_id
    assert story.latest_agenda_item(other).meeting_id == meeting_id  # both people at the same meeting
    _as(story, story.cast.coordinator, council.record_minutes, meeting_id, MINUTES, [])
    person_id = story.case(second).person_id
    assert person_id == first.person_id and story.case(other).person_id != person_id

    request = _request(story, RequestKind.DISCLOSURE, person_id)
    document = _as(story, story.cast.supervisor, subject_data.compile, request.id)

    mine = [first.id, second.id]
    assert [(c.id, c.episode) for c in document.cases] == [(first.id, 1), (second.id, 2)]
    assert (document.person.name, document.person.kana, document.person.birth_year) == ("山田 花子", "ヤマダ ハナコ", 1956)
    for model, part in ((FormSubmissionRecord, "submissions"), (AssessmentRecord, "assessments"),
                        (ConsentRecord, "consents"), (SupportActionRecord, "actions"),
                        (DisclosureRecord, "disclosures")):
        held = [row.id for row in _rows(story, model, model.case_id.in_(mine))]
        shown = [item.id for case in document.cases for item in getattr(case, part)]
        assert held and sorted(shown) == sorted(held), part
    assert [len(c.council_items) for c in document.cases] == [0, 1]
    item = document.cases[1].council_items[0]
    assert (item.held_on, item.risk, item.lead_body) == (date.fromisoformat(MEETING), "high", story.cast.bodies["shakyo"].name)
    intake_part = next(s for s in document.cases[0].submissions if s.form_id == "intake-schema.json")
    fields = {f.name: f for f in intake_part.fields}
    assert (intake_part.form_title, fields["person_name"].title, fields["channel"].display) == ("相談受付", "氏名", "電話")
    assert "referrer" not in fields

    # What is withheld is listed with its ground: the referrer and the key person (other people), the minutes.
    assert sorted((w.what, w.ground, w.case_reference) for w in document.withheld) == sorted([
        (subject_data.WHAT_FIELD, subject_data.THIRD_PARTY, first.reference),
        (subject_data.WHAT_KEY_PERSON, subject_data.THIRD_PARTY, second.reference),
        (subject_data.WHAT_MINUTES, subject_data.DELIBERATION, second.reference)])
    text = json.dumps(subject_data.as_json(document), ensure_ascii=False)
    assert "山田 花子" in text and "近所で気軽に話せる場がほしい" in text
    for foreign in ("佐藤", "サトウ", "囲碁", "長女", "長男", "田中 一郎", MINUTES[:10]):
        assert foreign not in text, foreign
    other_ids = {row.id for row in _rows(story, FormSubmissionRecord, FormSubmissionRecord.case_id == other.id)}
    assert not other_ids & {s.id for c in document.cases for s in c.submissions}

    reads = _rows(story, AuditRecord, AuditRecord.action.in_(("case.viewed", "subject_request.compiled")))
    assert sorted((r.action, r.case_id) for r in reads if (r.detail or {}).get("part") == "subject_request"
                  or r.action == "subject_request.compiled") == sorted(
        [("case.viewed", first.id), ("case.viewed", second.id), ("subject_request.compiled", None)])


# --- the register -------------------------------------------------------------------------------


def test_a_request_is_due_30_days_after_receipt_and_flagged_overdue_while_undecided_after_that(story):
    request = _request(story, RequestKind.DISCLOSURE, None, received_on="2026-11-20")
    assert request.due_on == date(2026, 12, 20) and request.status == RequestStatus.RECEIVED
    later = _request(story, RequestKind.CORRECTION, None, received_on="2026-11-27")

    rows = _as(story, story.cast.supervisor, requests.register)
    assert [(r.id, r.due_on, r.overdue) for r in rows] == [
        (request.id, date(2026, 12, 20), False), (later.id, date(2026, 12, 27), False)]
    story.clock.advance(at("2026-12-21") - story.clock())
    assert [(r.id, r.overdue) for r in _as(story, story.cast.supervisor, requests.register)] == [
        (request.id, True), (later.id, False)]

    _as(story, story.cast.supervisor, requests.decide, request.id, "granted", None)
    _as(story, story.cast.supervisor, requests.withdraw, later.id, "本人が取り下げた")
    assert _as(story, story.cast.supervisor, requests.register) == []
    every = _as(story, story.cast.supervisor, requests.register, open_only=False)
    assert [(r.status, r.outcome, r.decided_on, r.overdue) for r in every] == [
        (RequestStatus.DECIDED, "granted", date(2026, 12, 21), False),
        (RequestStatus.WITHDRAWN, None, date(2026, 12, 21), False)]
    decided = _rows(story, AuditRecord, AuditRecord.action == "subject_request.decided")
    assert [(r.detail["outcome"], r.detail["late"]) for r in decided] == [("granted", True)]


def test_a_request_received_in_the_future_or_of_an_unknown_kind_is_refused_naming_the_field(story):
    with pytest.raises(FormInvalid) as refused:
        _as(story, story.cast.supervisor, requests.receive, "erasure", "", "2026-12-01", None)
    assert sorted(e.field for e in refused.value.errors) == ["kind", "received_on", "requester"]
    assert _as(story, story.cast.supervisor, requests.register, open_only=False) == []


# --- corrections --------------------------------------------------------------------------------


def test_a_correction_of_the_persons_name_recomputes_their_search_key_and_keeps_the_old_value_in_the_audit(story):
    case = story.start()
    story.to_consent(case)
    person_id = story.case(case).person_id
    request = _request(story, RequestKind.CORRECTION, person_id)

    _as(story, story.cast.supervisor, corrections.correct_person, request.id, "name", "山田 華子", "戸籍の表記に合わせる")
    _as(story, story.cast.supervisor, corrections.correct_person, request.id, "birth_year", "1957", "本人の申出")

    (person,) = _rows(story, PersonRecord, PersonRecord.id == person_id)
    assert (person.name, person.birth_year) == ("山田 華子", 1957)
    assert person.name_key == search_key("山田華子") != search_key("山田 花子")
    rows = _rows(story, AuditRecord, AuditRecord.action == "record.corrected")
    assert [(r.actor_id, r.detail["field"], r.detail["old"], r.detail["new"], r.detail["reason"]) for r in rows] == [
        (story.cast.supervisor.id, "name", "山田 花子", "山田 華子", "戸籍の表記に合わせる"),
        (story.cast.supervisor.id, "birth_year", 1956, 1957, "本人の申出")]
    with pytest.raises(FormInvalid) as refused:
        _as(story, story.cast.supervisor, corrections.correct_person, request.id, "address", "x", "理由")
    assert [e.field for e in refused.value.errors] == ["field"]
    with pytest.raises(FormInvalid) as refused:
        _as(story, story.cast.supervisor, corrections.correct_person, request.id, "name", "  ", "理由")
    assert [e.field for e in refused.value.errors] == ["name"]


def test_a_correction_of_a_form_answer_is_checked_against_its_form_and_keeps_the_old_value_in_the_audit(story):
    case = story.start()
    story.to_consent(case)
    other = story.start("佐藤さんの相談")
    story.to_consent(other, intake(**OTHER_PERSON))
    request = _request(story, RequestKind.CORRECTION, story.case(case).person_id)
    (answers,) = [s for s in _rows(story, FormSubmissionRecord, FormSubmissionRecord.case_id == case.id)
                  if s.form_id == "intake-schema.json"]

    _as(story, story.cast.supervisor, corrections.correct_submission, request.id, answers.id, "household",
        "with_family", "同居の家族がいる")

    (corrected,) = _rows(story, FormSubmissionRecord, FormSubmissionRecord.id == answers.id)
    assert corrected.data["household"] == "with_family" and corrected.data["concern"] == answers.data["concern"]
    (row,) = _rows(story, AuditRecord, AuditRecord.action == "record.corrected")
    assert (row.case_id, row.detail["field"], row.detail["old"], row.detail["new"], row.detail["reason"]) == (
        case.id, "household", "alone", "with_family", "同居の家族がいる")

    with pytest.raises(FormInvalid) as refused:  # not one of the form's choices
        _as(story, story.cast.supervisor, corrections.correct_submission, request.id, answers.id, "household",
            "castle", "理由")
    assert [(e.field, e.code) for e in refused.value.errors] == [("household", "enum")]
    with pytest.raises(FormInvalid) as refused:  # the form has no such field
        _as(story, story.cast.supervisor, corrections.correct_submission, request.id, answers.id, "nickname",
            "はな", "理由")
    assert [e.field for e in refused.value.errors] == ["field"]
    (theirs,) = [s for s in _rows(story, FormSubmissionRecord, FormSubmissionRecord.case_id == other.id)
                 if s.form_id == "intake-schema.json"]
    with pytest.raises(NotFound):  # another person's answers are not this request's
        _as(story, story.cast.supervisor, corrections.correct_submission, request.id, theirs.id, "household",
            "with_family", "理由")
    assert [r.id for r in _rows(story, AuditRecord, AuditRecord.action == "record.corrected")] == [row.id]


# --- stopping use -------------------------------------------------------------------------------


def test_a_suspension_stops_tasks_and_timers_and_its_lifting_resumes_them_with_a_timer_due_meanwhile(story):
    case = story.start()
    story.to_council(case, MEETING)
    story.decide(case, [{"action_type_id": story.action_type("home_visit").id}], next_review_on=FIRST_REVIEW)
    before = story.case(case)
    assert before.status == CaseStatus.RUNNING and before.next_timer_at is not None
    response = story.task(case, "action_response")
    partner = story.partner_for(response)
    request = _request(story, RequestKind.SUSPENSION, before.person_id)

    (suspended,) = _as(story, story.cast.supervisor, suspension.suspend, request.id, "本人から利用停止の請求")

    stored = story.case(case)
    assert (stored.status, stored.suspended_reason) == (CaseStatus.SUSPENDED, "本人から利用停止の請求")
    assert stored.next_timer_at == before.next_timer_at  # the timer waits, it is not lost
    with pytest.raises(InvalidState, match="suspended"):
        story.complete(case, response, partner, {"response": "accept", "planned_start": "2026-12-10"})
    with pytest.raises(InvalidState, match="suspended"):
        _as(story, partner, cases.claim_task, response.id)
    with pytest.raises(InvalidState):
        _as(story, story.cast.caseworker, events.request_review, case.id)
    assert story.pass_time_until(at(FIRST_REVIEW, 9, 1)) == []  # due during the suspension: not fired
    assert story.case(case).status == CaseStatus.SUSPENDED and story.open_elements(case) == ["action_response"]

    (resumed,) = _as(story, story.cast.supervisor, suspension.resume, request.id, "請求の理由が解消した")

    stored = story.case(case)
    assert (stored.status, stored.suspended_at, stored.suspended_reason) == (CaseStatus.RUNNING, None, None)
    assert story.pass_time(timedelta(minutes=1)) == [case.id]  # the timer due meanwhile fires once, now
    assert "review_assessment" in story.open_elements(case)
    assert story.pass_time(timedelta(minutes=1)) == []
    story.complete(case, response, partner, {"response": "accept", "planned_start": "2027-01-12"})
    audit_rows = _rows(story, AuditRecord, AuditRecord.action.in_(("case.suspended", "case.resumed")))
    assert [(r.action, r.case_id, r.detail["reason"]) for r in audit_rows] == [
        ("case.suspended", case.id, "本人から利用停止の請求"), ("case.resumed", case.id, "請求の理由が解消した")]


def test_a_suspension_reaches_every_open_case_of_the_person_and_no_one_elses(story):
    first = _closed_first_episode(story)
    second = story.reopen(first)
    other = story.start("佐藤さんの相談")
    story.to_consent(other, intake(**OTHER_PERSON))
    request = _request(story, RequestKind.SUSPENSION, first.person_id)

    found = _as(story, story.cast.supervisor, suspension.suspend, request.id, "利用停止")

    assert [c.id for c in found] == [second.id]
    assert [story.case(c).status for c in (first, second, other)] == [
        CaseStatus.COMPLETED, CaseStatus.SUSPENDED, CaseStatus.RUNNING]
    with pytest.raises(InvalidState):  # nothing left to suspend
        _as(story, story.cast.supervisor, suspension.suspend, request.id, "利用停止")


# --- refusals -----------------------------------------------------------------------------------


def test_requests_are_the_municipalitys_supervisors_alone_and_bad_input_is_refused_naming_the_field(story):
    case = story.start()
    story.to_consent(case)
    person_id = story.case(case).person_id
    request = _request(story, RequestKind.DISCLOSURE, person_id)
    stranger = _other_supervisor(story)

    with story.session_factory() as session, pytest.raises(NotFound):
        requests.request_of(session, session.get(UserRecord, stranger.id), request.id)
    for command, args in ((subject_data.compile, ()), (requests.decide, ("granted", None)),
                          (requests.link_person, (person_id,)), (suspension.suspend, ("利用停止",))):
        with pytest.raises(NotFound):
            _as(story, stranger, command, request.id, *args)
    assert _as(story, stranger, requests.register, open_only=False) == []
    with pytest.raises(Forbidden):
        _as(story, story.cast.caseworker, subject_data.compile, request.id)
    with pytest.raises(Forbidden):
        _as(story, story.cast.caseworker, requests.register)
    with pytest.raises(Forbidden):
        _as(story, story.cast.caseworker, requests.receive, "disclosure", "本人", "2026-11-27", None)

    with pytest.raises(FormInvalid) as refused:
        _as(story, story.cast.supervisor, requests.decide, request.id, "maybe", None)
    assert [e.field for e in refused.value.errors] == ["outcome"]
    with pytest.raises(FormInvalid) as refused:  # a refusal gives its reasons
        _as(story, story.cast.supervisor, requests.decide, request.id, "refused", " ")
    assert [e.field for e in refused.value.errors] == ["note"]
    with pytest.raises(InvalidState):  # a disclosure request suspends nothing
        _as(story, story.cast.supervisor, suspension.suspend, request.id, "利用停止")
    with pytest.raises(InvalidState):  # nor does it correct
        _as(story, story.cast.supervisor, corrections.correct_person, request.id, "name", "x", "理由")
    unlinked = _request(story, RequestKind.DISCLOSURE, None)
    with pytest.raises(InvalidState):
        _as(story, story.cast.supervisor, subject_data.compile, unlinked.id)
    with pytest.raises(FormInvalid) as refused:
        _as(story, story.cast.supervisor, requests.link_person, unlinked.id, 999999)
    assert [e.field for e in refused.value.errors] == ["person_id"]
    assert story.case(case).status == CaseStatus.RUNNING
    assert not _rows(story, AuditRecord, AuditRecord.action == "subject_request.compiled")
    assert _rows(story, AgendaItemRecord, AgendaItemRecord.case_id == case.id) == []
