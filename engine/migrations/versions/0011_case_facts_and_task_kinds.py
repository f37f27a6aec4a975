"""task kinds and the facts lists sort by, kept on the case: channel, opening day, latest decision,
risk, next review and last contact; agenda items put on for a review

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 01:20:00
"""
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

from tsunagu.engine.migrations.sqlite import foreign_keys_off
from tsunagu.engine.runtime.kinds import CONTACT_KINDS, task_kind
from tsunagu.processes.bpmn_reading import element_settings

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

# Elements of the standard process's earlier versions that had no `kind` property yet.
STANDARD_KINDS = {"contact_attempt": "contact", "review_assessment": "review", "crisis_review": "crisis_review",
                  "review_escalation": "escalation", "action_reassign": "escalation"}
CASE_COLUMNS = [
    sa.Column('channel', sa.String(length=16), nullable=True),
    sa.Column('opened_on', sa.Date(), nullable=True),
    sa.Column('latest_decision_id', sa.Integer(), nullable=True),
    sa.Column('risk', sa.String(length=16), nullable=True),
    sa.Column('next_review_on', sa.Date(), nullable=True),
    sa.Column('last_contact_at', sa.DateTime(timezone=True), nullable=True),
]
INDEXES = [
    ('ix_cases_municipality_status_review', 'cases', ['municipality_id', 'status', 'next_review_on']),
    ('ix_cases_municipality_status_contact', 'cases', ['municipality_id', 'status', 'last_contact_at']),
    ('ix_cases_municipality_opened', 'cases', ['municipality_id', 'opened_on']),
    ('ix_tasks_status_kind_due', 'tasks', ['status', 'kind', 'due_at']),
]

versions = sa.table('process_versions', sa.column('id', sa.Integer), sa.column('files', sa.JSON))
cases = sa.table('cases', sa.column('id', sa.Integer), sa.column('process_version_id', sa.Integer),
                 sa.column('created_at', sa.DateTime), *[sa.column(c.name, c.type) for c in CASE_COLUMNS])
tasks = sa.table('tasks', sa.column('id', sa.Integer), sa.column('case_id', sa.Integer),
                 sa.column('element_id', sa.String), sa.column('kind', sa.String), sa.column('status', sa.String),
                 sa.column('completed_at', sa.DateTime))
submissions = sa.table('form_submissions', sa.column('case_id', sa.Integer), sa.column('task_id', sa.Integer),
                       sa.column('data', sa.JSON))
decisions = sa.table('council_decisions', sa.column('id', sa.Integer), sa.column('case_id', sa.Integer),
                     sa.column('risk', sa.String), sa.column('next_review_on', sa.Date),
                     sa.column('recorded_at', sa.DateTime))


def upgrade() -> None:
    for column in CASE_COLUMNS:
        op.add_column('cases', column)
    op.add_column('tasks', sa.Column('kind', sa.String(length=32), nullable=True))
    op.add_column('agenda_items', sa.Column('purpose', sa.String(length=16), server_default='tabling',
                                            nullable=False))
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)
    bind = op.get_bind()
    _task_kinds(bind)
    _intake_facts(bind)
    _decision_facts(bind)
    _last_contacts(bind)


def _task_kinds(bind: sa.Connection) -> None:
    for version_id, files in bind.execute(sa.select(versions.c.id, versions.c.files)).all():
        try:
            settings = element_settings(files or {})
        except Exception:  # a stored version always parsed once; a surprise leaves its tasks without a kind
            settings = {}
        kinds = {element: task_kind(s.properties) for element, s in settings.items()}
        for element, kind in STANDARD_KINDS.items():
            if element in settings and not settings[element].properties.get("kind"):
                kinds[element] = kind
        for element, kind in kinds.items():
            if kind:
                bind.execute(tasks.update().where(
                    tasks.c.element_id == element,
                    tasks.c.case_id.in_(sa.select(cases.c.id).where(cases.c.process_version_id == version_id))
                ).values(kind=kind))


def _intake_facts(bind: sa.Connection) -> None:
    rows = bind.execute(sa.select(submissions.c.case_id, submissions.c.data, cases.c.created_at)
                        .join(tasks, tasks.c.id == submissions.c.task_id)
                        .join(cases, cases.c.id == submissions.c.case_id)
                        .where(tasks.c.kind == 'intake')).all()
    for case_id, data, created_at in rows:
        data = data or {}
        opened = _date(data.get('consultation_date')) or _japan_day(created_at)
        channel = str(data['channel'])[:16] if data.get('channel') else None
        bind.execute(cases.update().where(cases.c.id == case_id).values(channel=channel, opened_on=opened))


def _decision_facts(bind: sa.Connection) -> None:
    latest: dict[int, tuple[int, str, date]] = {}
    for decision_id, case_id, risk, next_review in bind.execute(
            sa.select(decisions.c.id, decisions.c.case_id, decisions.c.risk, decisions.c.next_review_on)
            .order_by(decisions.c.id)).all():  # the latest by id, as the access policy reads it
        latest[case_id] = (decision_id, risk, next_review)
    for case_id, (decision_id, risk, next_review) in latest.items():
        bind.execute(cases.update().where(cases.c.id == case_id).values(
            latest_decision_id=decision_id, risk=risk, next_review_on=next_review))


def _last_contacts(bind: sa.Connection) -> None:
    rows = bind.execute(sa.select(tasks.c.case_id, sa.func.max(tasks.c.completed_at))
                        .where(tasks.c.status == 'completed', tasks.c.kind.in_(CONTACT_KINDS))
                        .group_by(tasks.c.case_id)).all()
    for case_id, moment in rows:
        bind.execute(cases.update().where(cases.c.id == case_id).values(last_contact_at=moment))


def _date(value: object) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _japan_day(moment: object) -> date | None:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if not isinstance(moment, datetime):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment.astimezone(ZoneInfo("Asia/Tokyo")).date()


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    with foreign_keys_off():  # dropping a column rebuilds the table on SQLite
        with op.batch_alter_table('agenda_items') as batch:
            batch.drop_column('purpose')
        with op.batch_alter_table('tasks') as batch:
            batch.drop_column('kind')
        with op.batch_alter_table('cases') as batch:
            for column in reversed(CASE_COLUMNS):
                batch.drop_column(column.name)
