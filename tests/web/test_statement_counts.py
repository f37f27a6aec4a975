"""A page's SQL statements must not grow with its rows: each list page is read with few rows and with many,
and both reads must run the same number of statements (no query per row)."""
from __future__ import annotations

import pytest
from sqlalchemy import event

from tsunagu.engine.access import users
from tsunagu.engine.commands import cases, queries
from tsunagu.web.extensions import db


@pytest.fixture
def colleague(session, clock, municipality, user_password):
    user = users.create_user(session, clock, municipality_id=municipality.id, username="colleague",
                             display_name="同僚 太郎", password=user_password, roles=["caseworker"])
    session.commit()
    return user


def statements(app, client, url: str) -> int:
    seen: list[str] = []

    def capture(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        answer = client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert answer.status_code == 200, url
    return len(seen)


def open_cases(session, clock, caseworker, colleague, standard_version, n: int, first: int = 0) -> list[int]:
    """`n` cases whose intake the caseworker has taken, and `n` cases of a colleague whose intake waits for any
    caseworker to take it."""
    opened = []
    for i in range(first, first + n):
        mine = cases.start_case(session, clock, caseworker, standard_version, f"相談 {i}")
        cases.claim_task(session, clock, caseworker, queries.open_tasks_of_case(session, mine.id)[0].id)
        cases.start_case(session, clock, colleague, standard_version, f"同僚の相談 {i}")
        opened.append(mine.id)
    return opened


@pytest.mark.parametrize("url", ["/", "/cases", "/notifications"])
def test_a_caseworkers_list_page_runs_the_same_statements_for_2_rows_as_for_12(
        app, client, login, session, clock, caseworker, colleague, standard_version, url):
    login(caseworker)
    open_cases(session, clock, caseworker, colleague, standard_version, 2)
    statements(app, client, url)  # the first read of a page warms caches that later reads do not need
    few = statements(app, client, url)
    open_cases(session, clock, caseworker, colleague, standard_version, 10, first=2)
    many = statements(app, client, url)
    if url == "/":
        page = client.get(url).get_data(as_text=True)
        assert page.count("相談 11") == 3 and page.count("同僚の相談 11") == 1  # mine and recent, offered
    assert many == few, f"{url}: {few} statements with 2 rows of each kind, {many} with 12"
