"""What an impact report still needs before it can be submitted."""

from __future__ import annotations

from app.domain import INDICATORS
from app.models.impact_report import ImpactReport

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
