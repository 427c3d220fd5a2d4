"""The impact report lifecycle: scheduled → submitted → accepted | changes_requested → submitted.

"Due soon" and "overdue" are computed from the due date, never stored.
"""

from __future__ import annotations

from typing import Any

from app.models.impact_report import ImpactReport
from app.rules.impact_reports import report_problems
from app.states import AwardState, ImpactReportState
from workflows.common import comment_given  # noqa: F401  (a guard, named below)
from workflows.engine import FireContext, Lifecycle, Transition


def relation_to_report(report: Any, actor: Any) -> set[str]:
    if actor.role == "applicant":
        return {"applicant"} if report.can_view(actor) else set()
    return {actor.role}


def required_fields_filled(report: Any, ctx: FireContext) -> str | None:
    problems = report_problems(report)
    return ("incomplete: " + "; ".join(problems)) if problems else None


def award_reporting(report: Any, ctx: FireContext) -> str | None:
    if report.award.state not in AwardState.tagged("reporting"):
        return f"the award is {report.award.state_title.lower()}"
    return None


def stamp_submitted(report: Any, ctx: FireContext) -> None:
    report.submitted_at = ctx.now  # the frozen version: services.impact_reports follows


def stamp_accepted(report: Any, ctx: FireContext) -> None:
    report.accepted_at = ctx.now


LIFECYCLE = Lifecycle(
    name="impact_report",
    model=lambda: ImpactReport,
    states=ImpactReportState,
    module=__name__,
    initial=ImpactReportState.scheduled,
    relation=relation_to_report,
    transitions=(
        Transition(
            "submit",
            "Submit the report",
            (ImpactReportState.scheduled, ImpactReportState.changes_requested),
            ImpactReportState.submitted,
            frozenset({"applicant"}),
            guards=("award_reporting", "required_fields_filled"),
            actions=("stamp_submitted",),
            effects=("send_report_status_email",),
        ),
        Transition(
            "accept",
            "Accept the report",
            (ImpactReportState.submitted,),
            ImpactReportState.accepted,
            frozenset({"officer"}),
            actions=("stamp_accepted",),
            effects=("send_report_status_email", "close_award_if_complete"),
            asks_comment=True,
        ),
        Transition(
            "request_changes",
            "Request changes",
            (ImpactReportState.submitted,),
            ImpactReportState.changes_requested,
            frozenset({"officer"}),
            guards=("comment_given",),
            effects=("send_report_status_email",),
            style="secondary",
            asks_comment=True,
        ),
    ),
)
