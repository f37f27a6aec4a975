"""Backups of the whole database and restoring one, for both databases Tsunagu runs on.

SQLite is copied with its online backup API (a consistent snapshot while the server runs) and restored
through the same API into the live file, so the file stays the one every process has open. PostgreSQL
is dumped and restored by its own `pg_dump --format=custom` and `pg_restore --single-transaction`, run
with the connection of the configured URL passed in libpq's environment (never a password on a command
line). A file is checked before anything is replaced: its kind (SQLite header or PGDMP), that it is a
Tsunagu database and its schema revision, which must be one this code knows (an older one is upgraded
after the restore). Backups and restores are audited in every municipality's log; a restored database
holds a row saying which file it came from, taken when.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import sqlite3
import subprocess  # noqa: S404  (pg_dump and pg_restore are PostgreSQL's own tools)
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect, make_url, select, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from .. import audit
from ..clock import Clock
from ..db import MIGRATIONS_DIR, make_engine, make_session_factory, transaction, upgrade_database
from ..errors import TsunaguError
from ..models import AuditRecord, MunicipalityRecord

SQLITE, POSTGRESQL = "sqlite", "postgresql"
SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
SUFFIX = {SQLITE: "db", POSTGRESQL: "dump"}
# A Tsunagu database holds these at every revision; an Alembic table alone could be any application's.
TSUNAGU_TABLES = frozenset({"alembic_version", "municipalities", "cases", "tasks", "audit_log"})
SNAPSHOT = "backup.snapshot"  # written into a SQLite copy only: when it was taken
# Connection settings of a SQLAlchemy URL's query that libpq also reads from its environment.
LIBPQ_ENVIRONMENT = {
    "host": "PGHOST", "port": "PGPORT", "sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT", "sslkey": "PGSSLKEY", "sslcrl": "PGSSLCRL", "sslpassword": "PGSSLPASSWORD",
    "options": "PGOPTIONS", "application_name": "PGAPPNAME", "connect_timeout": "PGCONNECT_TIMEOUT",
    "target_session_attrs": "PGTARGETSESSIONATTRS", "passfile": "PGPASSFILE", "service": "PGSERVICE",
    "gssencmode": "PGGSSENCMODE", "channel_binding": "PGCHANNELBINDING", "krbsrvname": "PGKRBSRVNAME",
}
LOCK_TIMEOUT_S = 60
PG_FOLDERS = Path("/usr/lib/postgresql")  # Debian's per-version client tools, when they are not on PATH
SEARCH_PATH = re.compile(r"search_path\s*=\s*\"?([A-Za-z0-9_]+)")
TOC_TABLE = re.compile(r"^\d+; \d+ \d+ TABLE (?!DATA )(\S+) (\S+) ", re.MULTILINE)  # not its TABLE DATA
ARCHIVED_AT = re.compile(r"^; Archive created at (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC$", re.MULTILINE)


class BackupRefused(TsunaguError):
    """A backup or restore that cannot go ahead; nothing was changed. `code` says why, `element` names the file."""

    code = "backup_refused"

    def __init__(self, code: str, message: str, *, element: str | None = None) -> None:
        super().__init__(message, element=element)
        self.code = code


@dataclass(frozen=True)
class BackupInfo:
    """A backup file as checked: what it holds and whether this code can restore it."""

    path: Path
    kind: str  # SQLITE or POSTGRESQL
    size: int
    sha256: str
    revision: str
    taken_at: datetime | None  # None for a file not made by `tsunagu backup` (SQLite) or without a header
    outdated: bool  # an older schema than this code's: the restore upgrades it
    schema: str | None = None  # PostgreSQL: the schema its tables are in


@dataclass(frozen=True)
class Restored:
    info: BackupInfo
    upgraded_from: str | None  # the backup's revision when the restore upgraded it


def database_kind(url: str) -> str:
    """SQLITE or POSTGRESQL for a database URL; any other database is refused."""
    backend = make_url(url).get_backend_name()
    if backend not in (SQLITE, POSTGRESQL):
        raise BackupRefused("database_unsupported", f"backups are made of SQLite or PostgreSQL, not {backend}")
    return backend


def file_kind(path: Path) -> str:
    """What a backup file holds, from its first bytes; a missing or foreign file is refused."""
    if not path.is_file():
        raise BackupRefused("backup_missing", "no backup file at this path", element=str(path))
    with path.open("rb") as file:
        head = file.read(len(SQLITE_MAGIC))
    if head == SQLITE_MAGIC:
        return SQLITE
    if head.startswith(PGDUMP_MAGIC):
        return POSTGRESQL
    hint = (" (a plain-text pg_dump: make backups with `tsunagu backup` or pg_dump --format=custom)"
            if head.startswith(b"--") else "")
    raise BackupRefused("backup_unrecognised", "the file is neither a SQLite database nor a PostgreSQL "
                        "custom-format dump" + hint, element=str(path))


def take_backup(url: str, target: Path, clock: Clock, *, operator: str) -> BackupInfo:
    """Copy the whole database at `url` to `target` (a new file, or a folder to name one in); audited.

    The copy is written beside its final name and given it only once complete; if its audit rows cannot
    be written it is removed, so a failed backup leaves no file. An existing file is never overwritten.
    """
    kind = database_kind(url)
    target = target.absolute()
    live = _sqlite_path(url, must_exist=True) if kind == SQLITE else None
    if live is None:
        pg_tool("pg_dump")  # before anything else: a missing tool is the likeliest problem of a new server
    revision = _live_revision(url)
    taken_at = clock()
    final = _target_file(target, kind, taken_at)
    try:
        handle, name = tempfile.mkstemp(prefix=".tsunagu-backup-", suffix=".part", dir=final.parent)  # mode 0600
    except OSError as error:
        raise BackupRefused("backup_folder_unwritable", f"cannot write in the folder: {error.strerror}",
                            element=str(final.parent)) from error
    os.close(handle)
    partial = Path(name)
    try:
        if live is not None:
            _sqlite_backup(live, partial, clock, operator)
        else:
            _pg_dump(url, partial)
        size, digest = _digest(partial)
        _publish(partial, final)
        try:
            _record_everywhere(url, clock, "backup.created", path=str(final), kind=kind, size=size, sha256=digest,
                               revision=revision, taken_at=taken_at.isoformat(), via="cli", operator=operator)
        except BaseException:
            final.unlink(missing_ok=True)  # no backup goes unaudited
            raise
    finally:
        for leftover in (partial, partial.with_name(partial.name + "-journal")):
            leftover.unlink(missing_ok=True)
    head = _revisions()[1]
    return BackupInfo(final, kind, size, digest, revision, taken_at, outdated=revision != head)


def inspect_backup(url: str, path: Path) -> BackupInfo:
    """Check a backup before restoring it into the database at `url`; refuse what cannot be restored."""
    kind = database_kind(url)
    path = path.absolute()
    found = file_kind(path)
    if found != kind:
        raise BackupRefused("backup_wrong_kind", f"the file is a {_named(found)} backup and the database is "
                            f"{_named(kind)}: restore it into a {_named(found)} database", element=str(path))
    if kind == SQLITE:
        revision, taken_at, schema = (*_check_sqlite(path), None)
    else:
        revision, taken_at, schema = _check_pg_dump(url, path)
    known, head = _revisions()
    if revision not in known:
        raise BackupRefused("backup_too_new", f"the backup's schema revision {revision} is unknown to this version "
                            f"of Tsunagu (newest known: {head}); restore it with the release that made it",
                            element=str(path))
    size, digest = _digest(path)
    return BackupInfo(path, kind, size, digest, revision, taken_at, outdated=revision != head, schema=schema)


def restore_backup(url: str, info: BackupInfo, clock: Clock, *, operator: str) -> Restored:
    """Replace the whole database at `url` with the checked backup `info`, upgrade an older schema, and
    record the restore in the restored database's audit log."""
    if _digest(info.path) != (info.size, info.sha256):
        raise BackupRefused("backup_changed", "the file changed after it was checked; check it again",
                            element=str(info.path))
    if info.kind == SQLITE:
        _sqlite_restore(info.path, _sqlite_path(url, must_exist=False))
    else:
        _pg_restore(url, info)
    upgraded_from = None
    if info.outdated:
        upgrade_database(url)
        upgraded_from = info.revision
    _record_everywhere(url, clock, "backup.restored", path=str(info.path), kind=info.kind, size=info.size,
                       sha256=info.sha256, taken_at=info.taken_at.isoformat() if info.taken_at else None,
                       revision=info.revision, upgraded_from=upgraded_from, via="cli", operator=operator)
    return Restored(info, upgraded_from)


