"""Award packages: gathering a round's awards, letters and scores, and the jobs' orchestration.

`reports/package.py` turns what this module gathers into the package's files and its ZIP (data
in, bytes out); this module runs the queries, renders and stores letters, shares the work between
the parts' jobs and stores the result. See `reports/package.py` for what the package holds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from app.extensions import db
from app.models.application import Application
from app.models.award import Award, AwardLetter, AwardPackage
from app.models.outbox import OutboxJob
from app.models.round import Round
from app.outbox import enqueue_effect
from app.rules.decisions import ranked_rows
from app.services.awards import render_letter
from app.storage import sha256, storage
from reports.letters import html_to_pdf
from reports.package import (
    AWARDS_CSV_COLUMNS,
    BUILD_JOB,
    CHUNK,
    NO_SCORES,
    PART_JOB,
    SCORES_CSV_COLUMNS,
    WAITING_STATES,
    PackageError,
    Scores,
    awards_row,
    chunks,
    csv_bytes,
    letter_path,
    manifest_bytes,
    score_float,
    scores_row,
    summary_html,
    summary_path,
    text_digest,
    zip_bytes,
)

log = logging.getLogger(__name__)


def score_table(rnd: Round, application_ids: Iterable[int] | None = None) -> dict[int, Scores]:
    """Rank, raw and calibrated score, percentile, disagreement and the reviews' overall scores
    of each ranked application (of the given ones), from the ranking service."""
    wanted = set(application_ids) if application_ids is not None else None
    return {
        row.application_id: Scores(
            row.rank or position,
            score_float(row.raw),
            score_float(row.calibrated),
            score_float(row.percentile),
            bool(row.disagreement),
            tuple(int(s) for s in row.overall_scores),
        )
        for position, row in enumerate(ranked_rows(rnd), start=1)
        if wanted is None or row.application_id in wanted
    }


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


def ensure_letter(award: Award) -> AwardLetter:
    """The award's latest letter, rendered first if it has none. Two workers rendering the same
    missing letter at once: the second insert fails on the version's unique key, and the letter
    the first one stored is used."""
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
        digest = text_digest(html)
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
            pdf = _prepared_summary(prepared.get(str(award.id)), text_digest(html))
            files[summary_path(award)] = pdf if pdf is not None else html_to_pdf(html)
            award_rows.append(awards_row(award, scores))
            score_rows.append(scores_row(award, scores))
        done += len(chunk)
        progress(
            low + (95 - low) * done // max(len(ids), 1),
            f"Assembling: {done} of {len(ids)} awards",
        )
    files["awards.csv"] = csv_bytes(AWARDS_CSV_COLUMNS, award_rows)
    files["scores.csv"] = csv_bytes(SCORES_CSV_COLUMNS, score_rows)
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


def request_package(rnd: Round, actor: Any) -> Any:
    """Ask for the round's award package: its record, and the jobs that build it.

    With more awards than one part holds, the letters and summaries are first prepared in parts
    (jobs `prepare_package_part`, queued before the build so workers take them first and run
    them side by side); `build_award_package` then assembles the ZIP."""
    package = AwardPackage(round_id=rnd.id, requested_by_id=actor.id)
    db.session.add(package)
    db.session.flush()
    ids = award_ids(rnd.id)
    size = int(current_app.config.get("PACKAGE_PART_SIZE", 25))
    if len(ids) > size:
        application_of = dict(
            db.session.execute(
                select(Award.id, Award.application_id).where(Award.round_id == rnd.id)
            ).all()
        )
        table = score_table(rnd, application_of.values())
        for n, part in enumerate(chunks(ids, size), start=1):
            scores = {
                str(application_of[i]): table[application_of[i]].as_json()
                for i in part
                if application_of[i] in table
            }
            enqueue_effect(
                PART_JOB,
                "award_package",
                package.id,
                payload={"part": n, "award_ids": part, "scores": scores},
            )
    row = enqueue_effect(BUILD_JOB, "award_package", package.id)
    package.job_id = row.id
    db.session.flush()
    return package
