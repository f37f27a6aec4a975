"""Signing in, language choice, CSRF and the headers every page carries."""
from __future__ import annotations

from flask_babel import gettext
from markupsafe import escape

from tsunagu.engine.config import Settings
from tsunagu.web import create_app


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_the_login_page_is_japanese_by_default(client):
    html = client.get("/login").get_data(as_text=True)
    assert '<html lang="ja">' in html and "ログイン" in html and "パスワード" in html


def test_a_wrong_password_is_refused_in_japanese(app, client, caseworker):
    response = client.post("/login", data={"username": caseworker.username, "password": "wrong"})
    assert response.status_code == 401
    with app.test_request_context():  # the one refusal for wrong names, passwords and locks, in Japanese
        refusal = escape(gettext("The user name or password is wrong, or the account is locked for a while. "
                                 "Please check them or try again later."))
    assert refusal in response.get_data(as_text=True)


def test_passwords_are_stored_as_argon2_hashes(caseworker, user_password):
    assert caseworker.password_hash.startswith("$argon2id$")
    assert user_password not in caseworker.password_hash


def test_login_returns_to_the_page_asked_for_but_never_off_site(client, caseworker, user_password):
    form = {"username": caseworker.username, "password": user_password}
    assert client.post("/login?next=/cases/new", data=form).headers["Location"] == "/cases/new"
    client.post("/logout")
    assert client.post("/login?next=//evil.example/x", data=form).headers["Location"] == "/"


def test_english_can_be_chosen_and_sticks(client, login, caseworker):
    login(caseworker)
    client.post("/lang/en", data={"next": "/"})
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in html and "My tasks" in html and "自分のタスク" not in html
    client.post("/lang/ja", data={"next": "/"})
    assert "自分のタスク" in client.get("/").get_data(as_text=True)


def test_security_headers_are_on_every_page(client):
    headers = client.get("/login").headers
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert headers["Cache-Control"] == "no-store"


def test_a_form_post_without_csrf_token_is_rejected(database_url, clock, tmp_path, caseworker, user_password):
    settings = Settings(database_url=database_url, secret_key="k", instance_dir=str(tmp_path / "i"))
    client = create_app({"SETTINGS": settings, "CLOCK": clock, "TESTING": True}).test_client()
    response = client.post("/login", data={"username": caseworker.username, "password": user_password})
    assert response.status_code == 400
    assert client.get("/").headers["Location"].startswith("/login")  # not signed in


def test_the_session_cookie_is_http_only(client, login, caseworker):
    cookie = login(caseworker).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
