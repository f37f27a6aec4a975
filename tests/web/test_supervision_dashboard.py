"""The supervisor's dashboard: the team's overdue reviews counted and listed, nobody else's; tasks handed on
with a reason, beside-the-field refusals in Japanese; a task claimed by someone else read-only on its page."""
from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from conftest import reread
from sqlalchemy import event, select

from tsunagu.engine.access import users
from tsunagu.engine.admin import teams
from tsunagu.engine.commands import cases
from tsunagu.engine.models import AuditRecord, TaskRecord, TaskStatus
from tsunagu.engine.ops.tables import NotificationRecord
from tsunagu.web.extensions import db


@pytest.fixture
def people(session, clock, municipality, admin, caseworker, supervisor, user_password):
    """Two teams: 第1班 (caseworker, caseworker_b; supervised by supervisor) and 第2班 (other_worker;
    supervised by other_supervisor)."""
    def make(name, roles):
        user = users.create_user(session, clock, municipality_id=municipality.id, username=name,
                                 display_name=name, password=user_password, roles=roles)
        session.commit()
        return user
    crew = {"caseworker": caseworker, "supervisor": supervisor,
            "caseworker_b": make("caseworker_b", ["caseworker"]), "other_worker": make("other_worker", ["caseworker"]),
            "other_supervisor": make("other_supervisor", ["supervisor"])}
    first = teams.add_team(session, clock, admin, municipality.id, name="相談第1班")
    for worker in (caseworker, crew["caseworker_b"]):
        teams.set_member(session, clock, admin, municipality.id, first.id, worker.id)
    teams.set_member(session, clock, admin, municipality.id, first.id, supervisor.id, supervises=True)
    second = teams.add_team(session, clock, admin, municipality.id, name="相談第2班")
    teams.set_member(session, clock, admin, municipality.id, second.id, crew["other_worker"].id)
    teams.set_member(session, clock, admin, municipality.id, second.id, crew["other_supervisor"].id, supervises=True)
    return crew


def open_case(session, clock, version, worker, title):
    """A real case started by `worker` (who becomes its staff), waiting on its first caseworker task."""
    return cases.start_case(session, clock, worker, version, title)


def add_review(session, clock, case, *, days_late=2, assignee=None, element="follow_up_review", kind="review"):
    """An open review task of the case, `days_late` past due (negative: due in the future)."""
    task = TaskRecord(case_id=case.id, municipality_id=case.municipality_id, spiff_task_id=str(uuid.uuid4()),
                      element_id=element, kind=kind, name="モニタリング・評価", role="caseworker", status=TaskStatus.OPEN,
                      assignee_id=assignee.id if assignee else None, created_at=clock() - timedelta(days=30),
                      due_at=clock() - timedelta(days=days_late))
    session.add(task)
    session.commit()
    return task


@pytest.fixture
def seeded(session, clock, timer_version, people):
    """3 overdue reviews on 第1班's cases, 1 on 第2班's, 1 of 第1班 not yet due."""
    ours = [open_case(session, clock, timer_version, people["caseworker"], f"第1班ケース{i}") for i in range(3)]
    theirs = open_case(session, clock, timer_version, people["other_worker"], "第2班ケース")
    tasks = [add_review(session, clock, case, days_late=i + 1, assignee=people["caseworker"]) for i, case in
             enumerate(ours)]
    add_review(session, clock, theirs, assignee=people["other_worker"])
    add_review(session, clock, ours[0], days_late=-3)
    return {"ours": ours, "theirs": theirs, "tasks": tasks}


def figure(html: str, name: str) -> int:
    found = re.search(rf'id="figure-{name}".*?<span class="number">(\d+)</span>', html, re.S)
    assert found, name
    return int(found.group(1))


def test_the_dashboard_counts_the_teams_three_overdue_reviews_and_the_list_behind_has_exactly_those_cases(
        client, login, session, seeded, people):
    login(people["supervisor"])
    page = client.get("/supervision")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert figure(html, "reviews") == 3 and figure(html, "overdue") == 3 and figure(html, "due-soon") == 1
    assert "相談第1班" in html and "第2班ケース" not in html
    assert "/cases?overdue=1" in html and "/cases?status=error" in html
    listed = client.get("/supervision/lists/reviews").get_data(as_text=True)
    shown = set(re.findall(r'href="/cases/(\d+)"', listed))
    assert shown == {str(case.id) for case in seeded["ours"]}
    assert str(seeded["theirs"].reference) not in listed
    # the oldest lateness first
    order = [int(n) for n in re.findall(r'id="task-(\d+)"', listed)]
    assert order == [t.id for t in reversed(seeded["tasks"])]
    reread(session)
    viewed = session.scalars(select(AuditRecord).where(AuditRecord.action == "supervision.viewed")).all()
    assert len(viewed) == 1 and viewed[0].detail["overdue_reviews"] == 3
    listed_rows = session.scalars(select(AuditRecord).where(AuditRecord.action == "supervision.listed")).all()
    assert listed_rows[-1].detail["cases"] == sorted(case.id for case in seeded["ours"])


