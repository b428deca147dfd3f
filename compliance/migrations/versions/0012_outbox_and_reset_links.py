"""email outbox, the worker's schedule, password-reset links

Email is written to an outbox in the transaction that causes it and delivered by a worker;
the worker's periodic jobs record when each last started. The single-use link that sets a
password now serves two purposes, activating an account and resetting a forgotten
password, and counts the wrong dates of birth typed at it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 18:00:00
"""

from alembic import op
import sqlalchemy as sa

from compliance.models.types import UTCDateTime


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

STATUSES = "status IN ('pending', 'sending', 'sent', 'failed', 'cancelled')"
PURPOSES = "purpose IN ('activation', 'reset')"


def upgrade() -> None:
    op.create_table(
        'outbox_message',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.String(length=64), nullable=False),
        sa.Column('once_key', sa.String(length=200), nullable=True),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('to_address', sa.String(length=254), nullable=False),
        sa.Column('context', sa.JSON(), nullable=False),
        sa.Column('subject', sa.String(length=200), nullable=True),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('next_attempt_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('deadline', UTCDateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('claimed_until', UTCDateTime(timezone=True), nullable=True),
        sa.Column('sent_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.String(length=300), nullable=True),
        sa.CheckConstraint(STATUSES, name='ck_outbox_message_status'),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('message_id'),
        sa.UniqueConstraint('once_key'),
    )
    op.create_index('ix_outbox_message_due', 'outbox_message', ['status', 'next_attempt_at'])
    op.create_index('ix_outbox_message_user_kind', 'outbox_message',
                    ['user_id', 'kind', 'created_at'])
    op.create_table(
        'scheduled_job',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('last_started_at', UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('name'),
    )
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purpose', sa.String(length=12),
                                      server_default='activation', nullable=False))
        batch_op.add_column(sa.Column('wrong_birth_dates', sa.Integer(), server_default='0',
                                      nullable=False))
        batch_op.create_check_constraint('ck_invitation_purpose', PURPOSES)


def downgrade() -> None:
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_constraint('ck_invitation_purpose', type_='check')
        batch_op.drop_column('wrong_birth_dates')
        batch_op.drop_column('purpose')
    op.drop_table('scheduled_job')
    op.drop_index('ix_outbox_message_user_kind', table_name='outbox_message')
    op.drop_index('ix_outbox_message_due', table_name='outbox_message')
    op.drop_table('outbox_message')
