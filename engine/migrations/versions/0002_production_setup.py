"""production set-up: municipal process versions, staff administration, security settings

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05 00:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('municipalities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('require_second_factor', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('idle_minutes', sa.Integer(), nullable=True))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('team', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('password_changed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('session_generation', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('deactivated_at', sa.DateTime(timezone=True), nullable=True))

    op.create_table('recovery_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_codes_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active', sa.Boolean(), nullable=False, server_default=sa.true()))

    with op.batch_alter_table('councils', schema=None) as batch_op:
        batch_op.add_column(sa.Column('coordinating_designated_on', sa.Date(), nullable=True))

    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('municipality_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_audit_log_municipality_id', 'municipalities', ['municipality_id'], ['id'])
        batch_op.create_index('ix_audit_municipality_at', ['municipality_id', 'at'], unique=False)

    _scope_process_versions()


def _scope_process_versions() -> None:
    """A version belongs to the national template (no municipality) or to one municipality."""
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':
        # SQLite cannot drop the unnamed unique constraint in place: copy the table without it.
        old = sa.Table('process_versions', sa.MetaData(),
                       sa.Column('id', sa.Integer(), primary_key=True),
                       sa.Column('process_id', sa.String(length=200), nullable=False, index=True),
                       sa.Column('name', sa.String(length=300), nullable=False),
                       sa.Column('content_hash', sa.String(length=64), nullable=False),
                       sa.Column('files', sa.JSON(), nullable=False),
                       sa.Column('spec', sa.Text(), nullable=False),
                       sa.Column('deployed_at', sa.DateTime(timezone=True), nullable=False))
        batch = op.batch_alter_table('process_versions', copy_from=old, recreate='always')
    else:
        op.drop_constraint('process_versions_process_id_content_hash_key', 'process_versions', type_='unique')
        batch = op.batch_alter_table('process_versions')
    with batch as batch_op:
        batch_op.add_column(sa.Column('municipality_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('version_number', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('activated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('deployed_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('deployed_via', sa.String(length=16), nullable=False, server_default='cli'))
        batch_op.add_column(sa.Column('note', sa.Text(), nullable=True))
        batch_op.create_foreign_key('fk_process_versions_municipality_id', 'municipalities',
                                    ['municipality_id'], ['id'])
        batch_op.create_foreign_key('fk_process_versions_deployed_by_id', 'users', ['deployed_by_id'], ['id'])

    # Existing versions were all deployed for the whole installation: number them in deployment order.
    versions = sa.table('process_versions', sa.column('id', sa.Integer), sa.column('process_id', sa.String),
                        sa.column('deployed_at', sa.DateTime(timezone=True)),
                        sa.column('activated_at', sa.DateTime(timezone=True)),
                        sa.column('version_number', sa.Integer))
    numbers: dict[str, int] = {}
    for row in bind.execute(sa.select(versions.c.id, versions.c.process_id).order_by(versions.c.id)).all():
        numbers[row.process_id] = numbers.get(row.process_id, 0) + 1
        bind.execute(versions.update().where(versions.c.id == row.id).values(version_number=numbers[row.process_id]))
    bind.execute(versions.update().values(activated_at=versions.c.deployed_at))
    indexed = {ix['name'] for ix in sa.inspect(bind).get_indexes('process_versions')}
    with op.batch_alter_table('process_versions', schema=None) as batch_op:
        if 'ix_process_versions_process_id' not in indexed:  # the SQLite copy above leaves it behind
            batch_op.create_index('ix_process_versions_process_id', ['process_id'], unique=False)
        batch_op.alter_column('activated_at', existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.create_index('uq_process_versions_template', ['process_id', 'content_hash'], unique=True,
                              sqlite_where=sa.text('municipality_id IS NULL'),
                              postgresql_where=sa.text('municipality_id IS NULL'))
        batch_op.create_index('uq_process_versions_municipal', ['municipality_id', 'process_id', 'content_hash'],
                              unique=True, sqlite_where=sa.text('municipality_id IS NOT NULL'),
                              postgresql_where=sa.text('municipality_id IS NOT NULL'))
        batch_op.create_index('uq_process_versions_template_number', ['process_id', 'version_number'], unique=True,
                              sqlite_where=sa.text('municipality_id IS NULL'),
                              postgresql_where=sa.text('municipality_id IS NULL'))
        batch_op.create_index('uq_process_versions_municipal_number',
                              ['municipality_id', 'process_id', 'version_number'], unique=True,
                              sqlite_where=sa.text('municipality_id IS NOT NULL'),
                              postgresql_where=sa.text('municipality_id IS NOT NULL'))


def downgrade() -> None:
    raise NotImplementedError("0002 is not reversible: restore the backup taken before upgrading")
