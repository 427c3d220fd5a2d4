"""catalog version: one row whose token changes whenever what the public catalog shows changes

Revision ID: c5d2e8f41a07
Revises: a4e1b7c90d21
Create Date: 2026-12-04 04:00:00.000000

The public catalog caches its results and answers If-None-Match by this token
(app/services/catalog.py). The row is created here; the app also creates it if it is missing.
"""
import secrets
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa

import app.models.types


# revision identifiers, used by Alembic.
revision = 'c5d2e8f41a07'
down_revision = 'a4e1b7c90d21'
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        'catalog_version',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('token', sa.String(length=32), nullable=False),
        sa.Column('changed_at', app.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint('id = 1', name=op.f('ck_catalog_version_one_row')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_version')),
    )
    op.bulk_insert(
        table,
        [
            {
                'id': 1,
                'token': secrets.token_hex(16),
                'changed_at': datetime.now(timezone.utc),
            }
        ],
    )


def downgrade():
    op.drop_table('catalog_version')
