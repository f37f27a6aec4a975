"""The secrecy pledge (Act Art. 18) comes before every other page; a new version brings everyone back to it."""
from __future__ import annotations

from conftest import reread
from page_text import element, text
from sqlalchemy import select

from tsunagu.engine.casefile import governance
from tsunagu.engine.casefile.governance import PledgeAcceptanceRecord
from tsunagu.engine.models import AuditRecord

CHECKBOX = "上記の守秘義務と罰則を理解し、誓約します"


def _publish(session, clock, municipality, wording=governance.DEFAULT_PLEDGE):
    pledge = governance.publish_pledge(session, clock, municipality.id, wording)
    session.commit()
    return pledge


def test_a_new_user_is_sent_to_the_pledge_from_every_page(client, login, session, clock, municipality, caseworker,
                                                          standard_case):
    case = standard_case(until="assessed")
    pledge = _publish(session, clock, municipality)
    login(caseworker, pledge=False)
    for url in ("/", "/cases/new", f"/cases/{case.id}", f"/cases/{case.id}/export.json", "/council",
                "/notifications", "/admin", "/council/notice"):
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].startswith("/pledge"), url
    reread(session)
    assert session.scalar(select(AuditRecord).where(AuditRecord.case_id == case.id,
                                                    AuditRecord.action.like("case.view%"))) is None

    page = client.get("/pledge?next=/cases/new").get_data(as_text=True)
    assert "第1版" in text(element(page, "pledge-version"))
    assert "1年以下の拘禁刑又は50万円以下の罰金" in text(element(page, "pledge-text"))
    assert CHECKBOX in text(element(page, "field-agree"))
    assert f'name="pledge_id" value="{pledge.id}"' in page


def test_signing_out_switching_language_and_static_files_stay_open_before_the_pledge(
        client, login, session, clock, municipality, caseworker):
    _publish(session, clock, municipality)
    login(caseworker, pledge=False)
    assert client.get("/static/tsunagu.css").status_code == 200
    assert client.post("/lang/en", data={"next": "/pledge"}).headers["Location"] == "/pledge"
    assert "Secrecy pledge" in client.get("/pledge").get_data(as_text=True)
    assert client.post("/logout").headers["Location"] == "/login"


def test_the_pledge_is_refused_without_the_checkbox_and_accepted_with_it(client, login, session, clock, municipality,
                                                                        caseworker):
    pledge = _publish(session, clock, municipality)
    login(caseworker, pledge=False)
    response = client.post("/pledge?next=/cases/new", data={"pledge_id": pledge.id})
    assert response.status_code == 422
    field = element(response.get_data(as_text=True), "field-agree")
    assert "誓約するには、チェックを入れてください。" in text(field) and 'aria-invalid="true"' in field
    assert client.get("/").headers["Location"].startswith("/pledge")

    response = client.post("/pledge?next=/cases/new", data={"pledge_id": pledge.id, "agree": "on"})
    assert response.status_code == 302 and response.headers["Location"] == "/cases/new"
    assert client.get("/").status_code == 200
    reread(session)
    assert session.get(PledgeAcceptanceRecord, (caseworker.id, pledge.id)) is not None
    assert session.scalar(select(AuditRecord.action).where(AuditRecord.actor_id == caseworker.id,
                                                           AuditRecord.action == "pledge.accepted"))


def test_a_new_version_of_the_pledge_sends_everyone_back_to_it(client, login, session, clock, municipality,
                                                               caseworker):
    login(caseworker)  # accepts version 1
    assert client.get("/").status_code == 200
    second = _publish(session, clock, municipality, governance.DEFAULT_PLEDGE + "\n（令和9年改訂）")
    response = client.get("/")
    assert response.headers["Location"].startswith("/pledge")
    page = client.get("/pledge").get_data(as_text=True)
    assert "第2版" in page and "令和9年改訂" in page
    client.post("/pledge", data={"pledge_id": second.id, "agree": "on"})
    assert client.get("/").status_code == 200


def test_accepting_a_pledge_that_was_replaced_meanwhile_shows_the_new_text(client, login, session, clock,
                                                                          municipality, caseworker):
    first = _publish(session, clock, municipality)
    login(caseworker, pledge=False)
    _publish(session, clock, municipality, "改訂した誓約文")
    response = client.post("/pledge", data={"pledge_id": first.id, "agree": "on"})
    assert response.status_code == 409
    assert "改訂した誓約文" in text(element(response.get_data(as_text=True), "pledge-text"))
    assert client.get("/").headers["Location"].startswith("/pledge")


def test_without_a_published_pledge_users_wait_and_an_administrator_publishes_one(
        client, login, session, clock, caseworker, admin, user_password):
    client.post("/login", data={"username": caseworker.username, "password": user_password})
    assert client.get("/").headers["Location"].startswith("/pledge")
    page = client.get("/pledge").get_data(as_text=True)
    assert "システム管理者が公開するまで" in text(element(page, "no-pledge"))
    assert "<textarea" not in page  # only administrators may publish
    assert client.post("/pledge/publish", data={"text": "誓約"}).status_code == 403

    login(admin, pledge=False)
    page = client.get("/pledge").get_data(as_text=True)
    assert governance.DEFAULT_PLEDGE in element(page, "pledge-text-input")
    response = client.post("/pledge/publish", data={"text": "  "})
    assert response.status_code == 422
    assert "この項目は必須です。" in text(element(response.get_data(as_text=True), "field-pledge-text"))
    assert client.post("/pledge/publish", data={"text": governance.DEFAULT_PLEDGE}).status_code == 302
    page = client.get("/pledge").get_data(as_text=True)
    assert "第1版" in page and CHECKBOX in page
    reread(session)
    assert session.scalar(select(AuditRecord.action).where(AuditRecord.action == "pledge.published"))
