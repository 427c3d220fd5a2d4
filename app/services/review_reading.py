"""What a reviewer may read: the application as the review page shows it (redacted when the
round is blind), and the other reviewers' reviews once its own is in. Read only."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models.application import Application
from app.models.review import Review
from app.models.user import Organization

# --- What a reviewer may read of an application -------------------------------------------------

REDACTED = "[applicant]"
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def identity_terms(organization: Organization) -> list[str]:
    """The words that name an applicant (legal name, city, street, official), longest first."""
    terms = {
        (t or "").strip()
        for t in (
            organization.legal_name,
            organization.city,
            organization.street,
            organization.official_name,
        )
    }
    return sorted((t for t in terms if len(t) >= 3), key=len, reverse=True)


def redactor(organization: Organization, blind: bool) -> Callable[[str], str]:
    """A function that replaces the applicant's names (and any email address) in a text with
    "[applicant]" when the round is blind, and leaves the text as it is otherwise.

    Matches ignore case and start at a word boundary, so "Testville's" and "Testvilleans" lose the
    name while "Canada" keeps its "ada" when the city is Ada.
    """
    if not blind:
        return lambda text: text
    terms = identity_terms(organization)
    names = (
        re.compile("|".join(r"(?<!\w)" + re.escape(t) for t in terms), re.IGNORECASE)
        if terms
        else None
    )

    def redact(text: str) -> str:
        if not text:
            return text
        text = _EMAIL.sub(REDACTED, text)
        return names.sub(REDACTED, text) if names else text

    return redact


@dataclass(frozen=True)
class ApplicantView:
    legal_name: str
    government_type_title: str
    state_name: str
    population: int


@dataclass(frozen=True)
class PartnerView:
    name: str
    kind_title: str
    role: str


@dataclass(frozen=True)
class BudgetLineView:
    category_title: str
    description: str
    federal_amount: Decimal
    cost_share: Decimal


@dataclass(frozen=True)
class MilestoneView:
    due_on: date
    description: str


@dataclass(frozen=True)
class ApplicationView:
    """An application as a reviewer reads it: in a blind round without the applicant's identity,
    contacts, users or letters of support, and with its names replaced in every free text.

    Built field by field (never a proxy of the row), so nothing reaches the page unless listed
    here. It has the attributes templates/application/_summary.html reads.
    """

    id: int
    reference: str | None
    blind: bool
    applicant: ApplicantView | None  # None in a blind round
    display_title: str
    summary: str
    priority_area_titles: list[str]
    partner_countries: list[str]
    start_date: date | None
    period_months: int | None
    need: str
    approach: str
    alignment: str
    sustainability: str
    partners: list[PartnerView]
    budget_lines: list[BudgetLineView]
    requested_amount: Decimal
    cost_share_amount: Decimal
    milestones: list[MilestoneView]
    impact_targets: list[Any]  # indicator, baseline, target: numbers only
    letters: list[Any]  # empty in a blind round


def application_view(application: Application) -> ApplicationView:
    """What a reviewer may read of the application, redacted when its round is blind."""
    org = application.organization
    blind = application.round.blind_review
    r = redactor(org, blind)
    return ApplicationView(
        id=application.id,
        reference=application.reference,
        blind=blind,
        applicant=None
        if blind
        else ApplicantView(
            org.legal_name, org.government_type_title, org.state_name, org.population
        ),
        display_title=r(application.display_title),
        summary=r(application.summary),
        priority_area_titles=application.priority_area_titles,
        partner_countries=list(application.partner_countries or []),
        start_date=application.start_date,
        period_months=application.period_months,
        need=r(application.need),
        approach=r(application.approach),
        alignment=r(application.alignment),
        sustainability=r(application.sustainability),
        partners=[PartnerView(r(p.name), p.kind_title, r(p.role)) for p in application.partners],
        budget_lines=[
            BudgetLineView(
                line.category_title, r(line.description), line.federal_amount, line.cost_share
            )
            for line in application.budget_lines
        ],
        requested_amount=application.requested_amount,
        cost_share_amount=application.cost_share_amount,
        milestones=[MilestoneView(m.due_on, r(m.description)) for m in application.milestones],
        impact_targets=list(application.impact_targets),
        letters=[] if blind else list(application.letters),
    )


# --- Other reviewers' reviews, once the reviewer's own is in -----------------------------------


@dataclass(frozen=True)
class CriterionAnswer:
    """One criterion of a peer's review: its stored entry, with every text in it redacted; the
    criterion's kind (app.criteria) shows it."""

    title: str
    kind: str
    entry: dict[str, Any]


@dataclass(frozen=True)
class PeerReview:
    """Another reviewer's submitted review as a fellow reviewer sees it: anonymous, and without
    the comments meant for staff."""

    label: str
    overall_score: int | None
    confidence: int | None
    answers: list[CriterionAnswer]
    strengths: str
    weaknesses: str


def other_reviews(review: Review) -> list[PeerReview]:
    """The application's other submitted reviews, shown only after this one is submitted.

    Reviewers are called "Reviewer 1", "Reviewer 2"… in the order they were assigned; staff-only
    comments are never included; in a blind round the applicant's names are redacted here too.
    """
    if review.state != "submitted":
        return []
    application = review.application
    r = redactor(application.organization, application.round.blind_review)
    criteria = application.round.criteria
    others = db.session.scalars(
        select(Review)
        .where(
            Review.application_id == review.application_id,
            Review.id != review.id,
            Review.state == "submitted",
        )
        .order_by(Review.id)
    ).all()
    out = []
    for n, other in enumerate(others, start=1):
        scores = other.criterion_scores or {}
        answers = []
        for c in criteria:
            entry = scores.get(str(c.id)) or {}
            redacted = {k: r(v) if isinstance(v, str) else v for k, v in entry.items()}
            answers.append(CriterionAnswer(c.title, c.kind, redacted))
        out.append(
            PeerReview(
                f"Reviewer {n}",
                other.overall_score,
                other.confidence,
                answers,
                r(other.strengths),
                r(other.weaknesses),
            )
        )
    return out
