"""Who may see and change a row: the questions every page and every workflow relation ask.

Officers and admins see everything in the program. An applicant sees only its own
organization's rows; a reviewer only the reviews assigned to it. Anything else is, for that
person, a row that does not exist (the views answer 404).
"""

from __future__ import annotations

from typing import Any

STAFF_ROLES = ("officer", "admin")


def is_staff(user: Any) -> bool:
    return user.role in STAFF_ROLES


def of_own_organization(user: Any, organization_id: int | None) -> bool:
    """The user is an applicant of the organization that owns the row."""
    return (
        user.role == "applicant"
        and organization_id is not None
        and user.organization_id == organization_id
    )


class OwnedByOrganization:
    """A row an applicant organization owns (an application, an award, an impact report)."""

    def can_view(self, user: Any) -> bool:
        return is_staff(user) or of_own_organization(user, self.organization_id)  # type: ignore[attr-defined]

    def can_edit(self, user: Any) -> bool:
        """The organization's applicants act on it (file, accept, refuse); staff act through
        their own pages."""
        return of_own_organization(user, self.organization_id)  # type: ignore[attr-defined]
