"""Reading a case file: staff of the case's municipality may, everyone else is refused, and both are audited."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tsunagu.engine.access import users
from tsunagu.engine.commands import cases, queries
from tsunagu.engine.errors import Forbidden, NotFound
from tsunagu.engine.models import AuditRecord, MunicipalityRecord

from .helpers import audit_actions, open_task


@pytest.fixture
def neighbour_caseworker(session, clock, user_password):
    town = MunicipalityRecord(code="139998", name="となり町")
    session.add(town)
    session.flush()
    user = users.create_user(session, clock, municipality_id=town.id, username="neighbour",
                             display_name="neighbour", password=user_password, roles=["caseworker"])
    session.commit()
    return user


def view_audits(session_factory, case_id):
    with session_factory() as session:
        return [(a.action, a.actor_id, a.detail.get("part"), a.at) for a in session.scalars(
            select(AuditRecord).where(AuditRecord.case_id == case_id,
                                      AuditRecord.action.in_(["case.viewed", "case.view_refused"]))
            .order_by(AuditRecord.id))]


def test_viewing_a_case_shows_its_file_and_leaves_an_audit_row(
        session, session_factory, clock, caseworker, standard_case, intake_data):
    cases.complete_task(session, clock, caseworker, open_task(session_factory, standard_case.id).id, intake_data)

    case_file = queries.view_case(session, clock, caseworker, standard_case.id, part="forms")

    assert case_file.case.id == standard_case.id
    assert [t.element_id for t in case_file.tasks] == ["intake", "baseline_assessment"]
    assert case_file.person.name == intake_data["person_name"]
    assert [s.data for s in case_file.submissions] == [intake_data]
    assert [a.action for a in case_file.timeline] == ["case.started", "task.completed"]
    assert view_audits(session_factory, standard_case.id) == [("case.viewed", caseworker.id, "forms", clock())]


def test_a_supervisor_sees_a_case_once_they_take_one_of_its_tasks(
        session, session_factory, clock, caseworker, supervisor, standard_case, intake_data, assessment_data):
    with pytest.raises(NotFound):  # the municipality alone is no basis; refused as if missing
        queries.view_case(session, clock, supervisor, standard_case.id)
    for data in (dict(intake_data, special_care=["suicidal_thoughts"]), assessment_data,
                 {"action_taken": "電話で安全を確認した", "action_date": "2026-11-27"}):
        cases.complete_task(session, clock, caseworker, open_task(session_factory, standard_case.id).id, data)

    cases.claim_task(session, clock, supervisor, open_task(session_factory, standard_case.id).id)
    queries.view_case(session, clock, supervisor, standard_case.id)

    assert view_audits(session_factory, standard_case.id) == [
        ("case.view_refused", supervisor.id, "summary", clock()), ("case.viewed", supervisor.id, "summary", clock())]


@pytest.mark.parametrize("who", ["neighbour_caseworker", "partner"])
def test_a_refused_view_raises_not_found_like_a_missing_case_and_is_audited_as_refused(
        request, session, session_factory, clock, standard_case, who):
    outsider = request.getfixturevalue(who)

    with pytest.raises(NotFound):
        queries.view_case(session, clock, outsider, standard_case.id)

    assert view_audits(session_factory, standard_case.id) == [("case.view_refused", outsider.id, "summary", clock())]
    assert "case.viewed" not in audit_actions(session_factory, standard_case.id)


def test_viewing_a_case_that_does_not_exist_is_not_found(session, clock, caseworker, standard_case):
    with pytest.raises(NotFound):
        queries.view_case(session, clock, caseworker, standard_case.id + 1000)


def test_a_caseworker_of_another_municipality_neither_sees_nor_works_its_tasks(
        session, session_factory, clock, neighbour_caseworker, standard_case, intake_data):
    task = open_task(session_factory, standard_case.id)

    assert queries.available_tasks(session, neighbour_caseworker) == []
    assert queries.recent_cases(session, neighbour_caseworker, clock().date()) == []
    with pytest.raises(NotFound):
        cases.complete_task(session, clock, neighbour_caseworker, task.id, intake_data)
    with pytest.raises(NotFound):
        queries.view_task(session, clock, neighbour_caseworker, task.id)
    assert audit_actions(session_factory, standard_case.id)[-1] == "task.view_refused"


def test_a_partner_may_not_open_a_case(session, clock, partner, standard_version):
    with pytest.raises(Forbidden):
        cases.start_case(session, clock, partner, standard_version, "相談")
