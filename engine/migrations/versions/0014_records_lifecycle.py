"""Records over their whole life: retention policies, removal times per case and record type, legal holds,
disposals, the data-subject request register, the file register's entries; a case's suspension and
anonymisation

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 11:41:32
"""
import sqlalchemy as sa
from alembic import op

from tsunagu.engine.migrations.sqlite import foreign_keys_off

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('disposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.Column('record_type', sa.Enum('case_file', 'consents', 'assessments', 'council_papers', 'disclosure_log', 'audit_log', name='recordtype', native_enum=False, length=16), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('years', sa.Integer(), nullable=False),
    sa.Column('counted_from', sa.Enum('closure', 'creation', name='countedfrom', native_enum=False, length=16), nullable=False),
    sa.Column('cases', sa.Integer(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('due_before', sa.DateTime(timezone=True), nullable=False),
    sa.Column('disposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('run_by', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipalities.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('disposals', schema=None) as batch_op:
        batch_op.create_index('ix_disposals_municipality_at', ['municipality_id', 'disposed_at'], unique=False)

    op.create_table('info_file_entries',
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('sources', sa.Text(), nullable=False),
    sa.Column('department', sa.String(length=200), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipalities.id'], ),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('municipality_id')
    )
    op.create_table('retention_policies',
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.Column('record_type', sa.Enum('case_file', 'consents', 'assessments', 'council_papers', 'disclosure_log', 'audit_log', name='recordtype', native_enum=False, length=16), nullable=False),
    sa.Column('years', sa.Integer(), nullable=False),
    sa.Column('counted_from', sa.Enum('closure', 'creation', name='countedfrom', native_enum=False, length=16), nullable=False),
    sa.Column('rule', sa.String(length=200), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipalities.id'], ),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('municipality_id', 'record_type')
    )
    op.create_table('subject_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('disclosure', 'correction', 'suspension', name='requestkind', native_enum=False, length=16), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('requester', sa.String(length=200), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('details', sa.Text(), nullable=True),
    sa.Column('status', sa.Enum('received', 'decided', 'withdrawn', name='requeststatus', native_enum=False, length=16), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('outcome_note', sa.Text(), nullable=True),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipalities.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('subject_requests', schema=None) as batch_op:
        batch_op.create_index('ix_subject_requests_open', ['municipality_id', 'status', 'due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_subject_requests_person_id'), ['person_id'], unique=False)

    op.create_table('case_removals',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('record_type', sa.Enum('case_file', 'consents', 'assessments', 'council_papers', 'disclosure_log', 'audit_log', name='recordtype', native_enum=False, length=16), nullable=False),
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.Column('removal_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('disposed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipalities.id'], ),
    sa.PrimaryKeyConstraint('case_id', 'record_type')
    )
    with op.batch_alter_table('case_removals', schema=None) as batch_op:
        batch_op.create_index('ix_case_removals_due', ['municipality_id', 'record_type', 'removal_at'], unique=False)

    op.create_table('legal_holds',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('placed_by_id', sa.Integer(), nullable=True),
    sa.Column('placed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['placed_by_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('case_id')
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('suspended_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('suspended_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('anonymised_at', sa.DateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with foreign_keys_off(), op.batch_alter_table('cases', schema=None) as batch_op:  # rebuilds the table on SQLite
        batch_op.drop_column('anonymised_at')
        batch_op.drop_column('suspended_reason')
        batch_op.drop_column('suspended_at')

    op.drop_table('legal_holds')
    with op.batch_alter_table('case_removals', schema=None) as batch_op:
        batch_op.drop_index('ix_case_removals_due')

    op.drop_table('case_removals')
    with op.batch_alter_table('subject_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subject_requests_person_id'))
        batch_op.drop_index('ix_subject_requests_open')

    op.drop_table('subject_requests')
    op.drop_table('retention_policies')
    op.drop_table('info_file_entries')
    with op.batch_alter_table('disposals', schema=None) as batch_op:
        batch_op.drop_index('ix_disposals_municipality_at')

    op.drop_table('disposals')
