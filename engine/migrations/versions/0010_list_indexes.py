"""indexes for the case list, the supervisor's dashboard, the ledger and the designer's heat map

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 22:55:00
"""
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

INDEXES = [
    ('ix_tasks_case_status_due', 'tasks', ['case_id', 'status', 'due_at']),
    ('ix_tasks_case_status_element', 'tasks', ['case_id', 'status', 'element_id', 'completed_at']),
    ('ix_tasks_status_element', 'tasks', ['status', 'element_id', 'case_id']),
    ('ix_tasks_municipality_status_assignee', 'tasks', ['municipality_id', 'status', 'assignee_id']),
    ('ix_cases_municipality_updated', 'cases', ['municipality_id', 'updated_at']),
    ('ix_case_staff_user', 'case_staff', ['user_id', 'case_id']),
    ('ix_disclosures_action', 'disclosures', ['action_id']),
]


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
