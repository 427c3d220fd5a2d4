"""Every lifecycle's states: a name (stored in the database), a title (shown to people) and tags.

A tag names a group of states the code asks about ("ranked", "open", "committed"...). Code never
lists states by hand: it asks `ApplicationState.tagged("ranked")`, so a new state joins the right
groups where it is declared, here, and nowhere else. The transitions between states are declared
in `workflows/`; the CHECK constraints on the state columns are built from these enums.

Member names are the stored values (`ApplicationState.in_review == "in_review"`), so a member is
usable wherever a state name is. The tags in use, per lifecycle, are listed under each enum.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

FINAL = "final"  # no transition leads out of it


class LifecycleState(StrEnum):
    """A state with its title and tags; `tagged(tag)` gives the names of a group, in order."""

    title: str  # type: ignore[assignment]  # the human title, not str.title()
    tags: frozenset[str]

    def __new__(cls, value: str, title: str, *tags: str) -> Any:
        member = str.__new__(cls, value)
        member._value_ = value
        member.title = title
        member.tags = frozenset(tags)
        return member

    @property
    def final(self) -> bool:
        return FINAL in self.tags

    @classmethod
    def tagged(cls, tag: str) -> tuple[str, ...]:
        """The names of the states carrying `tag`, in declaration order; a tag nobody carries is a
        typo and an error."""
        names = tuple(s.value for s in cls if tag in s.tags)
        if not names:
            raise LookupError(f"no {cls.__name__} is tagged {tag!r}")
        return names

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(s.value for s in cls)

    @classmethod
    def title_of(cls, name: str) -> str:
        return cls(name).title


class ApplicationState(LifecycleState):
    # reference_optional: may have no reference number (never submitted)
    # assignable: reviewers may be assigned to it
    # ranked: has a place in the round's ranking
    # reviews_reopenable: a submitted review of it may be reopened
    # undecided: a scored application still waiting for its final decision (award or decline)
    # decided: a decision has been recorded
    # passed_over: decided without funding; funding one ranked below it needs a justification
    draft = "draft", "Draft", "reference_optional"
    submitted = "submitted", "Submitted"
    eligible = "eligible", "Eligible", "assignable"
    ineligible = "ineligible", "Ineligible", FINAL
    in_review = "in_review", "In review", "assignable", "ranked", "reviews_reopenable"
    scored = "scored", "Scored", "ranked", "reviews_reopenable", "undecided"
    awarded = "awarded", "Awarded", "ranked", "decided", FINAL
    waitlisted = "waitlisted", "Waitlisted", "ranked", "undecided", "decided", "passed_over"
    declined = "declined", "Declined", "ranked", "decided", "passed_over", FINAL
    withdrawn = "withdrawn", "Withdrawn", "reference_optional", FINAL


class ReviewState(LifecycleState):
    # open: the reviewer is still working on it (it can be overdue, it gets reminders)
    # active: counts towards the application's reviews and the reviewer's load (not recused)
    assigned = "assigned", "Assigned", "open", "active"
    in_progress = "in_progress", "In progress", "open", "active"
    submitted = "submitted", "Submitted", "active"
    recused = "recused", "Recused", FINAL


class AwardState(LifecycleState):
    # committed: holds money against the round's budget
    # signed: the grantee accepted it (who, as whom and when are recorded); shown in public data
    # reporting: the grantee files impact reports on it
    offered = "offered", "Offered", "committed"
    accepted = "accepted", "Accepted", "committed", "signed", "reporting"
    refused = "refused", "Refused", FINAL
    rescinded = "rescinded", "Rescinded", FINAL
    active = "active", "Active", "committed", "signed", "reporting"
    suspended = "suspended", "Suspended", "committed", "signed", "reporting"
    closed = "closed", "Closed", "committed", "signed", FINAL


class ImpactReportState(LifecycleState):
    # open: the grantee is (still or again) writing it
    # filed: handed in; its due date no longer matters
    scheduled = "scheduled", "Scheduled", "open"
    submitted = "submitted", "Submitted", "filed"
    changes_requested = "changes_requested", "Changes requested", "open"
    accepted = "accepted", "Accepted", "filed", FINAL


class RoundState(LifecycleState):
    # editable: its settings may still change
    # funding_line: has a ranking to decide on (decisions and award packages)
    draft = "draft", "Draft", "editable"
    open = "open", "Open for applications", "editable"
    closed = "closed", "Closed"
    reviewing = "reviewing", "In review", "funding_line"
    decided = "decided", "Decided", "funding_line"
    archived = "archived", "Archived", "funding_line", FINAL


LIFECYCLE_STATES: dict[str, type[LifecycleState]] = {
    "round": RoundState,
    "application": ApplicationState,
    "review": ReviewState,
    "award": AwardState,
    "impact_report": ImpactReportState,
}
