"""Conflicts of interest: detected, declared by the reviewer, or entered by an officer."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import ARRAY, Integer, any_, bindparam, func, or_, select

from app.extensions import db
from app.models.application import Application, Partner
from app.models.review import CONFLICT_KINDS, Conflict, Review, ReviewerProfile
from app.models.user import Organization, User
from workflows.engine import follows

STATE_LEVEL_TYPES = ("state", "territory")


@dataclass(frozen=True)
class DetectedConflict:
    reviewer_id: int
    application_id: int
    kind: str
    reason: str


def _among(column: Any, ids: Iterable[int]) -> Any:
    """`column IN ids`. On PostgreSQL as `= ANY(array)`, one parameter: the statement's text is
    then the same for every number of ids, so the driver and the server prepare and plan it
    once, where IN (...) sends and plans a new statement for each length (the queue's 125)."""
    ids = list(ids)
    if db.session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, ids, type_=ARRAY(Integer)))
    return column.in_(ids)


def email_domain(email: str) -> str:
    return email.rsplit("@", 1)[-1].lower()


class ReviewerFacts(Protocol):
    """What conflict detection reads of a reviewer: a User, or a row of these columns."""

    id: int
    email: str
    organization_id: int | None


def detect(
    reviewers: Iterable[ReviewerFacts],
    applications: Iterable[Application],
) -> list[DetectedConflict]:
    """Conflicts found from data alone, for every reviewer × application pair given.

    Same organization; same email domain as a user of the applicant; an affiliation named among
    the application's partners; the reviewer's home state equal to a state-level applicant's.
    Runs a fixed number of queries whatever the sizes.
    """
    reviewers = list(reviewers)
    applications = list(applications)
    if not reviewers or not applications:
        return []
    app_ids = [a.id for a in applications]
    org_ids = {a.organization_id for a in applications}
    # Columns, not rows: the organizations of a round's thousands of applications and the
    # profiles of hundreds of reviewers, whose other columns (JSON documents) are not read here.
    orgs = {
        org_id: (government_type, state_code)
        for org_id, government_type, state_code in db.session.execute(
            select(Organization.id, Organization.government_type, Organization.state_code).where(
                _among(Organization.id, org_ids)
            )
        )
    }
    domains: dict[int, set[str]] = {}
    for org_id, email in db.session.execute(
        select(User.organization_id, User.email).where(_among(User.organization_id, org_ids))
    ):
        domains.setdefault(org_id, set()).add(email_domain(email))
    partners: dict[int, list[str]] = {}
    for app_id, name in db.session.execute(
        select(Partner.application_id, Partner.name).where(_among(Partner.application_id, app_ids))
    ):
        partners.setdefault(app_id, []).append(name.lower())
    profiles = {
        user_id: (affiliations, home_state)
        for user_id, affiliations, home_state in db.session.execute(
            select(
                ReviewerProfile.user_id, ReviewerProfile.affiliations, ReviewerProfile.home_state
            ).where(_among(ReviewerProfile.user_id, [r.id for r in reviewers]))
        )
    }
    found: list[DetectedConflict] = []
    for reviewer in reviewers:
        named_affiliations, home = profiles.get(reviewer.id, ([], None))
        affiliations = [a.lower().strip() for a in named_affiliations or [] if a]
        domain = email_domain(reviewer.email)
        for application in applications:
            org_id = application.organization_id
            government_type, state_code = orgs[org_id]
            reason = None
            kind = "own_jurisdiction"
            if reviewer.organization_id == org_id:
                reason = "works for the applicant"
            elif domain in domains.get(org_id, set()):
                reason = f"shares the email domain {domain} with the applicant"
            elif home and government_type in STATE_LEVEL_TYPES and home == state_code:
                reason = f"lives in {state_code}, the applicant state"
            else:
                named = [
                    a for a in affiliations for p in partners.get(application.id, []) if a in p
                ]
                if named:
                    kind = "employer_or_partner"
                    reason = f"is affiliated with the partner {named[0]}"
            if reason:
                found.append(DetectedConflict(reviewer.id, application.id, kind, reason))
    return found


