"""Only GET reads and HEAD never acts; every form post needs its CSRF token; the headers that keep
pages from being framed, rebased or posting elsewhere; `next=` never leaves the site."""
from __future__ import annotations

import pytest
from conftest import reread
from flask_wtf.csrf import CSRFError
from sqlalchemy import func, select

from tsunagu.engine.config import Settings
from tsunagu.engine.models import AuditRecord, CaseRecord
from tsunagu.web import create_app
from tsunagu.web.extensions import csrf


def _audit_count(session) -> int:
    reread(session)
    return session.scalar(select(func.count()).select_from(AuditRecord))


def _concrete(rule) -> str:
    path = rule.rule
    while "<" in path:
        start, end = path.index("<"), path.index(">")
        path = path[:start] + ("ja" if path[start:end].endswith("code") else "1") + path[end + 1:]
    return path


def _post_only_rules(app):
    """Routes whose address only takes a form post (some addresses have a GET page as a separate route)."""
    readable = {r.rule for r in app.url_map.iter_rules() if "GET" in r.methods}
    return [r for r in app.url_map.iter_rules() if "POST" in r.methods and r.rule not in readable]


def test_head_on_every_post_only_route_is_refused_with_405_and_changes_nothing(app, client, login, session, admin):
    login(admin)
    before = _audit_count(session)
    rules = _post_only_rules(app)
    assert len(rules) > 20
    for rule in rules:
        response = client.open(_concrete(rule), method="HEAD", data={"reason": "x" * 20})
        assert response.status_code == 405, rule.rule
    assert _audit_count(session) == before


def test_head_on_a_page_that_also_takes_a_form_only_reads_it(client, login, session, caseworker, standard_version):
    login(caseworker)
    before = _audit_count(session)
    response = client.head("/cases/new", data={"version_id": str(standard_version.id), "title": "HEADで開いた"})
    assert response.status_code == 200 and response.get_data() == b""
    reread(session)
    assert session.scalar(select(func.count()).select_from(CaseRecord)) == 0
    assert _audit_count(session) == before


def test_head_on_the_login_page_never_signs_anyone_in(client, session, caseworker, user_password):
    before = _audit_count(session)
    response = client.head("/login", data={"username": caseworker.username, "password": user_password})
    assert response.status_code == 200
    assert client.get("/").status_code == 302  # still anonymous
    assert _audit_count(session) == before


def test_no_route_but_the_apis_is_exempt_from_the_csrf_check(app, client, login, caseworker):
    """The API alone is exempt: a cookie never signs an API request in, so a forged form cannot ride one."""
    assert not csrf._exempt_views and {getattr(b, "name", b) for b in csrf._exempt_blueprints} == {"api"}
    login(caseworker)
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and "POST" in rule.methods:
            assert client.post(_concrete(rule)).status_code == 401, rule.rule


def test_every_form_post_without_its_csrf_token_is_refused(database_url, clock, tmp_path, session, admin,
                                                           user_password):
    settings = Settings(database_url=database_url, secret_key="test-secret", instance_dir=str(tmp_path / "i"))
    app = create_app({"SETTINGS": settings, "CLOCK": clock, "TESTING": True})
    refused = []

    @app.errorhandler(CSRFError)
    def _seen(error):  # stands in for the error page, to see that the refusal is a CSRFError
        refused.append(error)
        return "csrf", 400

    client = app.test_client()
    before = _audit_count(session)
    rules = [r for r in app.url_map.iter_rules() if "POST" in r.methods and not r.endpoint.startswith("api.")]
    for rule in rules:
        response = client.post(_concrete(rule), data={"username": admin.username, "password": user_password})
        assert response.status_code == 400, rule.rule
    assert len(refused) == len(rules)
    assert _audit_count(session) == before


def test_every_page_forbids_other_bases_and_form_targets(client):
    policy = client.get("/login").headers["Content-Security-Policy"]
    assert "base-uri 'none'" in policy and "form-action 'self'" in policy and "frame-ancestors 'none'" in policy


@pytest.mark.parametrize("target", [
    "//evil.example/", "/\\evil.example/", "/\\/evil.example", "\\\\evil.example", "https://evil.example/",
    "/%0a/evil.example", "/\t/evil.example", "/\n/evil.example", "javascript:alert(1)",
    "http:/evil.example", "/ /evil.example\r",
])
def test_signing_in_never_sends_the_user_to_another_site(client, session, clock, caseworker, user_password, target):
    from conftest import accept_current_pledge

    accept_current_pledge(session, clock, caseworker)
    response = client.post("/login", query_string={"next": target},
                           data={"username": caseworker.username, "password": user_password})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location == "/" or (location.startswith("/") and not location.startswith("//") and "\\" not in location)


def test_a_same_site_next_address_is_kept(client, session, clock, caseworker, user_password):
    from conftest import accept_current_pledge

    accept_current_pledge(session, clock, caseworker)
    response = client.post("/login", query_string={"next": "/cases/new?x=1"},
                           data={"username": caseworker.username, "password": user_password})
    assert response.headers["Location"] == "/cases/new?x=1"


def test_head_on_every_page_does_no_more_than_reading_it(app, client, login, session, admin):
    login(admin)
    pages = sorted({r.rule for r in app.url_map.iter_rules()
                    if "GET" in r.methods and "<" not in r.rule and r.endpoint != "static"})
    assert len(pages) > 15
    for page in pages:
        before = _audit_count(session)
        read = client.get(page)
        after_get = _audit_count(session)
        head = client.head(page)
        assert head.status_code == read.status_code, page
        assert _audit_count(session) - after_get == after_get - before, page  # the same reads audited, no command
