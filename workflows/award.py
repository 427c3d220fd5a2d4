"""The award lifecycle: offered → accepted | refused | rescinded; accepted → active ⇄ suspended;
active → closed."""

from __future__ import annotations

from typing import Any

from app.models.award import Award
from app.rules.awards import unaccepted_report_count
from app.states import AwardState
from workflows.common import (
    comment_given,  # noqa: F401  (a guard, named below)
    relation_to_organization,
)
from workflows.engine import FireContext, Lifecycle, Transition


def before_acceptance_deadline(award: Any, ctx: FireContext) -> str | None:
    if ctx.now > award.acceptance_deadline:
        return "the acceptance deadline has passed"
    return None


def signature_given(award: Any, ctx: FireContext) -> str | None:
    data = ctx.data or {}
    missing = [
        label
        for key, label in (("name", "your full name"), ("title", "your title"))
        if not str(data.get(key) or "").strip()
    ]
    if not data.get("consent"):
        missing.append("your agreement to the terms and conditions")
    return ("give " + ", ".join(missing)) if missing else None


def reports_accepted(award: Any, ctx: FireContext) -> str | None:
    n = unaccepted_report_count(award)
    return f"{n} impact report(s) not yet accepted" if n else None


def start_date_reached(award: Any, ctx: FireContext) -> str | None:
    if ctx.actor.role == "system" and ctx.now.date() < award.start_date:
        return "the period of performance has not started"
    return None


def record_acceptance(award: Any, ctx: FireContext) -> None:
    """The authorized official's acceptance; the reports it now owes: services.awards follows."""
    data = ctx.data or {}
    award.accepted_by_id = ctx.actor.id
    award.accepted_name = str(data["name"]).strip()
    award.accepted_title = str(data["title"]).strip()
    award.responded_at = ctx.now


def record_refusal(award: Any, ctx: FireContext) -> None:
    award.responded_at = ctx.now


APPLICANT = frozenset({"applicant"})
OFFICER = frozenset({"officer"})

LIFECYCLE = Lifecycle(
    name="award",
    model=lambda: Award,
    states=AwardState,
    module=__name__,
    initial=AwardState.offered,
    relation=relation_to_organization,
    transitions=(
        Transition(
            "accept",
            "Accept the award",
            (AwardState.offered,),
            AwardState.accepted,
            APPLICANT,
            guards=("before_acceptance_deadline", "signature_given"),
            actions=("record_acceptance",),
            effects=("award_accepted",),
        ),
        Transition(
            "refuse",
            "Refuse the award",
            (AwardState.offered,),
            AwardState.refused,
            APPLICANT,
            guards=("before_acceptance_deadline", "comment_given"),
            actions=("record_refusal",),
            effects=("send_award_status_email",),
            style="danger",
            asks_comment=True,
        ),
        Transition(
            "rescind",
            "Rescind the offer",
            (AwardState.offered,),
            AwardState.rescinded,
            OFFICER,
            guards=("comment_given",),
            effects=("send_award_status_email",),
            style="danger",
            asks_comment=True,
        ),
        Transition(
            "activate",
            "Activate",
            (AwardState.accepted,),
            AwardState.active,
            frozenset({"officer", "system"}),
            guards=("start_date_reached",),
        ),
        Transition(
            "suspend",
            "Suspend",
            (AwardState.active,),
            AwardState.suspended,
            OFFICER,
            guards=("comment_given",),
            effects=("send_award_status_email",),
            style="danger",
            asks_comment=True,
        ),
        Transition(
            "resume",
            "Resume",
            (AwardState.suspended,),
            AwardState.active,
            OFFICER,
            effects=("send_award_status_email",),
            asks_comment=True,
        ),
        Transition(
            "close",
            "Close out",
            (AwardState.active,),
            AwardState.closed,
            frozenset({"officer", "system"}),
            guards=("reports_accepted",),
            effects=("send_award_status_email",),
        ),
    ),
)
