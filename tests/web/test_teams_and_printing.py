"""Administrators set up teams and the access periods; case staff print a case file, the coordinating body
prints a meeting's agenda, and both prints are audited (the agenda's as disclosures)."""
from __future__ import annotations

import pytest
from conftest import reread
from page_text import element, text
from sqlalchemy import select

from tsunagu.engine.access import users
from tsunagu.engine.admin import teams
from tsunagu.engine.casefile.governance import CouncilMemberRecord, CouncilRecord
from tsunagu.engine.casefile.tables import DisclosureRecord, TeamMemberRecord
from tsunagu.engine.commands import council
from tsunagu.engine.models import AuditRecord, MunicipalityRecord


def english(client) -> None:
    client.post("/lang/en", data={"next": "/"})


@pytest.fixture
def team_supervisor(session, clock, municipality, caseworker, user_password):
    """A supervisor who supervises the caseworker's team."""
    boss = users.create_user(session, clock, municipality_id=municipality.id, username="team-boss",
                             display_name="監督 太郎", password=user_password, roles=["supervisor"])
    session.commit()
    team = teams.add_team(session, clock, None, municipality.id, name="相談第1班", operator="test")
    teams.set_member(session, clock, None, municipality.id, team.id, caseworker.id, operator="test")
    teams.set_member(session, clock, None, municipality.id, team.id, boss.id, supervises=True, operator="test")
    return boss


@pytest.fixture
def council_member(session, clock, municipality, bodies, coordinator, user_password):
    """A council member of 社協, whose body attends the meetings it is invited to (社協 and the NPO are the
    council's member bodies)."""
    council = session.scalar(select(CouncilRecord))
    session.add_all(CouncilMemberRecord(council_id=council.id, organisation_id=bodies[key].id)
                    for key in ("shakyo", "npo"))
    user = users.create_user(session, clock, municipality_id=municipality.id, username="member",
                             display_name="社協 一郎", password=user_password, roles=["council_member"],
                             organisation_id=bodies["shakyo"].id)
    session.commit()
    return user


def audits(session, action_prefix):
    reread(session)
    return [(a.action, a.actor_id, a.case_id, a.detail.get("basis")) for a in session.scalars(
        select(AuditRecord).where(AuditRecord.action.like(action_prefix + "%")).order_by(AuditRecord.id))]


def test_an_administrator_builds_a_team_with_a_caseworker_and_its_supervisor(
        client, login, session, admin, caseworker, supervisor):
    login(admin)
    english(client)
    response = client.post("/admin/teams", data={"name": "相談第1班"})
    assert response.status_code == 302
    team_url = response.headers["Location"]
    refused = client.post(team_url + "/members", data={"user_id": str(caseworker.id), "supervises": "on"})
    assert refused.status_code == 422
    assert text(element(refused.get_data(as_text=True), "err-user_id")) == \
        "Only a staff member with the supervisor role can supervise a team."
    assert client.post(team_url + "/members", data={"user_id": str(caseworker.id)}).status_code == 302
    assert client.post(team_url + "/members", data={"user_id": str(supervisor.id), "supervises": "on"}).status_code == 302

    row = text(element(client.get("/admin/teams").get_data(as_text=True), "teams"))
    assert "相談第1班" in row and "caseworker" in row and "supervisor" in row
    reread(session)
    assert sorted((m.user_id, m.supervises) for m in session.scalars(select(TeamMemberRecord))) == sorted(
        [(caseworker.id, False), (supervisor.id, True)])
    assert [a[0] for a in audits(session, "team.")] == ["team.added", "team.member_added", "team.member_added"]


def test_a_caseworker_may_not_open_the_teams_page(client, login, caseworker):
    login(caseworker)
    assert client.get("/admin/teams").status_code in (403, 404)


def test_the_security_page_stores_the_access_periods_and_refuses_out_of_range(client, login, session, admin):
    login(admin)
    english(client)
    page = client.get("/admin/security").get_data(as_text=True)
    assert 'value="30"' in element(page, "closure_grace_days") and 'value="30"' in element(page, "council_window_days")
    bad = client.post("/admin/security", data={"idle_minutes": "", "closure_grace_days": "0",
                                               "council_window_days": "3651"})
    assert bad.status_code == 422
    assert text(element(bad.get_data(as_text=True), "err-closure_grace_days")) == "Enter 1 or more."
    assert text(element(bad.get_data(as_text=True), "err-council_window_days")) == "Enter 3650 or less."
    assert client.post("/admin/security", data={"idle_minutes": "", "closure_grace_days": "7",
                                                "council_window_days": "45"}).status_code == 302
    reread(session)
    town = session.get(MunicipalityRecord, admin.municipality_id)
    assert (town.closure_grace_days, town.council_window_days) == (7, 45)


