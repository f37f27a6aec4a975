"""The administrators' staff pages: the list and its filters, creating an account with a one-time password shown
once, editing roles and organisation, deactivating and resetting; only for the municipality's own staff."""
from __future__ import annotations

import pytest
from conftest import accept_current_pledge, enrol_totp, reread, totp_code
from page_text import element, text
from sqlalchemy import func, select

from tsunagu.engine.access.security import LoginOutcome, check_password
from tsunagu.engine.admin.staff import create_staff_user
from tsunagu.engine.casefile.tables import OrganisationKind, OrganisationRecord
from tsunagu.engine.models import AuditRecord, MunicipalityRecord, UserRecord


@pytest.fixture
def fukushi(session, municipality):
    body = OrganisationRecord(municipality_id=municipality.id, name="福祉課", kind=OrganisationKind.DEPARTMENT)
    retired = OrganisationRecord(municipality_id=municipality.id, name="旧市民課", kind=OrganisationKind.DEPARTMENT,
                                 active=False)
    session.add_all([body, retired])
    session.commit()
    return body


@pytest.fixture
def stranger(session, clock):
    """A user of another municipality, and that municipality's administrator."""
    town = MunicipalityRecord(code="131016", name="千代田区")
    session.add(town)
    session.commit()
    other_admin, _ = create_staff_user(session, clock, None, municipality_id=town.id, username="chiyoda-admin",
                                       roles=["admin"], password="chiyoda admin passphrase")
    person, _ = create_staff_user(session, clock, None, municipality_id=town.id, username="chiyoda-staff",
                                  roles=["caseworker"])
    enrol_totp(session, clock, other_admin)
    return person, other_admin


def _form(**fields):
    base = {"username": "hanako.sato", "display_name": "佐藤 花子", "email": "", "organisation": "", "team": "",
            "roles": ["caseworker"]}
    return base | fields


def _user(session, username):
    reread(session)
    return session.scalar(select(UserRecord).where(UserRecord.username == username))


def test_the_staff_list_is_linked_from_the_admin_page_and_filters_by_status_role_and_name(
        client, login, session, clock, admin, caseworker, supervisor):
    login(admin)
    assert 'href="/admin/users"' in element(client.get("/admin").get_data(as_text=True), "admin-links")
    page = client.get("/admin/users").get_data(as_text=True)
    table = element(page, "users")
    assert "caseworker" in table and "supervisor" in table and "管理 五郎" in table
    assert "相談支援員" in text(element(page, f"user-{caseworker.id}"))

    create_staff_user(session, clock, None, municipality_id=admin.municipality_id, username="gone",
                      roles=["partner"])
    client.post(f"/admin/users/{_user(session, 'gone').id}/deactivate")
    assert "gone" not in element(client.get("/admin/users").get_data(as_text=True), "users")  # active by default
    inactive = element(client.get("/admin/users?status=inactive").get_data(as_text=True), "users")
    assert "gone" in inactive and "caseworker" not in inactive
    by_role = element(client.get("/admin/users?role=supervisor&status=all").get_data(as_text=True), "users")
    assert "supervisor" in by_role and "caseworker" not in by_role
    by_name = client.get("/admin/users?q=五郎").get_data(as_text=True)
    assert "admin" in element(by_name, "users") and "caseworker" not in element(by_name, "users")
    assert element(client.get("/admin/users?q=誰もいない").get_data(as_text=True), "no-users")


def test_creating_a_caseworker_shows_the_one_time_password_once_on_the_result_page(client, login, session, clock,
                                                                                  admin, fukushi):
    login(admin)
    form = client.get("/admin/users/new").get_data(as_text=True)
    options = element(form, "organisation")
    assert "福祉課" in options and "旧市民課" not in options  # retired bodies are not offered
    assert "相談支援員" in element(form, "field-roles") and "システム管理者" in element(form, "field-roles")

    response = client.post("/admin/users/new", data=_form(organisation=str(fukushi.id), team="地域福祉係",
                                                          roles=["caseworker", "supervisor"]))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    initial = text(element(page, "one-time-password"))
    assert text(element(page, "new-username")) == "hanako.sato"
    assert "安全な方法で渡してください" in text(element(page, "handover"))
    hanako = _user(session, "hanako.sato")
    assert hanako.must_change_password and hanako.role_codes == {"caseworker", "supervisor"}
    assert (hanako.organisation_id, hanako.team, hanako.display_name) == (fukushi.id, "地域福祉係", "佐藤 花子")
    assert check_password(session, clock, "hanako.sato", initial).outcome == LoginOutcome.OK
    assert initial not in client.get(f"/admin/users/{hanako.id}").get_data(as_text=True)  # never shown again
    row = session.scalar(select(AuditRecord).where(AuditRecord.action == "user.created"))
    assert row.actor_id == admin.id and row.detail["via"] == "web"


