"""The progress ledger (進行管理台帳, /ledger): the coordinating body's list of open tabled cases."""
from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from conftest import reread
from openpyxl import load_workbook
from sqlalchemy import event, func, select
from test_route_fuzz import ODD_VALUES

from tsunagu.engine.access import users
from tsunagu.engine.casefile import governance
from tsunagu.engine.casefile.tables import (
    AgendaItemRecord,
    CouncilDecisionRecord,
    CouncilMeetingRecord,
    DisclosureRecord,
    OrganisationKind,
    OrganisationRecord,
    SupportActionRecord,
)
from tsunagu.engine.commands.ledger import MASKED, LedgerFilters, LedgerSort, ledger
from tsunagu.engine.errors import Forbidden
from tsunagu.engine.models import AuditRecord, CaseRecord, MunicipalityRecord


@pytest.fixture
def seeded(session, clock, standard_case):
    """A decided case, a tabled one and one waiting to be tabled, all of the coordinator's council."""
    decided = standard_case("decided", title="山田さんの相談")
    tabled = standard_case("tabled", title="佐藤さんの相談")
    waiting = standard_case("consented", title="鈴木さんの相談")
    return {"decided": decided, "tabled": tabled, "waiting": waiting}


def _other_council_case(session, clock, seeded, user_password):
    """A case of another municipality tabled at another council: copied rows, absent from our ledger."""
    other = MunicipalityRecord(code="139998", name="となり町")
    session.add(other)
    session.flush()
    body = OrganisationRecord(municipality_id=other.id, name="となり町福祉課", kind=OrganisationKind.DEPARTMENT)
    session.add(body)
    session.flush()
    council = governance.CouncilRecord(name="となり町協議会", established_on=date(2024, 4, 1),
                                       coordinating_body_id=body.id, coordinating_designated_on=date(2024, 4, 1))
    session.add(council)
    session.flush()
    session.add(governance.CouncilMunicipalityRecord(council_id=council.id, municipality_id=other.id))
    source = seeded["tabled"]
    case = CaseRecord(reference="OTHER-1", municipality_id=other.id, process_version_id=source.process_version_id,
                      title="となり町の相談", status=source.status, workflow_state="{}", created_by_id=source.created_by_id,
                      created_at=clock(), updated_at=clock())
    meeting = CouncilMeetingRecord(municipality_id=other.id, council_id=council.id, title="となり町会議",
                                   held_on=date(2026, 12, 3), created_at=clock())
    session.add_all([case, meeting])
    session.flush()
    session.add(AgendaItemRecord(meeting_id=meeting.id, case_id=case.id, basis="consent", tabled_at=clock()))
    session.commit()
    return case


def _clone(session, clock, source: CaseRecord, n: int) -> None:
    """Copy a decided case's ledger rows `n` times, straight into the tables (no process runs)."""
    item = session.scalar(select(AgendaItemRecord).where(AgendaItemRecord.case_id == source.id))
    decision = session.scalar(select(CouncilDecisionRecord).where(CouncilDecisionRecord.case_id == source.id))
    actions = session.scalars(select(SupportActionRecord).where(SupportActionRecord.case_id == source.id)).all()
    for i in range(n):
        case = CaseRecord(reference=f"CLONE-{i:03d}", municipality_id=source.municipality_id,
                          process_version_id=source.process_version_id, title=f"複製 {i}", status=source.status,
                          workflow_state="{}", created_by_id=source.created_by_id, created_at=clock(),
                          updated_at=clock())
        session.add(case)
        session.flush()
        copy = CouncilDecisionRecord(meeting_id=decision.meeting_id, case_id=case.id, situation="-", risk="normal",
                                     plan="計画", lead_body_id=decision.lead_body_id,
                                     next_review_on=decision.next_review_on, recorded_by_id=decision.recorded_by_id,
                                     recorded_at=clock())
        session.add(copy)
        session.flush()
        session.add(AgendaItemRecord(meeting_id=item.meeting_id, case_id=case.id, basis=item.basis,
                                     tabled_at=clock(), decision_id=copy.id))
        session.add_all([SupportActionRecord(case_id=case.id, action_type_id=a.action_type_id,
                                             owner_body_id=a.owner_body_id, status=a.status, created_by_id=a.created_by_id,
                                             created_at=clock(), decision_id=copy.id) for a in actions])
    session.commit()


