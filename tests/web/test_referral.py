"""A lay referrer (つながりサポーター) passes a concern on, and sees nothing of the case afterwards."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tsunagu.engine.access import users
from tsunagu.engine.casefile.tables import PersonRecord
from tsunagu.engine.commands import cases, events
from tsunagu.engine.models import AuditRecord, CaseRecord, CaseStatus, FormSubmissionRecord, TaskRecord

CONCERN = {"referred_on": "2026-11-26", "person_name": "近所 太郎", "person_kana": "キンジョ タロウ",
           "contact_hint": "駅前の団地3号棟", "concern": "最近姿を見かけず、郵便受けがいっぱいになっている。",
           "person_aware": "on"}


@pytest.fixture
def referrer(session, clock, municipality, user_password):
    user = users.create_user(session, clock, municipality_id=municipality.id, username="supporter",
                             display_name="つなぎ 六子", password=user_password, roles=["referrer"])
    session.commit()
    return user


def test_a_referrer_lands_on_the_concern_form_and_sees_no_case_menu(client, login, referrer, standard_version):
    login(referrer)
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/concern"
    html = client.get("/concern").get_data(as_text=True)
    assert "<h1>相談のつなぎ</h1>" in html and "相談をつなぐ" in html
    assert "新規相談" not in html


def test_a_concern_without_its_content_is_refused_beside_the_field(client, login, referrer, standard_version,
                                                                    session):
    login(referrer)
    response = client.post("/concern", data={**CONCERN, "concern": ""})
    assert response.status_code == 422
    assert "この項目は必須です。" in response.get_data(as_text=True).split('id="field-concern"')[1].split("</div>")[0]
    assert session.scalar(select(CaseRecord)) is None


def test_a_passed_on_concern_opens_a_case_whose_intake_starts_from_it(client, login, referrer, caseworker,
                                                                      standard_version, session):
    login(referrer)
    html = client.post("/concern", data=CONCERN, follow_redirects=True).get_data(as_text=True)
    case = session.scalar(select(CaseRecord))
    assert f"受付番号 {case.reference} で受け付けました" in html
    referral = session.scalar(select(FormSubmissionRecord).where(FormSubmissionRecord.task_id.is_(None)))
    assert referral.data["person_aware"] is True and referral.submitted_by_id == referrer.id

    client.post("/logout")
    login(caseworker)
    intake = session.scalar(select(TaskRecord).where(TaskRecord.case_id == case.id))
    assert "相談受付" in client.get("/").get_data(as_text=True)
    form = client.get(f"/tasks/{intake.id}").get_data(as_text=True)
    assert 'value="近所 太郎"' in form and "郵便受けがいっぱい" in form
    assert 'value="2026-11-26"' in form  # the day it was passed on is the consultation date
    assert 'name="channel" value="supporter" checked' in form
    assert 'value="つなぎ 六子"' in form


def test_the_referrer_cannot_see_the_case_afterwards_and_the_attempt_is_audited(client, login, referrer,
                                                                                 standard_version, session):
    login(referrer)
    client.post("/concern", data=CONCERN)
    case = session.scalar(select(CaseRecord))
    assert client.get(f"/cases/{case.id}").status_code == 404  # as if there were no such case
    refused = session.scalar(select(AuditRecord).where(AuditRecord.action == "case.view_refused"))
    assert (refused.actor_id, refused.case_id) == (referrer.id, case.id)
    assert client.get("/cases/new").status_code == 403
    assert client.post("/cases/new", data={"version_id": standard_version.id, "title": "x"}).status_code == 403


def test_a_reopened_episode_starts_its_intake_from_who_the_person_is(client, login, caseworker, standard_version,
                                                                      session, clock):
    case = cases.start_case(session, clock, caseworker, standard_version, "前回")
    person = PersonRecord(municipality_id=case.municipality_id, name="再会 花子", kana="サイカイ ハナコ",
                          birth_year=1950, created_at=clock())
    session.add(person)
    session.flush()
    case.person_id = person.id
    case.status = CaseStatus.COMPLETED
    session.commit()
    episode = events.reopen_case(session, clock, caseworker, case.id)
    intake = session.scalar(select(TaskRecord).where(TaskRecord.case_id == episode.id))
    login(caseworker)
    form = client.get(f"/tasks/{intake.id}").get_data(as_text=True)
    assert 'value="再会 花子"' in form and 'value="サイカイ ハナコ"' in form and 'value="1950"' in form
