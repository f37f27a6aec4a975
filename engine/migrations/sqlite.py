"""SQLite's own procedure for rebuilding a table that other tables refer to (sqlite.org/lang_altertable.html)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alembic import op


@contextmanager
def foreign_keys_off() -> Iterator[None]:
    """Rebuild tables with foreign-key enforcement off, then prove no reference broke.

    A rebuild drops the old table, and with enforcement on that drop fails as soon as any row refers
    to it. SQLite ignores the pragma inside a transaction, so the migrations before this one are
    committed first (each left the schema whole, with its revision stamped). Elsewhere this is a no-op.
    """
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        yield
        return
    raw = bind.connection.dbapi_connection
    if raw is not None and raw.in_transaction:
        raw.commit()
    bind.exec_driver_sql("PRAGMA foreign_keys = OFF")
    yield
    broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"the rebuild left rows referring to nothing: {broken[:5]}")
    # The pragma cannot be turned on again inside the rebuild's transaction; this migration
    # connection is discarded at the end, and every new connection turns enforcement on.
