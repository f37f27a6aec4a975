"""Due-soon and overdue notices from the scheduler: once each, to the right people."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from tsunagu.engine.access.users import create_user
from tsunagu.engine.casefile.tables import OrganisationKind, OrganisationRecord
from tsunagu.engine.commands import cases
from tsunagu.engine.commands.scheduler import TimerPolicy, run_pass
from tsunagu.engine.models import MunicipalityRecord, TaskRecord, TaskStatus, UserRecord
from tsunagu.engine.ops.tables import NotificationRecord
from tsunagu.web.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn"
POLICY = TimerPolicy(due_soon_hours=24)


@pytest.fixture
def make_user(session, clock, municipality, user_password):
    def make(username, role, municipality_id=None, organisation=None):
        user = create_user(session, clock, municipality_id=municipality_id or municipality.id, username=username,
                           display_name=username, password=user_password, roles=[role])
        user.organisation_id = organisation.id if organisation else None
        session.commit()
        return user
    return make


@pytest.fixture
def colleagues(session, make_user, caseworker, supervisor, partner):
    """A second caseworker, and a caseworker of another municipality who must never hear of these tasks."""
    elsewhere = MunicipalityRecord(code="138888", name="よそ市")
    session.add(elsewhere)
    session.commit()
    return make_user("baba", "caseworker"), make_user("yoso", "caseworker", municipality_id=elsewhere.id)


@pytest.fixture
def review(deploy_fixture, session, session_factory, clock, caseworker):
    """The open `review` task of a timers-fixture case, made by its 7-day timer."""
    version = deploy_fixture("timers")
    case = cases.start_case(session, clock, caseworker, version, "通知の試験")
    cases.complete_task(session, clock, caseworker, _open(session, case.id, "prepare").id, {})
    clock.advance(timedelta(days=7, minutes=1))
    assert run_pass(session_factory, clock, POLICY, "test").fired == [case.id]
    task = _open(session, case.id, "review")
    assert task.due_at == clock() + timedelta(days=3)
    return task


def _open(session, case_id, element_id) -> TaskRecord:
    session.expire_all()
    return session.scalar(select(TaskRecord).where(TaskRecord.case_id == case_id, TaskRecord.element_id == element_id,
                                                   TaskRecord.status == TaskStatus.OPEN))


def _notified(session, task, kind) -> set[str]:
    return set(session.scalars(
        select(UserRecord.username).join(NotificationRecord, NotificationRecord.user_id == UserRecord.id)
        .where(NotificationRecord.task_id == task.id, NotificationRecord.kind == kind)))


def _notice_count(session) -> int:
    return session.scalar(select(func.count()).select_from(NotificationRecord))


def _pass_twice(session_factory, clock, session) -> int:
    """Run a pass, then a second one that must add nothing; return the first pass's notice count."""
    first = run_pass(session_factory, clock, POLICY, "test").notices
    before = _notice_count(session)
    assert run_pass(session_factory, clock, POLICY, "test").notices == 0
    assert _notice_count(session) == before
    return first


def test_an_unclaimed_task_is_announced_due_soon_then_overdue_once_to_its_candidates_and_overdue_to_supervisors(
        deploy_fixture, session, session_factory, clock, colleagues, review):
    clock.advance(timedelta(days=2, hours=1))  # due in 23 hours
    assert _pass_twice(session_factory, clock, session) == 2
    assert _notified(session, review, "task_due_soon") == {"caseworker", "baba"}
    assert _notified(session, review, "task_overdue") == set()

    clock.advance(timedelta(days=1))  # an hour overdue
    _pass_twice(session_factory, clock, session)
    assert _notified(session, review, "task_overdue") == {"caseworker", "baba", "supervisor"}
    assert _notified(session, review, "task_due_soon") == {"caseworker", "baba"}  # not again


def test_a_claimed_task_is_announced_to_its_assignee_and_overdue_to_supervisors_only(
        deploy_fixture, session, session_factory, clock, caseworker, colleagues, review):
    cases.claim_task(session, clock, caseworker, review.id)
    clock.advance(timedelta(days=2, hours=1))
    assert _pass_twice(session_factory, clock, session) == 1
    assert _notified(session, review, "task_due_soon") == {"caseworker"}

    clock.advance(timedelta(days=1))  # an hour overdue
    _pass_twice(session_factory, clock, session)
    assert _notified(session, review, "task_overdue") == {"caseworker", "supervisor"}


def test_a_task_first_seen_after_its_due_time_is_announced_overdue_only(
        deploy_fixture, session, session_factory, clock, colleagues, review):
    clock.advance(timedelta(days=5))  # the scheduler was down through the whole due-soon window
    _pass_twice(session_factory, clock, session)
    assert _notified(session, review, "task_due_soon") == set()
    assert _notified(session, review, "task_overdue") == {"caseworker", "baba", "supervisor"}


def test_the_partner_task_fixture_passes_tsunagu_validate():
    result = CliRunner().invoke(main, ["validate", str(FIXTURES / "partner_task")])
    assert result.exit_code == 0, result.output


def test_a_partner_task_for_one_member_body_is_announced_only_to_that_bodys_partners(
        deploy_fixture, session, session_factory, clock, municipality, caseworker, supervisor, partner, make_user):
    bodies = {}
    for name in ("社会福祉協議会", "NPO法人つながり"):
        bodies[name] = OrganisationRecord(municipality_id=municipality.id, name=name, kind=OrganisationKind.MEMBER_BODY)
        session.add(bodies[name])
    session.commit()
    council, npo = bodies.values()
    make_user("council-1", "partner", organisation=council)
    make_user("council-2", "partner", organisation=council)
    make_user("npo-1", "partner", organisation=npo)  # the `partner` fixture belongs to no body at all
    version = deploy_fixture("partner_task")
    case = cases.start_case(session, clock, caseworker, version, "構成機関への依頼")
    cases.complete_task(session, clock, caseworker, _open(session, case.id, "choose_body").id,
                        {"owner_body_id": council.id})
    follow_up = _open(session, case.id, "follow_up")
    assert (follow_up.role, follow_up.candidate_body_id) == ("partner", council.id)
    assert _notified(session, follow_up, "task_assigned") == {"council-1", "council-2"}

    clock.advance(timedelta(days=1, hours=1))  # due in 23 hours
    assert _pass_twice(session_factory, clock, session) == 2
    assert _notified(session, follow_up, "task_due_soon") == {"council-1", "council-2"}

    clock.advance(timedelta(days=1))
    assert _pass_twice(session_factory, clock, session) == 3
    assert _notified(session, follow_up, "task_overdue") == {"council-1", "council-2", "supervisor"}
    everyone = set(session.scalars(select(UserRecord.username).join(
        NotificationRecord, NotificationRecord.user_id == UserRecord.id)))
    assert not everyone & {"npo-1", "partner", "caseworker"}
