"""Supervision is a basis (a supervisor reads the cases their team's caseworkers work), and closure ends
most access: after the grace period only case staff, their supervisors and a break-glass opening remain."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tsunagu.engine.access import users
from tsunagu.engine.access.policy import Basis, case_access
from tsunagu.engine.admin import teams
from tsunagu.engine.casefile.tables import CouncilDecisionRecord
from tsunagu.engine.commands import council, queries
from tsunagu.engine.errors import FormInvalid, NotFound
from tsunagu.engine.models import AuditRecord, CaseRecord, MunicipalityRecord, UserRecord

from .scenario import intake


@pytest.fixture
def admin(session, clock, municipality, user_password):
    user = users.create_user(session, clock, municipality_id=municipality.id, username="admin",
                             display_name="admin", password=user_password, roles=["admin"])
    session.commit()
    return user


@pytest.fixture
def other_supervisor(session, clock, municipality, user_password):
    user = users.create_user(session, clock, municipality_id=municipality.id, username="supervisor2",
                             display_name="supervisor2", password=user_password, roles=["supervisor"])
    session.commit()
    return user


def team_of(session, clock, admin, municipality, name, caseworkers, supervisors):
    team = teams.add_team(session, clock, admin, municipality.id, name=name)
    for worker in caseworkers:
        teams.set_member(session, clock, admin, municipality.id, team.id, worker.id)
    for boss in supervisors:
        teams.set_member(session, clock, admin, municipality.id, team.id, boss.id, supervises=True)
    return team


def access(session_factory, clock, user, case_id):
    with session_factory() as session:
        return case_access(session, session.get(UserRecord, user.id), session.get(CaseRecord, case_id), clock())


def reads(session_factory, case_id):
    with session_factory() as session:
        return [(a.actor_id, a.action, a.detail.get("basis")) for a in session.scalars(
            select(AuditRecord).where(AuditRecord.case_id == case_id,
                                      AuditRecord.action.in_(["case.viewed", "case.view_refused"]))
            .order_by(AuditRecord.id))]


def test_a_supervisor_of_the_caseworkers_team_reads_the_case_on_the_supervision_basis(
        session, session_factory, clock, admin, municipality, caseworker, supervisor, other_supervisor, standard_case):
    team_of(session, clock, admin, municipality, "相談第1班", [caseworker], [supervisor])
    team_of(session, clock, admin, municipality, "相談第2班", [], [other_supervisor])

    found = queries.view_case(session, clock, supervisor, standard_case.id)
    with pytest.raises(NotFound):  # another team's supervisor needs a break-glass opening
        queries.view_case(session, clock, other_supervisor, standard_case.id)

    assert found.access.basis == Basis.SUPERVISION and found.access.full and found.access.special_care
    assert reads(session_factory, standard_case.id) == [(supervisor.id, "case.viewed", "supervision"),
                                                        (other_supervisor.id, "case.view_refused", None)]


def test_a_retired_team_or_a_removed_caseworker_ends_the_supervision_basis(
        session, session_factory, clock, admin, municipality, caseworker, supervisor, standard_case):
    team = team_of(session, clock, admin, municipality, "相談第1班", [caseworker], [supervisor])
    assert access(session_factory, clock, supervisor, standard_case.id).basis == Basis.SUPERVISION

    teams.remove_member(session, clock, admin, municipality.id, team.id, caseworker.id)
    assert not access(session_factory, clock, supervisor, standard_case.id).allowed
    teams.set_member(session, clock, admin, municipality.id, team.id, caseworker.id)
    teams.retire_team(session, clock, admin, municipality.id, team.id)
    assert not access(session_factory, clock, supervisor, standard_case.id).allowed


def test_team_membership_needs_the_matching_role_and_every_change_is_audited(
        session, session_factory, clock, admin, municipality, caseworker, supervisor, partner):
    team = teams.add_team(session, clock, admin, municipality.id, name="相談第1班")
    with pytest.raises(FormInvalid) as refused:
        teams.set_member(session, clock, admin, municipality.id, team.id, caseworker.id, supervises=True)
    assert [(e.field, e.code) for e in refused.value.errors] == [("user", "not_supervisor")]
    with pytest.raises(FormInvalid) as refused:
        teams.set_member(session, clock, admin, municipality.id, team.id, partner.id)
    assert [(e.field, e.code) for e in refused.value.errors] == [("user", "not_caseworker")]
    with pytest.raises(FormInvalid) as refused:
        teams.add_team(session, clock, admin, municipality.id, name="相談第1班")
    assert [(e.field, e.code) for e in refused.value.errors] == [("name", "name_taken")]
    teams.set_member(session, clock, admin, municipality.id, team.id, supervisor.id, supervises=True)
    teams.rename_team(session, clock, admin, municipality.id, team.id, name="相談A班")

    with session_factory() as check:
        actions = list(check.scalars(select(AuditRecord.action).where(AuditRecord.action.like("team.%"))
                                     .order_by(AuditRecord.id)))
    assert actions == ["team.added", "team.member_added", "team.renamed"]


def test_a_team_of_another_municipality_is_not_found(session, clock, admin, municipality):
    town = MunicipalityRecord(code="139998", name="となり町")
    session.add(town)
    session.commit()
    team = teams.add_team(session, clock, None, town.id, name="となり班", operator="ops")
    with pytest.raises(NotFound):
        teams.get_team(session, admin, municipality.id, team.id)


def test_after_closure_and_the_grace_period_only_staff_and_supervisors_read_the_case(
        story, session, session_factory, clock, admin, municipality):
    cast = story.cast
    team_of(session, clock, admin, municipality, "相談第1班", [cast.caseworker], [cast.supervisor])
    case = story.start()
    story.to_council(case, consent_bodies=("shakyo",))
    shakyo = cast.partners["shakyo"]
    before = {who: access(session_factory, clock, user, case.id).basis
              for who, user in (("staff", cast.caseworker), ("supervisor", cast.supervisor),
                                ("coordinator", cast.coordinator), ("consent", shakyo))}
    assert before == {"staff": Basis.STAFF, "supervisor": Basis.SUPERVISION, "coordinator": Basis.COUNCIL,
                      "consent": Basis.CONSENT}
    with session_factory() as change:  # the case closes now (the closing step itself is another test's)
        change.get(CaseRecord, case.id).completed_at = clock()
        change.commit()

    clock.advance(timedelta(days=30))  # still within the municipality's 30 days of grace
    assert access(session_factory, clock, cast.coordinator, case.id).basis == Basis.COUNCIL
    assert access(session_factory, clock, shakyo, case.id).basis == Basis.CONSENT
    clock.advance(timedelta(minutes=1))
    after = {who: access(session_factory, clock, user, case.id)
             for who, user in (("staff", cast.caseworker), ("supervisor", cast.supervisor),
                               ("coordinator", cast.coordinator), ("consent", shakyo))}
    assert {who: found.basis for who, found in after.items()} == {
        "staff": Basis.STAFF, "supervisor": Basis.SUPERVISION, "coordinator": None, "consent": None}


@pytest.mark.parametrize("basis", ["lead_body", "action"])
def test_lead_body_and_action_access_end_with_the_grace_period(story, session_factory, clock, basis):
    from tsunagu.engine.casefile.tables import SupportActionRecord

    cast = story.cast
    case = story.start()
    story.to_council(case, consent_bodies=("shakyo",))
    story.attend(case, "shakyo", "houkatsu")
    kind = story.action_type("care_referral")
    story.decide(case, [{"action_type_id": kind.id}] if basis == "action" else [])
    with session_factory() as session:
        owner = session.scalar(select(SupportActionRecord.owner_body_id).where(SupportActionRecord.case_id == case.id))
    user = cast.partners["shakyo"] if basis == "lead_body" else next(
        u for u in cast.partners.values() if u.organisation_id == owner)
    assert access(session_factory, clock, user, case.id).allowed
    with session_factory() as change:
        change.get(CaseRecord, case.id).completed_at = clock()
        change.commit()
    clock.advance(timedelta(days=31))
    assert not access(session_factory, clock, user, case.id).allowed


def test_a_shorter_grace_period_set_by_the_administrator_ends_access_sooner(
        story, session, session_factory, clock, admin, municipality):
    from tsunagu.engine.admin.settings import set_security_settings

    case = story.start()
    story.to_council(case, consent_bodies=("shakyo",))
    set_security_settings(session, clock, admin, municipality.id, require_second_factor=False, idle_minutes=None,
                          closure_grace_days=1)
    with session_factory() as change:
        change.get(CaseRecord, case.id).completed_at = clock()
        change.commit()
    clock.advance(timedelta(days=2))
    assert not access(session_factory, clock, story.cast.partners["shakyo"], case.id).allowed
    assert access(session_factory, clock, story.cast.caseworker, case.id).basis == Basis.STAFF


@pytest.mark.parametrize("value,code", [("0", "minimum"), ("3651", "maximum"), ("x", "type"), ("", "required")])
def test_the_access_periods_are_validated(session, clock, admin, municipality, value, code):
    from tsunagu.engine.admin.settings import set_security_settings

    with pytest.raises(FormInvalid) as refused:
        set_security_settings(session, clock, admin, municipality.id, require_second_factor=False, idle_minutes=None,
                              closure_grace_days=value, council_window_days=value)
    assert [(e.field, e.code) for e in refused.value.errors] == [("closure_grace_days", code),
                                                                 ("council_window_days", code)]


def test_an_intake_consultation_date_in_the_future_is_refused(session, session_factory, clock, caseworker,
                                                             standard_case):
    from tsunagu.engine.commands import cases

    from .helpers import open_task

    task = open_task(session_factory, standard_case.id)
    with pytest.raises(FormInvalid) as refused:
        cases.complete_task(session, clock, caseworker, task.id, intake(consultation_date="2026-11-28"))
    assert [(e.field, e.code, e.params) for e in refused.value.errors] == [
        ("consultation_date", "x_not_after", {"limit": "2026-11-27"})]
    cases.complete_task(session, clock, caseworker, task.id, intake(consultation_date="2026-11-27"))


def test_a_tabling_for_a_meeting_in_the_past_is_refused(story):
    from .scenario import tabling

    case = story.start()
    story.to_consent(case)
    story.complete(case, "consent_capture", story.cast.caseworker, story.consent_given())
    with pytest.raises(FormInvalid) as refused:
        story.complete(case, "table_case", story.cast.coordinator, tabling("2026-11-26"))
    assert [(e.field, e.code) for e in refused.value.errors] == [("meeting_date", "x_not_before")]
    story.complete(case, "table_case", story.cast.coordinator, tabling("2026-11-27"))


def test_a_council_decision_with_a_next_review_in_the_past_is_refused(story, clock):
    case = story.start()
    story.to_council(case)
    clock.advance(timedelta(days=60))  # the meeting (2026-12-03) was held; its next review may not be before today
    with pytest.raises(FormInvalid) as refused:
        story.decide(case, next_review_on="2027-01-10")
    assert [(e.field, e.code) for e in refused.value.errors] == [("next_review_on", "x_not_before")]


def test_a_council_decision_before_its_meeting_day_is_refused_and_on_the_day_recorded(story, clock):
    case = story.start()
    story.to_council(case)  # tabled on 2026-11-27 for the meeting of 2026-12-03
    meeting_id = story.latest_agenda_item(case).meeting_id
    data = {"situation": "状況", "risk": "normal", "plan": "プラン", "lead_body_id": story.cast.bodies["shakyo"].id,
            "next_review_on": "2027-01-10"}
    clock.advance(timedelta(days=5, hours=14, minutes=59))  # 2026-12-02 23:59 in Japan: the day before
    with story.session_factory() as session, pytest.raises(FormInvalid) as refused:
        council.record_decision(session, clock, session.get(UserRecord, story.cast.coordinator.id), meeting_id,
                                case.id, data)
    assert [(e.field, e.code, e.params) for e in refused.value.errors] == [
        ("meeting", "before_meeting", {"limit": "2026-12-03"})]
    assert story.rows(CouncilDecisionRecord, case) == []
    clock.advance(timedelta(minutes=1))  # midnight in Japan: the meeting's day
    story.decide(case, next_review_on="2027-01-10")
    assert len(story.rows(CouncilDecisionRecord, case)) == 1
