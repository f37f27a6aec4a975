"""The privacy desk's pages for data-subject requests (開示・訂正・利用停止請求): the register with its due dates,
receiving a request, linking the person, the disclosure document (HTML and JSON), corrections, stopping and
resuming use, and what anyone else, or odd input, gets."""
from __future__ import annotations

import json
from datetime import date
from zoneinfo import ZoneInfo

import pytest
from conftest import reread
from page_text import element, text
from sqlalchemy import select

from tsunagu.engine.access import users
from tsunagu.engine.casefile.tables import PersonRecord
from tsunagu.engine.models import AuditRecord, CaseRecord, CaseStatus, FormSubmissionRecord, MunicipalityRecord
from tsunagu.engine.records import requests, subject_data
from tsunagu.engine.records.tables import RequestKind, RequestStatus
from tsunagu.engine.records.tables import SubjectRequestRecord as Request
from tsunagu.web.subject_request_words import withheld_words

RECEIVED = "2026-11-20"  # a week before the test clock's day (2026-11-27)


@pytest.fixture
def person_case(standard_case):
    """A decided case of 山田 花子 (ヤマダ ハナコ, born 1956), with open partner tasks."""
    return standard_case()


def _receive(session, clock, supervisor, kind=RequestKind.DISCLOSURE, person=None, received=RECEIVED,
             requester="山田 花子（本人）"):
    request = requests.receive(session, clock, supervisor, kind, requester, received, "記録の開示を求める",
                               person_id=person)
    session.commit()
    return request


def _post(client, url, **data):
    return client.post(url, data=data)


def _page(response) -> str:
    return response.get_data(as_text=True)


# --- The register ---------------------------------------------------------------------------------

def test_the_register_lists_open_requests_soonest_due_first_and_marks_the_overdue_one(
        client, login, session, clock, supervisor):
    late = _receive(session, clock, supervisor, received="2026-10-01", requester="田中 一郎")
    fresh = _receive(session, clock, supervisor, RequestKind.SUSPENSION, received="2026-11-26", requester="佐藤 次郎")
    done = _receive(session, clock, supervisor, RequestKind.CORRECTION, requester="鈴木 三郎")
    requests.decide(session, clock, supervisor, done.id, "granted", None)
    session.commit()
    login(supervisor)

    page = _page(client.get("/requests"))
    table = element(page, "requests")
    assert table.index("田中 一郎") < table.index("佐藤 次郎")  # the late one first
    assert "鈴木 三郎" not in table  # decided: not open
    late_row = text(element(page, f"request-{late.id}"))
    assert "期限超過" in late_row and "2026-10-31" in late_row and "開示請求" in late_row
    fresh_row = text(element(page, f"request-{fresh.id}"))
    assert "期限超過" not in fresh_row and "利用停止請求" in fresh_row and "未紐付け" in fresh_row
    everything = _page(client.get("/requests?all=1"))
    assert "鈴木 三郎" in element(everything, "requests") and "訂正する" in element(everything, f"request-{done.id}")


def test_the_supervisor_finds_the_register_in_the_menu_and_a_caseworker_does_not(client, login, supervisor,
                                                                                  caseworker):
    login(supervisor)
    assert "開示等の請求" in element(_page(client.get("/supervision")), "main-nav")
    login(caseworker)
    assert "開示等の請求" not in element(_page(client.get("/")), "main-nav")


# --- Receiving a request ----------------------------------------------------------------------------

def test_a_received_request_is_due_thirty_days_later(client, login, session, supervisor):
    login(supervisor)
    form = _page(client.get("/requests/new"))
    assert 'value="2026-11-27"' in element(form, "received_on")  # today, ready to keep
    response = _post(client, "/requests/new", kind="disclosure", requester="山田 花子（本人）",
                     received_on="2026-11-25", details="相談記録の全部")
    assert response.status_code == 302
    reread(session)
    stored = session.scalars(select(Request)).one()
    assert (stored.kind, stored.due_on, stored.details) == (RequestKind.DISCLOSURE, date(2026, 12, 25), "相談記録の全部")
    page = _page(client.get(response.headers["Location"]))
    assert "決定期限は 2026-12-25 です" in page
    meta = text(element(page, "request-meta"))
    assert "開示決定期限 2026-12-25" in meta and "山田 花子（本人）" in meta


