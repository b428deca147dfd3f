"""fewer index entries per audited write

Every RMA request writes two or three audit events, so each index on the log is paid on
every request. The log is read by object, by person and by time: the index on `action`
alone goes (no reader starts there), the person's index keeps only events that have a
person (API calls have none), and time becomes a BRIN index on PostgreSQL, since events
arrive in time order. A cycle's separate index on `course_id` goes too: the unique
(course_id, number) index leads with it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 15:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

_SIGNED_IN = sa.text('actor_user_id IS NOT NULL')


def upgrade() -> None:
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_action')
        batch_op.drop_index('ix_audit_event_occurred_at')
        batch_op.drop_index('ix_audit_event_actor_at')
        batch_op.create_index('ix_audit_event_occurred_at', ['occurred_at'], unique=False,
                              postgresql_using='brin')
        batch_op.create_index('ix_audit_event_actor_at', ['actor_user_id', 'occurred_at'],
                              unique=False, postgresql_where=_SIGNED_IN,
                              sqlite_where=_SIGNED_IN)
    with op.batch_alter_table('cycle', schema=None) as batch_op:
        batch_op.drop_index('ix_cycle_course_id')


def downgrade() -> None:
    with op.batch_alter_table('cycle', schema=None) as batch_op:
        batch_op.create_index('ix_cycle_course_id', ['course_id'], unique=False)
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_actor_at')
        batch_op.drop_index('ix_audit_event_occurred_at')
        batch_op.create_index('ix_audit_event_actor_at', ['actor_user_id', 'occurred_at'],
                              unique=False)
        batch_op.create_index('ix_audit_event_occurred_at', ['occurred_at'], unique=False)
        batch_op.create_index('ix_audit_event_action', ['action'], unique=False)
