"""A returning person is found at intake however their name was written, and their new consultation
becomes the next episode of their record."""
from __future__ import annotations

from page_text import element, text
from sqlalchemy import select

from tsunagu.engine.casefile.names import search_key
from tsunagu.engine.casefile.tables import PersonRecord
from tsunagu.engine.commands import cases
from tsunagu.engine.models import AuditRecord, CaseRecord, CaseStatus


def _person(session, clock, caseworker, version, name, kana, birth_year, status=CaseStatus.COMPLETED):
    person = PersonRecord(municipality_id=caseworker.municipality_id, name=name, kana=kana, birth_year=birth_year,
                          name_key=search_key(name), kana_key=search_key(kana), created_at=clock())
    session.add(person)
    session.commit()
    case = cases.start_case(session, clock, caseworker, version, f"{name}さん", person_id=person.id)
    case.status = status
    session.commit()
    return person, case


def test_a_half_width_or_hiragana_search_finds_the_person_and_starts_their_next_episode(
        client, login, caseworker, council_version, session, clock):
    person, first = _person(session, clock, caseworker, council_version, "山田 花子", "ヤマダ ハナコ", 1950)
    _person(session, clock, caseworker, council_version, "山本 一郎", "ヤマモト イチロウ", 1961)
    login(caseworker)
    for typed in ("ﾔﾏﾀﾞ", "やまだ　はな", "山田花子"):
        found = element(client.get("/cases/new", query_string={"q": typed}).get_data(as_text=True), "persons-found")
        assert "山田 花子" in text(found) and "山本" not in text(found), typed
    assert "山本 一郎" in text(element(client.get("/cases/new?q=やま&birth_year=1961").get_data(as_text=True),
                                       "persons-found"))

    page = client.get(f"/cases/new?q=ﾔﾏﾀﾞ&person_id={person.id}").get_data(as_text=True)
    assert "山田 花子" in text(element(page, "returning-person")) and "2" in text(element(page, "returning-person"))
    response = client.post("/cases/new", data={"version_id": council_version.id, "title": "再相談",
                                               "person_id": str(person.id)})
    assert response.status_code == 302
    session.expire_all()
    newest = session.scalars(select(CaseRecord).order_by(CaseRecord.id.desc())).first()
    assert (newest.person_id, newest.episode, newest.previous_case_id) == (person.id, 2, first.id)
    searches = session.scalars(select(AuditRecord).where(AuditRecord.action == "persons.searched")).all()
    assert [a.detail["text"] for a in searches][:3] == ["ﾔﾏﾀﾞ", "やまだ　はな", "山田花子"]


def test_a_person_with_an_open_consultation_is_shown_so_but_not_started_again(
        client, login, caseworker, council_version, session, clock):
    person, _open = _person(session, clock, caseworker, council_version, "佐藤 一郎", "サトウ イチロウ", 1955,
                            status=CaseStatus.WAITING)
    login(caseworker)
    row = element(client.get("/cases/new?q=さとう").get_data(as_text=True), f"person-{person.id}")
    assert "進行中" in text(row) and "/cases/new?person_id" not in row
    response = client.post("/cases/new", data={"version_id": council_version.id, "person_id": str(person.id)})
    assert response.status_code == 422
    assert "進行中" in text(element(response.get_data(as_text=True), "start-error"))


def test_searching_needs_a_case_starter_and_odd_input_is_harmless(client, login, caseworker, npo_partner,
                                                                  council_version):
    login(caseworker)
    for odd in ("%", "_", "\\", "x" * 500, "' or 1=1 --"):
        assert client.get("/cases/new", query_string={"q": odd, "birth_year": "99999999999"}).status_code == 200
    assert client.post("/cases/new", data={"version_id": council_version.id,
                                           "person_id": "99999999999999999999"}).status_code in (302, 404)
    client.post("/logout")
    login(npo_partner)
    assert client.get("/cases/new?q=やまだ").status_code == 403
