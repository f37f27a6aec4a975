"""Reports (/reports, /reports.xlsx): who may read them, the numbers on the page and in Excel, the audit
rows, odd query strings, and a statement count that does not grow with the rows."""
from __future__ import annotations

import io
import re
import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from conftest import reread
from openpyxl import load_workbook
from page_text import element
from sqlalchemy import event, select
from test_route_fuzz import ODD_VALUES

from tsunagu.engine.access import users
from tsunagu.engine.casefile.tables import AssessmentRecord, ConsentRecord, OrganisationKind, OrganisationRecord
from tsunagu.engine.models import AuditRecord, CaseRecord, CaseStatus, TaskRecord, TaskStatus

JAPAN = ZoneInfo("Asia/Tokyo")
CHANNEL_ROWS = ("counter", "phone", "sns", "outreach", "minsei", "supporter", "other")


def _at(y, m, d, h=10):
    return datetime(y, m, d, h, tzinfo=JAPAN)


def add_cases(session, town_id, version_id, user_id, opened: list[tuple[date, str]]) -> list[CaseRecord]:
    """Cases straight into the table with their consultation day and channel (no process runs)."""
    found = []
    for day, channel in opened:
        case = CaseRecord(municipality_id=town_id, process_version_id=version_id, title="相談",
                          status=CaseStatus.RUNNING, workflow_state="{}", created_by_id=user_id,
                          created_at=_at(2026, 4, 1), updated_at=_at(2026, 4, 1), channel=channel, opened_on=day)
        session.add(case)
        found.append(case)
    session.flush()
    return found


def add_answers(session, case, user_id, baseline: int, review: int | None, consent=True) -> None:
    """A direct-question answer at intake (and at review), with a consent to statistics if `consent`."""
    if consent:
        session.add(ConsentRecord(case_id=case.id, decision="given", purposes=["council", "statistics"],
                                  recipient_body_ids=[], form_version="t", recorded_by_id=user_id,
                                  recorded_at=_at(2026, 4, 2)))
    for stage, score, when in (("baseline", baseline, _at(2026, 4, 20)), ("review", review, _at(2026, 9, 1))):
        if score is not None:
            session.add(AssessmentRecord(case_id=case.id, instrument="direct_loneliness_jp", instrument_version="2021",
                                         stage=stage, respondent="self", answers={}, score=score,
                                         recorded_by_id=user_id, recorded_at=when))


@pytest.fixture
def seeded(session, municipality, standard_version, supervisor):
    """3 consultations by phone and 1 at the counter in April 2026, 2 by outreach in May; two cases' answers."""
    cases = add_cases(session, municipality.id, standard_version.id, supervisor.id,
                      [(date(2026, 4, 10), "phone")] * 3 + [(date(2026, 4, 11), "counter")]
                      + [(date(2026, 5, 2), "outreach")] * 2)
    add_answers(session, cases[0], supervisor.id, 4, 2)
    add_answers(session, cases[1], supervisor.id, 3, None)
    add_answers(session, cases[2], supervisor.id, 1, 1, consent=False)  # never counted
    session.add(TaskRecord(case_id=cases[0].id, municipality_id=municipality.id, spiff_task_id=str(uuid.uuid4()),
                           element_id="follow_up_review", name="review", kind="review", status=TaskStatus.COMPLETED,
                           created_at=_at(2026, 8, 20), due_at=_at(2026, 9, 3), completed_at=_at(2026, 9, 1)))
    session.commit()
    return cases


def rows_of(html: str, section: str) -> list[list[str]]:
    """The cells of a section's table, each row's label first."""
    table = element(html, section)
    found = []
    for label, cells in re.findall(r'<th scope="row">(.*?)</th>(.*?)</tr>', table, re.S):
        found.append([label.strip(), *(c.strip() for c in re.findall(r'<td class="num">(.*?)</td>', cells, re.S))])
    return found


def test_the_page_shows_every_table_with_its_numbers_and_a_chart_and_audits_one_view(
        client, login, session, supervisor, seeded):
    login(supervisor)
    response = client.get("/reports?year=2026")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    consultations = rows_of(html, "consultations")
    by_channel = dict(zip(CHANNEL_ROWS, consultations, strict=False))
    assert by_channel["phone"][1:3] == ["3", "0"] and by_channel["phone"][-1] == "3"  # April, May, ..., total
    assert by_channel["counter"][1] == "1" and by_channel["outreach"][2] == "2"
    assert consultations[-1][1:3] == ["4", "2"] and consultations[-1][-1] == "6"  # the total row
    assert len(consultations[0]) == 14  # label, 12 months, total
    direct = rows_of(html, "measure-direct_loneliness_jp")
    assert [r[1] for r in direct[:5]] == ["0", "0", "1", "1", "0"]  # intake: 3 and 4; the unconsented 1 absent
    assert [r[3] for r in direct[:5]] == ["0", "1", "0", "0", "0"] and direct[2][2] == "50.0%"
    assert rows_of(html, "change")[0][1:] == ["1", "0", "0", "1"]
    assert rows_of(html, "reviews")[0][6] == "1"  # one review held in September
    # a chart beside every table with a number in it: consultations, reviews, the direct question, change
    assert html.count('<svg class="chart bar-chart"') == 4 and 'href="/reports.xlsx?' in html
    assert "<script" not in html.split("</header>")[1] and "style=" not in html
    reread(session)
    views = session.scalars(select(AuditRecord).where(AuditRecord.action == "report.viewed")).all()
    assert len(views) == 1 and views[0].case_id is None and views[0].detail["period"]["fiscal_year"] == 2026
    assert views[0].detail["via"] == "web"