def test_a_refused_receipt_names_each_field_in_japanese_and_keeps_what_was_typed(client, login, session,
                                                                                  supervisor):
    login(supervisor)
    response = _post(client, "/requests/new", kind="", requester="   ", received_on="2026-02-30",
                     details="途中まで書いた内容")
    assert response.status_code == 422
    page = _page(response)
    summary = text(element(page, "error-summary"))
    assert "請求の種類: 選択肢から選んでください" in summary and "請求者: この項目は必須です" in summary
    assert "受付日: 日付を YYYY-MM-DD の形式で入力してください" in summary
    assert "途中まで書いた内容" in element(page, "details")
    future = _post(client, "/requests/new", kind="correction", requester="代理人 山田", received_on="2026-12-01")
    assert future.status_code == 422
    assert "受付日: 今日（2026-11-27）以前の日付を入力してください" in text(element(_page(future), "error-summary"))
    reread(session)
    assert session.scalars(select(Request)).all() == []


# --- The request: the person, the document ---------------------------------------------------------

def test_the_desk_finds_the_person_links_them_and_sees_their_cases_every_read_audited(
        client, login, session, clock, supervisor, person_case):
    request = _receive(session, clock, supervisor)
    login(supervisor)
    page = _page(client.get(f"/requests/{request.id}"))
    assert "not-linked" in page
    found = _page(client.get(f"/requests/{request.id}?q=やまだ&birth_year=1956"))
    person_id = person_case.person_id
    assert "山田 花子" in text(element(found, f"person-{person_id}"))

    response = _post(client, f"/requests/{request.id}/person", person_id=str(person_id))
    assert response.status_code == 302
    reread(session)
    since = session.scalar(select(AuditRecord.id).order_by(AuditRecord.id.desc()).limit(1))
    page = _page(client.get(f"/requests/{request.id}"))
    assert "山田 花子" in text(element(page, "linked-person"))
    assert person_case.reference in text(element(page, "person-cases"))
    reread(session)
    reads = session.scalars(select(AuditRecord).where(AuditRecord.id > since,
                                                      AuditRecord.action == "case.viewed")).all()
    assert [(r.case_id, r.actor_id) for r in reads] == [(person_case.id, supervisor.id)]


def test_the_disclosure_document_shows_the_person_s_records_marks_what_is_withheld_and_nothing_of_another(
        client, login, session, clock, supervisor, person_case, standard_case):
    other = standard_case(title="別の方の相談")
    other_person = session.get(PersonRecord, other.person_id)
    other_person.name = "別人 太郎"
    session.commit()
    request = _receive(session, clock, supervisor, person=person_case.person_id)
    login(supervisor)

    page = _page(client.get(f"/requests/{request.id}/document"))
    assert "保有個人情報の開示書類" in page and "山田 花子" in text(element(page, "document-person"))
    case_part = text(element(page, f"document-case-{person_case.id}"))
    assert "一人暮らしで話し相手がいない" in case_part  # the intake's own words
    assert "居場所につなぎ、電話で見守る" in case_part  # the council's decision on the person
    withheld = text(element(page, "withheld"))
    assert "不開示とした部分とその理由" in withheld
    assert other.reference not in page and "別人 太郎" not in page

    download = client.get(f"/requests/{request.id}/document.json")
    assert download.status_code == 200 and download.mimetype == "application/json"
    assert download.headers["Content-Disposition"] == f'attachment; filename="subject-request-{request.id}.json"'
    body = json.loads(download.get_data(as_text=True))
    assert body["person"]["name"] == "山田 花子"
    assert [c["reference"] for c in body["cases"]] == [person_case.reference]


