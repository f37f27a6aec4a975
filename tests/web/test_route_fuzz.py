"""A bounded fuzz over every route: odd ids, odd field values, missing and repeated fields, sent as a signed-in
caseworker, supervisor and administrator, never give a 5xx (a few thousand requests)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from werkzeug.datastructures import MultiDict

WEB = Path(__file__).resolve().parents[2] / "web"
# Odd values for route parameters (path segments): out of range, negative, not numbers, unicode digits.
ODD_SEGMENTS = ("1", "0", "-1", "2147483648", "9223372036854775808", "abc", "%00", "%EF%BC%92", "9" * 300)
# Odd values for form fields and query arguments.
ODD_VALUES = ("", "2147483648", "-1", "nan", "1e309", "２", "²", "x" * 5000, "2026-02-30", "<b>\u202e</b>",
              "a\x00b", "9" * 40)
# The actions that would end the session or change what the next user can do are left to their own tests.
SKIPPED = {"auth.logout", "auth.login", "auth.login_totp", "static", "account.change_password",
           "account.totp_start", "account.totp_confirm", "admin_users.deactivate", "admin_users.reset",
           "admin_users.update", "admin_security.save"}


def _field_names() -> list[str]:
    """Every form field name the pages use, from the templates and the views."""
    names = set()
    for path in WEB.rglob("*.html"):
        names.update(re.findall(r'name="([a-z_][a-z0-9_]*)"', path.read_text()))
    for path in WEB.rglob("*.py"):
        names.update(re.findall(r'(?:form|args)\.get(?:list)?\("([a-z_][a-z0-9_]*)"', path.read_text()))
    names.discard("csrf_token")
    return sorted(names)


def _targets(app) -> list[tuple[str, str, list[str]]]:
    targets = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIPPED:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            targets.append((method, rule.rule, sorted(rule.arguments)))
    return targets


def _path(rule: str, arguments: list[str], segment: str) -> str:
    path = rule
    for name in arguments:
        path = re.sub(rf"<(?:[a-z]+:)?{name}>", segment, path)
    return path


@pytest.fixture
def world(session, clock, caseworker, supervisor, admin, standard_case):
    """A decided case of the shipped process, so that id 1 names real records of most kinds."""
    return standard_case()


def test_no_route_answers_a_5xx_to_odd_input(app, client, login, world, caseworker, supervisor, admin):
    fields = _field_names()
    targets = _targets(app)
    failures, sent = [], 0

    def send(user, method, path, data=None, query=None):
        nonlocal sent
        sent += 1
        response = client.open(path, method=method, data=data, query_string=query)
        if response.status_code >= 500:
            failures.append(f"{user.username} {method} {path} {str(data)[:80]!r} {str(query)[:80]!r} "
                            f"-> {response.status_code}")
        if response.status_code == 302 and "/login" in response.headers.get("Location", ""):
            login(user)  # something ended the session (e.g. a password change): carry on signed in

    for user in (caseworker, supervisor, admin):
        login(user)
        for method, rule, arguments in targets:
            for segment in ODD_SEGMENTS if arguments else ("",):
                send(user, method, _path(rule, arguments, segment))
            path = _path(rule, arguments, "1")
            for value in ODD_VALUES:
                bag = {name: value for name in fields}
                if method == "GET":
                    send(user, method, path, query=bag)
                else:
                    send(user, method, path, data=bag)
            if method == "POST":  # repeated (array-valued) fields, with one good and one odd value
                send(user, method, path, data=MultiDict([(name, v) for name in fields for v in ("1", "x" * 300)]))

    assert not failures, f"{len(failures)} of {sent} requests gave a 5xx:\n" + "\n".join(failures[:40])
    assert sent > 2000