def test_one_month_shows_one_column(client, login, supervisor, seeded):
    login(supervisor)
    html = client.get("/reports?year=2026&month=4").get_data(as_text=True)
    consultations = dict(zip(CHANNEL_ROWS, rows_of(html, "consultations"), strict=False))
    assert consultations["phone"][1:] == ["3"] and consultations["counter"][1:] == ["1"]
    assert 'id="period-notice"' not in html


def test_the_excel_file_has_the_tables_and_the_publication_file_hides_small_counts(
        client, login, session, supervisor, seeded):
    login(supervisor)
    response = client.get("/reports.xlsx?year=2026")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    values = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    phone = next(row for row in values if row[1:3] == (3, 0))
    assert phone[13] == 3 and any(row[1:3] == (4, 2) and row[13] == 6 for row in values)
    published = client.get("/reports.xlsx?year=2026&publish=1")
    cells = list(load_workbook(io.BytesIO(published.data)).active.iter_rows(values_only=True))
    assert any(row[1:3] == (3, 0) for row in cells)  # 3 is shown
    assert any(row[1:3] == (4, "x") and row[13] == 6 for row in cells)  # the total row: May's 2 hidden
    assert any(row[1:3] == ("x", 0) and row[13] == "x" for row in cells)  # the counter: 1 in April
    assert 1 not in {c for row in cells for c in row} and 2 not in {c for row in cells for c in row}
    assert "e-Stat" in str(cells[1][0])  # the note under the title says why cells read x
    reread(session)
    exported = session.scalars(select(AuditRecord).where(AuditRecord.action == "report.exported")
                               .order_by(AuditRecord.id)).all()
    assert [(e.detail["format"], e.detail["published"]) for e in exported] == [("xlsx", False), ("xlsx", True)]
    assert all(e.case_id is None for e in exported)


def test_who_may_see_reports(client, login, session, clock, municipality, caseworker, supervisor, coordinator,
                             npo_partner, admin, user_password, seeded):
    body = OrganisationRecord(municipality_id=municipality.id, name="別の課", kind=OrganisationKind.DEPARTMENT)
    session.add(body)
    session.flush()
    pretender = users.create_user(session, clock, municipality_id=municipality.id, username="pretender",
                                  display_name="役割だけ", password=user_password, roles=["coordinator"],
                                  organisation_id=body.id)
    designer = users.create_user(session, clock, municipality_id=municipality.id, username="designer",
                                 display_name="設計", password=user_password, roles=["designer", "council_member"])
    session.commit()
    for user in (caseworker, npo_partner, pretender, designer):
        login(user)
        for url in ("/reports", "/reports.xlsx"):
            assert client.get(url).status_code == 403, (user.username, url)
        client.post("/logout")
    for user in (supervisor, coordinator, admin):
        login(user)
        assert client.get("/reports?year=2026").status_code == 200, user.username
        client.post("/logout")
    reread(session)
    assert session.scalar(select(AuditRecord.id).where(AuditRecord.action == "report.viewed",
                                                       AuditRecord.actor_id == caseworker.id)) is None


def test_odd_query_values_fall_back_to_the_current_year_with_a_notice(client, login, supervisor, seeded):
    login(supervisor)
    for query in ("year=99999999999", "month=13", "year=1999", "month=0", "year=abc"):
        response = client.get(f"/reports?{query}")
        assert response.status_code == 200, query
        assert 'id="period-notice"' in response.get_data(as_text=True), query
    assert client.get("/reports?year=%00").status_code == 422
    assert client.get("/reports?municipality=999999").status_code == 403
    for url in ("/reports", "/reports.xlsx"):
        for value in ODD_VALUES:
            query = {key: value for key in ("year", "month", "municipality", "publish")}
            assert client.get(url, query_string=query).status_code < 500, (url, value)


def test_the_page_takes_as_many_statements_for_60_cases_as_for_6(app, client, login, session, municipality,
                                                                  standard_version, supervisor, seeded):
    login(supervisor)

    def statements() -> int:
        seen: list[str] = []
        with app.app_context():
            from tsunagu.web.extensions import db
            engine = db.engine

            def capture(_conn, _cursor, statement, *_args):
                seen.append(statement)

            event.listen(engine, "before_cursor_execute", capture)
            try:
                assert client.get("/reports?year=2026").status_code == 200
            finally:
                event.remove(engine, "before_cursor_execute", capture)
        return len(seen)

    few = statements()
    more = add_cases(session, municipality.id, standard_version.id, supervisor.id,
                     [(date(2026, 6, 1 + i % 28), CHANNEL_ROWS[i % 7]) for i in range(54)])
    for i, case in enumerate(more):
        add_answers(session, case, supervisor.id, 1 + i % 5, 1 + (i * 3) % 5)
    session.commit()
    assert statements() == few
