"""cds hooks

Registered EHR clients, the JWT ids they used, EHR patient identifiers linked by
prescribers, the cards we issued and the feedback on them.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05 00:45:00
"""

from alembic import op
import sqlalchemy as sa

from compliance.models.types import UTCDateTime


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'cds_client',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('issuer', sa.String(length=500), nullable=False),
        sa.Column('public_key', sa.String(length=8000), nullable=False),
        sa.Column('jwks_url', sa.String(length=500), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('issuer'),
    )
    op.create_table(
        'cds_token_use',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('issuer', sa.String(length=500), nullable=False),
        sa.Column('jti', sa.String(length=200), nullable=False),
        sa.Column('expires_at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('issuer', 'jti', name='uq_cds_token_use_issuer_jti'),
    )
    op.create_index('ix_cds_token_use_expires_at', 'cds_token_use', ['expires_at'])
    op.create_table(
        'ehr_patient_link',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('prescriber_id', sa.Integer(), nullable=False),
        sa.Column('patient_id', sa.Integer(), nullable=False),
        sa.Column('ehr_identifier', sa.String(length=200), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['patient_id'], ['patient.id']),
        sa.ForeignKeyConstraint(['prescriber_id'], ['prescriber.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('prescriber_id', 'ehr_identifier',
                            name='uq_ehr_patient_link_prescriber_identifier'),
    )
    op.create_index('ix_ehr_patient_link_patient_id', 'ehr_patient_link', ['patient_id'])
    op.create_table(
        'cds_card',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('uuid', sa.String(length=36), nullable=False),
        sa.Column('service_id', sa.String(length=40), nullable=False),
        sa.Column('client_id', sa.Integer(), nullable=False),
        sa.Column('patient_id', sa.Integer(), nullable=True),
        sa.Column('issued_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['client_id'], ['cds_client.id']),
        sa.ForeignKeyConstraint(['patient_id'], ['patient.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('uuid'),
    )
    op.create_table(
        'cds_feedback',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('card_id', sa.Integer(), nullable=False),
        sa.Column('outcome', sa.String(length=20), nullable=False),
        sa.Column('override_reason', sa.String(length=500), nullable=False),
        sa.Column('override_comment', sa.String(length=1000), nullable=False),
        sa.Column('outcome_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('recorded_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['card_id'], ['cds_card.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_cds_feedback_card', 'cds_feedback', ['card_id'])


def downgrade() -> None:
    op.drop_index('ix_cds_feedback_card', table_name='cds_feedback')
    op.drop_table('cds_feedback')
    op.drop_table('cds_card')
    op.drop_index('ix_ehr_patient_link_patient_id', table_name='ehr_patient_link')
    op.drop_table('ehr_patient_link')
    op.drop_index('ix_cds_token_use_expires_at', table_name='cds_token_use')
    op.drop_table('cds_token_use')
    op.drop_table('cds_client')
