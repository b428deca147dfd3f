"""the audit log refuses TRUNCATE

Row triggers already refuse UPDATE and DELETE on `audit_event` and `audit_seal`; TRUNCATE
(with CASCADE from any table referring to them) skipped them. A statement-level trigger on
PostgreSQL refuses it too. SQLite has no TRUNCATE.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 19:20:00
"""

from alembic import op

from compliance.models.audit import install_no_truncate_triggers


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ('audit_event', 'audit_seal'):
        install_no_truncate_triggers(op.get_bind(), table)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for table in ('audit_event', 'audit_seal'):
            op.execute(f'DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}')
