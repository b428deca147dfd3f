"""API keys expire

Every key carries the instant it stops working, one year after its creation by default;
keys made before this revision get a year from their creation too.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 19:00:00
"""

from alembic import op
import sqlalchemy as sa

from compliance.models.types import UTCDateTime


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('api_key') as batch:
        batch.add_column(sa.Column('expires_at', UTCDateTime(timezone=True), nullable=True))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("UPDATE api_key SET expires_at = created_at + interval '365 days'")
    else:
        op.execute("UPDATE api_key SET expires_at = datetime(created_at, '+365 days')")
    with op.batch_alter_table('api_key') as batch:
        batch.alter_column('expires_at', existing_type=UTCDateTime(timezone=True), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('api_key') as batch:
        batch.drop_column('expires_at')