# --- Shared ---------------------------------------------------------------------------------------


def _named(kind: str) -> str:
    return "PostgreSQL" if kind == POSTGRESQL else "SQLite"


def _target_file(target: Path, kind: str, now: datetime) -> Path:
    if target.is_dir():
        target = target / f"tsunagu-{now.astimezone(timezone.utc):%Y%m%d-%H%M%S}.{SUFFIX[kind]}"
    if target.exists():
        raise BackupRefused("backup_exists", "a file with this name exists; a backup never overwrites one",
                            element=str(target))
    if not target.parent.is_dir():
        raise BackupRefused("backup_folder_missing", "the folder for the backup does not exist",
                            element=str(target.parent))
    return target


def _publish(partial: Path, final: Path) -> None:
    """Give the finished copy its name, refusing to replace a file that appeared there meanwhile."""
    try:
        os.link(partial, final)
    except FileExistsError:
        raise BackupRefused("backup_exists", "a file with this name appeared during the backup",
                            element=str(final)) from None
    except OSError:  # a file system without hard links (some network shares)
        partial.replace(final)


def _live_revision(url: str) -> str:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            revision = MigrationContext.configure(connection).get_current_revision()
    except DatabaseError as error:
        raise BackupRefused("database_missing", f"cannot connect to the database: {error.orig}") from error
    finally:
        engine.dispose()
    if revision is None:
        raise BackupRefused("database_not_tsunagu", "the database has no Tsunagu tables yet (tsunagu init-db)")
    return revision


