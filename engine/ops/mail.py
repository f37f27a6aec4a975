"""Sending notification mail over SMTP from the outbox, outside every case transaction."""
from __future__ import annotations

import smtplib
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ..clock import Clock
from ..config import Settings
from ..db import transaction
from .tables import NotificationRecord

SMTP_TIMEOUT_S = 10
BATCH = 50


@dataclass(frozen=True)
class MailSettings:
    host: str
    port: int = 25
    starttls: bool = False
    username: str = ""
    password: str = ""
    sender: str = "tsunagu@localhost"
    max_attempts: int = 8
    base_url: str = "http://127.0.0.1:5000"

    @classmethod
    def from_settings(cls, settings: Settings) -> "MailSettings | None":
        """Mail settings from the app settings, or None when no SMTP server is configured."""
        if not settings.smtp_host:
            return None
        return cls(settings.smtp_host, settings.smtp_port, settings.smtp_starttls, settings.smtp_username,
                   settings.smtp_password, settings.mail_from, settings.mail_max_attempts, settings.base_url)


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, ... minutes between attempts, at most a day: a server down for hours loses nothing."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 24 * 60))


def compose(notice: NotificationRecord, mail: MailSettings) -> EmailMessage:
    """The mail for a notice: it names the task and case number and links to Tsunagu, nothing personal."""
    message = EmailMessage()
    message["From"] = mail.sender
    message["To"] = notice.mail_to
    message["Subject"] = notice.subject
    # One id per notice, whatever the attempt: a mail resent after a crash is recognisable as a duplicate.
    message["Message-ID"] = f"<tsunagu-notice-{notice.id}@tsunagu.invalid>"
    link = f"{mail.base_url.rstrip('/')}/tasks/{notice.task_id}" if notice.task_id else mail.base_url
    message.set_content(f"{notice.subject}\n\n{link}\n\n"
                        "このメールには個人情報を含めていません。内容はつなぐにログインして確認してください。\n"
                        "This mail carries no personal data; sign in to Tsunagu to read the details.\n")
    return message


def send(message: EmailMessage, mail: MailSettings) -> None:
    with smtplib.SMTP(mail.host, mail.port, timeout=SMTP_TIMEOUT_S) as smtp:
        if mail.starttls:
            smtp.starttls()
        if mail.username:
            smtp.login(mail.username, mail.password)
        smtp.send_message(message)


def dispatch_pending(session_factory: sessionmaker[Session], clock: Clock, mail: MailSettings) -> tuple[int, int]:
    """Send the due mails; return (sent, failed attempts). Each mail is its own short transaction."""
    sent = failed = 0
    with session_factory() as session:
        ids = list(session.scalars(select(NotificationRecord.id).where(
            NotificationRecord.mail_status == "pending", NotificationRecord.mail_next_attempt_at <= clock())
            .order_by(NotificationRecord.mail_next_attempt_at, NotificationRecord.id).limit(BATCH)))
    for notice_id in ids:
        with session_factory() as session, transaction(session):
            query = select(NotificationRecord).where(NotificationRecord.id == notice_id,
                                                     NotificationRecord.mail_status == "pending")
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            notice = session.scalar(query)
            if notice is None:  # another dispatcher has it
                continue
            try:
                send(compose(notice, mail), mail)
            except (OSError, smtplib.SMTPException) as error:
                notice.mail_attempts += 1
                notice.mail_last_error = f"{type(error).__name__}: {error}"[:1000]
                notice.mail_next_attempt_at = clock() + backoff(notice.mail_attempts)
                if notice.mail_attempts >= mail.max_attempts:
                    notice.mail_status = "failed"
                failed += 1
            else:
                notice.mail_status, notice.mailed_at = "sent", clock()
                notice.mail_attempts += 1
                sent += 1
    return sent, failed
