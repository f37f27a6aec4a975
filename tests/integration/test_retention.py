"""Retention and disposal (issue 16) with a controlled clock: removal times are stamped when a case's clock
starts, due records of closed cases not on legal hold are anonymised or deleted in one run per municipality,
each run is recorded without personal data, and the reports count the same before and after."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import undefer

from tsunagu.engine.access import users
from tsunagu.engine.casefile.tables import (
    AgendaItemRecord,
    AssessmentRecord,
    ConsentRecord,
    CouncilDecisionRecord,
    DisclosureRecord,
    PersonRecord,
    SupportActionRecord,
)
from tsunagu.engine.commands import cases, queries, reports
from tsunagu.engine.commands.case_list import visible_cases
from tsunagu.engine.commands.opening import open_with_form
from tsunagu.engine.commands.scheduler import run_pass
from tsunagu.engine.errors import Conflict, Forbidden, FormInvalid, InvalidState, NotFound
from tsunagu.engine.models import AuditRecord, CaseRecord, CaseStatus, FormSubmissionRecord, TaskRecord, UserRecord
from tsunagu.engine.records import disposal, holds, retention
from tsunagu.engine.records.tables import CaseRemovalRecord, CountedFrom, DisposalRecord, RecordType
from tsunagu.engine.runtime.workflow import load_state

from .scenario import CLOSURE_GOAL, FIRST_REVIEW, MEETING, at, intake, review_cycle, tabling

PERSON = "山田 花子"


@pytest.fixture
def admin(session, clock, municipality, user_password):
    user = users.create_user(session, clock, municipality_id=municipality.id, username="admin",
                             display_name="管理 五郎", password=user_password, roles=["admin"])
    session.commit()
    return user


def closed_case(story, title: str = "山田さんの相談"):
    """A case consenting to statistics, tabled, decided with an action, reviewed and closed (goal reached)."""
    cast = story.cast
    case = story.start(title)
    story.to_consent(case)
    story.complete(case, "consent_capture", cast.caseworker, story.consent_given(
        "shakyo", purposes=["support_planning", "information_sharing", "council", "statistics"]))
    story.complete(case, "table_case", cast.coordinator, tabling(MEETING))
    story.decide(case, [{"action_type_id": story.action_type("home_visit").id, "note": "週1回の訪問"}],
                 next_review_on=FIRST_REVIEW)
    story.pass_time_until(at(FIRST_REVIEW, 9, 1))
    review_cycle(story, case, "close")
    story.complete(case, "closure", cast.caseworker, CLOSURE_GOAL)
    assert story.case(case).status == CaseStatus.COMPLETED
    return story.case(case)


def referred_out(story, title: str = "二件目"):
    """A case referred out to another scheme at once, and so closed (transferred)."""
    case = story.start(title)
    story.to_consent(case, intake(existing_scheme="seikatsu_konkyu"))
    story.complete(case, "referral_out", story.cast.caseworker,
                   {"scheme": "seikatsu_konkyu", "receiving_body": "自立相談支援機関", "referral_basis": "other_statute",
                    "referral_statute": "生活困窮者自立支援法第8条", "referred_on": "2026-11-28"})
    assert story.case(case).status == CaseStatus.COMPLETED
    return story.case(case)


def dispose(session_factory, clock, municipality_id, run_by="test"):
    with session_factory() as session:
        return disposal.dispose_due(session, clock, None, municipality_id, run_by=run_by)


def removals(session_factory, case_id) -> dict[RecordType, CaseRemovalRecord]:
    with session_factory() as session:
        return {r.record_type: r for r in session.scalars(
            select(CaseRemovalRecord).where(CaseRemovalRecord.case_id == case_id))}


def figures(session_factory, municipality, clock):
    """Every table of the reports for the fiscal years the cases ran in (the read the reports page makes)."""
    town = reports.Town(municipality.id, municipality.code, municipality.name)
    with session_factory() as session:
        return [reports.build_report(session, town, reports.Period(year), clock()) for year in (2026, 2027)]


def counted(session_factory, model, *where) -> int:
    with session_factory() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def test_a_closed_case_past_its_retention_is_anonymised_recorded_and_still_counted(
        story, session_factory, clock, municipality, caseworker):
    case = closed_case(story)
    stamped = removals(session_factory, case.id)
    assert {kind: r.removal_at for kind, r in stamped.items()} == {
        kind: case.completed_at.replace(year=case.completed_at.year + 5) for kind in retention.CASE_BOUND}
    before = figures(session_factory, municipality, clock)
    assert before[0].measures[0].intake_total == 1  # the case is in the measures: the report can notice a loss

    clock.advance(case.completed_at.replace(year=case.completed_at.year + 5) - clock() - timedelta(minutes=1))
    with session_factory() as session:
        assert disposal.due_now(session, clock, municipality.id) == [] or all(
            p.record_type in retention.LOGS for p in disposal.due_now(session, clock, municipality.id))
    clock.advance(timedelta(minutes=2))
    with session_factory() as session:
        planned = {p.record_type: p for p in disposal.due_now(session, clock, municipality.id)}
    assert {kind for kind in planned} >= set(retention.CASE_BOUND)

    done = {d.record_type: d for d in dispose(session_factory, clock, municipality.id)}

    assert set(done) == set(retention.CASE_BOUND) | set(retention.LOGS)
    for kind, record in done.items():
        assert (record.rows, record.cases) == (planned[kind].rows, planned[kind].cases), kind
        assert (record.years, record.counted_from, record.run_by) == (5, planned[kind].policy.counted_from, "test")
    assert {k: d.method for k, d in done.items()} == {
        RecordType.CASE_FILE: "anonymised", RecordType.CONSENTS: "anonymised", RecordType.ASSESSMENTS: "anonymised",
        RecordType.COUNCIL_PAPERS: "anonymised", RecordType.DISCLOSURE_LOG: "deleted",
        RecordType.AUDIT_LOG: "deleted"}
    assert done[RecordType.CASE_FILE].cases == 1

    kept = story.case(case)
    assert (kept.title, kept.secrecy_wishes, kept.anonymised_at) == ("", None, clock())
    assert (kept.status, kept.closure_reason, kept.channel, kept.opened_on, kept.completed_at) == (
        case.status, case.closure_reason, case.channel, case.opened_on, case.completed_at)
    assert PERSON not in kept.workflow_state and "山田" not in kept.workflow_state
    assert load_state(story.version.spec, kept.workflow_state).is_completed()  # still a valid state
    assert counted(session_factory, FormSubmissionRecord, FormSubmissionRecord.case_id == case.id) == 0
    assert counted(session_factory, TaskRecord, TaskRecord.case_id == case.id) > 0  # kinds and times stay
    with session_factory() as session:
        person = session.get(PersonRecord, case.person_id)
        assert (person.name, person.kana, person.birth_year, person.name_key) == ("", None, None, None)
        for row in session.scalars(select(AssessmentRecord).where(AssessmentRecord.case_id == case.id)):
            assert row.person_id is None and row.score is not None
            assert all(isinstance(v, (int, float)) for v in row.answers.values())
        for row in session.scalars(select(ConsentRecord).where(ConsentRecord.case_id == case.id)):
            assert (row.person_id, row.witness, row.recipient_bodies) == (None, None, None)
        for row in session.scalars(select(SupportActionRecord).where(SupportActionRecord.case_id == case.id)):
            assert (row.note, row.outcome_note) == (None, None)
        for row in session.scalars(select(CouncilDecisionRecord).where(CouncilDecisionRecord.case_id == case.id)):
            assert (row.situation, row.plan, row.key_person, row.risk) == ("", "", None, "high")
        assert all(row.note is None for row in session.scalars(
            select(AgendaItemRecord).where(AgendaItemRecord.case_id == case.id)))
        # Five years on, the logs of the case's time are gone too; the disposal's own audit row is new.
        assert session.scalar(select(func.count()).select_from(DisclosureRecord)) == 0
        (audited,) = session.scalars(select(AuditRecord).where(AuditRecord.action == "records.disposed"))
        assert audited.detail["counts"]["case_file"] == {"method": "anonymised", "cases": 1,
                                                         "rows": done[RecordType.CASE_FILE].rows}
        left = [(a.action, a.at, a.municipality_id, a.case_id) for a in session.scalars(select(AuditRecord).where(
            AuditRecord.at < audited.at, (AuditRecord.municipality_id == municipality.id) | AuditRecord.case_id.is_not(None)))]
        assert left == []
        # A disposal row holds counts, never the case's words.
        for record in session.scalars(select(DisposalRecord)):
            assert PERSON not in json.dumps({c.name: str(getattr(record, c.name))
                                             for c in DisposalRecord.__table__.columns}, ensure_ascii=False)
        assert [d.id for d in disposal.disposals_of(session, municipality.id)] == sorted(
            (d.id for d in done.values()), reverse=True)

    assert figures(session_factory, municipality, clock) == before

    # The anonymised case is gone for readers, and the case list still lists without failing.
    with session_factory() as session:
        reader = session.get(UserRecord, caseworker.id)
        with pytest.raises(NotFound):
            queries.view_case(session, clock, reader, case.id)
        listed = session.scalars(select(CaseRecord.id).where(visible_cases(session, reader, clock()))).all()
        assert case.id not in listed  # listed to nobody: its skeleton is for the reports

    # A second run finds nothing left to do and writes nothing.
    assert dispose(session_factory, clock, municipality.id) == []
    assert counted(session_factory, DisposalRecord) == len(done)
    assert counted(session_factory, AuditRecord, AuditRecord.action == "records.disposed") == 1


def test_a_case_on_legal_hold_is_kept_and_disposed_of_after_the_hold_is_lifted(
        story, session_factory, clock, municipality, admin):
    case = closed_case(story)
    with session_factory() as session:
        holds.place_hold(session, clock, session.get(UserRecord, admin.id), municipality.id, case.reference,
                         "訴訟のため保存")
        with pytest.raises(Conflict):
            holds.place_hold(session, clock, None, municipality.id, case.reference, "二重")
        (held,) = holds.holds_of(session, municipality.id)
        assert (held.reference, held.reason, held.placed_by, held.case_status) == (
            case.reference, "訴訟のため保存", "管理 五郎", CaseStatus.COMPLETED)

    clock.advance(timedelta(days=366 * 6))
    done = dispose(session_factory, clock, municipality.id)
    assert {d.record_type for d in done} <= set(retention.LOGS)  # only the municipality's other log rows
    kept = story.case(case)
    assert (kept.title, kept.anonymised_at) == ("山田さんの相談", None)
    assert counted(session_factory, FormSubmissionRecord, FormSubmissionRecord.case_id == case.id) > 0
    assert counted(session_factory, DisclosureRecord, DisclosureRecord.case_id == case.id) > 0  # its log rows too
    assert counted(session_factory, AuditRecord, AuditRecord.case_id == case.id,
                   AuditRecord.action == "case.started") == 1
    assert all(r.disposed_at is None for r in removals(session_factory, case.id).values())

    with session_factory() as session:
        holds.lift_hold(session, clock, None, municipality.id, case.reference, "訴訟終結")
        with pytest.raises(InvalidState):
            holds.lift_hold(session, clock, None, municipality.id, case.reference, "もう一度")
        assert holds.holds_of(session, municipality.id) == []
        actions = [a.action for a in session.scalars(select(AuditRecord).where(AuditRecord.case_id == case.id)
                                                     .order_by(AuditRecord.id))]
        assert actions[-2:] == ["case.held", "case.hold_lifted"]

    done = {d.record_type: d for d in dispose(session_factory, clock, municipality.id)}
    assert done[RecordType.CASE_FILE].cases == 1
    assert story.case(case).anonymised_at == clock()


def test_holds_refuse_unknown_cases_blank_reasons_and_other_municipalities_admins(
        story, session, session_factory, clock, municipality, admin):
    case = story.start()
    with pytest.raises(NotFound):
        holds.place_hold(session, clock, admin, municipality.id, "2026-999999", "理由")
    with pytest.raises(FormInvalid) as refused:
        holds.place_hold(session, clock, admin, municipality.id, case.reference, "  ")
    assert [e.field for e in refused.value.errors] == ["reason"]
    with pytest.raises(Forbidden):
        holds.place_hold(session, clock, story.cast.caseworker, municipality.id, case.reference, "理由")
    with pytest.raises(Forbidden):
        holds.place_hold(session, clock, admin, municipality.id + 1, case.reference, "理由")
    with pytest.raises(Forbidden):
        disposal.dispose_due(session, clock, story.cast.caseworker, municipality.id, run_by="web")
    assert disposal.dispose_due(session, clock, admin, municipality.id, run_by=str(admin.id)) == []


def test_a_case_not_yet_due_or_still_open_is_untouched(story, session_factory, clock, municipality):
    closed = closed_case(story)
    running = story.start("別の相談")
    story.to_consent(running)
    with session_factory() as session:  # the case file counted from creation: due for the running case too
        retention.set_policy(session, clock, None, municipality.id, RecordType.CASE_FILE, 1, "creation", None)
    later = story.start("三件目の相談")
    assert removals(session_factory, later.id)[RecordType.CASE_FILE].removal_at == clock().replace(year=clock().year + 1)
    assert RecordType.CASE_FILE not in removals(session_factory, running.id)  # stamped at closure, as the old policy said

    clock.advance(timedelta(days=366 * 2))
    assert not {d.record_type for d in dispose(session_factory, clock, municipality.id)} & set(retention.CASE_BOUND)
    for case in (closed, running, later):
        assert story.case(case).anonymised_at is None
    assert story.case(later).title == "三件目の相談"  # due, but still open: it waits for its closure
    assert counted(session_factory, PersonRecord, PersonRecord.name == "") == 0


def test_a_policy_counted_from_creation_disposes_of_a_closed_case_by_its_opening(
        story, session_factory, clock, municipality):
    with session_factory() as session:
        retention.set_policy(session, clock, None, municipality.id, RecordType.ASSESSMENTS, 1, CountedFrom.CREATION,
                             "文書管理規程 別表第1")
    case = closed_case(story)
    stamped = removals(session_factory, case.id)
    assert stamped[RecordType.ASSESSMENTS].removal_at == case.created_at.replace(year=case.created_at.year + 1)
    assert stamped[RecordType.CASE_FILE].removal_at == case.completed_at.replace(year=case.completed_at.year + 5)

    clock.advance(stamped[RecordType.ASSESSMENTS].removal_at - clock() + timedelta(seconds=1))
    done = dispose(session_factory, clock, municipality.id)
    assert [(d.record_type, d.cases, d.years, d.counted_from) for d in done] == [
        (RecordType.ASSESSMENTS, 1, 1, CountedFrom.CREATION)]
    with session_factory() as session:
        assert {a.person_id for a in session.scalars(select(AssessmentRecord))} == {None}
    assert story.case(case).anonymised_at is None


def test_the_logs_are_disposed_of_by_their_own_age(story, session_factory, clock, municipality):
    with session_factory() as session:
        retention.set_policy(session, clock, None, municipality.id, RecordType.AUDIT_LOG, 1, "creation", None)
        retention.set_policy(session, clock, None, municipality.id, RecordType.DISCLOSURE_LOG, 2, "creation", None)
    first = closed_case(story)  # its rows date from 2026-11 to 2027-01
    first_audit = counted(session_factory, AuditRecord, AuditRecord.case_id == first.id)
    clock.advance(timedelta(days=300))
    second = story.start("二件目")
    newest = clock()

    disclosed = counted(session_factory, DisclosureRecord)
    assert disclosed > 0
    clock.advance(timedelta(days=120))  # over a year after the first case's last row, not the second's
    done = {d.record_type: d for d in dispose(session_factory, clock, municipality.id)}
    assert set(done) == {RecordType.AUDIT_LOG}
    assert done[RecordType.AUDIT_LOG].due_before == clock().replace(year=clock().year - 1)
    assert done[RecordType.AUDIT_LOG].rows >= first_audit
    assert counted(session_factory, AuditRecord, AuditRecord.case_id == first.id) == 0
    assert counted(session_factory, AuditRecord, AuditRecord.case_id == second.id) > 0
    assert counted(session_factory, AuditRecord, AuditRecord.at < clock().replace(year=clock().year - 1),
                   (AuditRecord.municipality_id == municipality.id) | AuditRecord.case_id.is_not(None)) == 0
    assert counted(session_factory, AuditRecord, AuditRecord.at >= newest) > 0
    assert counted(session_factory, DisclosureRecord) == disclosed  # two years: not yet

    clock.advance(timedelta(days=366))
    done = {d.record_type: d for d in dispose(session_factory, clock, municipality.id)}
    assert (done[RecordType.DISCLOSURE_LOG].rows, done[RecordType.DISCLOSURE_LOG].cases) == (disclosed, 0)
    assert counted(session_factory, DisclosureRecord) == 0
    assert counted(session_factory, ConsentRecord) > 0  # a disclosure's consent stays with its case


def test_set_policy_refuses_bad_periods_and_closure_for_the_logs_and_is_audited(
        session, session_factory, clock, municipality, admin, caseworker):
    for years, field in ((0, "years"), (101, "years"), ("five", "years"), (None, "years")):
        with pytest.raises(FormInvalid) as refused:
            retention.set_policy(session, clock, admin, municipality.id, "case_file", years, "closure", None)
        assert [e.field for e in refused.value.errors] == [field], years
    with pytest.raises(FormInvalid) as refused:
        retention.set_policy(session, clock, admin, municipality.id, RecordType.AUDIT_LOG, 5, "closure", None)
    assert [(e.field, e.params) for e in refused.value.errors] == [("counted_from", {"allowed": ["creation"]})]
    with pytest.raises(FormInvalid) as refused:
        retention.set_policy(session, clock, admin, municipality.id, "case_file", 5, "whenever", None)
    assert [e.field for e in refused.value.errors] == ["counted_from"]
    with pytest.raises(FormInvalid) as refused:
        retention.set_policy(session, clock, admin, municipality.id, "minutes", 5, "closure", None)
    assert [e.field for e in refused.value.errors] == ["record_type"]
    with pytest.raises(Forbidden):
        retention.set_policy(session, clock, caseworker, municipality.id, "case_file", 10, "closure", None)

    set_to = retention.set_policy(session, clock, admin, municipality.id, "case_file", "10", "creation", "規程第5条")
    assert set_to == retention.Policy(RecordType.CASE_FILE, 10, CountedFrom.CREATION, "規程第5条")
    with session_factory() as other:
        assert retention.policies_of(other, municipality.id)[RecordType.CASE_FILE] == set_to
    assert retention.reset_policy(session, clock, None, municipality.id, "case_file") == \
        retention.DEFAULTS[RecordType.CASE_FILE]
    with session_factory() as other:
        rows = [(a.detail["before"]["years"], a.detail["after"]["years"], a.detail["via"]) for a in other.scalars(
            select(AuditRecord).where(AuditRecord.action == "retention.policy_set").order_by(AuditRecord.id))]
    assert rows == [(5, 10, "web"), (10, 5, "cli")]


def test_the_scheduler_disposes_once_a_day(story, session_factory, clock, municipality):
    second = referred_out(story)
    case = closed_case(story)
    with session_factory() as session:  # the second falls due only later
        session.execute(CaseRemovalRecord.__table__.update().where(CaseRemovalRecord.case_id == second.id)
                        .values(removal_at=datetime(2100, 1, 1, tzinfo=timezone.utc)))
        session.commit()
    clock.advance(timedelta(days=366 * 5 + 30))
    assert run_pass(session_factory, clock, story.policy, "test").disposed > 0
    assert story.case(case).anonymised_at == clock()
    with session_factory() as session:
        (record,) = [d for d in disposal.disposals_of(session, municipality.id)
                     if d.record_type == RecordType.CASE_FILE]
        assert record.run_by == "scheduler"
        (audited,) = session.scalars(select(AuditRecord).where(AuditRecord.action == "records.disposed"))
        assert (audited.municipality_id, audited.actor_id, audited.detail["via"]) == (municipality.id, None,
                                                                                    "scheduler")
        session.execute(CaseRemovalRecord.__table__.update().where(CaseRemovalRecord.case_id == second.id)
                        .values(removal_at=clock() - timedelta(days=1)))
        session.commit()
    clock.advance(timedelta(hours=1))
    assert run_pass(session_factory, clock, story.policy, "test").disposed == 0  # the day's run is done
    assert story.case(second).anonymised_at is None
    clock.advance(timedelta(days=1))
    assert run_pass(session_factory, clock, story.policy, "test").disposed > 0
    assert story.case(second).anonymised_at is not None


def test_a_person_is_anonymised_only_when_none_of_their_case_files_remains(story, session_factory, clock,
                                                                            municipality):
    first = closed_case(story)
    again = story.reopen(first)
    assert again.person_id == first.person_id
    clock.advance(timedelta(days=366 * 5 + 30))
    dispose(session_factory, clock, municipality.id)
    assert story.case(first).anonymised_at is not None and story.case(again).anonymised_at is None
    with session_factory() as session:
        assert session.get(PersonRecord, first.person_id).name == PERSON


def test_stamps_do_not_move_when_the_policy_changes(story, session_factory, clock, municipality):
    case = closed_case(story)
    before = removals(session_factory, case.id)[RecordType.CASE_FILE].removal_at
    with session_factory() as session:
        retention.set_policy(session, clock, None, municipality.id, RecordType.CASE_FILE, 30, "closure", None)
    assert removals(session_factory, case.id)[RecordType.CASE_FILE].removal_at == before
    assert before.astimezone(timezone.utc) < datetime(2033, 1, 1, tzinfo=timezone.utc)


def test_a_case_opened_with_its_form_is_stamped_at_opening_and_each_type_once_at_closure(
        session, session_factory, clock, municipality, caseworker, deploy_fixture):
    divider = deploy_fixture("failing_script")
    retention.set_policy(session, clock, None, municipality.id, RecordType.CONSENTS, 2, "creation", None)
    case = open_with_form(session, clock, caseworker, divider, "割り算", {"divisor": 5})
    opened = case.created_at
    assert {k: r.removal_at for k, r in removals(session_factory, case.id).items()} == {
        RecordType.CONSENTS: opened.replace(year=opened.year + 2)}
    # Counted from the opening only after this case opened: its clock is stamped from its opening at closure.
    retention.set_policy(session, clock, None, municipality.id, RecordType.CASE_FILE, 3, "creation", None)
    clock.advance(timedelta(days=10))
    with session_factory() as other:
        (task,) = [t for t in other.scalars(select(TaskRecord).where(TaskRecord.case_id == case.id))
                   if t.completed_at is None]
        cases.complete_task(other, clock, other.get(UserRecord, caseworker.id), task.id, {"divisor": 5})
    closed = story_case(session_factory, case.id)
    assert closed.status == CaseStatus.COMPLETED
    assert {k: r.removal_at for k, r in removals(session_factory, case.id).items()} == {
        RecordType.CONSENTS: opened.replace(year=opened.year + 2),
        RecordType.CASE_FILE: opened.replace(year=opened.year + 3),
        RecordType.ASSESSMENTS: closed.completed_at.replace(year=closed.completed_at.year + 5),
        RecordType.COUNCIL_PAPERS: closed.completed_at.replace(year=closed.completed_at.year + 5)}


def test_cases_kept_from_before_retention_are_stamped_on_request(story, session_factory, clock, municipality, admin):
    case = referred_out(story)
    running = story.start("続いている相談")
    with session_factory() as session:
        session.execute(CaseRemovalRecord.__table__.delete())
        session.commit()
        assert retention.stamp_missing(session, clock, session.get(UserRecord, admin.id), municipality.id) == 4
        assert retention.stamp_missing(session, clock, None, municipality.id) == 0
    assert set(removals(session_factory, case.id)) == set(retention.CASE_BOUND)
    assert removals(session_factory, running.id) == {}  # its clock starts at its closure


def story_case(session_factory, case_id):
    with session_factory() as session:
        return session.get(CaseRecord, case_id, options=[undefer(CaseRecord.workflow_state)])
