"""seals chaining the audit log

Each seal links one audit event to the one sealed before it with a keyed hash
(`flask audit seal`, `flask audit verify`). Seals are append-only like the events. The
events' `prev_hash` and `event_hash` columns, reserved for this and never written, go:
chaining at insert time would make every writer wait for the one before it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 11:00:00
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel

import compliance.models.types
from compliance.models.audit import install_append_only_triggers


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_seal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('prev_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('event_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('sealed_at', compliance.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['audit_event.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id'),
    sa.UniqueConstraint('prev_hash')
    )
    install_append_only_triggers(op.get_bind(), 'audit_seal')
    op.drop_column('audit_event', 'prev_hash')
    op.drop_column('audit_event', 'event_hash')


def downgrade() -> None:
    op.add_column('audit_event', sa.Column('event_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    op.add_column('audit_event', sa.Column('prev_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    op.drop_table('audit_seal')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP FUNCTION IF EXISTS audit_seal_append_only()')
