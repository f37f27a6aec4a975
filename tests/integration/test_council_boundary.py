"""The council's confidentiality boundary: attendees chosen per case, joint councils across
municipalities, and the command line that chooses who attends."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from tsunagu.engine.access import users
from tsunagu.engine.access.policy import Basis, case_access
from tsunagu.engine.casefile.governance import CouncilMunicipalityRecord
from tsunagu.engine.casefile.tables import (
    AgendaItemRecord,
    CouncilMeetingRecord,
    MeetingBodyRecord,
    OrganisationKind,
    OrganisationRecord,
)
from tsunagu.engine.clock import system_clock
from tsunagu.engine.commands import cases, council
from tsunagu.engine.errors import FormInvalid
from tsunagu.engine.models import AuditRecord, CaseRecord, MunicipalityRecord, UserRecord
from tsunagu.engine.runtime.forms import today_in_japan
from tsunagu.web.cli import main

from .scenario import MEETING, assessment, intake


def _member(session, clock, municipality, body, name, user_password):
    user = users.create_user(session, clock, municipality_id=municipality.id, username=name, display_name=name,
                             password=user_password, roles=["council_member"], organisation_id=body.id)
    session.commit()
    return user


def _reads(session, clock, user, case_id):
    session.expire_all()
    return case_access(session, session.get(UserRecord, user.id), session.get(CaseRecord, case_id), clock())


def test_bodies_chosen_for_one_case_replace_the_meetings_bodies_for_that_case_only(
        story, session, clock, municipality, bodies, user_password):
    case = story.start()
    story.to_council(case, consent_bodies=("npo_ibasho",))  # neither body below is named in the consent
    story.attend(case, "shakyo")  # the meeting's bodies
    shakyo = _member(session, clock, municipality, bodies["shakyo"], "member-shakyo", user_password)
    houkatsu = _member(session, clock, municipality, bodies["houkatsu"], "member-houkatsu", user_password)
    meeting_id = story.latest_agenda_item(case).meeting_id
    assert _reads(session, clock, shakyo, case.id).basis == Basis.COUNCIL
    assert not _reads(session, clock, houkatsu, case.id).allowed

    council.set_attendees(session, clock, session.get(UserRecord, story.cast.coordinator.id), meeting_id,
                          [bodies["houkatsu"].id], case.id)

    assert _reads(session, clock, houkatsu, case.id).basis == Basis.COUNCIL
    assert not _reads(session, clock, shakyo, case.id).allowed
    row = session.scalar(select(AuditRecord).where(AuditRecord.action == "council.attendees_set"))
    assert row.case_id == case.id and row.detail["bodies"] == [bodies["houkatsu"].id]


def test_two_cases_on_one_agenda_with_different_attendees_each_body_reads_only_its_case_and_decisions_move_both(
        story, session, clock, municipality, bodies, user_password):
    first, second, elsewhere = story.start("一人目"), story.start("二人目"), story.start("別の会議")
    for case in (first, second):
        story.to_council(case, consent_bodies=("npo_ibasho",))  # neither attending body is named in a consent
    story.to_council(elsewhere, meeting_date="2026-12-10", consent_bodies=("npo_ibasho",))
    meeting_id = story.latest_agenda_item(first).meeting_id
    assert story.latest_agenda_item(second).meeting_id == meeting_id
    coordinator = session.get(UserRecord, story.cast.coordinator.id)
    council.set_attendees(session, clock, coordinator, meeting_id, [bodies["shakyo"].id], first.id)
    council.set_attendees(session, clock, coordinator, meeting_id, [bodies["houkatsu"].id], second.id)
    shakyo = _member(session, clock, municipality, bodies["shakyo"], "member-shakyo", user_password)
    houkatsu = _member(session, clock, municipality, bodies["houkatsu"], "member-houkatsu", user_password)
    assert _reads(session, clock, shakyo, first.id).basis == Basis.COUNCIL
    assert not _reads(session, clock, shakyo, second.id).allowed
    assert _reads(session, clock, houkatsu, second.id).basis == Basis.COUNCIL
    assert not _reads(session, clock, houkatsu, first.id).allowed

    for case in (first, second):
        story.decide(case, meeting_id=meeting_id)
    assert [d.meeting_id for d in story.decisions(first) + story.decisions(second)] == [meeting_id, meeting_id]
    # Each decided case left its wait for the decision (it now waits for its next review); the third did not.
    for case in (first, second):
        decision_id = story.decisions(case)[0].id
        assert story.data_at(case, "apply_council_decision")["decision_id"] == decision_id
        assert story.case(case).latest_decision_id == decision_id
    assert story.decisions(elsewhere) == [] and story.case(elsewhere).latest_decision_id is None
    assert story.latest_agenda_item(elsewhere).decision_id is None


def test_each_body_newly_reaching_a_tabled_cases_papers_is_one_disclosure_in_the_deciders_name(
        story, session, clock, bodies):
    first, second = story.start(), story.start("佐藤さんの相談")
    story.to_council(first)
    story.to_council(second)  # both on the meeting of 2026-12-03; the consent names 社協 and the NPO only
    meeting_id = story.latest_agenda_item(first).meeting_id
    coordinator = session.get(UserRecord, story.cast.coordinator.id)

    def shared(case):
        return sorted((d.recipient, d.basis, d.purpose) for d in story.disclosures(case)
                      if d.recipient in (bodies["houkatsu"].name, bodies["minsei"].name))

    council.set_attendees(session, clock, coordinator, meeting_id, [bodies["houkatsu"].id])
    assert shared(first) == shared(second) == [(bodies["houkatsu"].name, "council", "council")]
    council.set_attendees(session, clock, coordinator, meeting_id, [bodies["houkatsu"].id, bodies["minsei"].id])
    assert shared(first) == sorted([(bodies["minsei"].name, "council", "council"),
                                    (bodies["houkatsu"].name, "council", "council")])
    council.set_attendees(session, clock, coordinator, meeting_id, [bodies["minsei"].id], second.id)
    assert len(shared(second)) == 2  # the minsei already had the papers: choosing it alone shares nothing new
    assert all(d.recorded_by_id == coordinator.id for d in story.disclosures(first) if d.purpose == "council"
               and d.recipient == bodies["minsei"].name)


def test_a_body_outside_the_council_cannot_be_chosen_to_attend(story, session, clock, municipality):
    case = story.start()
    story.to_council(case)
    meeting_id = story.latest_agenda_item(case).meeting_id
    other_town = MunicipalityRecord(code="139998", name="となり町")
    session.add(other_town)
    session.commit()
    stranger = OrganisationRecord(municipality_id=other_town.id, name="となり町社協", kind=OrganisationKind.MEMBER_BODY)
    session.add(stranger)
    session.commit()

    with pytest.raises(FormInvalid) as refused:
        council.set_attendees(session, clock, session.get(UserRecord, story.cast.coordinator.id), meeting_id,
                              [stranger.id], case.id)
    assert [(e.field, e.code) for e in refused.value.errors] == [("organisation_ids", "enum")]


def test_the_coordinator_of_a_joint_council_reads_its_tabled_cases_of_another_municipality_and_nothing_else(
        story, session, clock, council, user_password):
    # 共同設置: つながり市 and となり町 share the council that つながり市's 福祉課 coordinates.
    town = MunicipalityRecord(code="139998", name="となり町")
    lone = MunicipalityRecord(code="139980", name="はなれ村")
    session.add_all([town, lone])
    session.commit()
    session.add(CouncilMunicipalityRecord(council_id=council.id, municipality_id=town.id))
    session.commit()

    def tabled_case(municipality, council_id):
        worker = users.create_user(session, clock, municipality_id=municipality.id,
                                   username=f"worker-{municipality.code}", display_name="相談員",
                                   password=user_password, roles=["caseworker"])
        case = cases.start_case(session, clock, worker, session.merge(story.version), "相談")
        for element, data in (("intake", intake()), ("baseline_assessment", assessment())):
            task = next(t for t in story.tasks(case) if t.element_id == element and t.status.value == "open")
            cases.complete_task(session, clock, session.get(UserRecord, worker.id), task.id, data)
        meeting = CouncilMeetingRecord(municipality_id=municipality.id, council_id=council_id, title="会議",
                                       held_on=date.fromisoformat(MEETING), created_at=clock())
        session.add(meeting)
        session.flush()
        session.add(AgendaItemRecord(meeting_id=meeting.id, case_id=case.id, basis="council_art16",
                                     tabled_at=clock()))
        session.commit()
        return case

    joint = tabled_case(town, council.id)
    untabled = cases.start_case(session, clock, session.scalar(select(UserRecord).where(
        UserRecord.username == f"worker-{town.code}")), session.merge(story.version), "未付議")
    elsewhere = tabled_case(lone, None)

    coordinator = story.cast.coordinator
    assert _reads(session, clock, coordinator, joint.id).basis == Basis.COUNCIL
    assert not _reads(session, clock, coordinator, untabled.id).allowed
    assert not _reads(session, clock, coordinator, elsewhere.id).allowed


def test_the_command_line_chooses_who_attends_and_is_audited(story, session, clock, bodies, database_url):
    case = story.start()
    story.to_council(case)
    meeting_id = story.latest_agenda_item(case).meeting_id

    result = CliRunner().invoke(main, ["meeting", "attendees", str(meeting_id), "--case", str(case.id),
                                       "--body", str(bodies["minsei"].id), "--by", story.cast.coordinator.username],
                                 env={"TSUNAGU_DATABASE_URL": database_url})

    assert result.exit_code == 0, result.output
    assert bodies["minsei"].name in result.output
    session.expire_all()
    row = session.scalar(select(AuditRecord).where(AuditRecord.action == "council.attendees_set"))
    assert row.detail["via"] == "cli" and row.detail["bodies"] == [bodies["minsei"].id]
    assert row.actor_id == story.cast.coordinator.id
    shared = [(d.recipient, d.basis, d.recorded_by_id) for d in story.disclosures(case)
              if d.recipient == bodies["minsei"].name]
    assert shared == [(bodies["minsei"].name, "council", story.cast.coordinator.id)]


def test_the_command_line_refuses_a_decider_outside_the_coordinating_body(story, bodies, database_url):
    case = story.start()
    story.to_council(case)
    meeting_id = story.latest_agenda_item(case).meeting_id
    result = CliRunner().invoke(main, ["meeting", "attendees", str(meeting_id), "--body", str(bodies["minsei"].id),
                                       "--by", story.cast.caseworker.username],
                                env={"TSUNAGU_DATABASE_URL": database_url})
    assert result.exit_code == 1
    assert bodies["minsei"].name not in [d.recipient for d in story.disclosures(case)]


def test_the_case_list_names_tabled_cases_only_to_the_coordinating_body_and_team_cases_to_their_supervisor(
        story, session, clock, municipality, bodies, user_password):
    from tsunagu.engine.admin import teams
    from tsunagu.engine.commands import queries

    case = story.start()
    story.to_council(case)
    npo_coordinator = users.create_user(session, clock, municipality_id=municipality.id, username="npo-coord",
                                        display_name="NPO", password=user_password, roles=["coordinator"],
                                        organisation_id=bodies["npo_ibasho"].id)
    session.commit()
    today = clock().date()

    def listed(user):
        session.expire_all()
        return [c.id for c in queries.recent_cases(session, session.get(UserRecord, user.id), today)]

    assert case.id in listed(story.cast.coordinator)  # the designated coordinating body
    assert listed(npo_coordinator) == []  # the role alone names nothing
    assert listed(story.cast.supervisor) == []
    team = teams.add_team(session, clock, None, municipality.id, name="相談チーム", operator="test")
    teams.set_member(session, clock, None, municipality.id, team.id, story.cast.caseworker.id, operator="test")
    teams.set_member(session, clock, None, municipality.id, team.id, story.cast.supervisor.id, supervises=True,
                     operator="test")
    assert listed(story.cast.supervisor) == [case.id]


def test_an_emergency_opening_is_told_to_the_designated_coordinating_body_not_to_the_role(
        story, session, clock, municipality, bodies, user_password):
    from tsunagu.engine.access.security import open_break_glass
    from tsunagu.engine.ops.tables import NotificationRecord

    case = story.start()
    npo_coordinator = users.create_user(session, clock, municipality_id=municipality.id, username="npo-coord",
                                        display_name="NPO", password=user_password, roles=["coordinator"],
                                        organisation_id=bodies["npo_ibasho"].id)
    other_supervisor = users.create_user(session, clock, municipality_id=municipality.id, username="sv2",
                                         display_name="監督", password=user_password, roles=["supervisor"])
    session.commit()

    open_break_glass(session, clock, other_supervisor, case.id, "夜間に危険を示す電話があったため確認する", 2)

    told = set(session.scalars(select(NotificationRecord.user_id).where(NotificationRecord.kind == "break_glass")))
    assert told == {story.cast.coordinator.id} and npo_coordinator.id not in told


def test_the_command_line_schedules_a_meeting_and_records_its_minutes(story, session, bodies, database_url,
                                                                      tmp_path):
    # The command line runs on the real clock: dates here count from today in Japan.
    today = today_in_japan(system_clock())
    env = {"TSUNAGU_DATABASE_URL": database_url}
    by = ["--by", story.cast.coordinator.username]
    ahead = (today + timedelta(days=30)).isoformat()
    result = CliRunner().invoke(main, ["meeting", "schedule", "--date", ahead, "--kind", "review", *by], env=env)
    assert result.exit_code == 0, result.output
    session.expire_all()
    scheduled = session.scalar(select(CouncilMeetingRecord).where(CouncilMeetingRecord.held_on == today + timedelta(days=30)))
    assert scheduled.kind == "review" and scheduled.title == f"定例会（全ケースの進行管理） {ahead}"

    held = CouncilMeetingRecord(municipality_id=scheduled.municipality_id, council_id=scheduled.council_id,
                                title="臨時会議", held_on=today - timedelta(days=1), created_at=system_clock())
    session.add(held)
    session.flush()
    session.add(MeetingBodyRecord(meeting_id=held.id, organisation_id=bodies["minsei"].id))
    session.commit()
    notes = tmp_path / "minutes.txt"
    notes.write_text("民生委員から近況報告。", encoding="utf-8")
    result = CliRunner().invoke(main, ["meeting", "minutes", str(held.id), "--file", str(notes),
                                       "--present", str(bodies["minsei"].id), *by], env=env)
    assert result.exit_code == 0, result.output
    early = CliRunner().invoke(main, ["meeting", "minutes", str(scheduled.id), "--file", str(notes), *by], env=env)
    assert early.exit_code == 1 and "minutes_before_meeting" in early.output
    session.expire_all()
    assert session.get(CouncilMeetingRecord, held.id).minutes == "民生委員から近況報告。"
    assert session.get(MeetingBodyRecord, (held.id, bodies["minsei"].id)).present is True
