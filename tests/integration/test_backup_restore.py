"""Backup and restore on the database the suite runs on (SQLite file, or a PostgreSQL schema per test):
back up, change things, restore, and every case, task and timer is as it was; a timer that fell due in
between fires once. Files that are not a sound Tsunagu backup of the right kind change nothing.
"""
from __future__ import annotations

import os
import sqlite3
import subprocess
from datetime import datetime, timedelta

import pytest
from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import create_engine, make_url, select, text

from tsunagu.engine.access import tokens  # noqa: F401  (registers its table)
from tsunagu.engine.casefile import governance, tables  # noqa: F401  (registers their tables)
from tsunagu.engine.clock import system_clock
from tsunagu.engine.db import MIGRATIONS_DIR, make_engine, make_session_factory
from tsunagu.engine.models import AuditRecord, Base, CaseStatus, MunicipalityRecord
from tsunagu.engine.ops import backup
from tsunagu.engine.ops import tables as ops_tables  # noqa: F401  (registers its tables)
from tsunagu.engine.ops.backup import BackupRefused, inspect_backup, restore_backup, take_backup
from tsunagu.web.cli import main

from .scenario import assessment, intake

TEST_DATABASE_ENV = "TSUNAGU_TEST_DATABASE_URL"  # as tests/conftest.py reads it
BACKUP_ACTIONS = {"backup.snapshot", "backup.restored"}


def _rows(session_factory) -> dict[str, list[tuple]]:
    """Every row of every table but the audit log, in key order: the whole state a restore brings back."""
    with session_factory() as session:
        return {table.name: [tuple(row) for row in session.execute(
                    select(table).order_by(*table.primary_key.columns))]
                for table in Base.metadata.sorted_tables if table.name != "audit_log"}


def _audit(session_factory) -> list[tuple]:
    with session_factory() as session:
        return [(r.id, r.action, r.municipality_id, r.case_id, r.detail)
                for r in session.scalars(select(AuditRecord).order_by(AuditRecord.id))]


def _fired(session_factory, case_id: int) -> int:
    return sum(1 for _id, action, _town, case, _detail in _audit(session_factory)
               if action == "timer.fired" and case == case_id)


