"""The bell in the header: how many notices are unread, the list behind it, and marking them read."""
from __future__ import annotations

from page_text import element, text
from sqlalchemy import event

from tsunagu.web.extensions import db


def test_the_bell_counts_unread_notices_and_marking_them_read_clears_it(client, login, body_partners,
                                                                       standard_case):
    partner = body_partners["npo_ibasho"]
    case = standard_case()  # the council asks the NPO to act: its partner is told of the task
    login(partner)
    bell = element(client.get("/").get_data(as_text=True), "bell")
    assert 'href="/notifications"' in bell and 'aria-label="通知（未読 1 件）"' in bell
    assert text(element(bell, "unread-count")) == "1"

    page = client.get("/notifications").get_data(as_text=True)
    notices = element(page, "notices")
    assert f"新しいタスク「支援の受諾・辞退」（ケース {case.reference}）" in text(notices)
    assert 'href="/tasks/' in notices and "未読" in text(notices)
    assert "すべて既読にする" in page

    response = client.post("/notifications/read")
    assert response.status_code == 302 and response.headers["Location"] == "/notifications"
    page = client.get("/notifications").get_data(as_text=True)
    assert 'id="unread-count"' not in page and 'aria-label="通知"' in element(page, "bell")
    assert "すべて既読にする" not in page and 'class="read"' in element(page, "notices")


def test_a_user_without_notices_sees_an_empty_bell_and_list(client, login, caseworker):
    login(caseworker)
    page = client.get("/notifications").get_data(as_text=True)
    assert 'id="unread-count"' not in page and "通知はありません。" in page


def test_counting_is_one_query_on_the_notifications_index_and_loads_no_workflow(app, client, login, body_partners,
                                                                                standard_case):
    standard_case()
    login(body_partners["npo_ibasho"])
    statements: list[str] = []

    def capture(_conn, _cursor, statement, *_args):
        statements.append(" ".join(statement.lower().split()))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        assert client.get("/account/totp").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    counting = [s for s in statements if "notifications" in s]
    assert len(counting) == 1 and counting[0].startswith("select count(*)")
    assert "join" not in counting[0] and "user_id" in counting[0] and "read_at is null" in counting[0]
    assert not any("workflow_state" in s for s in statements)
