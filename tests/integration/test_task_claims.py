"""Claiming: a claimed task is one person's until given back, and only its lane's role may take it."""
from __future__ import annotations

import pytest

from tsunagu.engine.access import users
from tsunagu.engine.commands import cases, queries
from tsunagu.engine.errors import Conflict, Forbidden, NotFound

from .helpers import audit_actions, open_task, submissions


@pytest.fixture
def second_caseworker(session, clock, municipality, user_password):
    user = users.create_user(session, clock, municipality_id=municipality.id, username="caseworker2",
                             display_name="caseworker2", password=user_password, roles=["caseworker"])
    session.commit()
    return user


def test_a_claimed_task_moves_from_the_shared_inbox_to_the_claimers_own(
        session, session_factory, clock, caseworker, second_caseworker, standard_case):
    task = open_task(session_factory, standard_case.id)

    cases.claim_task(session, clock, caseworker, task.id)

    assert open_task(session_factory, standard_case.id).assignee_id == caseworker.id
    assert [t.id for t in queries.my_tasks(session, caseworker)] == [task.id]
    assert queries.available_tasks(session, caseworker) == []
    assert queries.available_tasks(session, second_caseworker) == []
    assert audit_actions(session_factory, standard_case.id) == ["case.started", "task.claimed"]


def test_a_task_claimed_by_someone_else_cannot_be_claimed_or_completed(
        session, session_factory, clock, caseworker, second_caseworker, standard_case, intake_data):
    task = open_task(session_factory, standard_case.id)
    cases.claim_task(session, clock, caseworker, task.id)

    with pytest.raises(Conflict):
        cases.claim_task(session, clock, second_caseworker, task.id)
    with pytest.raises(Conflict):
        cases.complete_task(session, clock, second_caseworker, task.id, intake_data)
    with pytest.raises(Conflict):
        cases.unclaim_task(session, clock, second_caseworker, task.id)

    assert open_task(session_factory, standard_case.id).assignee_id == caseworker.id
    assert submissions(session_factory, standard_case.id) == []
    assert audit_actions(session_factory, standard_case.id) == ["case.started", "task.claimed"]


def test_claiming_twice_is_harmless_and_the_claimer_can_complete(
        session, session_factory, clock, caseworker, standard_case, intake_data):
    task = open_task(session_factory, standard_case.id)
    cases.claim_task(session, clock, caseworker, task.id)
    cases.claim_task(session, clock, caseworker, task.id)

    cases.complete_task(session, clock, caseworker, task.id, intake_data)

    assert open_task(session_factory, standard_case.id).element_id == "baseline_assessment"


def test_an_unclaimed_task_is_free_for_the_next_person(
        session, session_factory, clock, caseworker, second_caseworker, standard_case):
    task = open_task(session_factory, standard_case.id)
    cases.claim_task(session, clock, caseworker, task.id)

    cases.unclaim_task(session, clock, caseworker, task.id)

    assert open_task(session_factory, standard_case.id).assignee_id is None
    assert [t.id for t in queries.available_tasks(session, second_caseworker)] == [task.id]
    cases.claim_task(session, clock, second_caseworker, task.id)
    assert open_task(session_factory, standard_case.id).assignee_id == second_caseworker.id
    assert audit_actions(session_factory, standard_case.id) == [
        "case.started", "task.claimed", "task.unclaimed", "task.claimed"]


def test_a_task_nobody_claimed_cannot_be_given_back(session, clock, caseworker, session_factory, standard_case):
    with pytest.raises(Conflict):
        cases.unclaim_task(session, clock, caseworker, open_task(session_factory, standard_case.id).id)


@pytest.mark.parametrize("who", ["supervisor", "partner"])
def test_someone_without_the_lanes_role_may_neither_claim_nor_complete(
        request, session, session_factory, clock, standard_case, intake_data, who):
    outsider = request.getfixturevalue(who)
    task = open_task(session_factory, standard_case.id)

    # Neither works the case nor holds the lane's role: the task is refused as if it did not exist.
    with pytest.raises(NotFound):
        cases.claim_task(session, clock, outsider, task.id)
    with pytest.raises(NotFound):
        cases.complete_task(session, clock, outsider, task.id, intake_data)

    assert open_task(session_factory, standard_case.id).assignee_id is None
    assert submissions(session_factory, standard_case.id) == []


def test_a_caseworker_may_not_claim_the_supervisors_crisis_review(
        session, session_factory, clock, caseworker, supervisor, standard_case, intake_data, assessment_data):
    for data in (dict(intake_data, special_care=["suicidal_thoughts"]), assessment_data,
                 {"action_taken": "電話で安全を確認した", "action_date": "2026-11-27"}):
        cases.complete_task(session, clock, caseworker, open_task(session_factory, standard_case.id).id, data)
    crisis = open_task(session_factory, standard_case.id)
    assert crisis.element_id == "crisis_review"

    with pytest.raises(Forbidden):
        cases.claim_task(session, clock, caseworker, crisis.id)
    cases.claim_task(session, clock, supervisor, crisis.id)
    assert open_task(session_factory, standard_case.id).assignee_id == supervisor.id
