"""reservable ids: the tables whose ids commands reserve before running scripts count with AUTOINCREMENT on SQLite

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 04:10:00

A command reserves the ids it needs (engine.db.reserve_id) before it runs a process's scripts and
writes everything afterwards. PostgreSQL's sequences already never hand out an id twice; SQLite's
rowid does (max + 1), unless the table is AUTOINCREMENT. SQLite can only set that by rebuilding the
table; its rows, indexes and foreign keys are copied, and checked again once the rebuilt tables stand
under their old names.
"""
from alembic import op

from tsunagu.engine.migrations.sqlite import foreign_keys_off

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

TABLES = ("persons", "consents", "council_meetings", "council_decisions", "support_actions")


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with foreign_keys_off():
        for table in TABLES:
            with op.batch_alter_table(table, recreate="always",
                                      table_kwargs={"sqlite_autoincrement": autoincrement}):
                pass


def upgrade() -> None:
    _rebuild(True)


def downgrade() -> None:
    _rebuild(False)
