"""Odd input never gives a 500, "missing" and "not yours" answer alike, every refusal is a Japanese page
with a way forward, finished tasks are guarded by case access, and break-glass only reads."""
from __future__ import annotations

import pytest
from conftest import reread
from page_text import element
from sqlalchemy import select

from tsunagu.engine.access import users
from tsunagu.engine.access.security import open_break_glass
from tsunagu.engine.casefile.tables import SupportActionRecord
from tsunagu.engine.commands import cases, events, queries
from tsunagu.engine.config import Settings
from tsunagu.engine.errors import BreakGlassReadOnly
from tsunagu.engine.models import AuditRecord, CaseRecord, CaseStatus, TaskRecord, TaskStatus
from tsunagu.web import create_app
from tsunagu.web.extensions import db

REASON = "本人の家族から、連絡が取れず安否が心配との通報があった"
HUGE_IDS = ("2147483648", "9223372036854775808", "99999999999999999999999", "0")


@pytest.mark.parametrize("huge", HUGE_IDS)
def test_an_id_beyond_what_the_database_stores_is_not_found_whatever_the_method(client, login, caseworker, huge):
    login(caseworker)
    for method, path in (("GET", f"/cases/{huge}"), ("POST", f"/cases/{huge}/retry"), ("GET", f"/tasks/{huge}"),
                         ("POST", f"/tasks/{huge}/claim"), ("POST", f"/consents/{huge}/withdraw"),
                         ("GET", f"/cases/{huge}/export.json")):
        response = client.open(path, method=method)
        assert response.status_code == 404, (method, path)
        assert "指定されたものが見つかりません。" in response.get_data(as_text=True)


def test_the_largest_id_is_an_ordinary_missing_record(client, login, caseworker):
    login(caseworker)
    assert client.get("/cases/2147483647").status_code == 404
    assert client.post("/cases/2147483647/actions", data={"action_type_id": "2147483647"}).status_code == 404


def test_a_nul_byte_in_a_form_field_or_query_argument_is_refused_naming_the_field(
        client, login, session, caseworker, standard_case):
    case = standard_case(until="assessed")
    login(caseworker)
    response = client.post(f"/cases/{case.id}/actions", data={"action_type_id": "1", "note": "連絡\x00済み"})
    assert response.status_code == 422
    assert "note" in element(response.get_data(as_text=True), "error-message")
    reread(session)
    assert session.scalar(select(SupportActionRecord)) is None
    response = client.get("/?filter=a\x00b")
    assert response.status_code == 422 and "filter" in element(response.get_data(as_text=True), "error-message")


def test_a_wrong_method_is_a_japanese_page_with_a_way_back(client, login, caseworker):
    login(caseworker)
    response = client.get("/cases/1/retry")
    assert response.status_code == 405 and "POST" in response.headers["Allow"]
    html = response.get_data(as_text=True)
    assert '<html lang="ja">' in html and 'href="/"' in element(html, "error-way-forward")
    assert "Method Not Allowed" not in html and "method_not_allowed" in html


def test_an_unknown_address_shows_the_missing_page_even_before_signing_in(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "指定されたものが見つかりません。" in html and 'href="/login"' in element(html, "error-way-forward")


def test_a_json_client_gets_a_code_and_a_message(client, login, caseworker):
    login(caseworker)
    response = client.get("/cases/2147483647", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.get_json() == {"code": "not_found", "message": "指定されたものが見つかりません。"}
    response = client.get("/cases/1/retry", headers={"Accept": "application/json"})
    assert response.status_code == 405 and response.get_json()["code"] == "method_not_allowed"


def test_a_stale_form_token_is_a_japanese_page_not_a_bare_400(database_url, clock, tmp_path):
    settings = Settings(database_url=database_url, secret_key="test-secret", instance_dir=str(tmp_path / "i"))
    app = create_app({"SETTINGS": settings, "CLOCK": clock, "TESTING": True})
    try:
        response = app.test_client().post("/login", data={"username": "x", "password": "y"})
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        assert "csrf_failed" in html and '<html lang="ja">' in html and "The CSRF token" not in html
    finally:
        with app.app_context():
            db.engine.dispose()


def test_an_unexpected_fault_is_a_calm_page_and_the_request_writes_nothing(database_url, clock, tmp_path):
    settings = Settings(database_url=database_url, secret_key="test-secret", instance_dir=str(tmp_path / "i"))
    app = create_app({"SETTINGS": settings, "CLOCK": clock, "TESTING": True, "WTF_CSRF_ENABLED": False})

    def broken():
        raise RuntimeError("boom")

    app.add_url_rule("/broken", view_func=broken)
    try:
        response = app.test_client().get("/broken")
        assert response.status_code == 500
        html = response.get_data(as_text=True)
        assert "internal_error" in html and "boom" not in html and "Traceback" not in html
    finally:
        with app.app_context():
            db.engine.dispose()


def test_a_finished_task_is_shown_only_to_those_who_may_read_its_case(
        client, login, session, caseworker, other_caseworker, standard_case):
    case = standard_case(until="assessed")
    intake = session.scalar(select(TaskRecord).where(TaskRecord.case_id == case.id,
                                                     TaskRecord.element_id == "intake"))
    assert intake.status == TaskStatus.COMPLETED
    login(other_caseworker)  # holds the lane's role, but does not work this case
    response = client.get(f"/tasks/{intake.id}")
    assert response.status_code == 404 and "山田" not in response.get_data(as_text=True)
    assert client.post(f"/tasks/{intake.id}/claim").status_code == 404
    reread(session)
    refused = session.scalar(select(AuditRecord).where(AuditRecord.action == "task.view_refused"))
    assert (refused.actor_id, refused.task_id) == (other_caseworker.id, intake.id)
    login(caseworker)
    assert client.get(f"/tasks/{intake.id}").status_code == 200


def test_break_glass_reads_but_never_acts_or_exports(client, login, session, supervisor, standard_case):
    case = standard_case(until="tabled")
    login(supervisor)
    client.post("/break-glass", data={"reference": case.reference, "reason": REASON, "hours": "1"})
    page = client.get(f"/cases/{case.id}")
    assert page.status_code == 200 and 'id="export-form"' not in page.get_data(as_text=True)
    assert client.get(f"/cases/{case.id}/export.json").status_code == 403
    response = client.post(f"/cases/{case.id}/actions", data={"action_type_id": "1"})
    assert response.status_code == 403
    assert client.post(f"/cases/{case.id}/review").status_code == 403
    reread(session)
    assert session.scalar(select(AuditRecord).where(AuditRecord.action == "case.export_refused")) is not None


def test_a_case_closed_while_opened_by_break_glass_cannot_be_reopened_from_it(
        session, clock, caseworker, supervisor, standard_version):
    closed = cases.start_case(session, clock, caseworker, standard_version, "前回")
    closed.status = CaseStatus.COMPLETED
    session.commit()
    open_break_glass(session, clock, supervisor, closed.id, REASON, 1)
    with pytest.raises(BreakGlassReadOnly):
        events.reopen_case(session, clock, supervisor, closed.id)
    assert session.scalar(select(CaseRecord).where(CaseRecord.previous_case_id == closed.id)) is None
    assert queries.view_case(session, clock, supervisor, closed.id).access.basis.value == "break_glass"


@pytest.fixture
def other_caseworker(session, clock, municipality, user_password):
    user = users.create_user(session, clock, municipality_id=municipality.id, username="caseworker-2",
                             display_name="相談 次子", password=user_password, roles=["caseworker"])
    session.commit()
    return user
