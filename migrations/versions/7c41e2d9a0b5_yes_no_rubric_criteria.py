"""yes/no rubric criteria: the kind CHECK constraint allows yes_no

Revision ID: 7c41e2d9a0b5
Revises: 3bf5c3a84b61
Create Date: 2026-12-04 01:05:00.000000

A yes/no answer is stored like the other kinds' answers, in reviews.criterion_scores
({"yes": true|false} under the criterion's id): only the constraint changes.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c41e2d9a0b5'
down_revision = '3bf5c3a84b61'
branch_labels = None
depends_on = None

NAME = 'ck_rubric_criteria_kind'


def _set_kinds(kinds):
    quoted = ", ".join(f"'{k}'" for k in kinds)
    with op.batch_alter_table('rubric_criteria', schema=None) as batch_op:
        batch_op.drop_constraint(op.f(NAME), type_='check')
        batch_op.create_check_constraint(op.f(NAME), f"kind IN ({quoted})")


def upgrade():
    _set_kinds(('scored', 'sufficiency', 'yes_no'))


def downgrade():
    used = op.get_bind().scalar(
        sa.text("SELECT count(*) FROM rubric_criteria WHERE kind = 'yes_no'")
    )
    if used:
        raise RuntimeError(
            f"{used} rubric criteria are yes/no: change or remove them before downgrading"
        )
    _set_kinds(('scored', 'sufficiency'))