def test_a_decision_needs_its_grounds_when_partial_and_then_leaves_the_open_register(
        client, login, session, clock, supervisor, person_case):
    request = _receive(session, clock, supervisor, person=person_case.person_id)
    login(supervisor)
    refused = _post(client, f"/requests/{request.id}/decide", outcome="partly", note="")
    assert refused.status_code == 422
    assert "決定の理由・備考: この項目は必須です" in text(element(_page(refused), "error-summary"))
    bad = _post(client, f"/requests/{request.id}/decide", outcome="maybe")
    assert "決定: 選択肢から選んでください" in text(element(_page(bad), "error-summary"))

    assert _post(client, f"/requests/{request.id}/decide", outcome="partly",
                 note="第三者の情報を含むため一部不開示").status_code == 302
    page = _page(client.get(f"/requests/{request.id}"))
    assert "部分開示" in text(element(page, "outcome"))
    assert "decide-form" not in page
    assert f"request-{request.id}" not in _page(client.get("/requests"))
    assert "部分開示" in text(element(_page(client.get(f"/requests/{request.id}/document")), "document-outcome"))


def test_a_withdrawn_request_is_recorded_and_offers_nothing_more(client, login, session, clock, supervisor):
    request = _receive(session, clock, supervisor)
    login(supervisor)
    assert _post(client, f"/requests/{request.id}/withdraw", withdraw_note="本人から電話で取下げ").status_code == 302
    reread(session)
    assert session.get(Request, request.id).status == RequestStatus.WITHDRAWN
    page = _page(client.get(f"/requests/{request.id}"))
    assert "取下げ" in text(element(page, "request-status")) and "find-person" not in page
    again = _post(client, f"/requests/{request.id}/decide", outcome="granted")
    assert again.status_code == 302  # refused with a sentence, nothing changed
    assert "この操作はできません。請求は取り下げられています。" in _page(client.get(again.headers["Location"]))


# --- Corrections -------------------------------------------------------------------------------------

def test_a_correction_needs_the_box_ticked_then_changes_the_person_and_keeps_the_old_value_in_the_audit(
        client, login, session, clock, supervisor, person_case):
    request = _receive(session, clock, supervisor, RequestKind.CORRECTION, person=person_case.person_id)
    login(supervisor)
    unticked = _post(client, f"/requests/{request.id}/corrections/person", field="kana", value="ヤマダ ハナ",
                     reason="戸籍の読みと違う")
    assert unticked.status_code == 422
    assert "確認: この項目は必須です" in text(element(_page(unticked), "error-summary"))
    bad_year = _post(client, f"/requests/{request.id}/corrections/person", field="birth_year", value="千九百",
                     reason="誤記", confirmed="on")
    assert bad_year.status_code == 422
    assert "訂正後の内容: 整数で入力してください" in text(element(_page(bad_year), "error-summary"))

    done = _post(client, f"/requests/{request.id}/corrections/person", field="kana", value="ヤマダ ハナ",
                 reason="戸籍の読みと違う", confirmed="on")
    assert done.status_code == 302
    reread(session)
    assert session.get(PersonRecord, person_case.person_id).kana == "ヤマダ ハナ"
    row = session.scalars(select(AuditRecord).where(AuditRecord.action == "record.corrected")).one()
    assert (row.detail["old"], row.detail["new"], row.actor_id) == ("ヤマダ ハナコ", "ヤマダ ハナ", supervisor.id)


