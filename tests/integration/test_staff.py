"""Staff accounts through the engine: one-time passwords, deactivation and resets that end sessions, the last
administrator protected, CSV imports that write all or nothing, and recovery codes that work once."""
from __future__ import annotations

import pyotp
import pytest
from sqlalchemy import func, select

from tsunagu.engine.access import security, users
from tsunagu.engine.access.recovery import issue_recovery_codes, unused_recovery_codes
from tsunagu.engine.access.security import LoginOutcome, check_password, check_totp
from tsunagu.engine.admin.staff import (
    change_own_password,
    create_staff_user,
    deactivate_user,
    reactivate_user,
    reset_credentials,
    update_staff_user,
)
from tsunagu.engine.admin.staff_directory import list_staff
from tsunagu.engine.admin.staff_import import import_staff_csv
from tsunagu.engine.casefile import governance
from tsunagu.engine.casefile.tables import OrganisationKind, OrganisationRecord
from tsunagu.engine.errors import CannotDemoteSelf, Forbidden, FormInvalid, InvalidState, LastAdmin, NotFound
from tsunagu.engine.models import AuditRecord, MunicipalityRecord, RecoveryCodeRecord, UserRecord

HEADER = "username,display_name,email,roles,organisation,team\n"


@pytest.fixture
def admin(session, clock, municipality, user_password):
    user = users.create_user(session, clock, municipality_id=municipality.id, username="kanri",
                             display_name="管理 五郎", password=user_password, roles=["admin"])
    session.commit()
    return user


@pytest.fixture
def fukushi(session, municipality):
    body = OrganisationRecord(municipality_id=municipality.id, name="福祉課", kind=OrganisationKind.DEPARTMENT)
    session.add(body)
    session.commit()
    return body


@pytest.fixture
def other_town(session):
    town = MunicipalityRecord(code="131016", name="千代田区")
    session.add(town)
    session.commit()
    return town


def audit_rows(session, action):
    return session.scalars(select(AuditRecord).where(AuditRecord.action == action).order_by(AuditRecord.id)).all()


def enrol(session, clock, user):
    security.start_totp_enrolment(session, user)
    security.confirm_totp_enrolment(session, clock, user, pyotp.TOTP(user.totp_secret).at(clock()))


def test_a_new_caseworker_gets_a_one_time_password_that_signs_in_and_must_be_changed(session, clock, admin, fukushi):
    hanako, initial = create_staff_user(session, clock, admin, municipality_id=admin.municipality_id,
                                        username="hanako.sato", roles=["caseworker"], display_name="佐藤 花子",
                                        organisation_id=fukushi.id, team="地域福祉係", email="hanako@example.jp")
    assert initial and hanako.must_change_password and hanako.password_changed_at is None
    assert (hanako.organisation_id, hanako.team, hanako.role_codes) == (fukushi.id, "地域福祉係", {"caseworker"})
    assert check_password(session, clock, "hanako.sato", initial).outcome == LoginOutcome.OK
    [created] = audit_rows(session, "user.created")
    assert created.actor_id == admin.id and created.detail["via"] == "web"
    assert created.detail["username"] == "hanako.sato" and initial not in str(created.detail)


def test_a_user_created_with_a_chosen_password_need_not_change_it_and_the_name_defaults_to_the_user_name(
        session, clock, municipality):
    taro, initial = create_staff_user(session, clock, None, municipality_id=municipality.id, username="taro",
                                      roles=["supervisor"], password="a long chosen passphrase", operator="ops")
    assert initial is None and not taro.must_change_password and taro.display_name == "taro"
    assert {"via": "cli", "operator": "ops"}.items() <= audit_rows(session, "user.created")[0].detail.items()


def test_every_bad_field_of_a_new_user_is_reported_at_once(session, clock, admin, fukushi, other_town):
    elsewhere = OrganisationRecord(municipality_id=other_town.id, name="他市の課", kind=OrganisationKind.DEPARTMENT)
    session.add(elsewhere)
    session.commit()
    with pytest.raises(FormInvalid) as refused:
        create_staff_user(session, clock, admin, municipality_id=admin.municipality_id, username="a b",
                          roles=["caseworker", "wizard"], email="not-an-address", organisation_id=elsewhere.id,
                          team="x" * 101, display_name="名前\x00", password="short")
    assert {(e.field, e.code) for e in refused.value.errors} == {
        ("username", "username_invalid"), ("roles", "enum"), ("email", "email_invalid"),
        ("organisation", "organisation_unknown"), ("team", "maxLength"), ("display_name", "pattern"),
        ("password", "password_too_short")}
    assert session.scalar(select(func.count()).select_from(UserRecord)) == 1


