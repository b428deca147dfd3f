"""lookup misses

A patient ID and date of birth that matched nobody, counted per asker and per patient ID
so that guessing a date of birth is throttled; kept for the throttle's window only.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 19:10:00
"""

from alembic import op
import sqlalchemy as sa

from compliance.models.types import UTCDateTime


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'lookup_miss',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('asker', sa.String(length=40), nullable=False),
        sa.Column('program_patient_id', sa.String(length=20), nullable=False),
        sa.Column('missed_at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_lookup_miss_asker_at', 'lookup_miss', ['asker', 'missed_at'])
    op.create_index('ix_lookup_miss_patient_at', 'lookup_miss',
                    ['program_patient_id', 'missed_at'])


def downgrade() -> None:
    op.drop_index('ix_lookup_miss_patient_at', table_name='lookup_miss')
    op.drop_index('ix_lookup_miss_asker_at', table_name='lookup_miss')
    op.drop_table('lookup_miss')
