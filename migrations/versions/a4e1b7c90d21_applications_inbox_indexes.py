"""applications inbox indexes: the officer's list pages in the index, over all rounds and per round

Revision ID: a4e1b7c90d21
Revises: a67d732d96e4
Create Date: 2026-12-04 03:40:00.000000

The list is ordered newest submission first, the unsubmitted last (submitted_at IS NULL,
submitted_at DESC, id DESC). An expression key rather than NULLS LAST, which SQLite refuses in an
index: with it both databases read one page from the index instead of sorting every application.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a4e1b7c90d21'
down_revision = 'a67d732d96e4'
branch_labels = None
depends_on = None

submitted_at = sa.column('submitted_at')
KEY = (submitted_at.is_(None), submitted_at.desc(), sa.column('id').desc())


def upgrade():
    op.create_index('ix_applications_inbox', 'applications', list(KEY))
    op.create_index('ix_applications_round_inbox', 'applications', ['round_id', *KEY])


def downgrade():
    op.drop_index('ix_applications_round_inbox', table_name='applications')
    op.drop_index('ix_applications_inbox', table_name='applications')
