"""moving running cases to another process version: batches and each case's move, kept for moving back

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 01:25:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'migration_batches',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('municipality_id', sa.Integer(), nullable=False),
        sa.Column('process_id', sa.String(length=200), nullable=False),
        sa.Column('to_version_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('moved', sa.Integer(), nullable=False),
        sa.Column('refused', sa.Integer(), nullable=False),
        sa.Column('started_by_id', sa.Integer(), nullable=True),
        sa.Column('started_via', sa.String(length=16), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['municipality_id'], ['municipalities.id']),
        sa.ForeignKeyConstraint(['started_by_id'], ['users.id']),
        sa.ForeignKeyConstraint(['to_version_id'], ['process_versions.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_migration_batches_municipality_id', 'migration_batches', ['municipality_id'], unique=False)
    op.create_table(
        'case_migrations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('batch_id', sa.Integer(), nullable=True),
        sa.Column('from_version_id', sa.Integer(), nullable=False),
        sa.Column('to_version_id', sa.Integer(), nullable=False),
        sa.Column('previous_state', sa.Text(), nullable=False),
        sa.Column('lock_version_after', sa.Integer(), nullable=False),
        sa.Column('migrated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('migrated_by_id', sa.Integer(), nullable=True),
        sa.Column('moved_back_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['batch_id'], ['migration_batches.id']),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.ForeignKeyConstraint(['from_version_id'], ['process_versions.id']),
        sa.ForeignKeyConstraint(['migrated_by_id'], ['users.id']),
        sa.ForeignKeyConstraint(['to_version_id'], ['process_versions.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_case_migrations_case_id', 'case_migrations', ['case_id'], unique=False)
    op.create_index('ix_case_migrations_batch_id', 'case_migrations', ['batch_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_case_migrations_batch_id', table_name='case_migrations')
    op.drop_index('ix_case_migrations_case_id', table_name='case_migrations')
    op.drop_table('case_migrations')
    op.drop_index('ix_migration_batches_municipality_id', table_name='migration_batches')
    op.drop_table('migration_batches')
