"""The benchmarks' round generator loads a consistent round on either database (COPY on
PostgreSQL), with its stored scores and ranking, and the app can go on adding rows to it."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models.application import Application
from app.models.review import Review
from app.models.scores import ApplicationScore, RankingEntry, RoundRanking
from app.models.user import User
from bench import data
from tests.factories import Factory


def test_the_generated_round_reads_back_and_takes_new_rows(make: Factory) -> None:
    made = data.generate(data.Sizes(applications=40, reviewers=12))
    db.session.expire_all()

    # 1 % more are only submitted: none at this size.
    assert db.session.scalar(select(func.count()).select_from(Application)) == 40
    assert made.counts["reviews"] == db.session.scalar(select(func.count()).select_from(Review))
    submitted = db.session.scalars(select(Review).where(Review.state == "submitted")).all()
    assert len(submitted) == made.counts["submitted_reviews"] == 40 * 3
    review = submitted[0]
    assert 1 <= review.overall_score <= 9
    assert review.criterion_scores  # the JSON document, read back as a dict
    assert all(isinstance(v, dict) for v in review.criterion_scores.values())
    assert review.submitted_at is not None and review.submitted_at.tzinfo is not None
    application = db.session.get(Application, review.application_id)
    assert application.version == 1 and application.created_at is not None

    # The stored scores and ranking, as the review transitions would have left them.
    assert db.session.scalar(select(func.count()).select_from(ApplicationScore)) == 40
    status = db.session.get(RoundRanking, made.round_id)
    assert status is not None and status.ranked_version == status.scores_version > 0
    ranked = select(func.count()).where(RankingEntry.version == status.ranked_version)
    assert db.session.scalar(ranked.select_from(RankingEntry)) == 40

    # The ids were given explicitly: the sequences must have moved past them.
    newcomer = make.officer()
    db.session.commit()
    assert newcomer.id == db.session.scalar(select(func.max(User.id)))
    assert newcomer.id > made.counts["users"]
