"""council meetings: scheduled with a kind, minutes and the attendance of the invited bodies

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 22:40:00
"""
from alembic import op
import sqlalchemy as sa

from tsunagu.engine.migrations.sqlite import foreign_keys_off

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with foreign_keys_off():  # a new foreign key rebuilds council_meetings on SQLite
        with op.batch_alter_table('council_meetings', table_kwargs={"sqlite_autoincrement": True}) as batch:
            batch.add_column(sa.Column('kind', sa.String(length=16), server_default='case', nullable=False))
            batch.add_column(sa.Column('minutes', sa.Text(), nullable=True))
            batch.add_column(sa.Column('minutes_recorded_at', sa.DateTime(timezone=True), nullable=True))
            batch.add_column(sa.Column('minutes_recorded_by_id', sa.Integer(), nullable=True))
            batch.create_foreign_key('fk_council_meetings_minutes_recorded_by_id_users', 'users',
                                     ['minutes_recorded_by_id'], ['id'])
    op.add_column('meeting_bodies', sa.Column('present', sa.Boolean(), nullable=True))


def downgrade() -> None:
    with foreign_keys_off():
        with op.batch_alter_table('meeting_bodies') as batch:
            batch.drop_column('present')
        with op.batch_alter_table('council_meetings', table_kwargs={"sqlite_autoincrement": True}) as batch:
            batch.drop_constraint('fk_council_meetings_minutes_recorded_by_id_users', type_='foreignkey')
            batch.drop_column('minutes_recorded_by_id')
            batch.drop_column('minutes_recorded_at')
            batch.drop_column('minutes')
            batch.drop_column('kind')