def test_case_staff_and_their_supervisor_print_the_case_file_and_each_print_is_audited(
        client, login, session, caseworker, team_supervisor, start_council_case):
    case = start_council_case(until="consented")
    login(caseworker)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert f'href="/cases/{case.id}/print"' in element(page, "print-link")
    printed = client.get(f"/cases/{case.id}/print")
    assert printed.status_code == 200
    html = printed.get_data(as_text=True)
    assert case.reference in html and "print.css" in html and "山田 花子" in html
    assert 'id="print-secret"' in html
    client.post("/logout")
    login(team_supervisor)
    assert client.get(f"/cases/{case.id}/print").status_code == 200
    assert audits(session, "case.print") == [("case.printed", caseworker.id, case.id, "staff"),
                                             ("case.printed", team_supervisor.id, case.id, "supervision")]


def test_a_council_member_may_read_the_tabled_case_but_not_print_it(
        client, login, session, council_member, bodies, start_council_case, meeting_of):
    case = start_council_case(until="tabled", basis="council_art16")  # 社協 attends the meeting
    login(council_member)
    assert client.get(f"/cases/{case.id}").status_code == 200
    assert client.get(f"/cases/{case.id}/print").status_code == 403
    assert audits(session, "case.print") == [("case.print_refused", council_member.id, case.id, "council")]


def test_printing_the_agenda_logs_a_council_disclosure_for_each_case_to_the_attending_bodies(
        client, login, session, clock, coordinator, caseworker, bodies, start_council_case, meeting_of):
    first = start_council_case("山田さん", basis="council_art16")
    second = start_council_case("佐藤さん", person="佐藤 一郎", basis="council_art16")
    meeting = meeting_of(first)
    council.set_attendees(session, clock, coordinator, meeting.id, [bodies["npo"].id])  # only the NPO attends
    login(coordinator)
    assert f"/council/meetings/{meeting.id}/print" in element(
        client.get(f"/council/{meeting.id}").get_data(as_text=True), "print-agenda-link")
    printed = client.get(f"/council/meetings/{meeting.id}/print")
    assert printed.status_code == 200
    html = printed.get_data(as_text=True)
    assert first.reference in html and second.reference in html and 'id="secrecy-notice"' in html
    reread(session)
    shared = session.scalars(select(DisclosureRecord).where(DisclosureRecord.reason.like("協議会資料の印刷%"))
                             .order_by(DisclosureRecord.case_id)).all()
    assert [(d.case_id, d.recipient, d.basis, d.purpose, d.recorded_by_id) for d in shared] == [
        (first.id, "NPO法人 つながる居場所", "council", "council", coordinator.id),
        (second.id, "NPO法人 つながる居場所", "council", "council", coordinator.id)]
    assert ("case.printed", coordinator.id, first.id, "council") in audits(session, "case.print")
    client.post("/logout")
    login(caseworker)
    assert client.get(f"/council/meetings/{meeting.id}/print").status_code in (403, 404)


def test_the_supervisor_of_the_team_reviews_an_emergency_sharing_without_breaking_the_glass(
        client, login, session, clock, caseworker, team_supervisor, standard_version, catalogue):
    from conftest import STANDARD_ASSESSMENT, STANDARD_INTAKE, complete_element

    from tsunagu.engine.commands import cases, queries

    case = cases.start_case(session, clock, caseworker, standard_version, "危機対応")
    complete_element(session, clock, caseworker, case, "intake",
                     dict(STANDARD_INTAKE, special_care=["mental_health", "suicidal_thoughts"]))
    complete_element(session, clock, caseworker, case, "baseline_assessment", STANDARD_ASSESSMENT)
    complete_element(session, clock, caseworker, case, "crisis_safety_action", {
        "action_taken": "保健師と同行訪問し安全を確認した", "bodies_informed": "保健センター",
        "life_protection_reason": "希死念慮の訴えがあり、同意を得る時間がなかった", "action_date": "2026-11-27"})
    review = next(t for t in queries.open_tasks_of_case(session, case.id) if t.element_id == "crisis_review")

    login(team_supervisor)
    english(client)
    page = client.get(f"/tasks/{review.id}").get_data(as_text=True)
    shared = text(element(page, "disclosures-to-review"))
    assert "保健センター" in shared and "希死念慮の訴えがあり、同意を得る時間がなかった" in shared
    case_page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert text(element(case_page, "access-basis")) == "Supervisor of the caseworker's team"
    assert "break-glass-banner" not in case_page
    reread(session)
    assert session.scalar(select(AuditRecord).where(AuditRecord.action == "case.break_glass")) is None
