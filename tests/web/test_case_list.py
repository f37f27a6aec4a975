"""The case list and search (/cases): each user finds exactly the cases they may see, by reference, name or
kana however written, stage, overdue work and more; exports are staff's, audited, and open in Excel."""
from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import openpyxl
import pytest
from page_text import element, text
from sqlalchemy import select

from tsunagu.engine.access import users
from tsunagu.engine.admin import teams
from tsunagu.engine.casefile import governance
from tsunagu.engine.casefile.names import search_key
from tsunagu.engine.casefile.tables import (
    AgendaItemRecord,
    CouncilMeetingRecord,
    OrganisationKind,
    OrganisationRecord,
    PersonRecord,
)
from tsunagu.engine.commands import case_list, cases
from tsunagu.engine.models import AuditRecord, TaskRecord, TaskStatus


@pytest.fixture
def staff(session, clock, municipality, user_password):
    """Add a staff member: `staff("name", ("coordinator",), body)`."""

    def add(name, roles=("caseworker",), body=None):
        user = users.create_user(session, clock, municipality_id=municipality.id, username=name, display_name=name,
                                 password=user_password, roles=list(roles), organisation_id=body.id if body else None)
        session.commit()
        return user

    return add


def _case(session, clock, worker, version, title, name=None, kana=None, birth_year=None):
    person_id = None
    if name:
        person = PersonRecord(municipality_id=worker.municipality_id, name=name, kana=kana, birth_year=birth_year,
                              name_key=search_key(name), kana_key=search_key(kana), created_at=clock())
        session.add(person)
        session.commit()
        person_id = person.id
    return cases.start_case(session, clock, worker, version, title, person_id=person_id)


def _listed(client, **query) -> list[str]:
    """The titles of the cases the list page shows for these query arguments, in order."""
    response = client.get("/cases", query_string=query)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    return _titles(element(html, "case-list")) if 'id="case-list"' in html else []


def _titles(rows_html: str) -> list[str]:
    return [text(row.split("<td", 3)[2].split(">", 1)[1].split("</td>", 1)[0])
            for row in rows_html.split('<tr id="case-')[1:]]


def test_a_caseworker_sees_only_the_cases_they_work(client, login, staff, session, clock, municipality, caseworker,
                                                    council_version):
    other = staff("other-worker")
    _case(session, clock, caseworker, council_version, "山田さんの相談")
    _case(session, clock, other, council_version, "佐藤さんの相談")
    login(caseworker)
    assert _listed(client) == ["山田さんの相談"]
    html = client.get("/cases").get_data(as_text=True)
    assert "<h1>ケース一覧</h1>" in html and "ケース番号・氏名・ふりがな" in html  # Japanese first
    row = session.scalar(select(AuditRecord).where(AuditRecord.action == "cases.listed").order_by(AuditRecord.id.desc()))
    assert row.actor_id == caseworker.id and row.detail["shown"] == 1 and row.case_id is None


def test_a_supervisor_sees_their_teams_cases_and_not_another_teams(client, login, staff, session, clock, municipality,
                                                                    caseworker, supervisor, council_version):
    other = staff("other-worker")
    mine = teams.add_team(session, clock, None, municipality.id, name="第一係")
    theirs = teams.add_team(session, clock, None, municipality.id, name="第二係")
    teams.set_member(session, clock, None, municipality.id, mine.id, caseworker.id)
    teams.set_member(session, clock, None, municipality.id, mine.id, supervisor.id, supervises=True)
    teams.set_member(session, clock, None, municipality.id, theirs.id, other.id)
    _case(session, clock, caseworker, council_version, "第一係の相談")
    _case(session, clock, other, council_version, "第二係の相談")
    login(supervisor)
    assert _listed(client) == ["第一係の相談"]


