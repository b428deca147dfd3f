"""one course per patient

Only registration opens a course, so each patient has one; the index now says so, which
lets the prescriber's worklist list courses without looking for a newer one per patient.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 14:00:00
"""

from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('course', schema=None) as batch_op:
        batch_op.drop_index('ix_course_patient_id')
        batch_op.create_index('uq_course_patient', ['patient_id'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('course', schema=None) as batch_op:
        batch_op.drop_index('uq_course_patient')
        batch_op.create_index('ix_course_patient_id', ['patient_id'], unique=False)