def test_the_other_teams_supervisor_sees_only_their_one_review(client, login, seeded, people):
    login(people["other_supervisor"])
    html = client.get("/supervision").get_data(as_text=True)
    assert figure(html, "reviews") == 1
    assert set(re.findall(r'href="/cases/(\d+)"', client.get("/supervision/lists/reviews").get_data(as_text=True))) \
        == {str(seeded["theirs"].id)}


def test_a_supervisor_in_no_team_is_told_why_the_dashboard_is_empty(client, login, session, clock, municipality,
                                                                   user_password):
    lone = users.create_user(session, clock, municipality_id=municipality.id, username="lone", display_name="lone",
                             password=user_password, roles=["supervisor"])
    session.commit()
    login(lone)
    page = client.get("/supervision")
    assert page.status_code == 200 and 'id="no-team"' in page.get_data(as_text=True)


def test_the_dashboard_runs_as_many_statements_for_30_tasks_as_for_3(app, client, login, session, clock,
                                                                     timer_version, people):
    case = open_case(session, clock, timer_version, people["caseworker"], "件数")
    login(people["supervisor"])

    def statements() -> int:
        seen: list[str] = []
        with app.app_context():
            engine = db.engine
        capture = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", capture)
        try:
            assert client.get("/supervision").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", capture)
        assert not any("workflow_state" in s for s in seen)  # never a workflow loaded
        return len(seen)

    for _ in range(3):
        add_review(session, clock, case)
    few = statements()
    for _ in range(27):
        add_review(session, clock, case)
    assert statements() == few


def test_reassignment_moves_the_task_notifies_the_new_assignee_and_audits_the_reason(client, login, session,
                                                                                    seeded, people):
    task = seeded["tasks"][0]
    login(people["supervisor"])
    page = client.post(f"/supervision/tasks/{task.id}/reassign",
                       data={"assignee": people["caseworker_b"].id, "reason": "休暇のため"})
    assert page.status_code == 302 and page.headers["Location"].endswith("/supervision")
    reread(session)
    moved = session.get(TaskRecord, task.id)
    assert moved.assignee_id == people["caseworker_b"].id
    notices = session.scalars(select(NotificationRecord).where(NotificationRecord.task_id == task.id)).all()
    assert {(n.user_id, n.kind) for n in notices} == {(people["caseworker_b"].id, "task_reassigned"),
                                                       (people["caseworker"].id, "task_taken_away")}
    row = session.scalars(select(AuditRecord).where(AuditRecord.action == "task.reassigned")).one()
    assert row.detail["before"] == people["caseworker"].id and row.detail["after"] == people["caseworker_b"].id
    assert row.detail["reason"] == "休暇のため" and row.case_id == task.case_id


def test_a_reassignment_without_a_reason_or_to_someone_who_cannot_work_it_is_refused_beside_the_fields(
        client, login, session, seeded, people):
    task = seeded["tasks"][0]
    login(people["supervisor"])
    page = client.post(f"/supervision/tasks/{task.id}/reassign",
                       data={"assignee": people["other_supervisor"].id, "reason": " "})
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    assert re.search(r'id="err-assignee">[^<]*担当', html) or 'id="err-assignee"' in html
    assert 'id="err-reason-reassign"' in html
    reread(session)
    assert session.get(TaskRecord, task.id).assignee_id == people["caseworker"].id


def test_a_due_date_in_the_past_is_refused_beside_the_field_and_a_later_one_is_kept(client, login, session, clock,
                                                                                   seeded, people):
    task = seeded["tasks"][0]
    login(people["supervisor"])
    yesterday = (clock() - timedelta(days=1)).date().isoformat()
    page = client.post(f"/supervision/tasks/{task.id}/due", data={"due_on": yesterday, "reason": "延長"})
    assert page.status_code == 422 and 'id="err-due_on"' in page.get_data(as_text=True)
    later = (clock() + timedelta(days=10)).date().isoformat()
    assert client.post(f"/supervision/tasks/{task.id}/due", data={"due_on": later, "reason": "延長"}).status_code == 302
    reread(session)
    changed = session.get(TaskRecord, task.id)
    assert changed.due_at > clock() and changed.overdue_noticed_at is None
    row = session.scalars(select(AuditRecord).where(AuditRecord.action == "task.due_changed")).one()
    assert row.detail["reason"] == "延長"