def test_user_names_are_unique_across_the_installation_in_any_letter_case(session, clock, admin, other_town):
    create_staff_user(session, clock, None, municipality_id=other_town.id, username="Suzuki", roles=["caseworker"])
    with pytest.raises(FormInvalid) as refused:
        create_staff_user(session, clock, admin, municipality_id=admin.municipality_id, username="suzuki",
                          roles=["caseworker"])
    assert [(e.field, e.code) for e in refused.value.errors] == [("username", "username_taken")]


def test_a_retired_body_cannot_be_chosen_for_a_new_user(session, clock, admin, fukushi):
    fukushi.active = False
    session.commit()
    with pytest.raises(FormInvalid) as refused:
        create_staff_user(session, clock, admin, municipality_id=admin.municipality_id, username="yamada",
                          roles=["partner"], organisation_id=fukushi.id)
    assert [(e.field, e.code) for e in refused.value.errors] == [("organisation", "organisation_inactive")]


def test_only_an_administrator_of_the_same_municipality_manages_its_staff(session, clock, admin, caseworker,
                                                                          other_town):
    with pytest.raises(Forbidden):
        create_staff_user(session, clock, caseworker, municipality_id=caseworker.municipality_id, username="newbie",
                          roles=["caseworker"])
    with pytest.raises(Forbidden):
        create_staff_user(session, clock, admin, municipality_id=other_town.id, username="newbie",
                          roles=["caseworker"])
    stranger, _ = create_staff_user(session, clock, None, municipality_id=other_town.id, username="stranger",
                                    roles=["admin"])
    for command in (deactivate_user, reset_credentials, reactivate_user):
        with pytest.raises(NotFound):
            command(session, clock, admin, stranger.id)
    with pytest.raises(NotFound):
        update_staff_user(session, clock, admin, 2**40, team="x")


def test_changing_roles_and_team_is_audited_with_what_changed(session, clock, admin, caseworker, fukushi):
    update_staff_user(session, clock, admin, caseworker.id, roles=["caseworker", "supervisor"],
                      organisation_id=fukushi.id, team="相談係")
    session.refresh(caseworker)
    assert caseworker.role_codes == {"caseworker", "supervisor"} and caseworker.team == "相談係"
    [row] = audit_rows(session, "user.updated")
    assert row.detail["changes"] == {"roles": [["caseworker"], ["caseworker", "supervisor"]],
                                     "organisation": [None, fukushi.id], "team": [None, "相談係"]}
    update_staff_user(session, clock, admin, caseworker.id, team="相談係")  # nothing changed: nothing audited
    assert len(audit_rows(session, "user.updated")) == 1


def test_an_administrator_cannot_demote_or_deactivate_themselves(session, clock, admin):
    create_staff_user(session, clock, admin, municipality_id=admin.municipality_id, username="kanri2",
                      roles=["admin"])
    with pytest.raises(FormInvalid) as refused:
        update_staff_user(session, clock, admin, admin.id, roles=["caseworker"])
    assert [(e.field, e.code) for e in refused.value.errors] == [("roles", "cannot_demote_self")]
    with pytest.raises(CannotDemoteSelf):
        deactivate_user(session, clock, admin, admin.id)
    with pytest.raises(CannotDemoteSelf):
        reset_credentials(session, clock, admin, admin.id)


def test_the_last_active_administrator_can_never_be_removed_or_deactivated(session, clock, admin):
    with pytest.raises(FormInvalid) as refused:
        update_staff_user(session, clock, None, admin.id, roles=["caseworker"], operator="ops")
    assert refused.value.errors[0].code == "last_admin"
    with pytest.raises(LastAdmin):
        deactivate_user(session, clock, None, admin.id, operator="ops")
    second, _ = create_staff_user(session, clock, admin, municipality_id=admin.municipality_id, username="kanri2",
                                  roles=["admin"])
    deactivate_user(session, clock, None, second.id)
    with pytest.raises(LastAdmin):  # a deactivated administrator does not count
        deactivate_user(session, clock, None, admin.id)
    reactivate_user(session, clock, None, second.id)
    deactivate_user(session, clock, second, admin.id)
    session.refresh(admin)
    assert not admin.active