def test_a_coordinator_sees_the_cases_tabled_at_their_council_only(
        client, login, staff, session, clock, municipality, coordinator, caseworker, start_council_case, council_version):
    tabled = start_council_case(title="検討待ちの相談", until="tabled")
    start_council_case(title="受付直後の相談", until="intake")
    elsewhere = _case(session, clock, caseworker, council_version, "別協議会の相談")
    body = OrganisationRecord(municipality_id=municipality.id, name="別の調整機関", kind=OrganisationKind.DEPARTMENT)
    session.add(body)
    session.flush()
    other_council = governance.CouncilRecord(name="別の協議会", established_on=date(2024, 4, 1),
                                             coordinating_body_id=body.id, coordinating_designated_on=date(2024, 4, 1))
    session.add(other_council)
    session.flush()
    session.add(governance.CouncilMunicipalityRecord(council_id=other_council.id, municipality_id=municipality.id))
    meeting = CouncilMeetingRecord(municipality_id=municipality.id, council_id=other_council.id, title="別の会議",
                                   held_on=clock().date() + timedelta(days=3), created_at=clock())
    session.add(meeting)
    session.flush()
    session.add(AgendaItemRecord(meeting_id=meeting.id, case_id=elsewhere.id, basis="council_art16",
                                 tabled_at=clock()))
    session.commit()
    other_coordinator = staff("other-coordinator", ("coordinator",), body)
    login(coordinator)
    assert tabled.title in _listed(client)
    assert set(_listed(client)) == {"検討待ちの相談"}
    client.post("/logout")
    login(other_coordinator)
    assert "別協議会の相談" in _listed(client) and "受付直後の相談" not in _listed(client)


def test_the_stage_and_overdue_filters_return_exactly_the_seeded_cases(
        client, login, session, clock, caseworker, council_version, start_council_case):
    at_intake = _case(session, clock, caseworker, council_version, "受付の相談")
    assessed = start_council_case(title="評価済みの相談", until="intake")
    late = _case(session, clock, caseworker, council_version, "期限切れの相談")
    task = session.scalar(select(TaskRecord).where(TaskRecord.case_id == late.id, TaskRecord.status == TaskStatus.OPEN))
    task.due_at = clock() - timedelta(days=2)
    session.commit()
    intake_element = task.element_id
    process = at_intake.process_version.process_id
    login(caseworker)
    assert sorted(_listed(client, process=process, element=intake_element)) == ["受付の相談", "期限切れの相談"]
    next_element = session.scalar(select(TaskRecord.element_id).where(TaskRecord.case_id == assessed.id,
                                                                      TaskRecord.status == TaskStatus.OPEN))
    assert _listed(client, element=next_element) == ["評価済みの相談"]
    assert _listed(client, overdue="1") == ["期限切れの相談"]
    assert _listed(client, element="no_such_element") == []
    html = client.get("/cases", query_string={"element": "no_such_element"}).get_data(as_text=True)
    assert "/cases" in element(html, "no-cases") and text(element(html, "no-cases"))
    assert 'data-overdue="1"' in client.get("/cases?overdue=1").get_data(as_text=True)


def test_a_kana_search_finds_yamada_written_half_width_or_in_hiragana(client, login, session, clock, caseworker,
                                                                     council_version):
    yamada = _case(session, clock, caseworker, council_version, "ヤマダさんの相談", "山田 花子", "ヤマダ ハナコ", 1956)
    _case(session, clock, caseworker, council_version, "ヤマモトさんの相談", "山本 一郎", "ヤマモト イチロウ", 1961)
    login(caseworker)
    for typed in ("ﾔﾏﾀﾞ", "やまだ", "ヤマダ　ハナコ", "山田花子"):
        assert _listed(client, q=typed) == ["ヤマダさんの相談"], typed
    assert sorted(_listed(client, q="やま")) == ["ヤマダさんの相談", "ヤマモトさんの相談"]
    assert _listed(client, q="やま", born="1961") == ["ヤマモトさんの相談"]
    assert _listed(client, q="やま", born="1961-04-01") == ["ヤマモトさんの相談"]
    assert _listed(client, q=yamada.reference) == ["ヤマダさんの相談"]
    assert sorted(_listed(client, q=yamada.reference[:5])) == ["ヤマダさんの相談", "ヤマモトさんの相談"]  # a prefix


def test_bad_filter_values_give_the_page_with_the_field_error_in_japanese(client, login, caseworker,
                                                                           council_version, session, clock):
    _case(session, clock, caseworker, council_version, "山田さんの相談")
    login(caseworker)
    for query in ({"born": "1956-02-30"}, {"lead_body": "99999999999999"}, {"caseworker": "²"},
                  {"status": "nope"}, {"risk": "x" * 300}, {"page": "9" * 40, "size": "-1"}, {"q": "x" * 5000}):
        response = client.get("/cases", query_string=query)
        assert response.status_code == 200, query
    html = client.get("/cases?born=1956-02-30").get_data(as_text=True)
    assert "err-born" in html and "年" in text(element(html, "err-born"))
    assert client.get("/cases?q=a%00b").status_code == 422


