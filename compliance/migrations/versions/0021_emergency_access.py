"""emergency access

A prescriber's time-limited, reasoned access to a patient who is not theirs (break-glass).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 22:30:00
"""

from alembic import op
import sqlalchemy as sa

from compliance.models.types import UTCDateTime


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'emergency_access',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('patient_id', sa.Integer(), nullable=False),
        sa.Column('reason', sa.String(length=500), nullable=False),
        sa.Column('granted_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['patient_id'], ['patient.id']),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_emergency_access_user_patient', 'emergency_access',
                    ['user_id', 'patient_id'])


def downgrade() -> None:
    op.drop_index('ix_emergency_access_user_patient', table_name='emergency_access')
    op.drop_table('emergency_access')