def test_the_ledger_lists_each_open_tabled_or_waiting_case_with_its_plan_actions_and_dates(
        session, clock, coordinator, catalogue, seeded):
    page = ledger(session, clock, coordinator, LedgerFilters(), LedgerSort.REFERENCE)
    rows = {row.case_id: row for row in page.rows}
    assert page.total == 3 and set(rows) == {c.id for c in seeded.values()}
    decided = rows[seeded["decided"].id]
    assert decided.lead_body == catalogue["fukushi"].name and decided.risk == "high"
    assert decided.plan_summary == "居場所につなぎ、電話で見守る"
    assert decided.next_review == date(2027, 3, 1) and not decided.overdue
    assert decided.basis == "consent" and not decided.waiting_to_be_tabled
    assert sorted(a.type_name for a in decided.actions) == sorted(
        [a.action_type.name for a in session.scalars(select(SupportActionRecord).where(
            SupportActionRecord.case_id == seeded["decided"].id))])
    assert {a.owner_body for a in decided.actions} == {catalogue["npo_ibasho"].name, catalogue["minsei"].name}
    waiting = rows[seeded["waiting"].id]
    assert waiting.waiting_to_be_tabled and waiting.basis is None and waiting.lead_body is None
    assert waiting.contact_source.value == "opened" and waiting.days_since_contact == 0
    assert rows[seeded["tabled"].id].basis == "consent" and rows[seeded["tabled"].id].next_review is None


def test_filters_and_sorts_narrow_and_order_the_ledger(session, clock, coordinator, catalogue, seeded):
    high = ledger(session, clock, coordinator, LedgerFilters(risk="high"))
    assert [r.case_id for r in high.rows] == [seeded["decided"].id]
    by_lead = ledger(session, clock, coordinator, LedgerFilters(lead_body_id=catalogue["npo_ibasho"].id))
    assert by_lead.rows == []
    assert ledger(session, clock, coordinator, LedgerFilters(basis="council_art16")).rows == []
    assert ledger(session, clock, coordinator, LedgerFilters(overdue=True)).rows == []
    clock.advance(timedelta(days=200))  # past 2027-03-01: the decided case's review is overdue
    overdue = ledger(session, clock, coordinator, LedgerFilters(overdue=True))
    assert [r.case_id for r in overdue.rows] == [seeded["decided"].id] and overdue.rows[0].overdue
    by_review = ledger(session, clock, coordinator, LedgerFilters(), LedgerSort.NEXT_REVIEW)
    assert by_review.rows[0].case_id == seeded["decided"].id  # the only dated review comes first
    by_contact = ledger(session, clock, coordinator, LedgerFilters(), LedgerSort.CONTACT)
    assert by_contact.rows[0].days_since_contact == max(r.days_since_contact for r in by_contact.rows)


def test_a_case_of_another_council_is_absent(session, clock, coordinator, seeded, user_password):
    other = _other_council_case(session, clock, seeded, user_password)
    page = ledger(session, clock, coordinator, LedgerFilters())
    assert other.id not in {r.case_id for r in page.rows} and page.total == 3


def test_a_caseworker_and_a_coordinator_of_an_undesignated_body_are_refused(
        app, client, login, session, clock, caseworker, coordinator, municipality, user_password, seeded):
    body = OrganisationRecord(municipality_id=municipality.id, name="別の課", kind=OrganisationKind.DEPARTMENT)
    session.add(body)
    session.flush()
    pretender = users.create_user(session, clock, municipality_id=municipality.id, username="pretender",
                                  display_name="役割だけ", password=user_password, roles=["coordinator"],
                                  organisation_id=body.id)
    session.commit()
    for user in (caseworker, pretender):
        with pytest.raises(Forbidden):
            ledger(session, clock, user, LedgerFilters())
        login(user)
        for url in ("/ledger", "/ledger.csv", "/ledger.xlsx"):
            response = client.get(url)
            assert response.status_code == 403
            assert "調整機関" in response.get_data(as_text=True) or "権限" in response.get_data(as_text=True)
        client.post("/logout")