def _digest(path: Path) -> tuple[int, str]:
    with path.open("rb") as file:
        digest = hashlib.file_digest(file, "sha256").hexdigest()
    return path.stat().st_size, digest


def _revisions() -> tuple[set[str], str]:
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    head = script.get_current_head()
    assert head is not None  # noqa: S101  (the migrations ship with the code)
    return {revision.revision for revision in script.walk_revisions()}, head


def _record_everywhere(url: str, clock: Clock, action: str, **detail: Any) -> None:
    """One audit row in each municipality's log (a backup holds every municipality's records), or one
    for the installation while there is none."""
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session, transaction(session):
            _audit_rows(session, clock, action, **detail)
    finally:
        engine.dispose()


def _audit_rows(session: Session, clock: Clock, action: str, **detail: Any) -> None:
    towns = list(session.scalars(select(MunicipalityRecord.id).order_by(MunicipalityRecord.id)))
    for town in towns:
        audit.record(session, clock, None, action, municipality=town, **detail)
    if not towns:
        audit.record(session, clock, None, action, **detail)


@contextmanager
def _reading(path: Path) -> Iterator[Engine]:
    """An engine that only reads the SQLite file at `path` (never creates one)."""
    uri = path.resolve().as_uri() + "?mode=ro"
    engine = create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True, check_same_thread=False))
    try:
        yield engine
    finally:
        engine.dispose()


# --- SQLite ---------------------------------------------------------------------------------------


def _sqlite_path(url: str, *, must_exist: bool) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupRefused("database_unsupported", "only a SQLite database in a file can be backed up or restored")
    path = Path(database)
    if must_exist and not path.is_file():
        raise BackupRefused("database_missing", "the database file does not exist", element=str(path))
    return path


def _sqlite_backup(live: Path, copy: Path, clock: Clock, operator: str) -> None:
    source, destination = sqlite3.connect(live, timeout=30), sqlite3.connect(copy)
    try:
        source.backup(destination)  # one step: a consistent snapshot; WAL lets writers go on meanwhile
        # The copy is one self-contained file, not a WAL database that would grow -wal and -shm files.
        destination.execute("PRAGMA journal_mode=DELETE")
    finally:
        source.close()
        destination.close()
    engine = create_engine(f"sqlite:///{copy}")
    try:
        with Session(engine) as session, transaction(session):
            # Inside the copy only: a restore reads when the copy was taken from its last audit row.
            _audit_rows(session, clock, SNAPSHOT, via="cli", operator=operator)
        with engine.connect() as connection:
            checked = connection.exec_driver_sql("PRAGMA quick_check").scalar()
    finally:
        engine.dispose()
    if checked != "ok":
        raise BackupRefused("backup_damaged", f"the copy does not check as sound: {checked}", element=str(copy))


