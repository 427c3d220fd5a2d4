"""Impact reports: what a report needs before it is submitted, and its frozen versions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from app.domain import INDICATORS
from app.extensions import db
from app.models.impact_report import ImpactReport, ReportSubmission

NARRATIVE_FIELDS = {
    "accomplishments": "accomplishments against the milestones",
    "challenges": "challenges",
    "next_period_plans": "plans for the next period",
}


def report_problems(report: ImpactReport) -> list[str]:
    problems = []
    values = report.indicators or {}
    missing = [title for code, title in INDICATORS.items() if values.get(code) in (None, "")]
    if missing:
        problems.append(
            "enter the actual value of every indicator (0 if none): " + ", ".join(missing)
        )
    for key, label in NARRATIVE_FIELDS.items():
        if not (getattr(report, key) or "").strip():
            problems.append(f"describe the {label}")
    return problems


def submission_content(report: ImpactReport) -> dict[str, Any]:
    return {
        "indicators": dict(report.indicators or {}),
        "accomplishments": report.accomplishments,
        "challenges": report.challenges,
        "next_period_plans": report.next_period_plans,
        "outcomes_by_area": dict(report.outcomes_by_area or {}),
    }


def freeze_submission(report: ImpactReport, ctx: Any) -> ReportSubmission:
    """Keep the report exactly as submitted; a resubmission after changes is a new version."""
    count = db.session.scalar(
        select(func.count(ReportSubmission.id)).where(ReportSubmission.report_id == report.id)
    )
    report.submitted_at = ctx.now
    submission = ReportSubmission(
        report_id=report.id,
        number=(count or 0) + 1,
        content=submission_content(report),
        submitted_by_id=ctx.actor.id,
        submitted_at=ctx.now,
    )
    db.session.add(submission)
    return submission
