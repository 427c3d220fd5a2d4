"""Every model, imported so that metadata (and Alembic) sees all tables."""

from app.models.application import (
    Application,
    ApplicationPriorityArea,
    BudgetLine,
    ImpactTarget,
    Milestone,
    Partner,
    SupportLetter,
)
from app.models.audit import AuditEvent
from app.models.award import Award, AwardLetter, AwardPackage
from app.models.catalog import CatalogVersion
from app.models.impact_report import ImpactReport, ReportAttachment, ReportSubmission
from app.models.outbox import Counter, EmailMessage, OutboxJob
from app.models.review import Conflict, Review, ReviewerProfile
from app.models.round import Round, RubricCriterion
from app.models.scores import ApplicationScore, RankingEntry, ReviewerOffset, RoundRanking
from app.models.user import Invitation, Organization, User

__all__ = [
    "Application",
    "ApplicationPriorityArea",
    "ApplicationScore",
    "AuditEvent",
    "Award",
    "AwardLetter",
    "AwardPackage",
    "BudgetLine",
    "CatalogVersion",
    "Conflict",
    "Counter",
    "EmailMessage",
    "ImpactReport",
    "ImpactTarget",
    "Invitation",
    "Milestone",
    "Organization",
    "OutboxJob",
    "Partner",
    "RankingEntry",
    "ReportAttachment",
    "ReportSubmission",
    "Review",
    "ReviewerOffset",
    "ReviewerProfile",
    "Round",
    "RoundRanking",
    "RubricCriterion",
    "SupportLetter",
    "User",
]
