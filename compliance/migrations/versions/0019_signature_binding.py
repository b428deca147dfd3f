"""signatures name the record they sign

Each signature now records its kind, the record it was made for and a SHA-256 of that
record's signed content, and the table becomes append-only like the audit log. Signatures
made before are bound here to the record holding them, with the hash of that record's
content as it stands now (`signed_records.bind_unbound` reads only the signed fields).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 21:40:00
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.orm import Session

from compliance.models.audit import install_append_only_triggers
from compliance.services.signed_records import bind_unbound


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('signature') as batch:
        batch.add_column(sa.Column('kind', sa.String(length=30), nullable=False,
                                   server_default=''))
        batch.add_column(sa.Column('record_type', sa.String(length=20), nullable=False,
                                   server_default=''))
        batch.add_column(sa.Column('record_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('record_hash', sa.String(length=64), nullable=True))
    bind_unbound(Session(bind=op.get_bind()))
    install_append_only_triggers(op.get_bind(), 'signature')


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS signature_no_change ON signature')
        op.execute('DROP TRIGGER IF EXISTS signature_no_truncate ON signature')
        op.execute('DROP FUNCTION IF EXISTS signature_append_only()')
    else:
        op.execute('DROP TRIGGER IF EXISTS signature_no_update')
        op.execute('DROP TRIGGER IF EXISTS signature_no_delete')
    with op.batch_alter_table('signature') as batch:
        batch.drop_column('record_hash')
        batch.drop_column('record_id')
        batch.drop_column('record_type')
        batch.drop_column('kind')
