"""Who may open a case page, cell by cell: every role and situation the access policy names, through the
web layer, on a case of the shipped process. A refused read answers exactly like a missing case (the same
404 page) and leaves a case.view_refused row."""
from __future__ import annotations

import re

import pytest
from conftest import complete_element, reread
from page_text import element, text
from sqlalchemy import func, select

from tsunagu.engine.access import users
from tsunagu.engine.casefile.tables import ConsentRecord
from tsunagu.engine.commands import events
from tsunagu.engine.models import AuditRecord, MunicipalityRecord

OTHER_BODY_ACTION = "定期的な電話での安否確認"  # the 民生委員's action: not the NPO's business
SPECIAL_CARE_ANSWER = "精神保健"  # the intake's special-care answer


@pytest.fixture
def other_caseworker(session, clock, municipality, user_password):
    user = users.create_user(session, clock, municipality_id=municipality.id, username="caseworker-2",
                             display_name="相談 次子", password=user_password, roles=["caseworker"])
    session.commit()
    return user


@pytest.fixture
def neighbour(session, clock, user_password):
    """A caseworker of another municipality."""
    town = MunicipalityRecord(code="139998", name="となり町")
    session.add(town)
    session.flush()
    user = users.create_user(session, clock, municipality_id=town.id, username="neighbour", display_name="隣町 職員",
                             password=user_password, roles=["caseworker", "supervisor", "coordinator"])
    session.commit()
    return user


def _reads(session, case, user, since: int) -> list[str]:
    reread(session)  # the request committed on another connection
    return list(session.scalars(select(AuditRecord.action).where(
        AuditRecord.id > since, AuditRecord.case_id == case.id, AuditRecord.actor_id == user.id,
        AuditRecord.action.in_(["case.viewed", "case.view_refused"])).order_by(AuditRecord.id)))


def open_case(client, session, case, user, expected: int) -> str:
    """GET the case page as the signed-in `user`; assert the status and the audit row it leaves."""
    reread(session)
    since = session.scalar(select(func.coalesce(func.max(AuditRecord.id), 0)))
    response = client.get(f"/cases/{case.id}")
    assert response.status_code == expected, response.get_data(as_text=True)[:500]
    assert _reads(session, case, user, since) == ["case.viewed" if expected == 200 else "case.view_refused"]
    if expected == 404:  # "not yours" reads exactly as "does not exist"
        assert _page(response) == _page(client.get("/cases/2147483646"))
    return response.get_data(as_text=True)


def _page(response) -> tuple[int, str]:
    """The page as a reader compares it: without the form token and the address asked for (the language link)."""
    html = re.sub(r'name="csrf_token" value="[^"]*"', "", response.get_data(as_text=True))
    return response.status_code, re.sub(r"/cases/[0-9]+", "/cases/N", html)


def test_a_caseworker_sees_the_case_they_work_in_full(client, login, session, caseworker, standard_case):
    case = standard_case()
    login(caseworker)
    html = open_case(client, session, case, caseworker, 200)
    # What the packet cells below must not show is really on the full page.
    assert 'id="assessments"' in html and 'id="consents"' in html
    assert OTHER_BODY_ACTION in html and SPECIAL_CARE_ANSWER in html


def test_a_caseworker_not_working_the_case_is_refused(client, login, session, other_caseworker, standard_case):
    case = standard_case()
    login(other_caseworker)
    html = open_case(client, session, case, other_caseworker, 404)
    assert "山田 花子" not in html


def test_a_supervisor_without_a_basis_is_refused_until_they_open_it_by_break_glass(
        client, login, session, supervisor, standard_case):
    case = standard_case()
    login(supervisor)
    open_case(client, session, case, supervisor, 404)
    response = client.post(f"/cases/{case.id}/break-glass", data={"reason": "本人から深夜に危険を示す連絡があった",
                                                                  "hours": "1"})
    assert response.status_code == 302
    html = open_case(client, session, case, supervisor, 200)
    assert "緊急閲覧中" in text(element(html, "break-glass-banner"))


