"""From an empty database to a caseworker at work, with the commands the README gives and nothing else.

Runs the installed `tsunagu` command and a real `tsunagu serve` over HTTP, on SQLite or (with
TSUNAGU_TEST_DATABASE_URL) on a fresh PostgreSQL schema. `tsunagu demo` is never called.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, func, make_url, select, text

from tsunagu.engine.models import AuditRecord, MunicipalityRecord

from .http_client import Browser, free_port, wait_until_serving

TSUNAGU = str(Path(sys.executable).with_name("tsunagu"))
ADMIN_PASSWORD = "kanri-no-himitsu-2026"
NEW_PASSWORD = "sodan-shien-no-aikotoba"


@pytest.fixture
def empty_database_url(tmp_path):
    """A database with no tables at all: a new SQLite file, or a new PostgreSQL schema."""
    base = os.environ.get("TSUNAGU_TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path / 'production.db'}"
        return
    schema = f"prod_{uuid.uuid4().hex}"
    admin = create_engine(make_url(base))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def environment(empty_database_url, tmp_path):
    return {**os.environ, "TSUNAGU_DATABASE_URL": empty_database_url, "TSUNAGU_INSTANCE_DIR": str(tmp_path / "instance"),
            "TSUNAGU_SECRET_KEY": "production-test-secret", "TSUNAGU_SCHEDULER_IN_WEB": "false"}


def tsunagu(environment, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run([TSUNAGU, *args], env=environment, input=stdin, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"tsunagu {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr
    return done.stdout


@pytest.fixture
def server(environment):
    port = free_port()
    # The production server the README gives: gunicorn, two worker processes sharing one database.
    process = subprocess.Popen([TSUNAGU, "serve", "--production", "--workers", "2", "--port", str(port)],
                               env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        yield process, base
    finally:
        process.terminate()
        assert process.wait(timeout=40) == 0  # gunicorn stops its workers and exits cleanly on SIGTERM


def test_an_empty_database_becomes_a_municipality_whose_caseworker_starts_a_case(environment, server,
                                                                                empty_database_url):
    assert "database ready" in tsunagu(environment, "init-db")
    added = tsunagu(environment, "municipality", "add", "--code", "131016", "--name", "千代田区")
    assert "千代田区（131016）" in added
    tsunagu(environment, "user", "add", "kanri", "--municipality", "131016", "--role", "admin",
            "--display-name", "管理 一郎", "--password-stdin", stdin=ADMIN_PASSWORD + "\n")
    created = tsunagu(environment, "user", "add", "sodan", "--municipality", "131016", "--role", "caseworker",
                      "--display-name", "相談 花子", "--team", "地域福祉係")
    one_time = one_time_password(created)

    process, base = server
    wait_until_serving(process, base)
    person = Browser(base)
    sign_in = person.get("/login")
    signed_in = person.post("/login", {"username": "sodan", "password": one_time}, csrf_from=sign_in)
    assert signed_in.status == 302

    # First sign-in: the one-time password is replaced before anything else.
    change = person.follow(person.get("/"))
    assert change.status == 200 and 'name="new_password"' in change.text, change.text[:3000]
    changed = person.post("/account/password", {"current_password": one_time, "new_password": NEW_PASSWORD,
                                                "confirm_password": NEW_PASSWORD}, csrf_from=change)
    assert changed.status == 302, changed.text[:3000]

    # Then the secrecy pledge (Act Art. 18), then the inbox.
    pledge = person.follow(person.get("/"))
    assert "第18条" in pledge.text
    pledge_id = re.search(r'name="pledge_id" value="(\d+)"', pledge.text).group(1)
    accepted = person.post("/pledge", {"pledge_id": pledge_id, "agree": "on"}, csrf_from=pledge)
    assert accepted.status == 302
    inbox = person.follow(accepted)
    assert inbox.status == 200 and "相談 花子" in inbox.text

    # A new consultation on the national template reaches its first task, the intake.
    new = person.get("/cases/new")
    version_id = re.search(r'<option value="(\d+)"', new.text).group(1)
    started = person.post("/cases/new", {"version_id": version_id, "title": "Y.K. さん（電話）"}, csrf_from=new)
    assert started.status == 302 and "/tasks/" in started.location, started.text[:2000]
    task = person.follow(started)
    assert task.status == 200 and "相談受付" in task.text
    intake = {"consultation_date": "2026-12-01", "channel": "phone", "person_name": "山本 由紀",
              "person_kana": "ヤマモト ユキ", "birth_year": "1961", "household": "alone",
              "concern": "夫を亡くしてから誰とも話さない日が続いている。", "wishes": "話し相手がほしい。",
              "existing_scheme": "none"}
    done = person.post(urlsplit(started.location).path, intake, csrf_from=task)
    assert done.status == 302, done.text[:3000]
    following = person.follow(done)
    # The next task, the baseline assessment, waits in the caseworker's inbox.
    assert following.status == 200 and "初回アセスメント" in following.text, following.text[:3000]

    engine = create_engine(empty_database_url)
    with engine.connect() as conn:
        town = conn.execute(select(MunicipalityRecord.__table__).where(
            MunicipalityRecord.__table__.c.code == "131016")).one()
        assert not town.is_demo
        actions = dict(conn.execute(select(AuditRecord.__table__.c.action, func.count()).group_by(
            AuditRecord.__table__.c.action)).all())
    engine.dispose()
    assert {"municipality.added", "user.created", "password.changed", "pledge.accepted", "case.started",
            "task.completed"} <= set(actions)


def one_time_password(output: str) -> str:
    """The one-time password `tsunagu user add` printed."""
    found = re.search(r"(?:初期パスワード|初回パスワード|one-time password)[^:：]*[:：]\s*(\S+)", output)
    assert found, output
    return found.group(1)


def test_the_production_server_refuses_to_start_without_a_shared_secret_key(environment):
    refused = subprocess.run([TSUNAGU, "serve", "--production", "--port", str(free_port())],
                             env={**environment, "TSUNAGU_SECRET_KEY": ""}, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1
    assert "TSUNAGU_SECRET_KEY" in refused.stderr and "Traceback" not in refused.stderr
