"""Notification mail through a real SMTP server on 127.0.0.1 (aiosmtpd), including the server being down."""
from __future__ import annotations

import socket
from contextlib import contextmanager
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from tsunagu.engine.access.users import create_user
from tsunagu.engine.casefile.tables import PersonRecord
from tsunagu.engine.commands import cases
from tsunagu.engine.commands.scheduler import TimerPolicy, run_pass
from tsunagu.engine.models import TaskRecord, TaskStatus
from tsunagu.engine.ops.mail import MailSettings, backoff, dispatch_pending
from tsunagu.engine.ops.notifications import unread_count
from tsunagu.engine.ops.tables import NotificationRecord

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn"
BASE_URL = "https://tsunagu.example.jp"
PERSON = "山田 花子"


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self):
        self.messages = []
        self.recipients = []

    async def handle_DATA(self, server, session, envelope):
        self.raw = envelope.content
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server(port: int, inbox: Inbox):
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


@pytest.fixture
def port():
    """A TCP port on 127.0.0.1 nothing listens on (until a test starts its server there)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def inbox():
    return Inbox()


@pytest.fixture
def mail(port):
    return MailSettings(host="127.0.0.1", port=port, sender="tsunagu@example.jp", base_url=BASE_URL, max_attempts=3)


@pytest.fixture
def tanaka(session, clock, municipality, user_password):
    """A caseworker with a mail address."""
    user = create_user(session, clock, municipality_id=municipality.id, username="tanaka", display_name="田中 一郎",
                       password=user_password, roles=["caseworker"], email="tanaka@example.jp")
    session.commit()
    return user


@pytest.fixture
def prepare_task(session, clock, caseworker, municipality, timer_version):
    """The open first task of a case about a named person."""
    person = PersonRecord(municipality_id=municipality.id, name=PERSON, kana="ヤマダ ハナコ", created_at=clock())
    session.add(person)
    session.commit()
    case = cases.start_case(session, clock, caseworker, timer_version, f"{PERSON}さんの相談", person_id=person.id)
    return session.scalar(select(TaskRecord).where(TaskRecord.case_id == case.id, TaskRecord.status == TaskStatus.OPEN))


def _assign(session, clock, supervisor, task, user) -> NotificationRecord:
    cases.assign_task(session, clock, supervisor, task.id, user.id)
    return session.scalar(select(NotificationRecord).where(NotificationRecord.user_id == user.id))


def _reload(session, notice) -> NotificationRecord:
    session.expire_all()
    return session.get(NotificationRecord, notice.id)


def test_a_task_assigned_to_someone_with_an_address_is_mailed_in_japanese_without_personal_data(
        session, session_factory, clock, supervisor, tanaka, prepare_task, mail, port, inbox):
    notice = _assign(session, clock, supervisor, prepare_task, tanaka)
    with smtp_server(port, inbox):
        assert dispatch_pending(session_factory, clock, mail) == (1, 0)

    (message,) = inbox.messages
    assert inbox.recipients == [["tanaka@example.jp"]]
    assert message["To"] == "tanaka@example.jp" and message["From"] == "tsunagu@example.jp"
    reference = prepare_task.case.reference
    assert message["Subject"] == f"新しいタスク「準備」（ケース {reference}）"
    assert b"=?utf-8?" in inbox.raw  # the Japanese subject travels as an encoded word
    body = message.get_content()
    assert f"{BASE_URL}/tasks/{prepare_task.id}" in body
    everything = body + "".join(f"{k}: {v}\n" for k, v in message.items())
    for personal in (PERSON, "山田", "ヤマダ", "相談", tanaka.display_name):
        assert personal not in everything
    stored = _reload(session, notice)
    assert (stored.mail_status, stored.mail_attempts, stored.mailed_at) == ("sent", 1, clock())
    assert dispatch_pending(session_factory, clock, mail) == (0, 0)  # sent once


def test_someone_without_an_address_gets_the_notice_in_the_app_only(
        session, session_factory, clock, supervisor, caseworker, prepare_task, mail, port, inbox):
    notice = _assign(session, clock, supervisor, prepare_task, caseworker)
    with smtp_server(port, inbox):
        assert dispatch_pending(session_factory, clock, mail) == (0, 0)
    assert inbox.messages == []
    stored = _reload(session, notice)
    assert stored.mail_to is None and stored.mail_status is None
    assert unread_count(session, caseworker) == 1


def test_mail_waits_out_a_server_that_is_down_and_is_sent_once_when_it_is_back(
        session, session_factory, clock, supervisor, tanaka, prepare_task, mail, port, inbox):
    notice = _assign(session, clock, supervisor, prepare_task, tanaka)

    assert dispatch_pending(session_factory, clock, mail) == (0, 1)  # nothing listens on the port
    stored = _reload(session, notice)
    assert (stored.mail_status, stored.mail_attempts) == ("pending", 1)
    assert stored.mail_next_attempt_at == clock() + backoff(1) == clock() + timedelta(minutes=1)
    assert "ConnectionRefusedError" in stored.mail_last_error
    assert dispatch_pending(session_factory, clock, mail) == (0, 0)  # backing off: no new attempt yet

    with smtp_server(port, inbox):
        assert dispatch_pending(session_factory, clock, mail) == (0, 0)  # back, but the backoff has not passed
        clock.advance(timedelta(minutes=1, seconds=1))
        assert dispatch_pending(session_factory, clock, mail) == (1, 0)
        assert dispatch_pending(session_factory, clock, mail) == (0, 0)
    assert len(inbox.messages) == 1 and inbox.messages[0]["To"] == "tanaka@example.jp"
    stored = _reload(session, notice)
    assert (stored.mail_status, stored.mail_attempts) == ("sent", 2)


def test_mail_is_marked_failed_after_the_last_attempt_and_the_notice_stays_in_the_app(
        session, session_factory, clock, supervisor, tanaka, prepare_task, mail):
    notice = _assign(session, clock, supervisor, prepare_task, tanaka)
    for attempt in range(1, mail.max_attempts + 1):
        assert dispatch_pending(session_factory, clock, mail) == (0, 1), attempt
        stored = _reload(session, notice)
        assert stored.mail_attempts == attempt
        assert stored.mail_status == ("failed" if attempt == mail.max_attempts else "pending")
        clock.advance(backoff(attempt) + timedelta(seconds=1))
    clock.advance(timedelta(days=1))
    assert dispatch_pending(session_factory, clock, mail) == (0, 0)  # given up: no further attempts
    assert unread_count(session, tanaka) == 1


def test_a_scheduler_pass_with_mail_settings_mails_the_escalation_its_timer_raised(
        session, session_factory, clock, caseworker, municipality, timer_version, user_password, mail, port, inbox):
    create_user(session, clock, municipality_id=municipality.id, username="boss", display_name="上司",
                       password=user_password, roles=["supervisor"], email="boss@example.jp")
    session.commit()
    case = cases.start_case(session, clock, caseworker, timer_version, f"{PERSON}さんの相談")
    prepare = session.scalar(select(TaskRecord).where(TaskRecord.case_id == case.id))
    cases.complete_task(session, clock, caseworker, prepare.id, {})
    policy = TimerPolicy()
    with smtp_server(port, inbox):
        clock.advance(timedelta(days=7, minutes=1))
        assert run_pass(session_factory, clock, policy, "test", mail).mails_sent == 0  # review: nothing to mail
        clock.advance(timedelta(days=3, minutes=1))
        report = run_pass(session_factory, clock, policy, "test", mail)
        again = run_pass(session_factory, clock, policy, "test", mail)

    assert report.fired == [case.id]
    reference = case.reference
    # The escalation task (due in a day) is announced twice: as raised, and as due within DUE_SOON_HOURS.
    assert sorted(m["Subject"] for m in inbox.messages) == sorted([
        f"エスカレーション「期限超過への対応」（ケース {reference}）",
        f"期限が近いタスク「期限超過への対応」（ケース {reference}）",
        f"期限を過ぎたタスク「見直し」（ケース {reference}）",
    ])
    assert report.mails_sent == 3
    assert {r for rs in inbox.recipients for r in rs} == {"boss@example.jp"}
    assert (again.fired, again.mails_sent) == ([], 0)
