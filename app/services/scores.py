"""Keeping the stored scores true: written as reviews move, ranked by a job per scores version.

- Every review transition that can change an application's scores (submit, reopen, recuse) and
  a withdrawal (which takes an application out of the ranking) rewrite that application's
  `ApplicationScore` row in their own transaction, bump the round's scores version and leave a
  `rank_round` job in the outbox.
- The job (`rank`) reads the round's scores version, then every submitted review, calibrates,
  ranks and writes the `RankingEntry` and `ReviewerOffset` rows of that version, and marks it the
  committed one unless a newer version is committed already. Reading the version before the
  reviews means a ranking is never labelled newer than the reviews it was made from; a change
  after the read has bumped the version again and left its own job.
- `rebuild_round` does all of it at once, for data loaded in bulk without the engine (the demo,
  the benchmarks, fixtures) and after an upgrade (`flask scores rebuild`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select, update

from app.clock import utcnow
from app.extensions import db
from app.models.application import Application
from app.models.review import Review
from app.models.round import Round
from app.models.scores import ApplicationScore, RankingEntry, ReviewerOffset, RoundRanking
from app.outbox import enqueue_effect
from app.rules.ranking import (
    RANKED_STATES,
    OwnScores,
    ScoreCalculator,
    place,
    round_criteria,
    submitted_reviews,
)
from workflows.engine import follows

RANK_JOB = "rank_round"


def _values(application_id: int, round_id: int, own: OwnScores) -> dict[str, Any]:
    return {
        "application_id": application_id,
        "round_id": round_id,
        "n_reviews": len(own.overall_scores),
        "overall_scores": list(own.overall_scores),
        "raw": own.raw,
        "nih": own.nih,
        "criterion_score": own.criterion_score,
        "aggregates": {str(cid): value for cid, value in own.aggregates.items()},
        "spread": own.spread,
        "stdev": own.stdev,
        "disagreement": own.disagreement,
        "updated_at": utcnow(),
    }


def refresh_application(application: Application) -> None:
    """Rewrite the application's score row from its submitted reviews (none: no row).

    The application row is locked first (FOR NO KEY UPDATE on PostgreSQL), so two reviewers
    submitting at once are counted one after the other, each seeing the other's review."""
    db.session.execute(
        select(Application.id)
        .where(Application.id == application.id)
        .with_for_update(key_share=True)
    )
    db.session.flush()
    reviews = submitted_reviews(application.round_id, application.id)
    own = ScoreCalculator(round_criteria(application.round_id)).own_scores(
        [(overall, entries) for _, _, overall, entries in reviews]
    )
    db.session.execute(
        delete(ApplicationScore).where(ApplicationScore.application_id == application.id)
    )
    if own is not None:
        db.session.execute(
            insert(ApplicationScore).values(**_values(application.id, application.round_id, own))
        )


def bump_version(round_id: int) -> int:
    """The round's next scores version (the UPDATE holds the row lock until commit)."""
    bumped = db.session.execute(
        update(RoundRanking)
        .where(RoundRanking.round_id == round_id)
        .values(scores_version=RoundRanking.scores_version + 1)
        .returning(RoundRanking.scores_version)
    ).scalar_one_or_none()
    if bumped is None:
        db.session.execute(insert(RoundRanking).values(round_id=round_id, scores_version=1))
        bumped = 1
    return bumped


def scores_changed(application: Application) -> int:
    """The application's scores may have changed: store them, and rank the round again."""
    refresh_application(application)
    version = bump_version(application.round_id)
    enqueue_effect(RANK_JOB, "round", application.round_id, payload={"version": version})
    return version


@follows("review", "submit")
@follows("review", "reopen")
@follows("review", "recuse")
def review_moved(review: Review, ctx: Any) -> None:
    scores_changed(review.application)


@follows("application", "withdraw")
def application_withdrawn(application: Application, ctx: Any) -> None:
    """A withdrawn application leaves the ranking (if it had a place in it)."""
    if db.session.get(ApplicationScore, application.id) is not None:
        bump_version(application.round_id)
        enqueue_effect(RANK_JOB, "round", application.round_id)


