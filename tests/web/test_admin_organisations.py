"""The administrators' set-up pages: organisations, councils, the action catalogue, security settings, the pledge."""
from __future__ import annotations

import pytest
from conftest import enrol_totp, reread
from page_text import element, options, text
from sqlalchemy import event, select

from tsunagu.engine.access import users
from tsunagu.engine.admin import catalogue as engine_catalogue
from tsunagu.engine.admin import councils, organisations
from tsunagu.engine.casefile.governance import PledgeTextRecord
from tsunagu.engine.casefile.tables import ActionTypeRecord, OrganisationKind, OrganisationRecord
from tsunagu.engine.commands import queries
from tsunagu.engine.models import AuditRecord, MunicipalityRecord
from tsunagu.web.extensions import db

PAGES = ("/admin/organisations", "/admin/councils", "/admin/catalogue", "/admin/security")
SIGN_IN_ACTIONS = ("login.succeeded", "totp.enabled", "pledge.published", "pledge.accepted")


@pytest.fixture
def other_town(session, clock):
    """中央区 with a body, an action type and a council of its own."""
    town = MunicipalityRecord(code="131024", name="中央区")
    session.add(town)
    session.commit()
    body = organisations.add_organisation(session, clock, None, town.id, name="中央区社協", kind="member_body")
    kind = engine_catalogue.add_action_type(session, clock, None, town.id, code="visit", name="訪問",
                                            owner_body_id=body.id, service_days=7)
    council = councils.create_council(session, clock, None, town.id, name="中央区協議会", established_on="2024-04-01")
    councils.add_council_member(session, clock, None, town.id, council.id, body.id)
    return {"town": town, "body": body, "kind": kind, "council": council}


def english(client) -> None:
    """Switch the session to English: messages new in this slice are translated only once merged."""
    client.post("/lang/en", data={"next": "/"})


def test_only_administrators_of_the_municipality_reach_the_set_up_pages(client, login, session, admin, caseworker,
                                                                       catalogue):
    login(admin)
    links = element(client.get("/admin").get_data(as_text=True), "admin-links")
    for url in PAGES + ("/pledge",):
        assert f'href="{url}"' in links, url
        assert client.get(url).status_code == 200, url
    login(caseworker)
    for url in PAGES:
        assert client.get(url).status_code == 403, url
    body = catalogue["shakyo"]
    for url, data in (("/admin/organisations", {"name": "乗っ取り", "kind": "member_body"}),
                      (f"/admin/organisations/{body.id}/retire", {}),
                      ("/admin/catalogue", {"code": "x", "name": "x", "owner_body_id": body.id, "service_days": 7}),
                      ("/admin/councils", {"name": "x", "established_on": "2024-04-01"}),
                      ("/admin/security", {"require_second_factor": "on"})):
        assert client.post(url, data=data).status_code == 403, url
    reread(session)
    assert session.scalars(select(AuditRecord.action).where(AuditRecord.action.not_in(SIGN_IN_ACTIONS))).all() == []


def test_an_administrator_adds_renames_and_retires_an_organisation(client, login, session, admin, catalogue):
    login(admin)
    english(client)
    page = client.get("/admin/organisations").get_data(as_text=True)
    assert text(element(page, f"organisation-{catalogue['fukushi'].id}")) == \
        "福祉課（調整機関） Coordinating body Member body Active Edit"
    assert text(element(page, f"organisation-{catalogue['shakyo'].id}")) == "市社会福祉協議会 Member body Active Edit"
    response = client.post("/admin/organisations", data={"name": "地域振興課", "kind": "department"})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/organisations"
    added = session.scalar(select(OrganisationRecord).where(OrganisationRecord.name == "地域振興課"))
    assert added.kind == OrganisationKind.DEPARTMENT

    response = client.post(f"/admin/organisations/{added.id}", data={"name": "地域振興部", "kind": "member_body"})
    assert response.status_code == 302
    response = client.post(f"/admin/organisations/{added.id}/retire")
    assert response.status_code == 302
    reread(session)
    assert (added.name, added.kind, added.active) == ("地域振興部", OrganisationKind.MEMBER_BODY, False)
    actions = session.scalars(select(AuditRecord.action).where(AuditRecord.actor_id == admin.id,
                                                               AuditRecord.action.like("organisation.%"))).all()
    assert actions == ["organisation.added", "organisation.renamed", "organisation.kind_changed",
                       "organisation.retired"]
    assert all(r.detail["via"] == "web" for r in session.scalars(select(AuditRecord).where(
        AuditRecord.action.like("organisation.%"))))


