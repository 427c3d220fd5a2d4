"""The award lifecycle: offered → accepted | refused | rescinded; accepted → active ⇄ suspended;
active → closed."""

from __future__ import annotations

from typing import Any

from workflows.common import comment_given, relation_to_organization
from workflows.engine import FireContext, Lifecycle, State, Transition

STATES = (
    State("offered", "Offered"),
    State("accepted", "Accepted"),
    State("refused", "Refused", final=True),
    State("rescinded", "Rescinded", final=True),
    State("active", "Active"),
    State("suspended", "Suspended"),
    State("closed", "Closed", final=True),
)
STATE_NAMES = tuple(s.name for s in STATES)
# An award in one of these states holds money against the round's budget.
COMMITTED_STATES = ("offered", "accepted", "active", "suspended", "closed")


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
    from app.rules.awards import unaccepted_report_count

    n = unaccepted_report_count(award)
    return f"{n} impact report(s) not yet accepted" if n else None


def start_date_reached(award: Any, ctx: FireContext) -> str | None:
    if ctx.actor.role == "system" and ctx.now.date() < award.start_date:
        return "the period of performance has not started"
    return None


def record_acceptance(award: Any, ctx: FireContext) -> None:
    from app.services.awards import record_acceptance as record

    record(award, ctx)


def record_refusal(award: Any, ctx: FireContext) -> None:
    award.responded_at = ctx.now


APPLICANT = frozenset({"applicant"})
OFFICER = frozenset({"officer"})

LIFECYCLE = Lifecycle(
    name="award",
    model=lambda: __import__("app.models.award", fromlist=["Award"]).Award,
    states=STATES,
    initial="offered",
    relation=relation_to_organization,
    guards={
        "before_acceptance_deadline": before_acceptance_deadline,
        "signature_given": signature_given,
        "comment_given": comment_given,
        "reports_accepted": reports_accepted,
        "start_date_reached": start_date_reached,
    },
    actions={"record_acceptance": record_acceptance, "record_refusal": record_refusal},
    transitions=(
        Transition(
            "accept",
            "Accept the award",
            ("offered",),
            "accepted",
            APPLICANT,
            guards=("before_acceptance_deadline", "signature_given"),
            actions=("record_acceptance",),
            effects=("award_accepted",),
        ),
        Transition(
            "refuse",
            "Refuse the award",
            ("offered",),
            "refused",
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
            ("offered",),
            "rescinded",
            OFFICER,
            guards=("comment_given",),
            effects=("send_award_status_email",),
            style="danger",
            asks_comment=True,
        ),
        Transition(
            "activate",
            "Activate",
            ("accepted",),
            "active",
            frozenset({"officer", "system"}),
            guards=("start_date_reached",),
        ),
        Transition(
            "suspend",
            "Suspend",
            ("active",),
            "suspended",
            OFFICER,
            guards=("comment_given",),
            effects=("send_award_status_email",),
            style="danger",
            asks_comment=True,
        ),
        Transition(
            "resume",
            "Resume",
            ("suspended",),
            "active",
            OFFICER,
            effects=("send_award_status_email",),
            asks_comment=True,
        ),
        Transition(
            "close",
            "Close out",
            ("active",),
            "closed",
            frozenset({"officer", "system"}),
            guards=("reports_accepted",),
            effects=("send_award_status_email",),
        ),
    ),
)