def test_an_answer_is_corrected_as_the_form_allows_a_number_staying_a_number(
        client, login, session, clock, supervisor, person_case):
    request = _receive(session, clock, supervisor, RequestKind.CORRECTION, person=person_case.person_id)
    login(supervisor)
    page = _page(client.get(f"/requests/{request.id}"))
    intake = session.scalars(select(FormSubmissionRecord).where(FormSubmissionRecord.case_id == person_case.id)
                             .order_by(FormSubmissionRecord.id)).first()
    choice = f"{intake.id}:birth_year:integer"
    assert f'value="{choice}"' in element(page, "answer")
    done = _post(client, f"/requests/{request.id}/corrections/answer", answer=choice, value="1957",
                 reason="生年の誤り", confirmed="on")
    assert done.status_code == 302
    reread(session)
    assert session.get(FormSubmissionRecord, intake.id).data["birth_year"] == 1957
    refused = _post(client, f"/requests/{request.id}/corrections/answer", answer=choice, value="1800",
                    reason="生年の誤り", confirmed="on")
    assert refused.status_code == 422
    assert "訂正後の内容:" in text(element(_page(refused), "error-summary"))


# --- Stopping use -------------------------------------------------------------------------------------

def test_stopping_use_suspends_the_case_which_says_so_and_offers_no_task_work_until_resumed(
        client, login, session, clock, supervisor, caseworker, person_case):
    request = _receive(session, clock, supervisor, RequestKind.SUSPENSION, person=person_case.person_id)
    login(supervisor)
    no_reason = _post(client, f"/requests/{request.id}/suspend", reason="", confirmed="on")
    assert no_reason.status_code == 422
    assert "理由: この項目は必須です" in text(element(_page(no_reason), "error-summary"))
    assert _post(client, f"/requests/{request.id}/suspend", reason="本人の申出（第98条）",
                 confirmed="on").status_code == 302
    reread(session)
    assert session.get(CaseRecord, person_case.id).status == CaseStatus.SUSPENDED

    login(caseworker)
    case_page = _page(client.get(f"/cases/{person_case.id}"))
    banner = text(element(case_page, "suspended-banner"))
    since = clock().astimezone(ZoneInfo("Asia/Tokyo")).strftime("%Y-%m-%d %H:%M")
    assert "利用停止中" in banner and f"{since} から" in banner and "本人の申出（第98条）" in banner
    assert "/tasks/" not in element(case_page, "case-tasks")  # no task can be opened to work
    rows = [row for row in _page(client.get("/")).split("<tr") if person_case.reference in row]
    assert rows and all("利用停止中" in row and "/claim" not in row for row in rows)  # the inbox says so too

    login(supervisor)
    page = _page(client.get(f"/requests/{request.id}"))
    assert person_case.reference in text(element(page, "suspended-cases"))
    assert _post(client, f"/requests/{request.id}/resume", reason="本人が利用再開を希望",
                 confirmed="on").status_code == 302
    reread(session)
    resumed = session.get(CaseRecord, person_case.id)
    assert resumed.status in (CaseStatus.RUNNING, CaseStatus.WAITING) and resumed.suspended_reason is None
    login(caseworker)
    assert "suspended-banner" not in _page(client.get(f"/cases/{person_case.id}"))


# --- Who may, and odd input ----------------------------------------------------------------------------

@pytest.fixture
def neighbour(session, clock, user_password):
    """A supervisor of another municipality."""
    other = MunicipalityRecord(code="132012", name="となり町")
    session.add(other)
    session.commit()
    user = users.create_user(session, clock, municipality_id=other.id, username="neighbour", display_name="隣 四郎",
                             password=user_password, roles=["supervisor"])
    session.commit()
    return user


