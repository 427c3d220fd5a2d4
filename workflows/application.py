"""The application lifecycle, from a draft to a decision."""

from __future__ import annotations

from typing import Any

from app.models.application import Application
from app.outbox import next_number
from app.rules.applications import incomplete_sections
from app.rules.decisions import award_problems, passing_over_problems, ranking_unchanged
from app.rules.reviews import active_review_count, review_counts
from app.states import ApplicationState
from workflows.common import (
    comment_given,  # noqa: F401  (a guard, named below)
    relation_to_organization,
)
from workflows.engine import FireContext, Lifecycle, Transition


def round_accepting(app: Any, ctx: FireContext) -> str | None:
    if app.round.state != "open":
        return f"the round is {app.round.state_title.lower()}, not open for applications"
    return None


def before_deadline(app: Any, ctx: FireContext) -> str | None:
    # To the second: at 17:00:00 a 17:00:00 deadline still admits; at 17:00:01 it does not.
    if ctx.now.replace(microsecond=0) > app.round.closes_at:
        return f"the deadline ({app.round.format_moment(app.round.closes_at)}) has passed"
    if ctx.now < app.round.opens_at:
        return f"the round opens {app.round.format_moment(app.round.opens_at)}"
    return None


def government_type_admitted(app: Any, ctx: FireContext) -> str | None:
    gov_type = app.organization.government_type
    if gov_type not in app.round.eligible_government_types:
        kind = app.organization.government_type_title.lower()
        kinds = kind[:-1] + "ies" if kind.endswith("y") else kind + "s"  # cities, counties
        return f"this round does not admit {kinds}"
    return None


def sections_complete(app: Any, ctx: FireContext) -> str | None:
    missing = incomplete_sections(app)
    return ("incomplete: " + ", ".join(missing)) if missing else None


def round_not_closed(app: Any, ctx: FireContext) -> str | None:
    if app.round.state != "open" or ctx.now > app.round.closes_at:
        return "the round has closed, so the application can no longer be changed"
    return None


def reviewer_assigned(app: Any, ctx: FireContext) -> str | None:
    return None if active_review_count(app) else "no reviewer is assigned"


def review_submitted(app: Any, ctx: FireContext) -> str | None:
    counts = review_counts(app)
    if counts.submitted == 0:
        return "no review has been submitted"
    if counts.submitted < counts.active and ctx.actor.role != "system" and not ctx.comment:
        return "closing review early needs a reason"
    return None


def award_fits(app: Any, ctx: FireContext) -> str | None:
    return "; ".join(award_problems(app, ctx)) or None


def ranking_current(app: Any, ctx: FireContext) -> str | None:
    return ranking_unchanged(app, ctx)


def justified_if_out_of_order(app: Any, ctx: FireContext) -> str | None:
    return "; ".join(passing_over_problems(app, ctx)) or None


def assign_reference(app: Any, ctx: FireContext) -> None:
    app.submitted_at = ctx.now
    if app.reference is None:  # returned for changes and submitted again: keep it
        year = app.round.local(ctx.now).year  # the year where the round is run
        app.reference = f"L2G-{year}-{next_number(f'application-{year}'):04d}"


def record_decision(app: Any, ctx: FireContext) -> None:
    app.decided_at = ctx.now


OFFICER = frozenset({"officer"})
APPLICANT = frozenset({"applicant"})

LIFECYCLE = Lifecycle(
    name="application",
    model=lambda: Application,
    states=ApplicationState,
    module=__name__,
    initial=ApplicationState.draft,
    relation=relation_to_organization,
    transitions=(
        Transition(
            "submit",
            "Submit application",
            (ApplicationState.draft,),
            ApplicationState.submitted,
            APPLICANT,
            guards=(
                "round_accepting",
                "before_deadline",
                "government_type_admitted",
                "sections_complete",
            ),
            actions=("assign_reference",),
            effects=("send_submission_receipt",),
        ),
        Transition(
            "withdraw",
            "Withdraw application",
            (
                ApplicationState.draft,
                ApplicationState.submitted,
                ApplicationState.eligible,
                ApplicationState.in_review,
            ),
            ApplicationState.withdrawn,
            APPLICANT,
            effects=("send_status_email",),
            style="danger",
            asks_comment=True,
        ),
        Transition(
            "return_to_draft",
            "Return to applicant for changes",
            (ApplicationState.submitted,),
            ApplicationState.draft,
            OFFICER,
            guards=("round_not_closed", "comment_given"),
            effects=("send_status_email",),
            style="secondary",
            asks_comment=True,
        ),
        Transition(
            "mark_eligible",
            "Mark eligible",
            (ApplicationState.submitted,),
            ApplicationState.eligible,
            OFFICER,
            effects=("send_status_email",),
            asks_comment=True,
        ),
        Transition(
            "mark_ineligible",
            "Mark ineligible",
            (ApplicationState.submitted,),
            ApplicationState.ineligible,
            OFFICER,
            guards=("comment_given",),
            effects=("send_status_email",),
            style="danger",
            asks_comment=True,
        ),
        Transition(
            "start_review",
            "Start review",
            (ApplicationState.eligible,),
            ApplicationState.in_review,
            frozenset({"officer", "system"}),
            guards=("reviewer_assigned",),
        ),
        Transition(
            "complete_review",
            "Close review",
            (ApplicationState.in_review,),
            ApplicationState.scored,
            frozenset({"officer", "system"}),
            guards=("review_submitted",),
            asks_comment=True,
        ),
        Transition(
            "reopen_review",
            "Reopen review",
            (ApplicationState.scored,),
            ApplicationState.in_review,
            frozenset({"officer", "system"}),
            style="secondary",
        ),
        Transition(
            "award",
            "Award",
            (ApplicationState.scored, ApplicationState.waitlisted),
            ApplicationState.awarded,
            OFFICER,
            guards=("ranking_current", "award_fits"),
            actions=("record_decision",),  # the award: services.decisions follows
            effects=("send_decision_email", "render_award_letter"),
            asks_comment=True,
        ),
        Transition(
            "waitlist",
            "Waitlist",
            (ApplicationState.scored,),
            ApplicationState.waitlisted,
            OFFICER,
            guards=("ranking_current", "justified_if_out_of_order"),
            actions=("record_decision",),
            effects=("send_decision_email",),
            style="secondary",
            asks_comment=True,
        ),
        Transition(
            "decline",
            "Decline",
            (ApplicationState.scored, ApplicationState.waitlisted),
            ApplicationState.declined,
            OFFICER,
            guards=("ranking_current", "justified_if_out_of_order"),
            actions=("record_decision",),
            effects=("send_decision_email",),
            style="danger",
            asks_comment=True,
        ),
    ),
)
