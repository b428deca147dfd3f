"""index a cycle's RMAs

Every request for an RMA reads the RMAs of the patient's current cycle, whatever their
status; the partial unique index covers only live ones, so without this index the read
scanned the whole table.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 09:30:00
"""

from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('rma', schema=None) as batch_op:
        batch_op.create_index('ix_rma_cycle', ['cycle_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('rma', schema=None) as batch_op:
        batch_op.drop_index('ix_rma_cycle')
