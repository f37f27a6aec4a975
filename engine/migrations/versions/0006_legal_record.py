"""the legal record: disclosure purposes and reviews, meetings of a council with chosen attendees, teams, access windows

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 04:40:00
"""
from alembic import op
import sqlalchemy as sa

from tsunagu.engine.migrations.sqlite import foreign_keys_off

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with foreign_keys_off():  # adding foreign keys rebuilds tables on SQLite
        _upgrade()


def downgrade() -> None:
    with foreign_keys_off():
        _downgrade()


def _upgrade() -> None:
    with op.batch_alter_table('municipalities') as batch:
        batch.add_column(sa.Column('closure_grace_days', sa.Integer(), server_default='30', nullable=False))
        batch.add_column(sa.Column('council_window_days', sa.Integer(), server_default='30', nullable=False))
    with op.batch_alter_table('cases') as batch:
        batch.add_column(sa.Column('secrecy_since', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('secrecy_wishes', sa.Text(), nullable=True))
    with op.batch_alter_table('disclosures') as batch:
        batch.add_column(sa.Column('purpose', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('statute', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('reviewed_by_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('review_note', sa.Text(), nullable=True))
        batch.create_foreign_key('fk_disclosures_reviewed_by_id_users', 'users', ['reviewed_by_id'], ['id'])
    with op.batch_alter_table('council_meetings', table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.add_column(sa.Column('council_id', sa.Integer(), nullable=True))
        batch.create_index('ix_council_meetings_council_id', ['council_id'], unique=False)
        batch.create_foreign_key('fk_council_meetings_council_id_councils', 'councils', ['council_id'], ['id'])
    # A meeting held before councils were recorded belongs to its municipality's council, if it has one.
    op.execute("UPDATE council_meetings SET council_id = (SELECT min(cm.council_id) FROM council_municipalities cm "
               "WHERE cm.municipality_id = council_meetings.municipality_id)")
    op.create_table('agenda_attendees',
        sa.Column('agenda_item_id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['agenda_item_id'], ['agenda_items.id']),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id']),
        sa.PrimaryKeyConstraint('agenda_item_id', 'organisation_id'))
    op.create_table('teams',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('municipality_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['municipality_id'], ['municipalities.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('municipality_id', 'name'))
    op.create_index('ix_teams_municipality_id', 'teams', ['municipality_id'], unique=False)
    op.create_table('team_members',
        sa.Column('team_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('supervises', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['team_id'], ['teams.id']),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('team_id', 'user_id'))
    op.create_index('ix_team_members_user_id', 'team_members', ['user_id'], unique=False)


def _downgrade() -> None:
    op.drop_index('ix_team_members_user_id', table_name='team_members')
    op.drop_table('team_members')
    op.drop_index('ix_teams_municipality_id', table_name='teams')
    op.drop_table('teams')
    op.drop_table('agenda_attendees')
    with op.batch_alter_table('council_meetings', table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_constraint('fk_council_meetings_council_id_councils', type_='foreignkey')
        batch.drop_index('ix_council_meetings_council_id')
        batch.drop_column('council_id')
    with op.batch_alter_table('disclosures') as batch:
        batch.drop_constraint('fk_disclosures_reviewed_by_id_users', type_='foreignkey')
        for column in ('review_note', 'reviewed_by_id', 'reviewed_at', 'statute', 'purpose'):
            batch.drop_column(column)
    with op.batch_alter_table('cases') as batch:
        batch.drop_column('secrecy_wishes')
        batch.drop_column('secrecy_since')
    with op.batch_alter_table('municipalities') as batch:
        batch.drop_column('council_window_days')
        batch.drop_column('closure_grace_days')
