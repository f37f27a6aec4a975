"""A private, migrated database for one benchmark run: a SQLite file in a temporary folder, or a schema of
its own on a PostgreSQL server, removed by `drop`; it counts the SQL statements it runs."""
from __future__ import annotations

import shutil
import tempfile
import uuid

from sqlalchemy import create_engine, event, make_url, text

from tsunagu.engine.db import make_engine, make_session_factory, upgrade_database


class Database:
    """A private, migrated database: a SQLite file or a PostgreSQL schema, removed by `drop`."""

    def __init__(self, base_url: str | None):
        self.base_url = base_url
        if base_url:
            self.schema = f"bench_{uuid.uuid4().hex[:12]}"
            self.admin = create_engine(base_url)
            with self.admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{self.schema}"'))
            self.url = make_url(base_url).update_query_dict(
                {"options": f"-csearch_path={self.schema}"}).render_as_string(hide_password=False)
        else:
            self.folder = tempfile.mkdtemp(prefix="tsunagu-bench-")
            self.url = f"sqlite:///{self.folder}/bench.db"
        upgrade_database(self.url)
        self.engine = make_engine(self.url)
        self.session_factory = make_session_factory(self.engine)
        self.queries = 0
        event.listen(self.engine, "before_cursor_execute", self._count)

    def _count(self, *_args: object) -> None:
        self.queries += 1

    def drop(self) -> None:
        self.engine.dispose()
        if self.base_url:
            with self.admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{self.schema}" CASCADE'))
            self.admin.dispose()
        else:
            shutil.rmtree(self.folder, ignore_errors=True)
