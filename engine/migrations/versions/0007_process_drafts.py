"""process designers: drafts of uploaded process packages, and the role for tasks drawn outside any lane

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 22:10:00
"""
from alembic import op
import sqlalchemy as sa

from tsunagu.engine.migrations.sqlite import foreign_keys_off

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with foreign_keys_off():  # a new column with a default rebuilds municipalities on SQLite
        _upgrade()


def downgrade() -> None:
    with foreign_keys_off():
        _downgrade()


def _upgrade() -> None:
    with op.batch_alter_table('municipalities') as batch:
        batch.add_column(sa.Column('default_role', sa.String(length=32), server_default='caseworker', nullable=False))
    op.create_table('process_drafts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('municipality_id', sa.Integer(), nullable=False),
        sa.Column('process_id', sa.String(length=200), nullable=False),
        sa.Column('name', sa.String(length=300), nullable=False),
        sa.Column('content_hash', sa.String(length=64), nullable=False),
        sa.Column('files', sa.JSON(), nullable=False),
        sa.Column('warnings', sa.JSON(), nullable=False),
        sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
        sa.Column('uploaded_via', sa.String(length=16), nullable=False),
        sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['municipality_id'], ['municipalities.id']),
        sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
        sqlite_autoincrement=True)
    op.create_index('uq_process_drafts_scope', 'process_drafts', ['municipality_id', 'process_id'], unique=True)


def _downgrade() -> None:
    op.drop_index('uq_process_drafts_scope', table_name='process_drafts')
    op.drop_table('process_drafts')
    with op.batch_alter_table('municipalities') as batch:
        batch.drop_column('default_role')
