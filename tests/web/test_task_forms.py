"""The caseworker's journey through the test client: start a case, fill the intake, see the next task."""
from __future__ import annotations

import re

from sqlalchemy import select

from tsunagu.engine.models import AuditRecord, CaseRecord, FormSubmissionRecord, TaskRecord, TaskStatus

VALID_INTAKE = {
    "consultation_date": "2026-11-27",
    "channel": "phone",
    "person_name": "山田 花子",
    "birth_year": "1952",
    "household": "alone",
    "concern": "一人暮らしで話し相手がいない",
    "special_care": ["mental_health"],
    "existing_scheme": "none",
}
NEXT_TASK = "初回アセスメント（孤独・孤立の状況）"


def _start_case(client, version):
    response = client.post("/cases/new", data={"version_id": version.id, "title": "山田さん"})
    assert response.status_code == 302
    return response.headers["Location"]


def _field_block(html: str, name: str) -> str:
    match = re.search(rf'<div class="field[^"]*" id="field-{name}">(.*?)</div>\s*(?=<div class="field|<div class="form-actions")',
                      html, re.S)
    assert match, f"field {name} not rendered"
    return match.group(1)


def test_starting_a_case_opens_the_intake_form_with_every_widget(client, login, caseworker, standard_version):
    login(caseworker)
    task_url = _start_case(client, standard_version)
    html = client.get(task_url).get_data(as_text=True)
    assert "<h1>相談受付</h1>" in html
    assert 'type="date"' in _field_block(html, "consultation_date")
    channel = _field_block(html, "channel")
    assert channel.count('type="radio"') == 7 and 'value="minsei"> 民生委員からのつなぎ' in channel
    assert "必須" in channel
    assert "<textarea" in _field_block(html, "concern")
    assert "必須" not in _field_block(html, "referrer") and "<input" in _field_block(html, "referrer")
    assert _field_block(html, "special_care").count('type="checkbox"') == 4
    assert 'inputmode="numeric"' in _field_block(html, "birth_year")
    assert 'type="checkbox" id="immediate_danger"' in _field_block(html, "immediate_danger")
    assert "本人が望んでいること" in _field_block(html, "wishes")  # descriptions are shown as help


def test_a_wrong_value_shows_a_japanese_error_beside_its_field(client, login, caseworker, standard_version, session):
    login(caseworker)
    task_url = _start_case(client, standard_version)
    response = client.post(task_url, data={**VALID_INTAKE, "birth_year": "千九百五十二", "person_name": ""})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "整数で入力してください。" in _field_block(html, "birth_year")
    assert "この項目は必須です。" in _field_block(html, "person_name")
    assert "この項目は必須です。" not in _field_block(html, "concern")
    assert 'value="千九百五十二"' in html  # what the user typed is kept
    assert "一人暮らしで話し相手がいない" in html
    assert session.scalar(select(FormSubmissionRecord)) is None


def test_completing_the_intake_shows_the_next_task_in_the_inbox(client, login, caseworker, standard_version, session):
    login(caseworker)
    task_url = _start_case(client, standard_version)
    response = client.post(task_url, data=VALID_INTAKE, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.request.path == "/"
    assert "「相談受付」を完了しました。" in html
    assert f"次のタスク:「{NEXT_TASK}」" in html
    assert NEXT_TASK in html.split('id="available-tasks"')[1]
    submission = session.scalar(select(FormSubmissionRecord))
    assert submission.data["birth_year"] == 1952 and submission.data["immediate_danger"] is False
    assert submission.data["special_care"] == ["mental_health"]


def test_a_completed_task_cannot_be_completed_twice(client, login, caseworker, standard_version):
    login(caseworker)
    task_url = _start_case(client, standard_version)
    client.post(task_url, data=VALID_INTAKE)
    response = client.post(task_url, data=VALID_INTAKE)
    assert response.status_code == 409
    assert "他の人が先に変更しました" in response.get_data(as_text=True)


def test_claim_moves_a_task_to_my_tasks_and_unclaim_gives_it_back(client, login, caseworker, standard_version, session):
    login(caseworker)
    _start_case(client, standard_version)
    task = session.scalar(select(TaskRecord))
    html = client.post(f"/tasks/{task.id}/claim", follow_redirects=True).get_data(as_text=True)
    assert "相談受付" in html.split('id="my-tasks"')[1]
    html = client.post(f"/tasks/{task.id}/unclaim", follow_redirects=True).get_data(as_text=True)
    assert 'id="my-tasks"' not in html and "相談受付" in html.split('id="available-tasks"')[1]


def test_a_task_of_another_role_is_refused_and_the_refusal_audited(client, login, caseworker, partner,
                                                                    standard_version, session):
    login(caseworker)
    _start_case(client, standard_version)
    task = session.scalar(select(TaskRecord))
    client.post("/logout")
    login(partner)
    response = client.get(f"/tasks/{task.id}")
    assert response.status_code == 404  # as if there were no such task
    assert "指定されたものが見つかりません。" in response.get_data(as_text=True)
    refused = session.scalar(select(AuditRecord).where(AuditRecord.action == "task.view_refused"))
    assert refused is not None and refused.actor_id == partner.id
    assert client.post(f"/tasks/{task.id}", data=VALID_INTAKE).status_code == 404
    session.expire_all()
    assert session.get(TaskRecord, task.id).status == TaskStatus.OPEN


def test_the_case_page_shows_the_record_and_timeline_and_is_audited(client, login, caseworker, standard_version,
                                                                     session):
    login(caseworker)
    task_url = _start_case(client, standard_version)
    client.post(task_url, data=VALID_INTAKE)
    case = session.scalar(select(CaseRecord))
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert case.reference in html
    assert "電話" in html and "単身" in html and "精神保健" in html  # choice titles, not codes
    timeline = html.split('id="timeline"')[1]
    assert timeline.index("ケース開始") < timeline.index("タスク完了")
    assert "2026-11-27 09:00" in timeline  # shown in Asia/Tokyo
    viewed = session.scalars(select(AuditRecord).where(AuditRecord.action == "case.viewed")).all()
    assert [(v.actor_id, v.case_id) for v in viewed] == [(caseworker.id, case.id)]