def rank(round_id: int) -> int:
    """Rank the round at its current scores version (the `rank_round` job); the version whose
    ranking is committed afterwards. Running it twice, or after a newer version, changes
    nothing."""
    versions = db.session.execute(
        select(RoundRanking.scores_version, RoundRanking.ranked_version).where(
            RoundRanking.round_id == round_id
        )
    ).one_or_none()
    if versions is None:
        return 0
    version, done = versions
    if done >= version:  # a job after a later change got here first
        return done
    reviews = submitted_reviews(round_id, entries=False)
    own = {}
    for application_id, overall, raw, stdev in db.session.connection().execute(
        select(
            ApplicationScore.application_id,
            ApplicationScore.overall_scores,
            ApplicationScore.raw,
            ApplicationScore.stdev,
        ).where(ApplicationScore.round_id == round_id)
    ):
        # What ranking needs of each application's own scores: the rest stays in its row.
        own[application_id] = OwnScores(
            overall_scores=tuple(overall),
            raw=float(raw or 0.0),
            nih=0,
            criterion_score=None,
            aggregates={},
            spread=0.0,
            stdev=stdev,
            disagreement=False,
        )
    ranked_ids = db.session.scalars(
        select(Application.id).where(
            Application.round_id == round_id, Application.state.in_(RANKED_STATES)
        )
    ).all()
    placings = place(reviews, own, ranked_ids)
    status = db.session.execute(
        select(RoundRanking).where(RoundRanking.round_id == round_id).with_for_update()
    ).scalar_one()
    if status.ranked_version >= version:
        return status.ranked_version
    db.session.execute(
        delete(RankingEntry).where(
            RankingEntry.round_id == round_id, RankingEntry.version == version
        )
    )
    db.session.execute(
        delete(ReviewerOffset).where(
            ReviewerOffset.round_id == round_id, ReviewerOffset.version == version
        )
    )
    if placings.placings:
        db.session.execute(
            insert(RankingEntry.__table__),
            [
                {
                    "round_id": round_id,
                    "version": version,
                    "application_id": aid,
                    "rank": p.rank,
                    "calibrated": p.calibrated,
                    "percentile": p.percentile,
                }
                for aid, p in placings.placings.items()
            ],
        )
    if placings.offsets:
        db.session.execute(
            insert(ReviewerOffset.__table__),
            [
                {
                    "round_id": round_id,
                    "version": version,
                    "reviewer_id": rid,
                    "offset": offset,
                    "reviews": placings.review_counts.get(rid, 0),
                }
                for rid, offset in placings.offsets.items()
            ],
        )
    # The ranking being replaced stays a while for pages reading it now; older ones go.
    for table in (RankingEntry, ReviewerOffset):
        db.session.execute(
            delete(table).where(table.round_id == round_id, table.version < status.ranked_version)
        )
    status.ranked_version = version
    status.ranked_count = len(placings.placings)
    status.ranked_at = utcnow()
    db.session.flush()
    return version


def rebuild_round(rnd: Round) -> int:
    """Store every application's scores of the round from its reviews and rank it, at once."""
    calc = ScoreCalculator(round_criteria(rnd.id))
    by_application: dict[int, list[tuple[int, dict[str, Any]]]] = {}
    for application_id, _, overall, entries in submitted_reviews(rnd.id):
        by_application.setdefault(application_id, []).append((int(overall), entries or {}))
    db.session.execute(delete(ApplicationScore).where(ApplicationScore.round_id == rnd.id))
    rows = []
    for application_id, reviews in by_application.items():
        own = calc.own_scores(reviews)
        if own is not None:
            rows.append(_values(application_id, rnd.id, own))
    if rows:
        db.session.execute(insert(ApplicationScore), rows)
    bump_version(rnd.id)
    return rank(rnd.id)


def rebuild_all() -> dict[int, int]:
    """Rebuild every round's scores: round id → its ranked version."""
    return {rnd.id: rebuild_round(rnd) for rnd in db.session.scalars(select(Round))}
