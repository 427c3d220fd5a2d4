"""What an application still needs before it can be submitted, by section and field."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from app.formatting import money as fmt
from app.models.application import Application

SUMMARY_WORD_LIMIT = 250


MAX_PRIORITY_AREAS = 3


@dataclass(frozen=True)
class Section:
    key: str
    title: str


SECTIONS: tuple[Section, ...] = (
    Section("project", "Project"),
    Section("narrative", "Narrative"),
    Section("partners", "Partners"),
    Section("budget", "Budget"),
    Section("milestones", "Milestones"),
    Section("targets", "Impact targets"),
    Section("letters", "Letters of support"),
)


SECTION_TITLES = {s.key: s.title for s in SECTIONS}


@dataclass(frozen=True)
class Problem:
    field: str  # the form field's id on the section's page
    message: str


def word_count(text: str) -> int:
    return len(re.findall(r"\S+", text or ""))


def section_problems(application: Application) -> dict[str, list[Problem]]:
    """Everything that stops a submission, by section, each tied to its field."""
    rnd = application.round
    out: dict[str, list[Problem]] = {s.key: [] for s in SECTIONS}

    project = out["project"]
    if not application.title.strip():
        project.append(Problem("title", "Enter the project's title."))
    if not application.summary.strip():
        project.append(Problem("summary", "Enter a summary of the project."))
    elif (n := word_count(application.summary)) > SUMMARY_WORD_LIMIT:
        project.append(
            Problem("summary", f"The summary has {n} words; the limit is {SUMMARY_WORD_LIMIT}.")
        )
    areas = application.priority_areas
    if not 1 <= len(areas) <= MAX_PRIORITY_AREAS:
        project.append(Problem("priority_areas", "Choose one to three priority areas."))
    not_offered = [a for a in areas if a not in rnd.priority_areas]
    if not_offered:
        project.append(
            Problem("priority_areas", "This round does not offer: " + ", ".join(not_offered) + ".")
        )
    if not application.partner_countries:
        project.append(Problem("partner_countries", "Choose at least one partner country."))
    if application.start_date is None:
        project.append(Problem("start_date", "Enter the date the project starts."))
    elif application.start_date <= rnd.local(rnd.closes_at).date():
        project.append(Problem("start_date", "The project must start after the round closes."))
    if application.period_months is None:
        project.append(Problem("period_months", "Enter the period of performance in months."))
    elif not 1 <= application.period_months <= rnd.performance_months:
        project.append(
            Problem(
                "period_months",
                f"The period must be between 1 and {rnd.performance_months} months.",
            )
        )

    labels = {
        "need": "the need the project addresses",
        "approach": "the approach",
        "alignment": "the alignment with U.S. foreign-policy objectives",
        "sustainability": "how the work will last beyond political transitions",
    }
    for key, label in labels.items():
        if not getattr(application, key).strip():
            out["narrative"].append(Problem(key, f"Describe {label}."))

    if not application.partners:
        out["partners"].append(Problem("partners-0-name", "Add at least one partner."))

    request = application.requested_amount or Decimal("0")
    if request <= 0:
        out["budget"].append(Problem("budget-total", "Enter the federal request in the budget."))
    elif not rnd.min_award <= request <= rnd.max_award:
        out["budget"].append(
            Problem(
                "budget-total",
                f"The federal request of {fmt(request)} must lie between {fmt(rnd.min_award)} "
                f"and {fmt(rnd.max_award)}.",
            )
        )

    if not application.milestones:
        out["milestones"].append(Problem("milestones-0-due_on", "Add at least one milestone."))
    if not application.impact_targets:
        out["targets"].append(Problem("targets-0-indicator", "Add at least one impact target."))
    if not application.letters:
        out["letters"].append(Problem("letter", "Attach at least one letter of support (PDF)."))
    return out


def incomplete_sections(application: Application) -> list[str]:
    return [SECTION_TITLES[k] for k, v in section_problems(application).items() if v]
