"""The public catalog's version: one row, given a new random token whenever what the catalog
publishes changes (see app/services/catalog.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime

CATALOG_VERSION_ID = 1


class CatalogVersion(db.Model):
    __tablename__ = "catalog_version"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    # Random rather than a count: a count restarts with a new database, and a cache shared by
    # several databases (one Redis) would then hand out another database's catalog.
    token: Mapped[str] = mapped_column(String(32))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
