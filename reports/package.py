"""The award package: one ZIP with a round's award letters, a PDF summary of each funded
application, a scores summary, ``awards.csv`` and ``manifest.json`` (each file's SHA-256 and size).

The package is deterministic: entries sorted by path, fixed timestamps and permissions, PDFs
made reproducible (their creation date comes from the data), no build time or package id
inside. Building it again from the same data gives the same bytes, so the job that builds it can
run again after a crash or a retry and store the same package.

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
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from app.countries import country_name
from app.domain import GOVERNMENT_TYPES, PRIORITY_AREAS
from app.extensions import db
from app.formatting import day, money, number
from app.models.application import Application
from app.models.award import Award, AwardLetter, AwardPackage
from app.models.outbox import OutboxJob
from app.models.round import Round
from app.storage import sha256, storage
from reports.letters import OFFICE_NAME, PROGRAM_NAME, default_environment, html_to_pdf

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


def score_table(rnd: Round, application_ids: Iterable[int] | None = None) -> dict[int, Scores]:
    """Rank, raw and calibrated score, percentile, disagreement and the reviews' overall scores
    of each ranked application (of the given ones), from the ranking service."""
    from app.services.decisions import _ranked

    wanted = set(application_ids) if application_ids is not None else None
    return {
        row.application_id: Scores(
            row.rank or position,
            _float(row.raw),
            _float(row.calibrated),
            _float(row.percentile),
            bool(row.disagreement),
            tuple(int(s) for s in row.overall_scores),
        )
        for position, row in enumerate(_ranked(rnd), start=1)
        if wanted is None or row.application_id in wanted
    }


def _float(value: Any) -> float | None:
    return None if value is None else round(float(value), 4)


def _score_text(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


# Loading ----------------------------------------------------------------------------------------


def award_ids(round_id: int) -> list[int]:
    """Every award of the round, in award-number order."""
    return list(
        db.session.scalars(
            select(Award.id).where(Award.round_id == round_id).order_by(Award.number, Award.id)
        )
    )


def load_awards(ids: list[int]) -> list[Award]:
    """The awards with everything a letter, a summary and the CSVs show, in a fixed number of
    queries, in the order of `ids`."""
    if not ids:
        return []
    rows = db.session.scalars(
        select(Award)
        .where(Award.id.in_(ids))
        .options(
            joinedload(Award.application).options(
                selectinload(Application.priority_area_rows),
                selectinload(Application.partners),
                selectinload(Application.budget_lines),
                selectinload(Application.milestones),
                selectinload(Application.impact_targets),
            ),
            joinedload(Award.organization),
            joinedload(Award.round),
            joinedload(Award.offered_by),
            selectinload(Award.letters),
        )
    ).unique()
    by_id = {award.id: award for award in rows}
    return [by_id[i] for i in ids if i in by_id]


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


def _hash_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def ensure_letter(award: Award) -> AwardLetter:
    """The award's latest letter, rendered first if it has none. Two workers rendering the same
    missing letter at once: the second insert fails on the version's unique key, and the letter
    the first one stored is used."""
    from app.services.awards import render_letter

    if award.latest_letter is not None:
        return award.latest_letter
    try:
        with db.session.begin_nested():
            return render_letter(award)
    except IntegrityError:
        db.session.refresh(award, ["letters"])
        if award.latest_letter is None:
            raise
        return award.latest_letter


def read_letter(award: Award, letter: AwardLetter) -> bytes:
    """The stored letter's bytes, checked against the checksum recorded when it was made."""
    label = f"the stored letter of award {award.number} (version {letter.version_no})"
    try:
        data = storage().read(letter.storage_key)
    except OSError as exc:
        raise PackageError(f"{label} cannot be read ({type(exc).__name__})") from exc
    if sha256(data) != letter.sha256:
        raise PackageError(f"{label} does not match its recorded SHA-256")
    return data


