"""What the program publishes and exports: the public whitelist (catalog page, JSON, CSV) and the
officers' CSV of every report's indicators. The facts come from `app.services.program_data`."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.countries import country_name
from app.domain import GOVERNMENT_TYPES, INDICATORS, PRIORITY_AREAS, US_STATES
from app.extensions import db
from app.models.award import Award
from app.models.impact_report import ImpactReport
from app.models.round import Round
from app.models.user import Organization
from app.services.program_data import AwardFacts, Filters, filtered
from workflows.award import LIFECYCLE as AWARD_LIFECYCLE

# --- What the public may see ---------------------------------------------------------------------
#
# THE WHITELIST. The public catalog page, its JSON and its CSV show these fields and nothing else;
# each is read from `AwardFacts`, which itself holds no review, score, comment, contact, address,
# justification or unaccepted report. Add a field here only if it may be published.


def _plain(value: Decimal) -> int | float:
    """A JSON number: an integer when the value is whole."""
    return int(value) if value == value.to_integral_value() else float(value)


def _country(code: str) -> str:
    try:
        return country_name(code)
    except KeyError:
        return code


PUBLIC_FIELDS: dict[str, Any] = {
    "award_number": lambda f: f.number,
    "project_title": lambda f: f.project_title,
    "summary": lambda f: f.summary,
    "jurisdiction": lambda f: f.organization,
    "government_type": lambda f: GOVERNMENT_TYPES.get(f.government_type, f.government_type),
    "state": lambda f: f.state_code,
    "state_name": lambda f: US_STATES.get(f.state_code, f.state_code),
    "round": lambda f: f.round_title,
    "amount": lambda f: _plain(f.amount),
    "period_start": lambda f: f.start_date.isoformat() if f.start_date else None,
    "period_end": lambda f: f.end_date.isoformat() if f.end_date else None,
    "priority_areas": lambda f: [PRIORITY_AREAS.get(a, a) for a in f.priority_areas],
    "partner_countries": lambda f: [_country(c) for c in f.partner_countries],
    "status": lambda f: AWARD_LIFECYCLE.title_of(f.state),
    "accepted_reports": lambda f: f.reports_accepted,
    # Outcomes from accepted reports only (award_facts reads no other report).
    "outcomes": lambda f: {c: _plain(f.outcomes[c]) for c in INDICATORS if c in f.outcomes},
}
PUBLIC_CSV_COLUMNS: tuple[str, ...] = (
    *(name for name in PUBLIC_FIELDS if name != "outcomes"),
    *(f"outcome_{code}" for code in INDICATORS),
)


def public_record(fact: AwardFacts) -> dict[str, Any]:
    """One awarded project as the public sees it: the whitelisted fields, nothing else."""
    return {name: read(fact) for name, read in PUBLIC_FIELDS.items()}


def csv_text(value: str) -> str:
    """Text a spreadsheet will not run as a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return csv_text("; ".join(value))
    if isinstance(value, str):
        return csv_text(value)
    return str(value)


def public_csv_row(record: dict[str, Any]) -> list[str]:
    outcomes = record["outcomes"]
    return [_cell(record[name]) for name in PUBLIC_FIELDS if name != "outcomes"] + [
        _cell(outcomes.get(code)) for code in INDICATORS
    ]


# --- Officers: every report's indicators ---------------------------------------------------------

REPORT_CSV_COLUMNS: tuple[str, ...] = (
    "award_number",
    "jurisdiction",
    "state",
    "round",
    "report_title",
    "kind",
    "period_start",
    "period_end",
    "due_on",
    "status",
    *INDICATORS,
)


def report_rows(filters: Filters | None = None, batch: int = 500) -> Iterator[list[str]]:
    """Every impact report's indicator values, one row per report (header first), in any state:
    ONE query, streamed `batch` rows at a time, for officers only."""
    filters = filters or Filters()
    yield list(REPORT_CSV_COLUMNS)
    query = filtered(
        select(
            Award.number,
            Organization.legal_name,
            Organization.state_code,
            Round.title,
            ImpactReport.title,
            ImpactReport.kind,
            ImpactReport.period_start,
            ImpactReport.period_end,
            ImpactReport.due_on,
            ImpactReport.state,
            ImpactReport.indicators,
        )
        .join(Award, ImpactReport.award_id == Award.id)
        .join(Organization, Award.organization_id == Organization.id)
        .join(Round, Award.round_id == Round.id)
        .order_by(Award.number, ImpactReport.period_start, ImpactReport.id),
        filters,
    ).execution_options(yield_per=batch)
    for (
        number,
        org,
        state_code,
        round_title,
        title,
        kind,
        start,
        end,
        due,
        state,
        values,
    ) in db.session.execute(query):
        values = values or {}
        yield [
            number,
            csv_text(org),
            state_code,
            csv_text(round_title),
            csv_text(title),
            kind,
            start.isoformat(),
            end.isoformat(),
            due.isoformat(),
            state,
            *(_cell(values.get(code)) for code in INDICATORS),
        ]