def test_deactivation_ends_every_session_by_generation_and_keeps_the_history(session, clock, admin, caseworker,
                                                                             user_password):
    pledge = governance.publish_pledge(session, clock, caseworker.municipality_id, governance.DEFAULT_PLEDGE)
    session.commit()
    governance.accept_pledge(session, clock, caseworker, pledge.id)
    before = caseworker.session_generation
    deactivate_user(session, clock, admin, caseworker.id)
    session.refresh(caseworker)
    assert not caseworker.active and caseworker.deactivated_at == clock()
    assert caseworker.session_generation == before + 1
    assert check_password(session, clock, "caseworker", user_password).outcome == LoginOutcome.BAD_CREDENTIALS
    assert governance.has_accepted_pledge(session, caseworker)  # the pledge record outlives the account
    assert audit_rows(session, "pledge.accepted") and audit_rows(session, "user.deactivated")
    reactivate_user(session, clock, admin, caseworker.id)
    assert check_password(session, clock, "caseworker", user_password).outcome == LoginOutcome.OK


def test_a_reset_gives_a_new_one_time_password_and_clears_the_second_factor_recovery_codes_and_lockout(
        session, clock, admin, caseworker, user_password):
    enrol(session, clock, caseworker)
    issue_recovery_codes(session, clock, caseworker)
    caseworker.failed_logins = 3
    session.commit()
    before = caseworker.session_generation
    initial = reset_credentials(session, clock, admin, caseworker.id)
    session.refresh(caseworker)
    assert caseworker.must_change_password and caseworker.session_generation == before + 1
    assert (caseworker.totp_enabled, caseworker.totp_secret, caseworker.failed_logins) == (False, None, 0)
    assert session.scalar(select(func.count()).select_from(RecoveryCodeRecord)) == 0
    assert check_password(session, clock, "caseworker", user_password).outcome == LoginOutcome.BAD_CREDENTIALS
    assert check_password(session, clock, "caseworker", initial).outcome == LoginOutcome.OK
    assert audit_rows(session, "user.credentials_reset")[0].detail["username"] == "caseworker"


def test_changing_ones_own_password_checks_the_current_one_and_the_policy_and_ends_other_sessions(
        session, clock, admin):
    hanako, initial = create_staff_user(session, clock, admin, municipality_id=admin.municipality_id,
                                        username="hanako", roles=["caseworker"])
    with pytest.raises(FormInvalid) as refused:
        change_own_password(session, clock, hanako, "wrong", "hanako", "something else")
    assert [(e.field, e.code) for e in refused.value.errors] == [
        ("current_password", "password_wrong"), ("new_password", "password_too_short"),
        ("confirm_password", "password_mismatch")]
    with pytest.raises(FormInvalid) as refused:
        change_own_password(session, clock, hanako, initial, initial, initial)
    assert [e.code for e in refused.value.errors] == ["password_unchanged"]
    before = hanako.session_generation
    change_own_password(session, clock, hanako, initial, "夕焼けの商店街をゆっくり歩く", "夕焼けの商店街をゆっくり歩く")
    session.refresh(hanako)
    assert not hanako.must_change_password and hanako.password_changed_at == clock()
    assert hanako.session_generation == before + 1
    assert check_password(session, clock, "hanako", "夕焼けの商店街をゆっくり歩く").outcome == LoginOutcome.OK
    assert audit_rows(session, "password.changed")[0].actor_id == hanako.id


def test_a_csv_with_bad_rows_names_each_by_line_and_writes_nothing(session, clock, admin, fukushi, caseworker):
    text = HEADER + ("sato,佐藤 一郎,sato@example.jp,caseworker,福祉課,地域福祉係\n"
                     "Caseworker,既存,,caseworker,,\n"
                     "suzuki,鈴木,,caseworker,存在しない課,\n"
                     "tanaka,田中,,admin,,\n")
    users_before = session.scalar(select(func.count()).select_from(UserRecord))
    with pytest.raises(FormInvalid) as refused:
        import_staff_csv(session, clock, admin, admin.municipality_id, text)
    assert [(e.field, e.code) for e in refused.value.errors] == [
        ("line 3: username", "username_taken"), ("line 4: organisation", "organisation_unknown")]
    assert session.scalar(select(func.count()).select_from(UserRecord)) == users_before  # not even sato
    assert not audit_rows(session, "user.created")


