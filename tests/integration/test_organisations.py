"""Setting up a municipality through the engine: its bodies, councils, action catalogue, security settings
and pledge. Every change is audited; what a council or the catalogue relies on cannot be retired."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from tsunagu.engine.access import users
from tsunagu.engine.admin import catalogue, councils, organisations, settings
from tsunagu.engine.admin.pledge import publish_pledge_text
from tsunagu.engine.casefile import governance
from tsunagu.engine.casefile.tables import OrganisationRecord, SupportActionRecord
from tsunagu.engine.commands import queries
from tsunagu.engine.errors import Forbidden, FormInvalid, InUse, NotFound
from tsunagu.engine.models import AuditRecord, MunicipalityRecord, UserRecord


@pytest.fixture
def admin(session, clock, municipality, user_password):
    user = users.create_user(session, clock, municipality_id=municipality.id, username="admin",
                             display_name="管理 五郎", password=user_password, roles=["admin"])
    session.commit()
    return user


@pytest.fixture
def neighbour(session):
    """A second municipality, for joint councils and for refusals across municipalities."""
    town = MunicipalityRecord(code="131024", name="中央区")
    session.add(town)
    session.commit()
    return town


@pytest.fixture
def neighbour_admin(session, clock, neighbour, user_password):
    user = users.create_user(session, clock, municipality_id=neighbour.id, username="chuo-admin",
                             display_name="中央 管理", password=user_password, roles=["admin"])
    session.commit()
    return user


def _fields(error: FormInvalid) -> dict[str, str]:
    return {e.field: e.code for e in error.errors}


def _actions(session) -> list[tuple[str, int | None, str | None]]:
    return [(row.action, row.actor_id, row.detail.get("via"))
            for row in session.scalars(select(AuditRecord).order_by(AuditRecord.id))]


def test_every_change_from_the_page_or_the_command_line_leaves_an_audit_row(session, clock, municipality, admin):
    town = municipality.id
    body = organisations.add_organisation(session, clock, admin, town, name="市社会福祉協議会", kind="member_body")
    organisations.update_organisation(session, clock, admin, town, body.id, name="つながり市社会福祉協議会")
    npo = organisations.add_organisation(session, clock, None, town, name="NPO法人 居場所", kind="member_body",
                                         operator="ops")
    organisations.update_organisation(session, clock, None, town, npo.id, kind="department", operator="ops")
    organisations.update_organisation(session, clock, None, town, npo.id, kind="member_body", operator="ops")
    council = councils.create_council(session, clock, admin, town, name="つながり市協議会", established_on="2024-04-01")
    councils.add_council_member(session, clock, admin, town, council.id, body.id)
    councils.add_council_member(session, clock, admin, town, council.id, npo.id)
    councils.designate_coordinating_body(session, clock, admin, town, council.id, body.id, "2024-04-01")
    councils.remove_council_member(session, clock, None, town, council.id, npo.id, operator="ops")
    kind = catalogue.add_action_type(session, clock, admin, town, code="home_visit", name="訪問", owner_body_id=body.id,
                                     service_days=14)
    catalogue.update_action_type(session, clock, admin, town, kind.id, name="訪問による見守り", owner_body_id=npo.id,
                                 service_days="7")
    catalogue.retire_action_type(session, clock, None, town, kind.id, operator="ops")
    catalogue.reactivate_action_type(session, clock, admin, town, kind.id)
    catalogue.update_action_type(session, clock, admin, town, kind.id, owner_body_id=body.id)
    organisations.retire_organisation(session, clock, admin, town, npo.id)
    organisations.reactivate_organisation(session, clock, None, town, npo.id, operator="ops")
    settings.set_security_settings(session, clock, admin, town, require_second_factor=True, idle_minutes="15")
    publish_pledge_text(session, clock, None, town, "第18条の守秘義務を守ります。", operator="ops")

    a, cli = admin.id, None
    assert _actions(session) == [
        ("organisation.added", a, "web"), ("organisation.renamed", a, "web"),
        ("organisation.added", cli, "cli"), ("organisation.kind_changed", cli, "cli"),
        ("organisation.kind_changed", cli, "cli"),
        ("council.created", a, "web"), ("council.member_added", a, "web"), ("council.member_added", a, "web"),
        ("council.coordinating_body_designated", a, "web"), ("council.member_removed", cli, "cli"),
        ("action_type.added", a, "web"), ("action_type.renamed", a, "web"), ("action_type.owner_changed", a, "web"),
        ("action_type.service_days_changed", a, "web"), ("action_type.retired", cli, "cli"),
        ("action_type.reactivated", a, "web"), ("action_type.owner_changed", a, "web"),
        ("organisation.retired", a, "web"), ("organisation.reactivated", cli, "cli"),
        ("settings.changed", a, "web"), ("pledge.published", cli, "cli")]
    rows = list(session.scalars(select(AuditRecord).order_by(AuditRecord.id)))
    assert rows[1].detail["old"] == "市社会福祉協議会" and rows[1].detail["new"] == "つながり市社会福祉協議会"
    assert all(row.detail["municipality"] == town for row in rows)
    assert {row.detail["operator"] for row in rows if row.actor_id is None} == {"ops"}
    assert rows[-2].detail["after"] == {"require_second_factor": True, "idle_minutes": 15, "closure_grace_days": 30,
                                        "council_window_days": 30}


def test_a_command_that_changes_nothing_writes_no_audit_row(session, clock, municipality, admin):
    body = organisations.add_organisation(session, clock, admin, municipality.id, name="保健センター",
                                          kind="member_body")
    organisations.update_organisation(session, clock, admin, municipality.id, body.id, name=" 保健センター ")
    organisations.reactivate_organisation(session, clock, admin, municipality.id, body.id)
    settings.set_security_settings(session, clock, admin, municipality.id, require_second_factor=False,
                                   idle_minutes=None)
    assert [action for action, _, _ in _actions(session)] == ["organisation.added"]


def test_every_problem_of_a_form_is_named_at_once(session, clock, municipality, admin, bodies):
    town = municipality.id
    with pytest.raises(FormInvalid) as invalid:
        organisations.add_organisation(session, clock, admin, town, name="市社会福祉協議会", kind="club")
    assert _fields(invalid.value) == {"name": "name_taken", "kind": "enum"}
    with pytest.raises(FormInvalid) as invalid:
        organisations.add_organisation(session, clock, admin, town, name="x" * 201, kind="")
    assert _fields(invalid.value) == {"name": "maxLength", "kind": "required"}
    assert invalid.value.errors[0].params == {"limit": 200}
    with pytest.raises(FormInvalid) as invalid:
        organisations.add_organisation(session, clock, admin, town, name="居場所\x00", kind="member_body")
    assert _fields(invalid.value) == {"name": "pattern"}

    with pytest.raises(FormInvalid) as invalid:
        catalogue.add_action_type(session, clock, admin, town, code="home_visit", name="定期的な電話での安否確認",
                                  owner_body_id=bodies["fukushi"].id, service_days="0")
    assert _fields(invalid.value) == {"code": "code_taken", "name": "name_taken", "service_days": "minimum"}
    with pytest.raises(FormInvalid) as invalid:
        catalogue.add_action_type(session, clock, admin, town, code="Home Visit", name="", owner_body_id="99999999999",
                                  service_days="366")
    assert _fields(invalid.value) == {"code": "pattern", "name": "required", "owner_body_id": "enum",
                                      "service_days": "maximum"}
    with pytest.raises(FormInvalid) as invalid:
        councils.create_council(session, clock, admin, town, name="", established_on="2024-13-01",
                                joint_with="999999")
    assert _fields(invalid.value) == {"name": "required", "established_on": "format",
                                      "joint_with": "unknown_municipality"}
    with pytest.raises(FormInvalid) as invalid:
        settings.set_security_settings(session, clock, admin, town, require_second_factor=True, idle_minutes="4")
    assert _fields(invalid.value) == {"idle_minutes": "minimum"}
    with pytest.raises(FormInvalid) as invalid:
        settings.set_security_settings(session, clock, admin, town, require_second_factor=True, idle_minutes="ten")
    assert _fields(invalid.value) == {"idle_minutes": "type"}
    assert _actions(session) == []


def test_a_body_a_council_or_the_catalogue_relies_on_cannot_be_retired(session, clock, municipality, admin, bodies):
    town = municipality.id
    council = councils.create_council(session, clock, admin, town, name="協議会", established_on=date(2024, 4, 1))
    councils.add_council_member(session, clock, admin, town, council.id, bodies["fukushi"].id)
    councils.designate_coordinating_body(session, clock, admin, town, council.id, bodies["fukushi"].id, "2024-04-01")

    with pytest.raises(InUse) as refused:
        organisations.retire_organisation(session, clock, admin, town, bodies["fukushi"].id)
    assert refused.value.details["used_by"] == [{"use": "coordinating_body", "name": "協議会"},
                                                {"use": "action_type_owner", "name": "生活困窮者自立支援・給付の案内"}]
    with pytest.raises(InUse) as refused:
        organisations.retire_organisation(session, clock, admin, town, bodies["minsei"].id)
    assert "定期的な電話での安否確認" in refused.value.message
    with pytest.raises(InUse):  # a member body that owns actions cannot become a mere department
        organisations.update_organisation(session, clock, admin, town, bodies["minsei"].id, kind="department")
    with pytest.raises(InUse):
        councils.remove_council_member(session, clock, admin, town, council.id, bodies["fukushi"].id)

    phone = catalogue.action_type_with_code(session, town, "phone_check")
    catalogue.retire_action_type(session, clock, admin, town, phone.id)
    retired = organisations.retire_organisation(session, clock, admin, town, bodies["minsei"].id)
    assert retired.active is False
    assert bodies["minsei"].id not in [b.id for b in queries.member_bodies(session, town)]
    with pytest.raises(FormInvalid) as invalid:  # its action type cannot come back while it is retired
        catalogue.reactivate_action_type(session, clock, admin, town, phone.id)
    assert _fields(invalid.value) == {"owner_body_id": "owner_retired"}
    with pytest.raises(FormInvalid):
        councils.add_council_member(session, clock, admin, town, council.id, bodies["minsei"].id)
    assert [a for a, _, _ in _actions(session)].count("organisation.retired") == 1


def test_designating_a_coordinating_body_leaves_exactly_one(session, clock, municipality, admin, bodies):
    town = municipality.id
    council = councils.create_council(session, clock, admin, town, name="協議会", established_on="2024-04-01")
    for key in ("fukushi", "shakyo", "hoken"):
        councils.add_council_member(session, clock, admin, town, council.id, bodies[key].id)

    with pytest.raises(FormInvalid) as invalid:  # only a member, and not before the council exists
        councils.designate_coordinating_body(session, clock, admin, town, council.id, bodies["minsei"].id,
                                             "2024-03-31")
    assert _fields(invalid.value) == {"organisation_id": "enum", "designated_on": "minimum"}
    councils.designate_coordinating_body(session, clock, admin, town, council.id, bodies["shakyo"].id, "2025-04-01")

    marked = session.scalars(select(OrganisationRecord.name).where(
        OrganisationRecord.municipality_id == town, OrganisationRecord.is_coordinating_body.is_(True))).all()
    assert marked == ["市社会福祉協議会"]  # the catalogue's 福祉課 lost the mark
    view = councils.council_view(session, admin, town, council.id)
    assert view.council.coordinating_body.name == "市社会福祉協議会"
    assert view.council.coordinating_designated_on == date(2025, 4, 1)
    notice = councils.council_notice(session, admin, town, council.id)
    assert "3 孤独・孤立対策調整機関　市社会福祉協議会（2025年4月1日指定）" in notice

    councils.designate_coordinating_body(session, clock, admin, town, council.id, bodies["hoken"].id, "2026-04-01")
    marked = session.scalars(select(OrganisationRecord.name).where(
        OrganisationRecord.is_coordinating_body.is_(True))).all()
    assert marked == ["保健センター"]
    councils.remove_council_member(session, clock, admin, town, council.id, bodies["shakyo"].id)
    assert [b.name for b in councils.council_view(session, admin, town, council.id).members] == [
        "保健センター", "福祉課（調整機関）"]


def test_a_joint_council_takes_its_members_from_every_founding_municipality(session, clock, municipality, admin,
                                                                           bodies, neighbour, neighbour_admin):
    chuo_npo = organisations.add_organisation(session, clock, neighbour_admin, neighbour.id, name="中央区NPO",
                                              kind="member_body")
    outsider_town = MunicipalityRecord(code="131032", name="港区")
    session.add(outsider_town)
    session.commit()
    outsider = organisations.add_organisation(session, clock, None, outsider_town.id, name="港区NPO",
                                              kind="member_body")

    council = councils.create_council(session, clock, admin, municipality.id, name="共同協議会",
                                      established_on="2024-04-01", joint_with=["131024"])
    councils.add_council_member(session, clock, admin, municipality.id, council.id, bodies["shakyo"].id)
    councils.add_council_member(session, clock, neighbour_admin, neighbour.id, council.id, chuo_npo.id)
    with pytest.raises(FormInvalid):
        councils.add_council_member(session, clock, admin, municipality.id, council.id, outsider.id)
    with pytest.raises(FormInvalid) as invalid:
        councils.add_council_member(session, clock, admin, municipality.id, council.id, chuo_npo.id)
    assert _fields(invalid.value) == {"organisation_id": "already_member"}
    councils.designate_coordinating_body(session, clock, neighbour_admin, neighbour.id, council.id, chuo_npo.id,
                                         "2024-04-01")

    view = councils.council_view(session, admin, municipality.id, council.id)
    assert [t.code for t in view.municipalities] == ["131024", "139999"]
    assert [m.name for m in view.members] == ["中央区NPO", "市社会福祉協議会"]
    assert outsider.id not in [c.id for c in view.candidates] and bodies["hoken"].id in [c.id for c in view.candidates]
    assert [c.name for c, _ in councils.councils_of(session, neighbour_admin, neighbour.id)] == ["共同協議会"]
    assert "中央区、つながり市は共同して" in councils.council_notice(session, admin, municipality.id, council.id)


def test_an_administrator_of_another_municipality_is_refused(session, clock, municipality, admin, bodies,
                                                             neighbour, neighbour_admin, caseworker):
    town = municipality.id
    council = councils.create_council(session, clock, admin, town, name="協議会", established_on="2024-04-01")
    with pytest.raises(Forbidden):
        organisations.add_organisation(session, clock, neighbour_admin, town, name="他所の機関", kind="member_body")
    with pytest.raises(Forbidden):
        organisations.add_organisation(session, clock, caseworker, town, name="他所の機関", kind="member_body")
    with pytest.raises(Forbidden):
        settings.set_security_settings(session, clock, neighbour_admin, town, require_second_factor=False,
                                       idle_minutes=None)
    # Asked about their own municipality, another's record simply does not exist for them.
    with pytest.raises(NotFound):
        organisations.retire_organisation(session, clock, neighbour_admin, neighbour.id, bodies["hoken"].id)
    with pytest.raises(NotFound):
        councils.add_council_member(session, clock, neighbour_admin, neighbour.id, council.id, bodies["hoken"].id)
    with pytest.raises(NotFound):
        catalogue.retire_action_type(session, clock, neighbour_admin, neighbour.id,
                                     catalogue.action_type_with_code(session, town, "home_visit").id)
    with pytest.raises(NotFound):
        organisations.get_organisation(session, admin, town, "99999999999999999999")
    assert bodies["hoken"].active and _actions(session)[-1][0] == "council.created"


def test_a_retired_action_type_is_not_offered_for_new_actions_but_existing_actions_keep_it(story, session, clock,
                                                                                          municipality, bodies):
    case = story.start()
    story.to_council(case)
    story.decide(case, [{"action_type_id": story.action_type("home_visit").id}])
    visit = story.action_type("home_visit")
    catalogue.retire_action_type(session, clock, None, municipality.id, visit.id, operator="ops")

    assert "home_visit" not in [k.code for k in queries.action_types(session, municipality.id)]
    with pytest.raises(FormInvalid) as invalid:
        story.add_action(case, {"action_type_id": visit.id})
    assert _fields(invalid.value) == {"action_type_id": "enum"}
    session.expire_all()
    (action,) = session.scalars(select(SupportActionRecord).where(SupportActionRecord.case_id == case.id)).all()
    assert action.action_type.code == "home_visit" and action.action_type.active is False

    catalogue.reactivate_action_type(session, clock, None, municipality.id, visit.id, operator="ops")
    assert story.add_action(case, {"action_type_id": visit.id}).action_type_id == visit.id


def test_a_new_pledge_version_must_be_accepted_again(session, clock, municipality, admin):
    first = publish_pledge_text(session, clock, admin, municipality.id, "守秘義務を守ります。")
    governance.accept_pledge(session, clock, admin, first.id)
    assert governance.has_accepted_pledge(session, admin)
    second = publish_pledge_text(session, clock, None, municipality.id, "改訂：退職後も守ります。",
                                            operator="ops")
    assert (first.version, second.version) == (1, 2)
    assert not governance.has_accepted_pledge(session, session.get(UserRecord, admin.id))
    with pytest.raises(FormInvalid):
        publish_pledge_text(session, clock, None, municipality.id, "\x00")


def test_security_settings_are_stored_for_the_municipality(session, clock, municipality, admin):
    settings.set_security_settings(session, clock, admin, municipality.id, require_second_factor=True,
                                   idle_minutes=480)
    town = settings.security_settings(session, None, municipality.id)
    assert (town.require_second_factor, town.idle_minutes) == (True, 480)
    settings.set_security_settings(session, clock, None, municipality.id, require_second_factor=True, idle_minutes="")
    assert settings.security_settings(session, admin, municipality.id).idle_minutes is None