def _postgres(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def _revision(url: str) -> str:
    engine = make_engine(url)
    with engine.connect() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
    engine.dispose()
    return revision


@pytest.fixture
def empty_database(tmp_path):
    """A factory of URLs of empty databases: a SQLite path not yet created, or a scratch PostgreSQL
    database (tsunagu_restore_<pid>_<n>, dropped afterwards; the shared test database is never touched)."""
    base = os.environ.get(TEST_DATABASE_ENV)
    made: list[str] = []

    def make() -> str:
        name = f"tsunagu_restore_{os.getpid()}_{len(made)}"
        made.append(name)
        if not base:
            return f"sqlite:///{tmp_path / name}.db"
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        return make_url(base).set(database=name).render_as_string(hide_password=False)

    admin = create_engine(make_url(base), isolation_level="AUTOCOMMIT") if base else None
    yield make
    if admin is not None:
        with admin.connect() as connection:
            for name in made:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def settled(session):
    """Close the fixtures' own session, so nothing holds a lock while a restore replaces the tables."""

    def settle() -> None:
        session.rollback()
        session.close()

    return settle


def test_a_restore_brings_back_every_case_task_and_timer_and_a_timer_due_meanwhile_fires_once(
        story, database_url, tmp_path, settled):
    cast, clock = story.cast, story.clock
    at_intake = story.start("受付のまま")
    at_consent = story.start("同意の確認")
    story.to_consent(at_consent, assessment_data=assessment())
    due_in_gap, due_later = story.start("見直しが先"), story.start("見直しが後")
    for case in (due_in_gap, due_later):
        story.to_council(case)
    home_visit = story.action_type("home_visit").id
    story.decide(due_in_gap, [{"action_type_id": home_visit, "due_on": "2026-12-20", "note": "週1回の訪問"}],
                 next_review_on="2026-12-20")
    story.decide(due_later, [], next_review_on="2027-01-10")
    gap_timer, later_timer = story.case(due_in_gap).next_timer_at, story.case(due_later).next_timer_at
    assert clock() < gap_timer < clock() + timedelta(days=20) < later_timer
    assert story.open_elements(at_intake) == ["intake"] and story.open_elements(at_consent) == ["consent_capture"]
    assert story.open_elements(due_in_gap) == ["action_response"]
    before, audit_before = _rows(story.session_factory), _audit(story.session_factory)

    taken = take_backup(database_url, tmp_path, clock, operator="test")

    # Meanwhile: a task done, a case started, the first review's timer fired.
    clock.advance(timedelta(days=1))
    story.complete(at_intake, "intake", cast.caseworker, intake())
    started = story.start("バックアップの後")
    assert story.pass_time_until(gap_timer + timedelta(minutes=1)) == [due_in_gap.id]
    assert story.open_elements(due_in_gap) == ["action_response", "review_assessment"]
    assert _rows(story.session_factory) != before

    settled()
    info = inspect_backup(database_url, taken.path)
    assert (info.sha256, info.size, info.revision, info.outdated) == (taken.sha256, taken.size,
                                                                      _revision(database_url), False)
    restored = restore_backup(database_url, info, clock, operator="test")

    assert restored.upgraded_from is None
    assert _rows(story.session_factory) == before
    assert story.case(started.id) is None
    for case in (at_intake, at_consent, due_in_gap, due_later):
        story.assert_restores(case)
    assert story.open_elements(at_intake) == ["intake"] and story.open_elements(due_in_gap) == ["action_response"]
    assert story.case(due_in_gap).next_timer_at == gap_timer
    # The trail: everything up to the backup, then only the backup's own rows and the restore.
    audit_after = _audit(story.session_factory)
    assert audit_after[:len(audit_before)] == audit_before
    assert {action for _id, action, *_rest in audit_after[len(audit_before):]} <= BACKUP_ACTIONS
    [(_id, _action, town, _case, detail)] = [row for row in audit_after if row[1] == "backup.restored"]
    assert town == cast.caseworker.municipality_id
    assert (detail["path"], detail["sha256"], detail["via"]) == (str(taken.path), taken.sha256, "cli")
    assert detail["taken_at"] is not None
    if not _postgres(database_url):  # PostgreSQL dates a dump by pg_dump's own (real) clock
        assert datetime.fromisoformat(detail["taken_at"]) == taken.taken_at

    # The timer that fell due between backup and restore fires on the next pass, once.
    assert _fired(story.session_factory, due_in_gap.id) == 0
    assert story.pass_time(timedelta(minutes=1)) == [due_in_gap.id]
    assert story.pass_time(timedelta(minutes=1)) == []
    assert _fired(story.session_factory, due_in_gap.id) == 1
    assert story.open_elements(due_in_gap) == ["action_response", "review_assessment"]
    assert story.case(due_later).next_timer_at == later_timer and _fired(story.session_factory, due_later.id) == 0


def test_a_backup_is_audited_in_every_municipalitys_log_with_its_file_size_and_hash(
        session, session_factory, clock, municipality, database_url, tmp_path):
    other = MunicipalityRecord(code="131016", name="千代田区")
    session.add(other)
    session.commit()
    (tmp_path / "backups").mkdir()
    target = tmp_path / "backups" / "nightly.bak"

    taken = take_backup(database_url, target, clock, operator="backup-user")

    assert taken.path == target and target.is_file() and oct(target.stat().st_mode & 0o777) == "0o600"
    rows = [row for row in _audit(session_factory) if row[1] == "backup.created"]
    assert sorted(town for _id, _action, town, _case, _detail in rows) == sorted([municipality.id, other.id])
    for *_rest, detail in rows:
        assert (detail["path"], detail["size"], detail["sha256"]) == (str(target), taken.size, taken.sha256)
        assert (detail["via"], detail["operator"]) == ("cli", "backup-user")
    assert [p.name for p in target.parent.iterdir()] == ["nightly.bak"]  # no partial file left behind
    with pytest.raises(BackupRefused) as refused:
        take_backup(database_url, target, clock, operator="backup-user")
    assert refused.value.code == "backup_exists"


def _wrong_kind_file(tmp_path, database_url):
    """A backup of the other database: a SQLite file for PostgreSQL, a pg_dump archive's header for SQLite."""
    path = tmp_path / "other-kind"
    if _postgres(database_url):
        sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.close()
    else:
        path.write_bytes(b"PGDMP\x01\x0e\x00" + bytes(200))
    return path


def _missing(tmp_path, _url):
    return tmp_path / "no-such-file"


def _notes(tmp_path, _url):
    path = tmp_path / "notes.txt"
    path.write_text("--\n議事メモ\n")
    return path


def _empty(tmp_path, _url):
    path = tmp_path / "empty"
    path.write_bytes(b"")
    return path


@pytest.mark.parametrize(("make", "code"), [(_missing, "backup_missing"), (_notes, "backup_unrecognised"),
                                            (_empty, "backup_unrecognised"), (_wrong_kind_file, "backup_wrong_kind")])
def test_a_file_that_is_not_a_backup_of_this_database_is_refused_and_changes_nothing(
        make, code, standard_case, session_factory, database_url, tmp_path, settled):
    before, audit_before = _rows(session_factory), _audit(session_factory)
    settled()

    with pytest.raises(BackupRefused) as refused:
        inspect_backup(database_url, make(tmp_path, database_url))

    assert refused.value.code == code and refused.value.element
    assert (_rows(session_factory), _audit(session_factory)) == (before, audit_before)


def test_a_damaged_or_foreign_database_file_is_refused(standard_case, session_factory, clock, database_url, tmp_path,
                                                      settled):
    taken = take_backup(database_url, tmp_path / "good", clock, operator="test")
    damaged = tmp_path / "damaged"
    data = taken.path.read_bytes()
    # Keep the file's header, spoil the rest: SQLite's integrity check, or pg_restore's reading, fails.
    damaged.write_bytes(data[:100] + bytes(len(data) - 100) if not _postgres(database_url) else data[:40])
    foreign = tmp_path / "foreign.db"
    sqlite3.connect(foreign).execute("CREATE TABLE alembic_version (version_num TEXT)").connection.close()
    before = _rows(session_factory)
    settled()

    with pytest.raises(BackupRefused) as spoiled:
        inspect_backup(database_url, damaged)
    assert spoiled.value.code == "backup_damaged"
    if not _postgres(database_url):
        with pytest.raises(BackupRefused) as other_app:
            inspect_backup(database_url, foreign)
        assert other_app.value.code == "backup_not_tsunagu" and "cases" in other_app.value.message
    assert _rows(session_factory) == before


def _set_revision(url: str, revision: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    engine.dispose()


def test_a_backup_from_a_newer_tsunagu_is_refused_by_its_revision(standard_case, session_factory, clock,
                                                                    database_url, tmp_path, settled):
    current = _revision(database_url)
    _set_revision(database_url, "9999")
    try:
        taken = take_backup(database_url, tmp_path, clock, operator="test")
    finally:
        _set_revision(database_url, current)
    before = _rows(session_factory)
    settled()

    with pytest.raises(BackupRefused) as refused:
        inspect_backup(database_url, taken.path)

    assert refused.value.code == "backup_too_new" and "9999" in refused.value.message
    assert _rows(session_factory) == before and _revision(database_url) == current


def _alembic(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def test_an_older_backup_is_restored_into_an_empty_database_and_upgraded(empty_database, clock, tmp_path,
                                                                        database_url):
    old = empty_database()
    command.upgrade(_alembic(old), "0012")
    engine = make_engine(old)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO municipalities (code, name, is_demo) VALUES ('139999', 'つながり市', false)"))
    engine.dispose()
    taken = take_backup(old, tmp_path, clock, operator="test")
    fresh = empty_database()

    info = inspect_backup(fresh, taken.path)
    restored = restore_backup(fresh, info, clock, operator="test")

    assert (info.revision, info.outdated, restored.upgraded_from) == ("0012", True, "0012")
    assert _revision(fresh) != "0012" and _revision(fresh) == _revision(database_url)
    factory = make_session_factory(make_engine(fresh))
    assert [row[1:3] for row in _audit(factory) if row[1] == "backup.restored"] == [("backup.restored", 1)]
    factory.kw["bind"].dispose()


def test_postgresql_refuses_a_dump_into_a_newer_database_or_another_schema(
        standard_case, session_factory, clock, database_url, empty_database, tmp_path, settled):
    if not _postgres(database_url):
        pytest.skip("a SQLite restore replaces the whole file, whatever its tables")
    taken = take_backup(database_url, tmp_path / "same-schema.dump", clock, operator="test")
    engine = make_engine(database_url)
    with engine.begin() as connection:  # a table a later release added
        connection.execute(text("CREATE TABLE added_later (id integer REFERENCES cases (id))"))
    engine.dispose()
    elsewhere = empty_database()
    command.upgrade(_alembic(elsewhere), "head")
    public = take_backup(elsewhere, tmp_path / "public.dump", clock, operator="test")
    before = _rows(session_factory)
    settled()

    with pytest.raises(BackupRefused) as newer:
        restore_backup(database_url, inspect_backup(database_url, taken.path), clock, operator="test")
    with pytest.raises(BackupRefused) as schema:
        restore_backup(database_url, inspect_backup(database_url, public.path), clock, operator="test")

    assert newer.value.code == "database_newer" and "added_later" in newer.value.message
    assert schema.value.code == "backup_schema_mismatch" and "public" in schema.value.message
    assert _rows(session_factory) == before


@pytest.fixture
def tsunagu(database_url, session):
    """Run `tsunagu ARGS...` against the test database, with `input` for prompts."""

    def run(*args, input=None):
        session.rollback()
        session.close()
        return CliRunner().invoke(main, list(args), input=input, env={"TSUNAGU_DATABASE_URL": database_url})

    return run


def test_tsunagu_backup_and_restore_ask_before_replacing_and_say_what_they_did(
        tsunagu, story, session_factory, tmp_path):
    case = story.start()
    made = tsunagu("backup", str(tmp_path))
    assert made.exit_code == 0, made.output
    [path] = list(tmp_path.glob("tsunagu-*"))
    assert str(path) in made.output and "SHA-256" in made.output and "暗号化" in made.output
    story.complete(case, "intake", story.cast.caseworker, intake())
    changed = _rows(session_factory)

    declined = tsunagu("restore", str(path), input="n\n")
    assert declined.exit_code == 1 and "続けますか" in declined.output
    assert _rows(session_factory) == changed

    done = tsunagu("restore", str(path), "--yes")
    assert done.exit_code == 0, done.output
    assert "復元しました" in done.output and "一度だけ" in done.output
    assert story.open_elements(case) == ["intake"] and story.case(case).status == CaseStatus.RUNNING

    missing = tsunagu("restore", str(tmp_path / "nothing.db"), "--yes")
    assert missing.exit_code == 1 and "backup_missing" in missing.output and "何も変えていません" in missing.output


def test_the_postgresql_tools_get_the_password_in_their_environment_never_on_their_command_line(
        monkeypatch, tmp_path):
    url = ("postgresql+psycopg://tsunagu:s3cret%21pw@db.example.lg.jp:6432/tsunagu"
           "?sslmode=verify-full&options=-csearch_path%3Dkodoku")
    environment = backup.libpq_environment(url, base={"PATH": "/usr/bin", "PGPASSWORD": "stale"})
    assert {k: environment[k] for k in ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGSSLMODE",
                                        "PGOPTIONS")} == {
        "PGHOST": "db.example.lg.jp", "PGPORT": "6432", "PGUSER": "tsunagu", "PGPASSWORD": "s3cret!pw",
        "PGDATABASE": "tsunagu", "PGSSLMODE": "verify-full", "PGOPTIONS": "-csearch_path=kodoku"}
    ran = []

    def run(arguments, **options):
        ran.append((arguments, options["env"]))
        return subprocess.CompletedProcess(arguments, 0, "", "")

    monkeypatch.setattr(backup.subprocess, "run", run)
    backup._pg_dump(url, tmp_path / "out.dump")

    [(arguments, env)] = ran
    assert "s3cret" not in " ".join(arguments) and env["PGPASSWORD"] == "s3cret!pw"
    assert "--format=custom" in arguments and "--schema=kodoku" in arguments


def test_a_missing_pg_dump_is_named_with_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(backup, "PG_FOLDERS", tmp_path / "no-postgresql")

    with pytest.raises(BackupRefused) as refused:
        take_backup("postgresql+psycopg://postgres@127.0.0.1:1/none", tmp_path, system_clock, operator="test")

    assert (refused.value.code, refused.value.element) == ("pg_tool_missing", "pg_dump")
    assert "apt install postgresql-client" in refused.value.message
    assert list(tmp_path.iterdir()) == []
