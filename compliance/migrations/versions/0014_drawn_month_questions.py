"""the month's drawn questions

A month's questions are drawn from the bank once and kept on the cycle, so every try in
the month is checked against the questions shown and the next month can avoid them.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 11:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cycle') as batch:
        batch.add_column(sa.Column('quiz_bank_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('quiz_question_ids', sa.JSON(), nullable=False,
                                   server_default='[]'))
        batch.create_foreign_key('fk_cycle_quiz_bank_id_question_bank', 'question_bank',
                                 ['quiz_bank_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('cycle') as batch:
        batch.drop_constraint('fk_cycle_quiz_bank_id_question_bank', type_='foreignkey')
        batch.drop_column('quiz_question_ids')
        batch.drop_column('quiz_bank_id')
