"""voided RMAs and months, entries made in error

A positive test, a suspension, the end of treatment or a withdrawal voids every live RMA of
the course at once; the RMA's month closes with it. Both vocabularies gain `voided`, and an
RMA records when it was voided. A pharmacy's recent RMAs are listed by issue time. A test or
a method entered in error is marked (when, and why) instead of being deleted. A suspended
course records its report to the pregnancy registry and, if it resumes, when and under which
signature. A pharmacy's staff-training record gets a date of its own.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 09:00:00
"""

from alembic import op
import sqlalchemy as sa

from compliance.models.types import UTCDateTime


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

RMA_BEFORE = "status IN ('issued', 'dispensed', 'reversed', 'expired')"
RMA_AFTER = "status IN ('issued', 'dispensed', 'reversed', 'expired', 'voided')"
CYCLE_STATES = ("'open', 'prescriber_confirmed', 'patient_attested', 'authorized', "
                "'dispensed', 'expired', 'reversed'")
CYCLE_BEFORE = f"state IN ({CYCLE_STATES})"
CYCLE_AFTER = f"state IN ({CYCLE_STATES}, 'voided')"


def upgrade() -> None:
    with op.batch_alter_table('pharmacy', schema=None) as batch_op:
        batch_op.add_column(sa.Column('staff_trained_on', sa.Date(), nullable=True))
    # Until now the training record was read from the certification's date: keep that
    # reading for the pharmacies already certified, so none is refused by the upgrade.
    op.execute("UPDATE pharmacy SET staff_trained_on = certified_on")
    with op.batch_alter_table('course', schema=None) as batch_op:
        batch_op.add_column(sa.Column('registry_reported_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('registry_reference', sa.String(length=100),
                                      server_default='', nullable=False))
        batch_op.add_column(sa.Column('resumed_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('resume_signature_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_course_resume_signature', 'signature',
                                    ['resume_signature_id'], ['id'])
    for table in ('pregnancy_test', 'contraception_method'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('in_error_at', UTCDateTime(timezone=True),
                                          nullable=True))
            batch_op.add_column(sa.Column('in_error_reason', sa.String(length=500),
                                          server_default='', nullable=False))
    with op.batch_alter_table('rma', schema=None) as batch_op:
        batch_op.add_column(sa.Column('voided_at', UTCDateTime(timezone=True), nullable=True))
        batch_op.drop_constraint('ck_rma_status', type_='check')
        batch_op.create_check_constraint('ck_rma_status', RMA_AFTER)
        batch_op.create_index('ix_rma_pharmacy_issued', ['pharmacy_id', 'issued_at'],
                              unique=False)
    with op.batch_alter_table('cycle', schema=None) as batch_op:
        batch_op.drop_constraint('ck_cycle_state', type_='check')
        batch_op.create_check_constraint('ck_cycle_state', CYCLE_AFTER)


def downgrade() -> None:
    with op.batch_alter_table('cycle', schema=None) as batch_op:
        batch_op.drop_constraint('ck_cycle_state', type_='check')
        batch_op.create_check_constraint('ck_cycle_state', CYCLE_BEFORE)
    with op.batch_alter_table('rma', schema=None) as batch_op:
        batch_op.drop_index('ix_rma_pharmacy_issued')
        batch_op.drop_constraint('ck_rma_status', type_='check')
        batch_op.create_check_constraint('ck_rma_status', RMA_BEFORE)
        batch_op.drop_column('voided_at')
    for table in ('contraception_method', 'pregnancy_test'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('in_error_reason')
            batch_op.drop_column('in_error_at')
    with op.batch_alter_table('pharmacy', schema=None) as batch_op:
        batch_op.drop_column('staff_trained_on')
    with op.batch_alter_table('course', schema=None) as batch_op:
        batch_op.drop_constraint('fk_course_resume_signature', type_='foreignkey')
        for column in ('resume_signature_id', 'resumed_on', 'registry_reference',
                       'registry_reported_on'):
            batch_op.drop_column(column)