def test_anyone_but_the_desk_is_refused_and_another_municipality_s_request_is_missing(
        client, login, session, clock, supervisor, caseworker, admin, neighbour, person_case):
    request = _receive(session, clock, supervisor, RequestKind.SUSPENSION, person=person_case.person_id)
    pages = ["/requests", "/requests/new", f"/requests/{request.id}", f"/requests/{request.id}/document",
             f"/requests/{request.id}/document.json"]
    for user in (caseworker, admin):
        login(user)
        for url in pages:
            response = client.get(url)
            assert response.status_code == 403, (user.username, url)
            assert "スーパーバイザー（個人情報の窓口）" in _page(response)
        assert _post(client, f"/requests/{request.id}/suspend", reason="x", confirmed="on").status_code == 403
    login(neighbour)
    for url in pages[2:]:
        assert client.get(url).status_code == 404, url
    for action in ("decide", "withdraw", "suspend", "resume", "person", "corrections/person"):
        assert _post(client, f"/requests/{request.id}/{action}", reason="x", outcome="granted", confirmed="on",
                     person_id=str(person_case.person_id), field="kana", value="x").status_code == 404, action
    reread(session)
    assert session.get(Request, request.id).status == RequestStatus.RECEIVED
    assert session.get(CaseRecord, person_case.id).status != CaseStatus.SUSPENDED


def test_odd_input_is_answered_in_words_never_with_a_server_error(client, login, session, clock, supervisor,
                                                                 person_case, standard_case):
    other = standard_case(title="別の方")
    other_submission = session.scalars(select(FormSubmissionRecord)
                                       .where(FormSubmissionRecord.case_id == other.id)).first()
    request = _receive(session, clock, supervisor, RequestKind.CORRECTION, person=person_case.person_id)
    login(supervisor)
    for url in ("/requests/2147483648", "/requests/99999999999999999999", "/requests/0", "/requests/-1",
                "/requests/2147483647", "/requests/2147483647/document.json"):
        assert client.get(url).status_code == 404, url
    nul = _post(client, "/requests/new", kind="disclosure", requester="山田\x00花子", received_on=RECEIVED)
    assert nul.status_code == 422 and "requester" in _page(nul)
    long = _post(client, "/requests/new", kind="disclosure", requester="長" * 5000, received_on=RECEIVED)
    assert long.status_code == 422 and "請求者:" in text(element(_page(long), "error-summary"))
    assert client.get("/requests?all=\x00").status_code == 422
    odd = [("person", {"person_id": "abc"}), ("person", {"person_id": "99999999999"}),
           ("person", {"person_id": str(other.person_id + 1000)}),
           ("corrections/answer", {"answer": "x:y:z", "value": "1", "reason": "r", "confirmed": "on"}),
           ("corrections/answer", {"answer": f"{other_submission.id}:concern:text", "value": "1", "reason": "r",
                                   "confirmed": "on"}),
           ("corrections/answer", {"answer": "1:birth_year:integer", "value": "9" * 40, "reason": "r",
                                   "confirmed": "on"}),
           ("corrections/person", {"field": "title", "value": "x", "reason": "r", "confirmed": "on"}),
           ("decide", {"outcome": "granted", "note": "x" * 10001})]
    for action, data in odd:
        response = _post(client, f"/requests/{request.id}/{action}", **data)
        assert response.status_code in (404, 422), (action, data, response.status_code)
    reread(session)
    assert session.get(FormSubmissionRecord, other_submission.id).data["concern"] != "1"
    found = session.scalars(select(Request)).all()
    assert [r.id for r in found] == [request.id] and found[0].status == RequestStatus.RECEIVED


def test_the_register_reads_in_english_for_a_supervisor_who_chose_it(client, login, session, clock, supervisor):
    request = _receive(session, clock, supervisor, RequestKind.CORRECTION, received="2026-10-01")
    login(supervisor)
    client.post("/lang/en")
    row = text(element(_page(client.get("/requests")), f"request-{request.id}"))
    assert "Correction request" in row and "Overdue" in row and "Not linked yet" in row


def test_every_withheld_phrase_of_the_engine_has_its_words_on_the_document(app):
    phrases = {value for name, value in vars(subject_data).items()
               if (name.startswith("WHAT_") or name.endswith("_REASON")) and isinstance(value, str)}
    with app.test_request_context():
        assert phrases and phrases <= set(withheld_words())
