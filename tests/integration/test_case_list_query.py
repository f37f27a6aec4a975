"""The case list's visibility condition is the access policy as one query: never wider than what
`access_to` allows, and listing every case a listable basis (staff, supervision, council, lead body,
open action) opens; a page costs the same statements for 5 cases as for 50."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event, select

from tsunagu.engine.access import permissions, users
from tsunagu.engine.access.policy import Basis
from tsunagu.engine.admin import teams
from tsunagu.engine.casefile.tables import CaseStaffRecord
from tsunagu.engine.commands import case_list
from tsunagu.engine.commands.case_list import CaseFilters
from tsunagu.engine.models import CaseRecord, TaskRecord, TaskStatus, UserRecord

LISTABLE = {Basis.STAFF, Basis.SUPERVISION, Basis.COUNCIL, Basis.LEAD_BODY, Basis.ACTION}


def _listed(session_factory, clock, user_id) -> set[int]:
    with session_factory() as session:
        user = session.get(UserRecord, user_id)
        found: set[int] = set()
        page = 1
        while True:
            result = case_list.search_cases(session, clock, user, CaseFilters(), page, 100)
            found |= {row.id for row in result.items}
            if page >= result.pages:
                return found
            page += 1


def _allowed(session_factory, clock, user_id) -> dict[int, Basis]:
    with session_factory() as session:
        user = session.get(UserRecord, user_id)
        bases = {}
        for case in session.scalars(select(CaseRecord)):
            found = permissions.access_to(user, case, clock())
            if found.allowed:
                bases[case.id] = found.basis
        return bases


def _user(session, clock, municipality, name, roles, body=None):
    user = users.create_user(session, clock, municipality_id=municipality.id, username=name, display_name=name,
                             password="pw-" + name * 3, roles=roles, organisation_id=body.id if body else None)
    session.commit()
    return user


def test_every_listed_case_is_one_the_access_policy_allows_and_every_listable_basis_is_listed(
        story, session, session_factory, clock, municipality, bodies, caseworker, supervisor, coordinator,
        partners):
    others = _user(session, clock, municipality, "other-worker", ["caseworker"])
    lonely_supervisor = _user(session, clock, municipality, "other-supervisor", ["supervisor"])
    member = _user(session, clock, municipality, "member-minsei", ["council_member"], bodies["minsei"])
    admin = _user(session, clock, municipality, "admin-only", ["admin"])
    designer = _user(session, clock, municipality, "designer-only", ["designer"])
    team = teams.add_team(session, clock, None, municipality.id, name="相談第一係")
    teams.set_member(session, clock, None, municipality.id, team.id, caseworker.id)
    teams.set_member(session, clock, None, municipality.id, team.id, supervisor.id, supervises=True)

    started = story.start("受付中")
    tabled = story.start("検討待ち")
    story.to_council(tabled)
    story.attend(tabled, "minsei")
    acting = story.start("支援中")
    story.to_council(acting)
    ibasho = story.action_type("ibasho_referral")
    story.decide(acting, actions=[{"action_type_id": ibasho.id}])
    withdrawn = story.start("同意撤回")
    story.to_council(withdrawn, consent_bodies=("npo_ibasho",))
    story.decide(withdrawn, actions=[{"action_type_id": ibasho.id}])
    story.withdraw_consent(story.consents(withdrawn)[0].id)

    everyone = [caseworker, others, supervisor, lonely_supervisor, coordinator, member, admin, designer,
                *partners.values()]
    for user in everyone:
        listed = _listed(session_factory, clock, user.id)
        allowed = _allowed(session_factory, clock, user.id)
        assert listed <= set(allowed), (user.username, listed - set(allowed))
        assert {case for case, basis in allowed.items() if basis in LISTABLE} <= listed, user.username
    assert _listed(session_factory, clock, caseworker.id) == {started.id, tabled.id, acting.id, withdrawn.id}
    assert _listed(session_factory, clock, supervisor.id) == {started.id, tabled.id, acting.id, withdrawn.id}
    assert _listed(session_factory, clock, lonely_supervisor.id) == set()
    assert _listed(session_factory, clock, others.id) == set()
    assert _listed(session_factory, clock, admin.id) == _listed(session_factory, clock, designer.id) == set()
    assert started.id not in _listed(session_factory, clock, coordinator.id)
    assert tabled.id in _listed(session_factory, clock, coordinator.id)
    assert tabled.id in _listed(session_factory, clock, member.id)
    npo = _listed(session_factory, clock, partners["npo_ibasho"].id)
    assert acting.id in npo and started.id not in npo


def _statements(session_factory, clock, user_id, filters=None) -> tuple[int, int]:
    with session_factory() as session:
        user = session.get(UserRecord, user_id)
        count = [0]

        def seen(*_args):
            count[0] += 1

        event.listen(session.get_bind(), "before_cursor_execute", seen)
        try:
            page = case_list.search_cases(session, clock, user, filters or CaseFilters(), 1, 100)
        finally:
            event.remove(session.get_bind(), "before_cursor_execute", seen)
        return count[0], len(page.items)


def _copies(session_factory, clock, case_id, how_many, start=0):
    """Copies of a real case's rows (case, its open task and staff), so a page holds many cases cheaply."""
    with session_factory() as session:
        case = session.get(CaseRecord, case_id)
        task = session.scalars(select(TaskRecord).where(TaskRecord.case_id == case_id)).first()
        for n in range(start, start + how_many):
            copy = CaseRecord(reference=f"COPY-{case_id}-{n}", municipality_id=case.municipality_id,
                              process_version_id=case.process_version_id, title=f"写し{n}", status=case.status,
                              workflow_state=case.workflow_state, created_by_id=case.created_by_id,
                              created_at=clock(), updated_at=clock() + timedelta(seconds=n))
            session.add(copy)
            session.flush()
            session.add(TaskRecord(case_id=copy.id, municipality_id=copy.municipality_id,
                                   spiff_task_id=f"copy-{case_id}-{n}", element_id=task.element_id, name=task.name,
                                   role=task.role, status=TaskStatus.OPEN, created_at=clock(),
                                   due_at=clock() - timedelta(days=1)))
            session.add(CaseStaffRecord(case_id=copy.id, user_id=case.created_by_id, since=clock()))
        session.commit()


def test_a_page_costs_the_same_statements_for_five_cases_as_for_fifty(story, session_factory, clock, caseworker,
                                                                     supervisor, coordinator):
    first = story.start()
    _copies(session_factory, clock, first.id, 4)
    few, shown = _statements(session_factory, clock, caseworker.id)
    assert shown == 5
    _copies(session_factory, clock, first.id, 45, start=4)
    many, shown = _statements(session_factory, clock, caseworker.id)
    assert shown == 50
    assert few == many
    filtered = CaseFilters(q="ヤマダ", overdue=True, element="intake", risk="high", lead_body_id=1, sort="next_due")
    for user in (caseworker, supervisor, coordinator):
        assert _statements(session_factory, clock, user.id, filtered)[0] <= few + 2