def _check_sqlite(path: Path) -> tuple[str, datetime | None]:
    """The revision of a SQLite backup and when `tsunagu backup` took it, after SQLite's integrity check."""
    with _reading(path) as engine:
        try:
            with engine.connect() as connection:
                problems = [row[0] for row in connection.exec_driver_sql("PRAGMA integrity_check")]
                if problems != ["ok"]:
                    raise BackupRefused("backup_damaged", "SQLite's integrity check fails: " + "; ".join(problems[:3]),
                                        element=str(path))
                missing = TSUNAGU_TABLES - set(inspect(connection).get_table_names())
                if missing:
                    raise BackupRefused("backup_not_tsunagu", "the file is a SQLite database but not Tsunagu's "
                                        f"(no table {', '.join(sorted(missing))})", element=str(path))
                revision = MigrationContext.configure(connection).get_current_revision()
                last = connection.execute(select(AuditRecord.action, AuditRecord.at)
                                          .order_by(AuditRecord.id.desc()).limit(1)).first()
        except DatabaseError as error:
            raise BackupRefused("backup_damaged", f"SQLite cannot read the file: {error.orig}",
                                element=str(path)) from error
    if revision is None:
        raise BackupRefused("backup_not_tsunagu", "the database has no schema revision", element=str(path))
    # Only a snapshot row that is the copy's last word dates it: a later copy of a restored database has
    # rows after the snapshot it came from.
    taken_at = last.at if last is not None and last.action == SNAPSHOT else None
    return revision, taken_at


def _sqlite_restore(backup: Path, live: Path) -> None:
    if not live.parent.is_dir():
        raise BackupRefused("database_missing", "the database's folder does not exist", element=str(live.parent))
    if live.exists() and live.samefile(backup):
        raise BackupRefused("backup_is_database", "the file is the database itself", element=str(backup))
    source = sqlite3.connect(backup.resolve().as_uri() + "?mode=ro", uri=True)
    destination = sqlite3.connect(live, timeout=30)
    try:
        # Page by page into the open file, under its write lock: other connections see the old database
        # or the restored one, never a mix, and keep their file handles.
        source.backup(destination)
        destination.execute("PRAGMA journal_mode=WAL")
    finally:
        source.close()
        destination.close()


# --- PostgreSQL -----------------------------------------------------------------------------------


def libpq_environment(url: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for PostgreSQL's tools that connects them where `url` connects Tsunagu: libpq's
    variables, the password included, so that none of it appears on a command line."""
    parsed = make_url(url)
    environment = dict(os.environ if base is None else base)
    for key, variable in LIBPQ_ENVIRONMENT.items():
        value = parsed.query.get(key)
        if value is not None:
            environment[variable] = value if isinstance(value, str) else value[-1]
    for part, variable in ((parsed.host, "PGHOST"), (parsed.port, "PGPORT"), (parsed.username, "PGUSER"),
                           (parsed.password, "PGPASSWORD"), (parsed.database, "PGDATABASE")):
        if part is not None:
            environment[variable] = str(part)
    environment["TZ"] = "UTC"  # pg_restore prints the archive's creation time in its own zone
    environment.setdefault("PGAPPNAME", "tsunagu-backup")
    return environment


def _named_schema(url: URL) -> str | None:
    """The schema a URL's `options=-csearch_path=...` puts Tsunagu's tables in, if it names one."""
    options = url.query.get("options")
    found = SEARCH_PATH.search(options if isinstance(options, str) else " ".join(options or ()))
    return found.group(1) if found else None


def pg_tool(name: str) -> str:
    """The path of `pg_dump` or `pg_restore`: on PATH, else Debian's per-version folder (newest first)."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(PG_FOLDERS.glob(f"*/bin/{name}"),
                      key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0, reverse=True)
    if versions:
        return str(versions[0])
    raise BackupRefused("pg_tool_missing", f"{name} was not found on PATH: install PostgreSQL's client tools "
                        "of the server's major version (Debian: apt install postgresql-client-15)", element=name)