def test_paging_shows_each_case_once_with_links_between_pages(client, login, session, clock, caseworker,
                                                              council_version):
    for n in range(3):
        _case(session, clock, caseworker, council_version, f"相談{n}")
        clock.advance(timedelta(minutes=1))
    login(caseworker)
    first = client.get("/cases?size=2").get_data(as_text=True)
    assert _titles(element(first, "case-list")) == ["相談2", "相談1"]
    assert "page=2" in element(first, "case-pages")
    second = client.get("/cases?size=2&page=2").get_data(as_text=True)
    assert _titles(element(second, "case-list")) == ["相談0"]
    assert "no-cases" in client.get("/cases?size=2&page=5").get_data(as_text=True)


def test_the_csv_and_excel_exports_hold_the_filtered_cases_and_are_audited(client, login, session, clock,
                                                                          caseworker, council_version):
    _case(session, clock, caseworker, council_version, "ヤマダさんの相談", "山田 花子", "ヤマダ ハナコ", 1956)
    _case(session, clock, caseworker, council_version, "佐藤さんの相談", "佐藤 一郎", "サトウ イチロウ", 1950)
    login(caseworker)
    response = client.get("/cases.csv?q=ﾔﾏﾀﾞ")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert len(rows) == 2 and rows[1][1] == "ヤマダさんの相談" and rows[1][4] == caseworker.display_name
    response = client.get("/cases.xlsx")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data())).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert sorted(r[1] for r in values[1:]) == ["ヤマダさんの相談", "佐藤さんの相談"]
    _case(session, clock, caseworker, council_version, '=HYPERLINK("http://example.com")')
    sheet = openpyxl.load_workbook(io.BytesIO(client.get("/cases.xlsx?sort=reference").get_data())).active
    assert sheet.cell(row=4, column=2).value == '\'=HYPERLINK("http://example.com")'  # text, never a formula
    exported = session.scalars(select(AuditRecord).where(AuditRecord.action == "cases.exported")
                               .order_by(AuditRecord.id)).all()
    assert [(a.detail["format"], a.detail["rows"]) for a in exported] == [("csv", 1), ("xlsx", 2), ("xlsx", 3)]
    assert exported[0].detail["filters"] == {"q": "ﾔﾏﾀﾞ"}


def test_a_council_member_may_not_export_the_list(client, login, staff, session, clock, municipality, bodies,
                                                  start_council_case):
    start_council_case(until="tabled")
    member = staff("member-npo", ("council_member",), bodies["npo"])
    login(member)
    assert "export-csv" not in client.get("/cases").get_data(as_text=True)
    for url in ("/cases.csv", "/cases.xlsx"):
        response = client.get(url)
        assert response.status_code == 403
        assert "権限" in response.get_data(as_text=True)
    refused = session.scalars(select(AuditRecord).where(AuditRecord.action == "cases.export_refused")).all()
    assert len(refused) == 2 and all(a.actor_id == member.id for a in refused)


def test_past_the_count_limit_the_list_says_or_more_and_pages_on_without_a_last_page(
        client, login, session, clock, caseworker, council_version, monkeypatch):
    monkeypatch.setattr(case_list, "COUNT_LIMIT", 5)
    for n in range(7):
        _case(session, clock, caseworker, council_version, f"相談{n}")
        clock.advance(timedelta(minutes=1))
    login(caseworker)
    first = client.get("/cases?size=3").get_data(as_text=True)
    count = text(element(first, "case-count"))
    assert count.startswith("5") and "7" not in count and "/" not in count  # "5件以上", no "of 3 pages"
    assert _titles(element(first, "case-list")) == ["相談6", "相談5", "相談4"]
    assert "page=2" in element(first, "case-pages") and 'rel="prev"' not in element(first, "case-pages")
    last = client.get("/cases?size=3&page=3").get_data(as_text=True)
    assert _titles(element(last, "case-list")) == ["相談0"]
    assert 'rel="next"' not in element(last, "case-pages") and "page=2" in element(last, "case-pages")
    row = session.scalar(select(AuditRecord).where(AuditRecord.action == "cases.listed").order_by(AuditRecord.id.desc()))
    assert row.detail["total"] == 5 and row.detail["bounded"] is True
