"""The program officer's pages, one blueprint for the officer audience, one module per seam.

The blueprint itself is in `common` (so the modules can register on it without importing this
package back); importing this package imports every module, which adds its views to it.
"""

from __future__ import annotations

from app.views.officer import (  # noqa: F401  (each module registers its views on `bp`)
    applications,
    assignment,
    awards,
    decisions,
    packages,
    program,
    ranking,
    reviewers,
    rounds,
    rubric,
    screening,
)
from app.views.officer.common import bp

__all__ = ["bp"]
