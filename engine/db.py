"""Database wiring outside Flask: engines with the right pragmas, sessions, transactions, migrations."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from .errors import Conflict

if TYPE_CHECKING:
    from .models import Base

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def engine_options(url: str, busy_ms: int = 10000) -> dict[str, Any]:
    """Options for `create_engine` (and Flask-SQLAlchemy) suited to the database in `url`."""
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": busy_ms / 1000, "check_same_thread": False}}
    return {"pool_pre_ping": True}


def configure_engine(engine: Engine) -> Engine:
    """Turn on what SQLite leaves off: foreign keys and WAL, so readers never block the writer."""
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if engine.url.database not in (None, "", ":memory:"):
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

    return engine


def make_engine(url: str, busy_ms: int = 10000) -> Engine:
    """Create a configured engine for `url`; for the CLI, the scheduler and tests."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return configure_engine(create_engine(url, **engine_options(url, busy_ms)))


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def holds_write_lock(session: Session) -> bool:
    """Whether the session's SQLite connection has begun writing (and so holds the database's write lock).

    pysqlite begins a transaction only at the first INSERT, UPDATE or DELETE: reads take no lock.
    On PostgreSQL writes lock rows, not the database, so this is always False there.
    """
    if session.get_bind().dialect.name != "sqlite":
        return False
    raw = session.connection().connection.dbapi_connection
    return raw is not None and bool(getattr(raw, "in_transaction", False))


def flush_in_table_order(session: Session) -> None:
    """Insert the session's new rows table by table, parents first by foreign key.

    The unit of work orders inserts only along relationships; a command that prepared a new case's rows in
    memory (the case, its first task and what the task's record writer made, linked by reserved ids) flushes
    them with this, so each row's parent is in the database before it.
    """
    from .models import Base

    rank = {table.name: i for i, table in enumerate(Base.metadata.sorted_tables)}

    def parents_first(row: object) -> int:
        return rank[str(getattr(row, "__tablename__", ""))]

    pending = sorted(session.new, key=parents_first)
    for row in pending:
        session.expunge(row)
    for _rank, rows in groupby(pending, key=parents_first):
        session.add_all(list(rows))
        session.flush()


def reserve_id(session: Session, record: type[Base]) -> int:
    """A fresh id for a row of `record`'s table, taken now but inserted later, like PostgreSQL's nextval.

    Commands reserve the ids the process needs before they run its scripts and write afterwards, so
    no database lock is held while user code runs. On SQLite the table is AUTOINCREMENT, whose counter
    every insert respects; the reservation is its own short write, committed at once, unless this
    session is already writing (then it joins that transaction, which holds the lock anyway).
    """
    table = str(record.__tablename__)
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        return int(session.scalar(text("SELECT nextval(pg_get_serial_sequence(:t, 'id'))"), {"t": table}))
    if holds_write_lock(session):
        return _bump_sqlite_sequence(session.connection(), table)
    engine = bind if isinstance(bind, Engine) else bind.engine
    with engine.begin() as own:
        return _bump_sqlite_sequence(own, table)


def _bump_sqlite_sequence(connection: Connection, table: str) -> int:
    # The table name comes from our own models, never from input.
    highest = f"(SELECT coalesce(max(id), 0) FROM {table})"  # noqa: S608
    taken = connection.execute(text(
        f"UPDATE sqlite_sequence SET seq = max(seq, {highest}) + 1 WHERE name = :t RETURNING seq"),  # noqa: S608
        {"t": table}).scalar()
    if taken is None:
        taken = connection.execute(text(
            f"INSERT INTO sqlite_sequence (name, seq) SELECT :t, {highest} + 1 RETURNING seq"),  # noqa: S608
            {"t": table}).scalar_one()
    return int(taken)


def _is_lock_error(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "database is locked" in text or "could not serialize" in text or "deadlock" in text


@contextmanager
def transaction(session: Session) -> Iterator[Session]:
    """One command, one transaction: commit if the block finishes, roll back on any error.

    A concurrent writer that got there first surfaces as `Conflict`, never as a half-write.
    """
    try:
        yield session
        session.commit()
    except StaleDataError as exc:
        session.rollback()
        raise Conflict("the case was changed by someone else; reload and try again") from exc
    except OperationalError as exc:
        session.rollback()
        if _is_lock_error(exc):
            raise Conflict("the case is being changed by someone else; try again") from exc
        raise
    except BaseException:
        session.rollback()
        raise


def _alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade_database(url: str) -> None:
    """Bring the schema at `url` to the newest Alembic revision."""
    make_engine(url).dispose()  # creates the SQLite folder if needed
    command.upgrade(_alembic_config(url), "head")


def schema_problem(url: str) -> str | None:
    """Why the database at `url` cannot be used yet ("missing", "not_initialised", "outdated"), or None.

    Never creates anything: a mistyped SQLite path must not leave an empty database behind.
    """
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return "missing"
    engine = create_engine(url, **engine_options(url))
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    except OperationalError:
        return "missing"
    finally:
        engine.dispose()
    if current is None:
        return "not_initialised"
    head = ScriptDirectory.from_config(_alembic_config(url)).get_current_head()
    return None if current == head else "outdated"
