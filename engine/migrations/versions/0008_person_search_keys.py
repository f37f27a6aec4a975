"""person search keys: a returning person is found by name or kana however they were written

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 22:30:00
"""
from alembic import op
import sqlalchemy as sa

from tsunagu.engine.casefile.names import search_key

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('persons', sa.Column('name_key', sa.String(length=200), nullable=True))
    op.add_column('persons', sa.Column('kana_key', sa.String(length=200), nullable=True))
    op.create_index('ix_persons_municipality_name_key', 'persons', ['municipality_id', 'name_key'], unique=False,
                    postgresql_ops={'name_key': 'text_pattern_ops'})
    op.create_index('ix_persons_municipality_kana_key', 'persons', ['municipality_id', 'kana_key'], unique=False,
                    postgresql_ops={'kana_key': 'text_pattern_ops'})
    persons = sa.table('persons', sa.column('id', sa.Integer), sa.column('name', sa.String),
                       sa.column('kana', sa.String), sa.column('name_key', sa.String),
                       sa.column('kana_key', sa.String))
    bind = op.get_bind()
    rows = bind.execute(sa.select(persons.c.id, persons.c.name, persons.c.kana)).all()
    for person_id, name, kana in rows:
        bind.execute(persons.update().where(persons.c.id == person_id)
                     .values(name_key=search_key(name), kana_key=search_key(kana)))


def downgrade() -> None:
    op.drop_index('ix_persons_municipality_kana_key', table_name='persons')
    op.drop_index('ix_persons_municipality_name_key', table_name='persons')
    with op.batch_alter_table('persons', table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_column('kana_key')
        batch.drop_column('name_key')
