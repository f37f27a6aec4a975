"""Handing a team's tasks on: take over, assign, unclaim and due dates, each with a reason, audited in the same
transaction, refused with stable codes outside the supervisor's team."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tsunagu.engine.access import users
from tsunagu.engine.admin import teams
from tsunagu.engine.commands import cases, handover, supervision
from tsunagu.engine.errors import Conflict, FormInvalid, InvalidState, NotFound
from tsunagu.engine.models import AuditRecord, TaskRecord, TaskStatus
from tsunagu.engine.ops.tables import NotificationRecord


@pytest.fixture
def crew(session, clock, municipality, caseworker, user_password):
    def make(name, roles):
        user = users.create_user(session, clock, municipality_id=municipality.id, username=name, display_name=name,
                                 password=user_password, roles=roles)
        session.commit()
        return user
    admin = make("admin", ["admin"])
    # A supervisor who also works caseworker tasks can take one over; one who does not can only hand it on.
    lead = make("lead", ["supervisor", "caseworker"])
    outsider = make("outsider", ["supervisor", "caseworker"])
    colleague = make("colleague", ["caseworker"])
    team = teams.add_team(session, clock, admin, municipality.id, name="相談第1班")
    teams.set_member(session, clock, admin, municipality.id, team.id, caseworker.id)
    teams.set_member(session, clock, admin, municipality.id, team.id, colleague.id)
    teams.set_member(session, clock, admin, municipality.id, team.id, lead.id, supervises=True)
    return {"lead": lead, "outsider": outsider, "colleague": colleague, "worker": caseworker}


@pytest.fixture
def task(session, clock, timer_version, crew):
    """The first task of a case the team's caseworker opened, claimed by that caseworker."""
    case = cases.start_case(session, clock, crew["worker"], timer_version, "山田さん")
    found = session.scalars(select(TaskRecord).where(TaskRecord.case_id == case.id)).one()
    return cases.claim_task(session, clock, crew["worker"], found.id)


def audit_rows(session, action):
    return session.scalars(select(AuditRecord).where(AuditRecord.action == action)).all()


def test_a_supervisor_takes_over_a_task_claimed_by_a_caseworker_in_one_step(session, clock, crew, task):
    handover.take_over_task(session, clock, crew["lead"], task.id, "長期休暇のため")

    assert session.get(TaskRecord, task.id).assignee_id == crew["lead"].id
    row = audit_rows(session, "task.taken_over")[0]
    assert (row.detail["before"], row.detail["after"], row.detail["reason"]) == (
        crew["worker"].id, crew["lead"].id, "長期休暇のため")
    told = session.scalars(select(NotificationRecord).where(NotificationRecord.task_id == task.id)).all()
    assert [(n.user_id, n.kind) for n in told] == [(crew["worker"].id, "task_taken_away")]
    # the taken-over task can be completed by its new holder, and no longer by the old one
    with pytest.raises(Conflict):
        cases.complete_task(session, clock, crew["worker"], task.id, {"note": "x"})


def test_a_supervisor_outside_the_team_is_refused_with_a_stable_code(session, clock, crew, task):
    with pytest.raises(handover.NotInTeam) as refused:
        handover.take_over_task(session, clock, crew["outsider"], task.id, "理由")
    assert refused.value.code == "task_not_in_team"
    with pytest.raises(supervision.SupervisorOnly):
        handover.reassign_task(session, clock, crew["colleague"], task.id, crew["colleague"].id, "理由")
    with pytest.raises(NotFound):
        handover.reassign_task(session, clock, crew["lead"], 2**31 - 1, crew["colleague"].id, "理由")
    assert session.get(TaskRecord, task.id).assignee_id == crew["worker"].id


def test_a_reason_is_required_and_at_most_500_characters(session, clock, crew, task):
    for reason, code in ((None, "required"), ("  ", "required"), ("あ" * 501, "maxLength")):
        with pytest.raises(FormInvalid) as invalid:
            handover.reassign_task(session, clock, crew["lead"], task.id, crew["colleague"].id, reason)
        assert [(e.field, e.code) for e in invalid.value.errors] == [("reason", code)]
    assert not audit_rows(session, "task.reassigned")


def test_the_holder_unclaims_their_own_task_and_a_supervisor_assigns_it_again(session, clock, crew, task):
    handover.unclaim_task(session, clock, crew["worker"], task.id, "担当替え")
    assert session.get(TaskRecord, task.id).assignee_id is None
    with pytest.raises(handover.TaskNotClaimed):
        handover.take_over_task(session, clock, crew["lead"], task.id, "理由")

    handover.assign_task(session, clock, crew["lead"], task.id, crew["colleague"].id, "空いているため")
    assert session.get(TaskRecord, task.id).assignee_id == crew["colleague"].id
    with pytest.raises(handover.TaskAlreadyClaimed):
        handover.assign_task(session, clock, crew["lead"], task.id, crew["worker"].id, "理由")
    assert [r.detail["reason"] for r in audit_rows(session, "task.unclaimed")] == ["担当替え"]
    assert audit_rows(session, "task.assigned")[-1].detail["after"] == crew["colleague"].id


def test_a_new_due_date_must_not_be_in_the_past_in_japan(session, clock, crew, task):
    # 2026-11-27 09:00 in Japan: the 26th is past, the 27th (today) is allowed
    with pytest.raises(FormInvalid) as invalid:
        handover.change_due_date(session, clock, crew["lead"], task.id, "2026-11-26", "延長")
    assert [(e.field, e.code) for e in invalid.value.errors] == [("due_on", "date_in_past")]
    with pytest.raises(FormInvalid):
        handover.change_due_date(session, clock, crew["lead"], task.id, "2026-02-30", "延長")
    handover.change_due_date(session, clock, crew["lead"], task.id, "2026-11-27", "延長")
    moved = session.get(TaskRecord, task.id)
    assert moved.due_at > clock() and moved.due_at < clock() + timedelta(days=1)
    assert [n.kind for n in session.scalars(select(NotificationRecord).where(
        NotificationRecord.user_id == crew["worker"].id))] == ["task_due_changed"]


def test_a_repeated_handover_to_the_same_person_renews_the_notice(session, clock, crew, task):
    handover.reassign_task(session, clock, crew["lead"], task.id, crew["colleague"].id, "一回目")
    handover.reassign_task(session, clock, crew["lead"], task.id, crew["worker"].id, "戻す")
    handover.reassign_task(session, clock, crew["lead"], task.id, crew["colleague"].id, "二回目")
    notices = session.scalars(select(NotificationRecord).where(
        NotificationRecord.user_id == crew["colleague"].id, NotificationRecord.kind == "task_reassigned")).all()
    assert len(notices) == 1 and notices[0].read_at is None
    assert len(audit_rows(session, "task.reassigned")) == 3


def test_a_finished_task_cannot_be_handed_on(session, clock, crew, task):
    cases.complete_task(session, clock, crew["worker"], task.id, {"note": "済"})
    assert session.get(TaskRecord, task.id).status == TaskStatus.COMPLETED
    with pytest.raises(InvalidState) as refused:
        handover.reassign_task(session, clock, crew["lead"], task.id, crew["colleague"].id, "理由")
    assert refused.value.code == "invalid_state"