def conflicted_pairs(
    reviewer_ids: list[int],
    applications: list[Application],
    reviewers: list[ReviewerFacts] | None = None,
) -> set[tuple[int, int]]:
    """Every (reviewer, application) pair that may not meet, from all three sources.
    `reviewers`: the reviewers' rows when the caller holds them already (else they are read)."""
    if not reviewer_ids or not applications:
        return set()
    by_org: dict[int, list[int]] = {}
    for a in applications:
        by_org.setdefault(a.organization_id, []).append(a.id)
    app_ids = {a.id for a in applications}
    pairs: set[tuple[int, int]] = set()
    rows = db.session.execute(
        select(Conflict.reviewer_id, Conflict.organization_id, Conflict.application_id).where(
            _among(Conflict.reviewer_id, reviewer_ids),
            _among(Conflict.organization_id, by_org),
        )
    )
    for reviewer_id, org_id, app_id in rows:
        if app_id is None:
            pairs.update((reviewer_id, a) for a in by_org.get(org_id, []))
        elif app_id in app_ids:
            pairs.add((reviewer_id, app_id))
    # What the check reads of a reviewer, as columns: a pool of hundreds is rows already loaded.
    if reviewers is None:
        reviewers = list(
            db.session.execute(
                select(User.id, User.email, User.organization_id).where(
                    _among(User.id, reviewer_ids)
                )
            ).all()
        )
    pairs.update((c.reviewer_id, c.application_id) for c in detect(reviewers, applications))
    return pairs


def is_conflicted(reviewer: User, application: Application) -> bool:
    return (reviewer.id, application.id) in conflicted_pairs([reviewer.id], [application])


def add_conflict(
    reviewer: User,
    organization: Organization,
    kind: str,
    source: str,
    note: str = "",
    application: Application | None = None,
    created_by: User | None = None,
) -> Conflict:
    conflict = Conflict(
        reviewer_id=reviewer.id,
        organization_id=organization.id,
        application_id=application.id if application else None,
        kind=kind,
        source=source,
        note=note.strip(),
        created_by_id=created_by.id if created_by else None,
    )
    db.session.add(conflict)
    db.session.flush()
    return conflict


@follows("review", "recuse")
def record_recusal_conflict(review: Review, ctx: Any) -> None:
    """A recusal is a declared conflict: the reviewer is never assigned to it again."""
    kind = (ctx.data or {}).get("conflict_kind") or "other"
    if kind not in CONFLICT_KINDS:
        kind = "other"
    source = "declared" if ctx.actor.role == "reviewer" else "officer"
    exists = db.session.scalar(
        select(Conflict.id).where(
            Conflict.reviewer_id == review.reviewer_id,
            or_(
                Conflict.application_id == review.application_id,
                Conflict.application_id.is_(None)
                & (Conflict.organization_id == review.application.organization_id),
            ),
        )
    )
    if exists is None:
        db.session.add(
            Conflict(
                reviewer_id=review.reviewer_id,
                organization_id=review.application.organization_id,
                application_id=review.application_id,
                kind=kind,
                source=source,
                note=ctx.comment or "",
                created_by_id=ctx.actor.id,
            )
        )


# ---------------------------------------------------------------------------------------------
# What the officer's reviewers page reads


def reviewers_with_profiles() -> list[tuple[User, ReviewerProfile | None]]:
    """Every reviewer account (active or not) with its profile, by name."""
    return [
        (user, profile)
        for user, profile in db.session.execute(
            select(User, ReviewerProfile)
            .outerjoin(ReviewerProfile, ReviewerProfile.user_id == User.id)
            .where(User.role == "reviewer")
            .order_by(User.name, User.email)
        )
    ]


def organizations_by_name() -> list[Organization]:
    return list(
        db.session.scalars(select(Organization).order_by(Organization.legal_name, Organization.id))
    )


def conflict_target(
    organization_id: int, reference: str
) -> tuple[Organization | None, Application | None, str | None]:
    """The organization and (by its reference, if one is given) the application an officer
    records a conflict with, or why that application cannot be the one."""
    organization = db.session.get(Organization, organization_id)
    if not reference:
        return organization, None, None
    application = db.session.scalar(select(Application).where(Application.reference == reference))
    if application is None:
        return organization, None, f"No application has the reference {reference}."
    if organization is not None and application.organization_id != organization.id:
        return (
            organization,
            application,
            (f"{reference} is not an application of {organization.legal_name}."),
        )
    return organization, application, None


def conflicts_page(page: int, per_page: int) -> tuple[list[Any], int]:
    """One page of recorded conflicts, the newest first, with reviewer, organization and the
    application's reference; and how many there are."""
    total = db.session.scalar(select(func.count(Conflict.id))) or 0
    rows = db.session.execute(
        select(Conflict, User, Organization, Application.reference)
        .join(User, Conflict.reviewer_id == User.id)
        .join(Organization, Conflict.organization_id == Organization.id)
        .outerjoin(Application, Conflict.application_id == Application.id)
        .order_by(Conflict.created_at.desc(), Conflict.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return list(rows), total