def test_a_caseworker_cannot_reassign_and_another_teams_supervisor_cannot_either(client, login, session, seeded,
                                                                                 people):
    task = seeded["tasks"][0]
    login(people["caseworker_b"])
    assert client.get("/supervision").status_code == 403
    page = client.post(f"/supervision/tasks/{task.id}/reassign",
                       data={"assignee": people["caseworker_b"].id, "reason": "私がやります"})
    assert page.status_code == 403
    client.post("/logout")
    login(people["other_supervisor"])
    page = client.post(f"/supervision/tasks/{task.id}/reassign",
                       data={"assignee": people["caseworker_b"].id, "reason": "x"})
    assert page.status_code == 403 and "task_not_in_team" in page.get_data(as_text=True)
    reread(session)
    assert session.get(TaskRecord, task.id).assignee_id == people["caseworker"].id


def test_a_task_claimed_by_another_is_read_only_with_ask_to_take_over(client, login, session, seeded, people):
    task = seeded["tasks"][0]
    login(people["caseworker_b"])
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'id="held-by-other"' in html and "<fieldset disabled" in html
    assert 'id="task-form"' not in html and 'id="ask-take-over"' in html and 'id="take-over"' not in html
    assert client.post(f"/supervision/tasks/{task.id}/ask").status_code == 302
    reread(session)
    asked = session.scalars(select(NotificationRecord).where(NotificationRecord.kind == "takeover_asked")).one()
    assert asked.user_id == people["caseworker"].id and "caseworker_b" in asked.subject
    assert session.scalars(select(AuditRecord).where(AuditRecord.action == "task.takeover_asked")).one()


def test_the_holder_sees_the_ordinary_form(client, login, seeded, people):
    login(people["caseworker"])
    html = client.get(f"/tasks/{seeded['tasks'][0].id}").get_data(as_text=True)
    assert 'id="task-form"' in html and 'id="held-by-other"' not in html


def test_a_supervisor_who_works_the_role_takes_over_from_the_task_page(client, login, session, clock, admin,
                                                                     municipality, seeded, people, user_password):
    lead = users.create_user(session, clock, municipality_id=municipality.id, username="lead", display_name="lead",
                             password=user_password, roles=["supervisor", "caseworker"])
    session.commit()
    team = teams.team_named(session, municipality.id, "相談第1班")
    teams.set_member(session, clock, admin, municipality.id, team.id, lead.id, supervises=True)
    task = seeded["tasks"][0]
    login(lead)
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'id="take-over"' in html and 'id="ask-take-over"' not in html and 'id="task-form"' not in html
    refused = client.post(f"/supervision/tasks/{task.id}/take-over", data={"reason": ""})
    assert refused.status_code == 302
    reread(session)
    assert session.get(TaskRecord, task.id).assignee_id == people["caseworker"].id
    taken = client.post(f"/supervision/tasks/{task.id}/take-over", data={"reason": "不在のため"})
    assert taken.status_code == 302 and taken.headers["Location"].endswith(f"/tasks/{task.id}")
    assert 'id="task-form"' in client.get(f"/tasks/{task.id}").get_data(as_text=True)
    reread(session)
    assert session.get(TaskRecord, task.id).assignee_id == lead.id


def test_the_handover_page_lists_only_people_who_may_work_the_task_and_odd_input_is_refused_calmly(
        client, login, seeded, people):
    task = seeded["tasks"][0]
    login(people["supervisor"])
    html = client.get(f"/supervision/tasks/{task.id}").get_data(as_text=True)
    options = re.findall(r'<option value="(\d+)"', html)
    assert str(people["caseworker_b"].id) in options and str(people["other_supervisor"].id) not in options
    for data in ({"assignee": "abc", "reason": "x"}, {"assignee": "9" * 40, "reason": "x" * 600}, {}):
        assert client.post(f"/supervision/tasks/{task.id}/reassign", data=data).status_code == 422
    assert client.post(f"/supervision/tasks/{task.id}/due", data={"due_on": "2026-02-30", "reason": "x"}).status_code \
        == 422
    assert client.get("/supervision/lists/nonsense").status_code == 404
    assert client.get("/supervision/lists/unassigned?role=caseworker").status_code == 200