def test_the_coordinator_sees_a_tabled_case(client, login, session, coordinator, standard_case):
    case = standard_case(until="tabled")
    login(coordinator)
    html = open_case(client, session, case, coordinator, 200)
    assert "協議会（法第16条・第18条）" in text(element(html, "access-basis"))


def test_the_coordinator_is_refused_a_case_not_tabled(client, login, session, coordinator, standard_case):
    case = standard_case(until="assessed")  # no tabling requested: nothing of the case is the council's yet
    login(coordinator)
    open_case(client, session, case, coordinator, 404)


def test_the_coordinator_sees_only_the_tabling_packet_once_tabling_is_requested(client, login, session, coordinator,
                                                                                 standard_case):
    case = standard_case(until="consented")  # the tabling task waits in the coordinator's lane
    login(coordinator)
    assert 'id="packet-notice"' in open_case(client, session, case, coordinator, 200)


def test_a_partner_with_an_open_action_sees_only_the_packet(client, login, session, body_partners, standard_case):
    case = standard_case()
    partner = body_partners["npo_ibasho"]
    login(partner)
    html = open_case(client, session, case, partner, 200)
    assert 'id="packet-notice"' in html
    assert "居場所へのつなぎ" in text(element(html, "action-list"))  # their own action
    assert OTHER_BODY_ACTION not in html  # not another body's action
    assert 'id="assessments"' not in html and 'id="consents"' not in html and 'id="disclosures"' not in html
    assert SPECIAL_CARE_ANSWER not in html and "相談受付" not in html  # no intake answers at all
    reread(session)
    (row,) = session.scalars(select(AuditRecord).where(AuditRecord.case_id == case.id,
                                                        AuditRecord.actor_id == partner.id))
    assert row.detail["part"] == "packet" and row.detail["basis"] == "action"


def test_a_partner_is_refused_once_their_action_is_closed(client, login, session, clock, body_partners,
                                                         standard_case, catalogue):
    case = standard_case()
    partner, body = body_partners["npo_ibasho"], catalogue["npo_ibasho"]
    complete_element(session, clock, partner, case, "action_response", {"response": "accept"}, body)
    complete_element(session, clock, partner, case, "action_first_contact", {"contacted_on": "2026-12-05"}, body)
    complete_element(session, clock, partner, case, "action_outcome", {
        "outcome": "delivered", "outcome_note": "居場所に2回参加した", "completed_on": "2026-12-20"}, body)
    login(partner)
    open_case(client, session, case, partner, 404)


def test_a_partner_is_refused_on_the_next_request_after_the_consent_naming_their_body_is_withdrawn(
        client, login, session, clock, caseworker, body_partners, standard_case):
    case = standard_case()
    partner = body_partners["houkatsu"]  # named in the consent, with no action of its own
    login(partner)
    open_case(client, session, case, partner, 200)
    consent = session.scalar(select(ConsentRecord).where(ConsentRecord.case_id == case.id))
    events.withdraw_consent(session, clock, caseworker, consent.id)
    open_case(client, session, case, partner, 404)


def test_a_partner_of_a_body_named_in_a_consent_in_force_sees_the_case(client, login, session, body_partners,
                                                                      standard_case):
    case = standard_case()
    partner = body_partners["houkatsu"]
    login(partner)
    html = open_case(client, session, case, partner, 200)
    assert "本人同意の提供先機関" in text(element(html, "access-basis"))
    assert SPECIAL_CARE_ANSWER not in html  # a partner's role never needs special-care answers


def test_a_user_of_another_municipality_is_refused_whatever_their_roles(client, login, session, neighbour,
                                                                       standard_case):
    case = standard_case()
    login(neighbour)
    html = open_case(client, session, case, neighbour, 404)
    assert "山田 花子" not in html