def test_a_good_csv_creates_everyone_with_their_own_one_time_password(session, clock, admin, fukushi):
    text = "\ufeff" + HEADER + ("sato,佐藤 一郎,sato@example.jp,caseworker;supervisor,福祉課,地域福祉係\r\n"
                                "suzuki,,,partner,,\r\n")
    created = import_staff_csv(session, clock, None, admin.municipality_id, text, operator="ops")
    assert [(u.username, u.display_name, sorted(u.role_codes)) for u, _ in created] == [
        ("sato", "佐藤 一郎", ["caseworker", "supervisor"]), ("suzuki", "suzuki", ["partner"])]
    assert created[0][0].organisation_id == fukushi.id and created[0][0].team == "地域福祉係"
    passwords = [p for _, p in created]
    assert len(set(passwords)) == 2 and all(u.must_change_password for u, _ in created)
    assert check_password(session, clock, "suzuki", passwords[1]).outcome == LoginOutcome.OK
    assert [r.detail["line"] for r in audit_rows(session, "user.created")] == [2, 3]
    assert audit_rows(session, "users.imported")[0].detail == {"count": 2, "via": "cli", "operator": "ops",
                                                            "municipality": admin.municipality_id}


def test_a_recovery_code_signs_in_once_and_only_once(session, clock, caseworker, user_password):
    with pytest.raises(InvalidState):
        issue_recovery_codes(session, clock, caseworker)  # no second factor yet: nothing to recover
    enrol(session, clock, caseworker)
    codes = issue_recovery_codes(session, clock, caseworker)
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = session.scalars(select(RecoveryCodeRecord.code_hash)).all()
    assert not set(codes) & set(stored)  # hashed at rest

    assert check_password(session, clock, "caseworker", user_password).outcome == LoginOutcome.NEEDS_TOTP
    result = check_totp(session, clock, caseworker.id, codes[3].upper().replace("-", " "))
    assert result.outcome == LoginOutcome.OK and result.recovery_codes_left == 9
    assert check_totp(session, clock, caseworker.id, codes[3]).outcome == LoginOutcome.BAD_CREDENTIALS
    assert unused_recovery_codes(session, caseworker) == 9
    assert audit_rows(session, "login.recovery_code_used")[0].detail == {"remaining": 9}

    fresh = issue_recovery_codes(session, clock, caseworker)  # new codes replace the old ones
    assert check_totp(session, clock, caseworker.id, codes[0]).outcome == LoginOutcome.BAD_CREDENTIALS
    assert check_totp(session, clock, caseworker.id, fresh[0]).outcome == LoginOutcome.OK


def test_a_municipality_requiring_a_second_factor_requires_it_of_everyone_until_enrolled(
        session, clock, municipality, caseworker, admin):
    assert not security.totp_required(caseworker) and security.totp_required(admin)
    municipality.require_second_factor = True
    session.commit()
    assert security.totp_required(caseworker)
    enrol(session, clock, caseworker)
    assert not security.totp_required(caseworker)


def test_the_staff_list_filters_by_status_role_and_part_of_a_name(session, clock, admin, caseworker, supervisor):
    update_staff_user(session, clock, admin, supervisor.id, display_name="山田 100%_太郎")
    deactivate_user(session, clock, admin, caseworker.id)
    town = admin.municipality_id
    assert [u.username for u in list_staff(session, town)] == ["kanri", "supervisor", "caseworker"]
    assert [u.username for u in list_staff(session, town, include_inactive=False)] == ["kanri", "supervisor"]
    assert [u.username for u in list_staff(session, town, inactive_only=True)] == ["caseworker"]
    assert [u.username for u in list_staff(session, town, role="admin")] == ["kanri"]
    assert [u.username for u in list_staff(session, town, search="100%_")] == ["supervisor"]
    assert list_staff(session, town, search="k%i") == []  # a wildcard is just a character, not "kanri"
    with pytest.raises(FormInvalid):
        list_staff(session, town, role="wizard")
    with pytest.raises(FormInvalid):
        list_staff(session, town, search="\x00")
