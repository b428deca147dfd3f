"""passkeys

WebAuthn credentials an account signs in with instead of a password and a code.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 22:10:00
"""

from alembic import op
import sqlalchemy as sa

from compliance.models.types import UTCDateTime


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'passkey',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('credential_id', sa.String(length=1400), nullable=False),
        sa.Column('public_key', sa.String(length=2000), nullable=False),
        sa.Column('sign_count', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_used_at', UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('credential_id'),
    )
    op.create_index('ix_passkey_user_id', 'passkey', ['user_id'])


def downgrade() -> None:
    op.drop_index('ix_passkey_user_id', table_name='passkey')
    op.drop_table('passkey')