def _csv_text(value: str) -> str:
    """A text cell that a spreadsheet will not run as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _csv_bytes(columns: tuple[str, ...], rows: list[dict[str, str]]) -> bytes:
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


def prepare_part(ids: list[int], scores: dict[str, Any], previous: dict[str, Any]) -> dict:
    """Render the missing letters and the application summaries of some awards; store each
    summary and return what was made, keyed by award id, so the build can take it. Summaries
    still stored from an earlier run of the same part are kept when their HTML is unchanged."""
    st = storage()
    prepared: dict[str, Any] = {}
    for award in load_awards(ids):
        ensure_letter(award)
        table = Scores.from_json(scores.get(str(award.application_id)) or {})
        html = summary_html(award, table)
        digest = _hash_text(html)
        earlier = previous.get(str(award.id))
        if earlier and earlier.get("html") == digest and st.exists(earlier["key"]):
            prepared[str(award.id)] = earlier
            continue
        pdf = html_to_pdf(html)
        key = st.save(pdf, prefix=f"packages/parts/{award.round_id}", suffix=".pdf")
        prepared[str(award.id)] = {"html": digest, "key": key, "sha256": sha256(pdf)}
    return prepared


def _part_rows(package_id: int) -> list[OutboxJob]:
    return list(
        db.session.scalars(
            select(OutboxJob)
            .where(
                OutboxJob.name == PART_JOB,
                OutboxJob.entity_type == "award_package",
                OutboxJob.entity_id == package_id,
            )
            .order_by(OutboxJob.id)
        )
    )


def wait_for_parts(
    package_id: int, progress: Callable[[int, str], None], span: tuple[int, int]
) -> dict[str, Any]:
    """Wait while the package's parts run elsewhere, then return what the finished ones
    prepared. A part that fails, or waits with no part finishing for the stall limit (its
    worker died, say), is not waited for: the build renders its awards itself."""
    stall = float(current_app.config.get("PACKAGE_PART_STALL_SECONDS", 60))
    poll = float(current_app.config.get("PACKAGE_PART_POLL_SECONDS", 0.2))
    last_done, last_change = -1, time.monotonic()
    while True:
        db.session.commit()  # end the snapshot: see what other workers committed
        parts = _part_rows(package_id)
        if not parts:
            return {}
        done = sum(1 for p in parts if p.status == "done")
        waiting = sum(1 for p in parts if p.status in WAITING_STATES)
        if done != last_done:
            last_done, last_change = done, time.monotonic()
            low, high = span
            progress(
                low + (high - low) * done // len(parts),
                f"Rendering letters and summaries: {done} of {len(parts)} parts done",
            )
        if not waiting:
            break
        if time.monotonic() - last_change > stall:
            log.warning("package %d: %d part(s) stalled; rendering them here", package_id, waiting)
            break
        time.sleep(poll)
    prepared: dict[str, Any] = {}
    for part in parts:
        if part.status == "done":
            prepared.update((part.payload or {}).get("prepared") or {})
    return prepared


def _prepared_summary(entry: dict[str, Any] | None, digest: str) -> bytes | None:
    if not entry or entry.get("html") != digest:
        return None
    try:
        data = storage().read(entry["key"])
    except (OSError, ValueError):
        return None
    return data if sha256(data) == entry.get("sha256") else None


# The build --------------------------------------------------------------------------------------


def build(package_id: int, progress: Callable[[int, str], None]) -> bytes:
    """Assemble the package's ZIP (waiting for its parts first) and store it; return its bytes.

    Idempotent: the same data gives the same bytes, and a package already stored with those
    bytes is not stored again."""
    package = db.session.get(AwardPackage, package_id)
    if package is None:
        raise PackageError(f"award package {package_id} no longer exists")
    round_id = package.round_id
    progress(2, "Listing the round's awards")
    has_parts = bool(_part_rows(package_id))
    prepared = wait_for_parts(package_id, progress, (2, 60)) if has_parts else {}
    low = 60 if has_parts else 2
    rnd = db.session.get(Round, round_id)
    assert rnd is not None
    ids = award_ids(round_id)
    files: dict[str, bytes] = {}
    award_rows: list[dict[str, str]] = []
    score_rows: list[dict[str, str]] = []
    table = score_table(rnd)
    done = 0
    for chunk in chunks(ids, CHUNK):
        for award in load_awards(chunk):
            scores = table.get(award.application_id, NO_SCORES)
            files[letter_path(award)] = read_letter(award, ensure_letter(award))
            html = summary_html(award, scores)
            pdf = _prepared_summary(prepared.get(str(award.id)), _hash_text(html))
            files[summary_path(award)] = pdf if pdf is not None else html_to_pdf(html)
            award_rows.append(awards_row(award, scores))
            score_rows.append(scores_row(award, scores))
        done += len(chunk)
        progress(
            low + (95 - low) * done // max(len(ids), 1),
            f"Assembling: {done} of {len(ids)} awards",
        )
    files["awards.csv"] = _csv_bytes(AWARDS_CSV_COLUMNS, award_rows)
    files["scores.csv"] = _csv_bytes(SCORES_CSV_COLUMNS, score_rows)
    rnd = db.session.get(Round, round_id)
    assert rnd is not None
    files["manifest.json"] = manifest_bytes(rnd, files, len(ids))
    progress(96, "Writing the ZIP")
    data = zip_bytes(files)
    _store(package_id, data, len(files))
    _clean_parts(package_id, prepared)
    return data


def _store(package_id: int, data: bytes, file_count: int) -> None:
    st = storage()
    package = db.session.get(AwardPackage, package_id)
    assert package is not None
    digest = sha256(data)
    old = package.storage_key
    if old and package.sha256 == digest and st.exists(old):
        return  # built before with the same bytes (a second run of the job)
    package.storage_key = st.save(data, prefix=f"packages/{package.round_id}", suffix=".zip")
    package.sha256 = digest
    package.size_bytes = len(data)
    package.file_count = file_count
    db.session.commit()
    if old and old != package.storage_key:
        st.delete(old)


def _clean_parts(package_id: int, prepared: dict[str, Any]) -> None:
    """The parts' summaries were only a way to share the work: remove them once the package is
    stored (a later run renders what it cannot find)."""
    st = storage()
    for entry in prepared.values():
        try:
            st.delete(entry["key"])
        except (OSError, ValueError):  # pragma: no cover - best effort
            log.warning("package %d: could not remove %s", package_id, entry.get("key"))


def package_filename(package: AwardPackage) -> str:
    return f"award-package-round-{package.round_id}-{package.id}.zip"