def test_bad_input_is_answered_422_with_the_fields_message_in_japanese(client, login, admin, catalogue):
    login(admin)
    response = client.post("/admin/organisations", data={"name": "", "kind": "member_body"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert text(element(page, "err-name")) == "この項目は必須です。"
    assert 'aria-invalid="true"' in element(page, "field-name")

    response = client.post("/admin/organisations", data={"name": "あ" * 201, "kind": "member_body"})
    assert response.status_code == 422
    assert text(element(response.get_data(as_text=True), "err-name")) == "200 文字以内で入力してください。"

    response = client.post("/admin/catalogue", data={"code": "night_call", "name": "夜間の電話",
                                                     "owner_body_id": catalogue["minsei"].id, "service_days": "400"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert text(element(page, "err-service_days")) == "365 以下の値を入力してください。"
    assert 'value="夜間の電話"' in element(page, "field-name")  # what was typed is kept

    response = client.post("/admin/councils", data={"name": "協議会", "established_on": "令和6年4月1日"})
    assert response.status_code == 422
    assert text(element(response.get_data(as_text=True), "err-established_on")) == \
        "日付を YYYY-MM-DD の形式で入力してください。"
    response = client.post("/admin/security", data={"idle_minutes": "3"})
    assert response.status_code == 422
    assert text(element(response.get_data(as_text=True), "err-idle_minutes")) == "5 以上の値を入力してください。"


def test_duplicates_and_malformed_codes_are_named_beside_their_field(client, login, admin, catalogue):
    login(admin)
    english(client)
    response = client.post("/admin/organisations", data={"name": "保健センター", "kind": "member_body"})
    assert response.status_code == 422
    assert text(element(response.get_data(as_text=True), "err-name")) == \
        "This name is already used in your municipality."
    response = client.post("/admin/catalogue", data={"code": "home_visit", "name": "訪問", "service_days": "7",
                                                     "owner_body_id": catalogue["shakyo"].id})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert text(element(page, "err-code")) == "This code is already used in your catalogue."
    response = client.post("/admin/catalogue", data={"code": "Home-Visit", "name": "新しい訪問", "service_days": "7",
                                                     "owner_body_id": catalogue["shakyo"].id})
    assert text(element(response.get_data(as_text=True), "err-code")).startswith("Use lower-case letters a-z")
    response = client.post("/admin/councils", data={"name": "協議会", "established_on": "2024-04-01",
                                                    "joint_with": "131024"})
    assert text(element(response.get_data(as_text=True), "err-joint_with")) == \
        "No municipality with the code 131024 is registered."


def test_another_municipalitys_records_are_not_found(client, login, admin, catalogue, other_town):
    login(admin)
    body, kind, council = other_town["body"].id, other_town["kind"].id, other_town["council"].id
    for url in (f"/admin/organisations/{body}", f"/admin/catalogue/{kind}", f"/admin/councils/{council}",
                f"/admin/councils/{council}/notice"):
        assert client.get(url).status_code == 404, url
    for url, data in ((f"/admin/organisations/{body}", {"name": "乗っ取り", "kind": "member_body"}),
                      (f"/admin/organisations/{body}/retire", {}), (f"/admin/catalogue/{kind}/retire", {}),
                      (f"/admin/councils/{council}/members", {"organisation_id": catalogue["shakyo"].id}),
                      (f"/admin/councils/{council}/members/{body}/remove", {})):
        assert client.post(url, data=data).status_code == 404, url
    response = client.post("/admin/catalogue", data={"code": "x1", "name": "他所の機関へ", "service_days": "7",
                                                     "owner_body_id": body})
    assert response.status_code == 422  # another municipality's body is not a choice
    assert (other_town["body"].name, other_town["body"].active) == ("中央区社協", True)


def test_huge_ids_and_nul_bytes_never_break_a_page(client, login, admin, catalogue):
    login(admin)
    for url in ("/admin/organisations/99999999999999999999", "/admin/catalogue/2147483648",
                "/admin/councils/99999999999999999999", "/admin/councils/abc", "/admin/organisations/-1"):
        assert client.get(url).status_code == 404, url
    assert client.post("/admin/organisations/99999999999999999999/retire").status_code == 404
    response = client.post("/admin/organisations", data={"name": "居場所\x00", "kind": "member_body\x00"})
    assert response.status_code == 422
    response = client.post("/admin/catalogue", data={"code": "a\x00", "name": "\x00", "service_days": "9" * 5000,
                                                     "owner_body_id": "99999999999999999999"})
    assert response.status_code == 422
    council = client.post("/admin/councils", data={"name": "協議会", "established_on": "2024-04-01",
                                                   "joint_with": "\x00 " + "1" * 5000})
    assert council.status_code == 422
    assert client.post("/admin/security", data={"idle_minutes": "\x00"}).status_code == 422
    response = client.post("/admin/councils", data={"name": "協議会", "established_on": "2024-04-01"})
    council_url = response.headers["Location"]
    for data in ({"organisation_id": "99999999999999999999"}, {"organisation_id": "\x00"}, {}):
        assert client.post(f"{council_url}/members", data=data).status_code == 422
        assert client.post(f"{council_url}/coordinating-body", data=data).status_code == 422


def test_the_organisations_and_catalogue_lists_take_as_many_queries_for_many_rows_as_for_few(
        app, client, login, session, clock, admin, catalogue):
    login(admin)

    def statements(url: str) -> int:
        seen: list[str] = []

        def capture(_conn, _cursor, statement, *_args):
            seen.append(statement)

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", capture)
        try:
            assert client.get(url).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", capture)
        return len(seen)

    urls = ("/admin/organisations", "/admin/catalogue", "/admin/councils")
    few = {url: statements(url) for url in urls}
    for n in range(15):
        body = OrganisationRecord(municipality_id=admin.municipality_id, name=f"NPO {n}",
                                  kind=OrganisationKind.MEMBER_BODY, active=n % 2 == 0)
        session.add(body)
        session.flush()
        session.add(ActionTypeRecord(municipality_id=admin.municipality_id, code=f"extra_{n}", name=f"支援 {n}",
                                     default_owner_body_id=body.id, service_days=n + 1, active=n % 3 != 0))
    session.commit()
    for n in range(4):
        councils.create_council(session, clock, None, admin.municipality_id, name=f"協議会 {n}",
                                established_on="2024-04-01")
    assert {url: statements(url) for url in urls} == few
    page = client.get("/admin/catalogue").get_data(as_text=True)
    assert text(element(page, "action-types")).count("支援 ") == 15
    assert text(element(client.get("/admin/councils").get_data(as_text=True), "councils")).count("協議会 ") == 4


def test_a_joint_council_is_registered_given_members_and_a_coordinating_body(client, login, session, admin, catalogue,
                                                                            other_town):
    login(admin)
    english(client)
    response = client.post("/admin/councils", data={"name": "つながり・中央協議会", "established_on": "2024-04-01",
                                                    "joint_with": "131024"})
    assert response.status_code == 302
    council_url = response.headers["Location"]
    page = client.get(council_url).get_data(as_text=True)
    assert text(element(page, "council-facts")).startswith("Established 2024-04-01 Set up by 中央区（131024）、つながり市")
    choices = dict(options(element(page, "member-organisation")))
    assert choices[str(other_town["body"].id)] == "中央区社協（中央区）"
    assert choices[str(catalogue["fukushi"].id)] == "福祉課（調整機関）（つながり市）"

    for body in (catalogue["fukushi"], catalogue["shakyo"], other_town["body"]):
        assert client.post(f"{council_url}/members", data={"organisation_id": body.id}).status_code == 302
    response = client.post(f"{council_url}/coordinating-body", data={"organisation_id": catalogue["shakyo"].id,
                                                                     "designated_on": "2024-05-01"})
    assert response.status_code == 302
    page = client.get(council_url).get_data(as_text=True)
    assert text(element(page, "coordinating-body")) == "市社会福祉協議会（designated 2024-05-01）"
    assert f'action="{council_url}/members/{catalogue["shakyo"].id}/remove"' not in page  # the coordinating body stays
    notice = element(client.get(f"{council_url}/notice").get_data(as_text=True), "public-notice")
    assert "\n3 孤独・孤立対策調整機関　市社会福祉協議会（2024年5月1日指定）\n" in notice
    assert "\n4 構成機関等　中央区社協、市社会福祉協議会、福祉課（調整機関）<" in notice

    response = client.post(f"/admin/organisations/{catalogue['shakyo'].id}/retire")
    assert response.status_code == 409
    refusal = text(element(response.get_data(as_text=True), "in-use"))
    assert "coordinating body of the council “つながり・中央協議会”" in refusal
    assert "default owner body of the support action “訪問による見守り・相談”" in refusal
    response = client.post(f"{council_url}/members/{catalogue['shakyo'].id}/remove")
    assert response.status_code == 409
    assert client.post(f"{council_url}/members/{catalogue['fukushi'].id}/remove").status_code == 302
    reread(session)
    assert [b.name for b in session.scalars(select(OrganisationRecord).where(
        OrganisationRecord.is_coordinating_body.is_(True)))] == ["市社会福祉協議会"]
    assert catalogue["shakyo"].active


def test_the_catalogue_page_adds_changes_and_retires_a_support_action(client, login, session, admin, catalogue):
    login(admin)
    english(client)
    response = client.post("/admin/catalogue", data={"code": "night_call", "name": "夜間の電話",
                                                     "owner_body_id": catalogue["minsei"].id, "service_days": "3"})
    assert response.status_code == 302
    kind = session.scalar(select(ActionTypeRecord).where(ActionTypeRecord.code == "night_call"))
    page = client.get("/admin/catalogue").get_data(as_text=True)
    assert text(element(page, f"action-type-{kind.id}")) == "夜間の電話 night_call 民生委員児童委員協議会 3 days Active Edit"
    assert str(catalogue["minsei"].id) in dict(options(element(page, "owner_body_id")))

    edit = client.get(f"/admin/catalogue/{kind.id}").get_data(as_text=True)
    assert 'value="夜間の電話"' in element(edit, "field-name")
    response = client.post(f"/admin/catalogue/{kind.id}", data={"name": "夜間・休日の電話", "service_days": "5",
                                                                "owner_body_id": catalogue["houkatsu"].id})
    assert response.status_code == 302
    assert client.post(f"/admin/catalogue/{kind.id}/retire").status_code == 302
    page = client.get("/admin/catalogue").get_data(as_text=True)
    assert text(element(page, f"action-type-{kind.id}")) == \
        "夜間・休日の電話 night_call 地域包括支援センター 5 days Retired Edit"
    reread(session)
    assert "night_call" not in [k.code for k in queries.action_types(session, admin.municipality_id)]
    actions = session.scalars(select(AuditRecord.action).where(AuditRecord.action.like("action_type.%"))).all()
    assert actions == ["action_type.added", "action_type.renamed", "action_type.owner_changed",
                       "action_type.service_days_changed", "action_type.retired"]


def test_the_security_settings_page_stores_the_second_factor_rule_and_the_idle_timeout(client, login, session,
                                                                                      admin):
    login(admin)
    english(client)
    page = client.get("/admin/security").get_data(as_text=True)
    assert "checked" not in element(page, "require_second_factor")
    assert "installation's default (30 minutes)" in text(element(page, "help-idle_minutes"))
    response = client.post("/admin/security", data={"require_second_factor": "on", "idle_minutes": "15"})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/security"
    page = client.get("/admin/security").get_data(as_text=True)
    assert "checked" in element(page, "require_second_factor") and 'value="15"' in element(page, "idle_minutes")
    assert client.post("/admin/security", data={"idle_minutes": ""}).status_code == 302
    reread(session)
    town = session.get(MunicipalityRecord, admin.municipality_id)
    assert (town.require_second_factor, town.idle_minutes) == (False, None)
    changes = session.scalars(select(AuditRecord).where(AuditRecord.action == "settings.changed")).all()
    assert [c.detail["after"] for c in changes] == [
        {"require_second_factor": True, "idle_minutes": 15, "closure_grace_days": 30, "council_window_days": 30},
        {"require_second_factor": False, "idle_minutes": None, "closure_grace_days": 30, "council_window_days": 30}]


def test_an_administrator_publishes_a_revised_pledge_from_the_pledge_page(client, login, session, admin, caseworker):
    login(admin)
    english(client)
    page = client.get("/pledge").get_data(as_text=True)
    form = element(page, "revise-pledge")
    assert "Publish as version 2" in text(form) and "第18条" in element(form, "pledge-text-input")
    response = client.post("/pledge/publish", data={"text": "\x00"})
    # A NUL byte (never typed, only crafted) is refused before the page, naming the field.
    assert response.status_code == 422 and "text" in element(response.get_data(as_text=True), "error-message")
    response = client.post("/pledge/publish", data={"text": "改訂した誓約文です。"})
    assert response.status_code == 302
    assert client.get("/admin").headers["Location"].startswith("/pledge")  # the administrator accepts it too
    reread(session)
    assert session.scalars(select(PledgeTextRecord.version).order_by(PledgeTextRecord.version)).all() == [1, 2]
    login(caseworker, pledge=False)
    assert "revise-pledge" not in client.get("/pledge").get_data(as_text=True)


def test_a_second_administrator_sees_only_their_own_municipality(client, login, session, clock, other_town,
                                                                 user_password, catalogue):
    chuo_admin = users.create_user(session, clock, municipality_id=other_town["town"].id, username="chuo-admin",
                                   display_name="中央 管理", password=user_password, roles=["admin"])
    session.commit()
    enrol_totp(session, clock, chuo_admin)
    login(chuo_admin)
    page = client.get("/admin/organisations").get_data(as_text=True)
    assert "中央区社協" in text(element(page, "organisations")) and "市社会福祉協議会" not in page
    assert client.get(f"/admin/organisations/{catalogue['shakyo'].id}").status_code == 404
