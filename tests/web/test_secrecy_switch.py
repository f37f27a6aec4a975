"""After a withdrawal, continuing under the council's secrecy is a visible switch of the case's basis."""
from __future__ import annotations

from conftest import complete_element
from page_text import element
from sqlalchemy import select

from tsunagu.engine.casefile.tables import ConsentRecord
from tsunagu.engine.commands import events


def test_continuing_under_secrecy_after_a_withdrawal_is_shown_on_the_case_page_with_the_persons_wishes(
        client, login, session, clock, caseworker, standard_case):
    case = standard_case("decided")
    consent = session.scalar(select(ConsentRecord).where(ConsentRecord.case_id == case.id))
    events.withdraw_consent(session, clock, caseworker, consent.id)
    login(caseworker)
    assert 'id="secrecy-basis"' not in client.get(f"/cases/{case.id}").get_data(as_text=True)

    complete_element(session, clock, caseworker, case, "withdrawal_followup", {
        "withdrawal_bodies_informed": "地域包括支援センターに電話で撤回を伝えた。",
        "withdrawal_table_under_secrecy": "yes",
        "withdrawal_note": "情報は協議会の中だけにしてほしい。支援は続けてほしい。"})

    shown = element(client.get(f"/cases/{case.id}").get_data(as_text=True), "secrecy-basis")
    assert "法第16条" in shown and "情報は協議会の中だけにしてほしい。" in shown