def _run(tool: str, arguments: list[str], url: str, what: str, *, failed: str = "pg_tool_failed",
         element: str | None = None, options: str = "") -> str:
    executable = pg_tool(tool)
    environment = libpq_environment(url)
    if options:
        environment["PGOPTIONS"] = f"{environment.get('PGOPTIONS', '')} {options}".strip()
    done = subprocess.run([executable, *arguments], env=environment,  # noqa: S603  (no shell, our arguments)
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()][-4:]
        raise BackupRefused(failed, f"{tool} could not {what}: " + " / ".join(lines), element=element or tool)
    return done.stdout


def _pg_dump(url: str, partial: Path) -> None:
    parsed = make_url(url)
    if not parsed.database:
        raise BackupRefused("database_unsupported", "the database URL names no database")
    schema = _named_schema(parsed)
    _run("pg_dump", ["--format=custom", f"--file={partial}", "--no-password",
                     *([f"--schema={schema}"] if schema else [])], url, "dump the database")


def _check_pg_dump(url: str, path: Path) -> tuple[str, datetime | None, str]:
    """A custom-format dump's revision, creation time and schema, read by pg_restore without restoring."""
    listing = _run("pg_restore", ["--list", str(path)], url, "read the dump's table of contents",
                   failed="backup_damaged", element=str(path))
    tables = TOC_TABLE.findall(listing)
    names = {name for _schema, name in tables}
    missing = TSUNAGU_TABLES - names
    if missing:
        raise BackupRefused("backup_not_tsunagu", "the dump is not of a Tsunagu database "
                            f"(no table {', '.join(sorted(missing))})", element=str(path))
    schemas = {found for found, name in tables if name == "alembic_version"}
    wanted = _named_schema(make_url(url))
    if len(schemas) > 1 and wanted not in schemas:
        raise BackupRefused("backup_schema_mismatch", f"the dump holds Tsunagu tables in several schemas ("
                            f"{', '.join(sorted(schemas))}) and the database URL names none of them", element=str(path))
    schema = wanted if len(schemas) > 1 and wanted else schemas.pop()
    data = _run("pg_restore", ["--data-only", f"--schema={schema}", "--table=alembic_version", "--file=-",
                               str(path)], url, "read the dump's schema revision")
    rows = data.split("FROM stdin;\n", 1)[1].split("\n\\.", 1)[0].split() if "FROM stdin;\n" in data else []
    if len(rows) != 1:
        raise BackupRefused("backup_not_tsunagu", "the dump has no single schema revision", element=str(path))
    stamped = ARCHIVED_AT.search(listing)
    taken_at = (datetime.strptime(stamped.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
                if stamped else None)
    return rows[0], taken_at, schema


def _pg_restore(url: str, info: BackupInfo) -> None:
    parsed = make_url(url)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            current = connection.execute(text("SELECT current_schema()")).scalar()
            schema = _named_schema(parsed) or current or "public"
            live: set[str] = set(connection.execute(text(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = :s"), {"s": schema}).scalars())
    except DatabaseError as error:
        raise BackupRefused("database_missing", "cannot connect to the database; create it first (createdb)") \
            from error
    finally:
        engine.dispose()
    if info.schema != schema:
        raise BackupRefused("backup_schema_mismatch", f"the dump's tables are in schema {info.schema}, the "
                            f"database's in {schema}", element=str(info.path))
    listing = _run("pg_restore", ["--list", str(info.path)], url, "read the dump's table of contents")
    dumped = {name for found, name in TOC_TABLE.findall(listing) if found == schema}
    newer = sorted(live - dumped)
    if newer:
        # pg_restore --clean drops only what the dump holds: these tables would stay, newer than the rest.
        raise BackupRefused("database_newer", "the database has tables the backup does not ("
                            f"{', '.join(newer)}): restore into an empty database (createdb) instead",
                            element=str(info.path))
    _run("pg_restore", ["--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error",
                        "--no-password", f"--dbname={parsed.database}", str(info.path)], url, "restore the dump",
         # A session still in a transaction (a web request, a scheduler) makes the restore fail, not hang.
         options=f"-c lock_timeout={LOCK_TIMEOUT_S * 1000}")
