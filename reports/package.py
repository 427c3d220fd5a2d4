"""The award package: one ZIP with a round's award letters, a PDF summary of each funded
application, a scores summary, ``awards.csv`` and ``manifest.json`` (each file's SHA-256 and size).

The package is deterministic: entries sorted by path, fixed timestamps and permissions, PDFs
made reproducible (their creation date comes from the data), no build time or package id
inside. Building it again from the same data gives the same bytes, so the job that builds it can
run again after a crash or a retry and store the same package.

This module is the package's form: it is given the rows and scores (loaded by
`app/services/packages.py`, which runs no query here) and gives the files and the ZIP as bytes.
The work is split so several rq workers can share it: ``prepare_part`` (the job
``prepare_package_part``) renders the missing letters and the application summaries of a chunk
of awards; ``build`` (the job ``build_award_package``) waits for the parts, takes what they
prepared when it still matches the data, renders anything else itself, and writes the ZIP. The
parts only save time: a package built without them is the same package.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from app.countries import country_name
from app.domain import GOVERNMENT_TYPES, PRIORITY_AREAS
from app.formatting import day, money, number
from app.models.award import Award, AwardPackage
from app.models.round import Round
from app.storage import sha256
from reports.letters import OFFICE_NAME, PROGRAM_NAME, default_environment

log = logging.getLogger(__name__)

PACKAGE_FORMAT = "l2g-award-package/1"
SUMMARY_TEMPLATE = "letters/application_summary.html"
#: Recorded in each summary; change it whenever the summary template's output changes.
SUMMARY_TEMPLATE_VERSION = "application-summary/1"
PART_JOB = "prepare_package_part"
BUILD_JOB = "build_award_package"
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a ZIP can hold: no build time inside
CHUNK = 50  # awards loaded (and progress reported) at a time while assembling
WAITING_STATES = ("pending", "queued", "running")

NARRATIVE = (
    ("need", "Need"),
    ("approach", "Approach"),
    ("alignment", "Alignment with U.S. foreign-policy objectives"),
    ("sustainability", "Sustainability beyond political transitions"),
)
AWARDS_CSV_COLUMNS = (
    "award_number",
    "amount",
    "state",
    "jurisdiction",
    "government_type",
    "state_code",
    "priority_areas",
    "raw_score",
    "calibrated_score",
    "application_reference",
    "project_title",
    "period_start",
    "period_end",
)
SCORES_CSV_COLUMNS = (
    "award_number",
    "application_reference",
    "project_title",
    "rank",
    "review_count",
    "overall_scores",
    "raw_score",
    "raw_score_x10",
    "calibrated_score",
    "percentile",
    "disagreement",
)


class PackageError(RuntimeError):
    """The package cannot be built; the message tells the officer why, without server paths."""


# Scores -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scores:
    """An application's scores as the ranking service computes them (lower is better)."""

    rank: int | None
    raw: float | None
    calibrated: float | None
    percentile: float | None = None
    disagreement: bool = False
    review_scores: tuple[int, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "review_scores": list(self.review_scores)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Scores:
        return cls(
            data.get("rank"),
            data.get("raw"),
            data.get("calibrated"),
            data.get("percentile"),
            bool(data.get("disagreement")),
            tuple(data.get("review_scores") or ()),
        )


NO_SCORES = Scores(None, None, None)


def score_float(value: Any) -> float | None:
    return None if value is None else round(float(value), 4)


def _score_text(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


# Loading ----------------------------------------------------------------------------------------


def chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# Files ------------------------------------------------------------------------------------------


def letter_path(award: Award) -> str:
    return f"letters/{award.number}.pdf"


def summary_path(award: Award) -> str:
    return f"summaries/{award.number}.pdf"


def summary_context(award: Award, scores: Scores) -> dict[str, Any]:
    application = award.application
    org = award.organization
    rnd = award.round
    created = award.offered_at.astimezone(rnd.zone).date()
    reference = application.reference or ""
    return {
        "document_title": f"Application summary {reference}: {application.display_title}",
        "document_author": OFFICE_NAME,
        "document_subject": (
            f"Summary of application {reference} by {org.legal_name}, funded as award "
            f"{award.number} under the {PROGRAM_NAME}"
        ),
        "document_keywords": ["Application summary", award.number, reference],
        "document_generator": f"L2G {SUMMARY_TEMPLATE_VERSION}",
        "template_version": SUMMARY_TEMPLATE_VERSION,
        "created_iso": created.isoformat(),
        "program_name": PROGRAM_NAME,
        "round_title": rnd.title,
        "award_number": award.number,
        "award_state": award.state_title,
        "application_reference": reference,
        "project_title": application.display_title,
        "amount": money(award.amount),
        "requested": money(application.requested_amount),
        "cost_share": money(application.cost_share_amount),
        "period": f"{day(award.start_date)} to {day(award.end_date)}",
        "jurisdiction": org.legal_name,
        "government_type": org.government_type_title,
        "state_name": org.state_name,
        "state_code": org.state_code,
        "priority_areas": "; ".join(application.priority_area_titles),
        "partner_countries": ", ".join(country_name(c) for c in application.partner_countries),
        "review_count": len(scores.review_scores),
        "review_scores": ", ".join(str(s) for s in scores.review_scores),
        "raw_score": _score_text(scores.raw) or "Not scored",
        "calibrated_score": _score_text(scores.calibrated) or "Not scored",
        "rank": str(scores.rank) if scores.rank else "Not ranked",
        "percentile": "" if scores.percentile is None else f"{scores.percentile:.1f}",
        "disagreement": "Yes" if scores.disagreement else "No",
        "summary": application.summary,
        "narrative": [
            {"title": title, "text": getattr(application, key)} for key, title in NARRATIVE
        ],
        "partners": [
            {"name": p.name, "kind": p.kind_title, "role": p.role} for p in application.partners
        ],
        "budget": [
            {
                "category": line.category_title,
                "description": line.description,
                "federal": money(line.federal_amount),
                "cost_share": money(line.cost_share),
            }
            for line in application.budget_lines
            if line.federal_amount or line.cost_share
        ],
        "milestones": [
            {"due": day(m.due_on), "description": m.description} for m in application.milestones
        ],
        "targets": [
            {
                "indicator": t.indicator_title,
                "baseline": number(t.baseline),
                "target": number(t.target),
            }
            for t in application.impact_targets
        ],
    }


def summary_html(award: Award, scores: Scores) -> str:
    template = default_environment().get_template(SUMMARY_TEMPLATE)
    return template.render(summary_context(award, scores))


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _csv_text(value: str) -> str:
    """A text cell that a spreadsheet will not run as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def csv_bytes(columns: tuple[str, ...], rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def awards_row(award: Award, scores: Scores) -> dict[str, str]:
    application = award.application
    org = award.organization
    return {
        "award_number": award.number,
        "amount": str(Decimal(award.amount).quantize(Decimal("0.01"))),
        "state": award.state,
        "jurisdiction": _csv_text(org.legal_name),
        "government_type": GOVERNMENT_TYPES.get(org.government_type, org.government_type),
        "state_code": org.state_code,
        "priority_areas": "; ".join(PRIORITY_AREAS.get(a, a) for a in application.priority_areas),
        "raw_score": _score_text(scores.raw),
        "calibrated_score": _score_text(scores.calibrated),
        "application_reference": application.reference or "",
        "project_title": _csv_text(application.display_title),
        "period_start": award.start_date.isoformat(),
        "period_end": award.end_date.isoformat(),
    }


def scores_row(award: Award, scores: Scores) -> dict[str, str]:
    application = award.application
    return {
        "award_number": award.number,
        "application_reference": application.reference or "",
        "project_title": _csv_text(application.display_title),
        "rank": str(scores.rank or ""),
        "review_count": str(len(scores.review_scores)),
        "overall_scores": ";".join(str(s) for s in scores.review_scores),
        "raw_score": _score_text(scores.raw),
        "raw_score_x10": "" if scores.raw is None else f"{scores.raw * 10:.0f}",
        "calibrated_score": _score_text(scores.calibrated),
        "percentile": "" if scores.percentile is None else f"{scores.percentile:.1f}",
        "disagreement": "yes" if scores.disagreement else "no",
    }


def manifest_bytes(rnd: Round, files: dict[str, bytes], award_count: int) -> bytes:
    manifest = {
        "format": PACKAGE_FORMAT,
        "program": PROGRAM_NAME,
        "round": {"id": rnd.id, "title": rnd.title},
        "award_count": award_count,
        "files": [
            {"path": path, "sha256": sha256(files[path]), "size": len(files[path])}
            for path in sorted(files)
        ],
    }
    return (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def zip_bytes(files: dict[str, bytes]) -> bytes:
    """A reproducible ZIP: sorted entries, fixed time and permissions; PDFs stored (they are
    compressed already), text deflated."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for path in sorted(files):
            info = zipfile.ZipInfo(path, date_time=ZIP_EPOCH)
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            if path.endswith(".pdf"):
                info.compress_type = zipfile.ZIP_STORED
                archive.writestr(info, files[path])
            else:
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, files[path], compresslevel=9)
    return out.getvalue()


# The parts (run in parallel by several workers) ------------------------------------------------


# The build --------------------------------------------------------------------------------------


def package_filename(package: AwardPackage) -> str:
    return f"award-package-round-{package.round_id}-{package.id}.zip"