def test_a_form_with_errors_is_shown_again_with_each_message_beside_its_field_and_nothing_created(
        client, login, session, admin, caseworker):
    login(admin)
    response = client.post("/admin/users/new", data=_form(username="caseworker", email="nope", roles=[],
                                                          display_name="佐藤 花子"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "このユーザー名は既に使われています。" in text(element(page, "field-username"))
    assert "name@example.jp" in text(element(page, "field-email"))
    assert text(element(page, "err-roles"))
    assert 'value="佐藤 花子"' in page  # what was typed is kept
    reread(session)
    assert session.scalar(select(func.count()).select_from(UserRecord)) == 2


@pytest.mark.parametrize("field, value", [
    ("display_name", "佐藤\x00花子"), ("team", "係" * 10_000), ("organisation", "abc"),
    ("organisation", "99999999999999999999"), ("username", "x" * 5000), ("roles", "\x00"), ("email", "a@b\x00.jp")])
def test_garbage_huge_or_nul_input_is_refused_with_422_not_a_crash(client, login, session, admin, field, value):
    login(admin)
    response = client.post("/admin/users/new", data=_form(**{field: value}))
    assert response.status_code == 422, response.get_data(as_text=True)[:500]
    reread(session)
    assert session.scalar(select(func.count()).select_from(UserRecord)) == 1


@pytest.mark.parametrize("query", ["q=%00", "q=" + "x" * 500, "role=wizard", "role=%00"])
def test_garbage_filters_on_the_list_are_refused_with_422(client, login, admin, query):
    login(admin)
    assert client.get(f"/admin/users?{query}").status_code == 422


def test_unknown_huge_or_non_numeric_ids_are_404(client, login, admin):
    login(admin)
    for url in ("/admin/users/99999999999999999999", "/admin/users/2147483648", "/admin/users/0",
                "/admin/users/abc", "/admin/users/-1", "/admin/users/12%00"):
        assert client.get(url).status_code == 404, url
    assert client.post("/admin/users/99999999999999999999/reset").status_code == 404


def test_an_admin_of_another_municipality_gets_404_for_a_user_id(client, login, session, admin, stranger):
    person, _other_admin = stranger
    login(admin)
    for url in (f"/admin/users/{person.id}", f"/admin/users/{person.id}/deactivate", f"/admin/users/{person.id}/reset"):
        assert client.get(url).status_code == 404, url
    for url in (f"/admin/users/{person.id}", f"/admin/users/{person.id}/deactivate",
                f"/admin/users/{person.id}/reactivate", f"/admin/users/{person.id}/reset"):
        assert client.post(url, data=_form(roles=["admin"])).status_code == 404, url
    assert "chiyoda" not in client.get("/admin/users?status=all").get_data(as_text=True)
    reread(session)
    assert session.get(UserRecord, person.id).active and session.get(UserRecord, person.id).role_codes == {"caseworker"}


def test_staff_pages_are_for_administrators_only(client, login, caseworker):
    login(caseworker)
    for url in ("/admin/users", "/admin/users/new", f"/admin/users/{caseworker.id}"):
        assert client.get(url).status_code == 403, url
    assert client.post("/admin/users/new", data=_form()).status_code == 403


def test_editing_roles_organisation_and_team_saves_and_says_so(client, login, session, admin, caseworker, fukushi):
    login(admin)
    page = client.get(f"/admin/users/{caseworker.id}").get_data(as_text=True)
    assert 'value="caseworker" checked' in element(page, "field-roles")
    response = client.post(f"/admin/users/{caseworker.id}", data=_form(
        display_name="相談 一郎", roles=["caseworker", "coordinator"], organisation=str(fukushi.id), team="相談係",
        email="ichiro@example.jp"))
    assert response.status_code == 302 and response.headers["Location"] == f"/admin/users/{caseworker.id}"
    assert "変更を保存しました。" in client.get(response.headers["Location"]).get_data(as_text=True)
    person = _user(session, "caseworker")
    assert person.role_codes == {"caseworker", "coordinator"} and person.organisation_id == fukushi.id
    assert (person.team, person.display_name, person.email) == ("相談係", "相談 一郎", "ichiro@example.jp")


def test_an_administrator_cannot_remove_their_own_admin_role_or_deactivate_themselves(client, login, session,
                                                                                     admin):
    login(admin)
    page = client.get(f"/admin/users/{admin.id}").get_data(as_text=True)
    assert 'id="user-actions"' not in page  # no deactivate or reset buttons on one's own page
    response = client.post(f"/admin/users/{admin.id}", data=_form(display_name="管理 五郎", roles=["caseworker"]))
    assert response.status_code == 422
    assert "自分自身のシステム管理者の役割は外せません" in text(element(response.get_data(as_text=True), "field-roles"))
    response = client.post(f"/admin/users/{admin.id}/deactivate")
    assert response.status_code == 409 and text(element(response.get_data(as_text=True), "refusal"))
    assert client.post(f"/admin/users/{admin.id}/reset").status_code == 409
    person = _user(session, "admin")
    assert person.active and "admin" in person.role_codes


def test_deactivating_asks_first_then_ends_the_users_session_and_can_be_undone(app, client, login, session, clock,
                                                                               admin, caseworker, user_password):
    other = app.test_client()
    other.post("/login", data={"username": "caseworker", "password": user_password})
    login(admin)
    page = client.get(f"/admin/users/{caseworker.id}").get_data(as_text=True)
    assert f'href="/admin/users/{caseworker.id}/deactivate"' in element(page, "user-actions")
    confirm = client.get(f"/admin/users/{caseworker.id}/deactivate").get_data(as_text=True)
    assert "無効にしますか" in text(element(confirm, "confirm")) and element(confirm, "confirm-button")
    assert _user(session, "caseworker").active  # asking changed nothing

    response = client.post(f"/admin/users/{caseworker.id}/deactivate")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "アカウントを無効にしました" in page and element(page, "user-inactive")
    assert not _user(session, "caseworker").active
    assert other.get("/").headers["Location"].startswith("/login")

    client.post(f"/admin/users/{caseworker.id}/reactivate")
    assert _user(session, "caseworker").active


def test_another_administrator_may_deactivate_an_administrator_whose_session_then_ends(
        app, client, login, session, clock, admin, stranger):
    _person, _elsewhere = stranger  # an administrator of another municipality changes nothing here
    login(admin)
    second, _ = create_staff_user(session, clock, None, municipality_id=admin.municipality_id, username="kanri2",
                                  roles=["admin"], password="second admin passphrase")
    enrol_totp(session, clock, second)
    colleague = app.test_client()
    colleague.post("/login", data={"username": "kanri2", "password": "second admin passphrase"})
    colleague.post("/login/totp", data={"code": totp_code(second, clock)})
    accept_current_pledge(session, clock, second)
    assert colleague.post(f"/admin/users/{admin.id}/deactivate").status_code == 302
    assert client.get("/admin/users").headers["Location"].startswith("/login")
    reread(session)
    assert not session.get(UserRecord, admin.id).active


def test_a_reset_shows_a_new_one_time_password_and_clears_the_second_factor(client, login, session, clock, admin,
                                                                            caseworker, user_password):
    enrol_totp(session, clock, caseworker)
    login(admin)
    confirm = client.get(f"/admin/users/{caseworker.id}/reset").get_data(as_text=True)
    assert "リセットしますか" in text(element(confirm, "confirm"))
    response = client.post(f"/admin/users/{caseworker.id}/reset")
    assert response.status_code == 200
    initial = text(element(response.get_data(as_text=True), "one-time-password"))
    person = _user(session, "caseworker")
    assert person.must_change_password and not person.totp_enabled
    assert check_password(session, clock, "caseworker", user_password).outcome == LoginOutcome.BAD_CREDENTIALS
    assert check_password(session, clock, "caseworker", initial).outcome == LoginOutcome.OK