def test_the_page_shows_the_ledger_in_japanese_with_links_and_audits_one_view(
        client, login, session, coordinator, seeded):
    login(coordinator)
    response = client.get("/ledger?sort=reference")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="ledger"' in html and 'class="list stack"' in html
    assert "主担当機関" in html and "次回モニタリング予定日" in html  # Japanese first
    for case in seeded.values():
        assert f'href="/cases/{case.id}"' in html
    assert "居場所につなぎ、電話で見守る" in html  # the coordinating body reads its own plan on the page
    reread(session)
    views = session.scalars(select(AuditRecord).where(AuditRecord.action == "ledger.viewed")).all()
    assert len(views) == 1 and views[0].detail["count"] == 3 and views[0].case_id is None


def test_odd_filter_values_are_ignored_not_an_error(client, login, coordinator, seeded):
    login(coordinator)
    assert client.get("/ledger?risk=%00").status_code < 500
    for query in ("lead_body=-1", "lead_body=99999999999", "sort=x", "page=abc", "page=999",
                  "basis=<b>", "overdue=yes", "_scheme=http"):
        response = client.get(f"/ledger?{query}")
        assert response.status_code == 200, query


def test_the_csv_export_has_a_bom_the_rows_and_no_plan_text(client, login, session, coordinator, seeded):
    login(coordinator)
    disclosures = session.scalar(select(func.count(DisclosureRecord.id)))
    response = client.get("/ledger.csv?sort=reference")
    assert response.status_code == 200 and response.data.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    header, body = table[0], table[1:-1]
    assert header[3] == "主担当機関" and header[9] == "次回モニタリング予定日"
    assert {row[0] for row in body} == {c.reference for c in seeded.values()}
    assert "居場所につなぎ、電話で見守る" not in response.data.decode("utf-8-sig")
    assert "うつ" not in response.data.decode("utf-8-sig") and "mental_health" not in response.data.decode("utf-8-sig")
    decided = next(row for row in body if row[0] == seeded["decided"].reference)
    assert MASKED in decided
    reread(session)
    exported = session.scalars(select(AuditRecord).where(AuditRecord.action == "ledger.exported")).all()
    assert [(e.detail["format"], e.detail["rows"], e.detail["basis"]) for e in exported] == [("csv", 3, "internal_use")]
    # it stays inside the coordinating body: an internal use on the audit trail, not a disclosure
    assert session.scalar(select(func.count(DisclosureRecord.id))) == disclosures


def test_the_excel_export_has_a_frozen_header_widths_and_masked_plans(client, login, coordinator, seeded):
    login(coordinator)
    response = client.get("/ledger.xlsx?risk=high")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = list(sheet.iter_rows(values_only=True))
    assert sheet.freeze_panes == "A2" and sheet.column_dimensions["B"].width > 20
    rows = [row for row in values[1:] if row[0] and row[0] == seeded["decided"].reference]
    assert len(values) == 3 and len(rows) == 1  # header, the one high-risk case, the note
    assert MASKED in rows[0] and "居場所につなぎ、電話で見守る" not in str(values)


def test_the_ledger_takes_as_many_statements_for_30_cases_as_for_3(session, session_factory, engine, clock,
                                                                    coordinator, seeded):
    def statements() -> int:
        seen: list[str] = []

        def capture(_conn, _cursor, statement, *_args):
            seen.append(statement)

        with session_factory() as fresh:
            user = fresh.get(type(coordinator), coordinator.id)
            _ = user.role_codes
            event.listen(engine, "before_cursor_execute", capture)
            try:
                page = ledger(fresh, clock, user, LedgerFilters())
            finally:
                event.remove(engine, "before_cursor_execute", capture)
        return len(seen), page.total

    few, total = statements()
    assert total == 3
    _clone(session, clock, seeded["decided"], 27)
    many, total = statements()
    assert total == 30 and many == few


def test_no_odd_query_value_makes_a_ledger_route_fail(client, login, coordinator, seeded):
    login(coordinator)
    for url in ("/ledger", "/ledger.csv", "/ledger.xlsx"):
        for value in ODD_VALUES:
            query = {key: value for key in ("lead_body", "risk", "basis", "overdue", "sort", "page")}
            assert client.get(url, query_string=query).status_code < 500, (url, value)
