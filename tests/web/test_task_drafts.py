"""A session that ends while a task form is open loses nothing: the page's autosave keeps the input as the
user's own draft, a signed-out autosave answers 401, and signing in again returns to the form with the
input restored. Nobody else's draft is ever shown, and odd input is refused with a 4xx, never a 500."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from conftest import accept_current_pledge, reread
from sqlalchemy import select, update

from tsunagu.engine.access import users
from tsunagu.engine.commands import cases, drafts, queries
from tsunagu.engine.config import Settings
from tsunagu.engine.models import AuditRecord, SignInSessionRecord, TaskDraftRecord
from tsunagu.web import create_app
from tsunagu.web.extensions import db

TYPED = {"person_name": "山田 花子", "concern": "妻を亡くして一人暮らし。", "special_care": ["mental_health"],
         "channel": "outreach", "birth_year": "千九百五十"}
JSON = {"Accept": "application/json"}


@pytest.fixture
def task(session, clock, caseworker, standard_version):
    case = cases.start_case(session, clock, caseworker, standard_version, "山田さん")
    return queries.open_tasks_of_case(session, case.id)[0]


@pytest.fixture
def second_caseworker(session, clock, municipality, user_password):
    user = users.create_user(session, clock, municipality_id=municipality.id, username="caseworker2",
                             display_name="相談 二郎", password=user_password, roles=["caseworker"])
    session.commit()
    return user


def _autosave(client, task, data):
    return client.post(f"/tasks/{task.id}/draft", data=data, headers=JSON)


def _value(html: str, name: str) -> str | None:
    match = re.search(rf'<(?:input|textarea)[^>]*\bname="{name}"[^>]*?(?:value="([^"]*)"[^>]*)?>(?:([^<]*)</textarea>)?',
                      html)
    return None if match is None else (match.group(1) if match.group(1) is not None else match.group(2))


def test_input_saved_before_the_session_expired_is_restored_after_signing_in_again(
        client, login, clock, caseworker, task, user_password):
    login(caseworker)
    saved = _autosave(client, task, TYPED)
    assert saved.status_code == 200 and "下書き" in saved.get_json()["message"]

    clock.advance(timedelta(minutes=31))  # past the idle limit with the form still open
    assert _autosave(client, task, {**TYPED, "person_name": "山田 花"}).status_code == 401
    opened = client.get(f"/tasks/{task.id}")
    assert opened.status_code == 302 and "/login?next=" in opened.headers["Location"]

    signed_in = client.post(opened.headers["Location"], data={"username": caseworker.username,
                                                                "password": user_password})
    assert signed_in.headers["Location"].startswith(f"/tasks/{task.id}")
    html = client.get(signed_in.headers["Location"]).get_data(as_text=True)
    assert "下書きを復元しました" in html
    assert _value(html, "person_name") == "山田 花"  # the refused autosave's input, parked for this browser
    assert _value(html, "concern") == "妻を亡くして一人暮らし。"
    assert _value(html, "birth_year") == "千九百五十"  # not a number yet: kept exactly as typed
    assert re.search(r'name="special_care" value="mental_health" checked', html)
    assert re.search(r'name="channel" value="outreach" checked', html)


def test_a_session_ended_on_the_server_answers_the_autosave_401_and_the_form_post_goes_to_sign_in(
        client, login, session, clock, caseworker, task):
    login(caseworker)
    assert _autosave(client, task, TYPED).status_code == 200
    session.execute(update(SignInSessionRecord).values(ended_at=clock(), end_reason="test"))
    session.commit()

    refused = _autosave(client, task, TYPED)
    assert refused.status_code == 401 and refused.get_json()["code"] == "signed_out"
    posted = client.post(f"/tasks/{task.id}", data=TYPED)
    assert posted.status_code == 302 and posted.headers["Location"].startswith("/login?next=")


def test_a_form_posted_after_the_idle_limit_without_script_comes_back_after_signing_in(
        client, login, clock, caseworker, task, user_password):
    login(caseworker)
    clock.advance(timedelta(minutes=31))
    posted = client.post(f"/tasks/{task.id}", data={**TYPED, "wishes": "近所で話せる場"})  # never autosaved
    assert posted.status_code == 302 and posted.headers["Location"] == f"/login?next=/tasks/{task.id}"

    signed_in = client.post(posted.headers["Location"], data={"username": caseworker.username,
                                                              "password": user_password})
    html = client.get(signed_in.headers["Location"]).get_data(as_text=True)
    assert "下書きを復元しました" in html
    assert _value(html, "wishes") == "近所で話せる場" and _value(html, "person_name") == "山田 花子"


def test_a_form_posted_after_a_server_side_end_comes_back_after_signing_in(
        client, login, session, clock, caseworker, task, user_password):
    login(caseworker)
    session.execute(update(SignInSessionRecord).values(ended_at=clock(), end_reason="test"))
    session.commit()
    posted = client.post(f"/tasks/{task.id}", data=TYPED)
    assert posted.status_code == 302
    client.post(posted.headers["Location"], data={"username": caseworker.username, "password": user_password})
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "下書きを復元しました" in html and _value(html, "person_name") == "山田 花子"


def test_input_parked_in_one_browser_never_reaches_another_user_or_another_browser(
        app, client, login, session, clock, caseworker, second_caseworker, task, user_password):
    login(caseworker)
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    client.post("/logout")
    # A copy of the cookie kept after signing out posts the form: it is parked for the copy's browser only.
    assert thief.post(f"/tasks/{task.id}", data={"person_name": "偽の入力"}).status_code == 302
    login(caseworker)
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "偽の入力" not in html and "下書きを復元しました" not in html

    # In a shared browser, another user signing in drops what the first one's ended session left.
    clock.advance(timedelta(minutes=31))
    assert client.post(f"/tasks/{task.id}", data={"person_name": "一郎の入力"}).status_code == 302
    accept_current_pledge(session, clock, second_caseworker)
    client.post("/login", data={"username": second_caseworker.username, "password": user_password})
    assert "一郎の入力" not in client.get(f"/tasks/{task.id}").get_data(as_text=True)
    client.post("/logout")
    login(caseworker)
    assert "一郎の入力" not in client.get(f"/tasks/{task.id}").get_data(as_text=True)


def test_an_autosave_without_any_session_answers_401_json(client, task):
    response = _autosave(client, task, TYPED)
    assert response.status_code == 401
    assert response.get_json()["code"] == "signed_out"
    assert "ログイン" in response.get_json()["message"]


def test_a_page_without_a_draft_shows_no_restore_notice_and_loads_the_script(client, login, caseworker, task):
    login(caseworker)
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "下書きを復元しました" not in html
    assert f'data-draft-url="/tasks/{task.id}/draft"' in html
    assert '<script src="/static/drafts.js" defer></script>' in html


def test_someone_elses_draft_is_never_shown(client, login, session, clock, caseworker, second_caseworker, task):
    login(second_caseworker)
    assert _autosave(client, task, {"person_name": "二郎の下書き"}).status_code == 200
    login(caseworker)
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "下書きを復元しました" not in html and "二郎の下書き" not in html


def test_a_task_claimed_by_someone_else_refuses_the_autosave_and_hides_the_draft(
        client, login, session, clock, caseworker, second_caseworker, task):
    login(caseworker)
    assert _autosave(client, task, TYPED).status_code == 200
    cases.claim_task(session, clock, second_caseworker, task.id)

    refused = _autosave(client, task, TYPED)
    assert refused.status_code == 409 and refused.get_json()["code"] == "conflict"
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "山田 花子" not in html


def test_someone_without_the_role_gets_the_missing_answer(client, login, partner, task):
    login(partner)
    assert _autosave(client, task, TYPED).status_code == 404
    assert client.post("/tasks/2147483647/draft", data=TYPED, headers=JSON).status_code == 404


def test_a_completed_tasks_page_does_not_show_the_draft(client, login, session, clock, caseworker, task):
    login(caseworker)
    assert _autosave(client, task, {**TYPED, "concern": "完了前の下書き"}).status_code == 200
    cases.complete_task(session, clock, caseworker, task.id, {
        "consultation_date": "2026-11-27", "channel": "phone", "person_name": "山田 花子", "birth_year": 1952,
        "household": "alone", "concern": "一人暮らし", "special_care": [], "existing_scheme": "none"})
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "下書きを復元しました" not in html and "完了前の下書き" not in html


@pytest.mark.parametrize("data", [{"person_name": "山田\x00花子"}, {"person\x00name": "山田"}])
def test_a_nul_byte_in_an_autosave_is_refused_with_422(client, login, session, caseworker, task, data):
    login(caseworker)
    response = _autosave(client, task, data)
    assert response.status_code == 422
    reread(session)
    assert session.scalar(select(TaskDraftRecord)) is None


def test_an_oversized_autosave_is_refused_with_413_and_a_japanese_message(client, login, caseworker, task):
    login(caseworker)
    response = _autosave(client, task, {"concern": "あ" * (drafts.MAX_DRAFT_BYTES // 3 + 10)})
    assert response.status_code == 413
    assert response.get_json()["code"] == "draft_too_large"
    assert "下書き" in response.get_json()["message"]


def test_the_first_autosave_is_audited_and_later_ones_are_not(client, login, session, clock, caseworker, task):
    login(caseworker)
    for name in ("山", "山田", "山田 花子"):
        assert _autosave(client, task, {"person_name": name}).status_code == 200
    reread(session)
    rows = session.scalars(select(AuditRecord).where(AuditRecord.action == "draft.created")).all()
    assert [(r.actor_id, r.task_id, r.case_id) for r in rows] == [(caseworker.id, task.id, task.case_id)]


@pytest.fixture
def csrf_client(database_url, clock, tmp_path):
    settings = Settings(database_url=database_url, secret_key="test-secret", instance_dir=str(tmp_path / "csrf"))
    app = create_app({"SETTINGS": settings, "CLOCK": clock, "TESTING": True})
    yield app.test_client()
    with app.app_context():
        db.engine.dispose()


def test_the_autosave_checks_the_pages_csrf_token(csrf_client, session, clock, caseworker, task, user_password):
    accept_current_pledge(session, clock, caseworker)
    page = csrf_client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    csrf_client.post("/login", data={"username": caseworker.username, "password": user_password,
                                     "csrf_token": token})
    html = csrf_client.get(f"/tasks/{task.id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)

    refused = _autosave(csrf_client, task, TYPED)
    assert refused.status_code == 400 and refused.get_json()["code"] == "csrf_failed"
    assert _autosave(csrf_client, task, {**TYPED, "csrf_token": token}).status_code == 200
