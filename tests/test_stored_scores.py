"""Stored scores (app.services.scores): written as reviews move, ranked per scores version.

The stored rows are what pages and decisions read; `ranking.round_scores` computes the same from
every review from scratch. After any sequence of submissions, reopenings, recusals and
resubmissions, the two must agree to the last digit and the ranking must be of the latest
version: a reopened or resubmitted review never leaves a stale rank behind.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from app.clock import utcnow
from app.extensions import db
from app.jobs import commit, dispatch
from app.models.application import Application
from app.models.review import Review
from app.models.round import Round
from app.models.scores import ApplicationScore, RankingEntry, RoundRanking
from app.models.user import User
from app.outbox import take_pending_ids
from app.rules import ranking
from app.rules.decisions import rank_of
from app.services import scores
from app.services.review_assignment import add_reviewer
from app.services.reviews import declare, save_draft
from tests.decision_helpers import scored_round
from tests.factories import Factory, SignIn, wait_for_jobs
from workflows import TransitionRefused, available, fire

K = 1000
_n = iter(range(1, 1_000_000))


def _entries(review: Review, overall: int) -> dict[str, Any]:
    marks = iter((overall, max(1, overall - 1), min(9, overall + 1)))
    out: dict[str, Any] = {}
    for c in review.application.round.criteria:
        if c.kind == "scored":
            out[str(c.id)] = {"score": next(marks)}
        elif c.kind == "sufficiency":
            out[str(c.id)] = {"sufficient": overall < 5, "explanation": "Checked."}
    return out


def submit(review: Review, overall: int, *, run_jobs: bool = True) -> list[int]:
    """Draft and submit the review, commit; its jobs run unless `run_jobs` is False (then
    their outbox ids are returned, for `dispatch`)."""
    declare(review, True, True, utcnow())
    save_draft(
        review,
        {"criterion_scores": _entries(review, overall), "overall_score": overall, "confidence": 2},
        review.version,
    )
    fire(review, "submit", review.reviewer)
    if run_jobs:
        commit()
        return []
    held = take_pending_ids()
    db.session.commit()
    return held


def small_round(make: Factory, officer: User, applications: int, reviewers: int) -> list[Review]:
    """A round in review where every reviewer is on every application (no review started)."""
    rnd = make.round(officer=officer)
    people = []
    for _ in range(reviewers):
        n = next(_n)
        people.append(make.reviewer(email=f"s{n}@panel{n}.org", name=f"Reviewer {n}"))
    reviews = []
    for _ in range(applications):
        application = make.application(rnd, submit=True)
        fire(application, "mark_eligible", officer, comment="Eligible.")
        reviews.extend(add_reviewer(application, person, None) for person in people)
    commit()
    return reviews


def assert_stored_equals_recomputed(rnd: Round) -> None:
    wait_for_jobs()
    db.session.expire_all()
    status = db.session.get(RoundRanking, rnd.id)
    if status is not None:
        assert status.ranked_version == status.scores_version, "a stale ranking was left"
    fresh = ranking.round_scores(rnd)
    stored = ranking.stored_round_scores(rnd)
    assert [r.application_id for r in stored.rows] == [r.application_id for r in fresh.rows]
    for got, want in zip(stored.rows, fresh.rows, strict=True):
        for name in (
            "overall_scores",
            "raw",
            "nih",
            "criterion_score",
            "aggregates",
            "calibrated",
            "percentile",
            "rank",
            "spread",
            "stdev",
            "disagreement",
            "state",
        ):
            assert getattr(got, name) == getattr(want, name), (name, got.application_id)
    assert stored.offsets == fresh.offsets


# One step: (kind, review index, overall score). A step that the lifecycle refuses in the
# review's current state (reopening an open review, say) is skipped, as a person would be
# refused; the stored scores must still agree afterwards.
STEP = st.tuples(
    st.sampled_from(("submit", "reopen", "recuse", "resubmit")),
    st.integers(0, 5),
    st.integers(1, 9),
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(STEP, min_size=1, max_size=9))
def test_stored_scores_equal_a_recomputation_after_any_sequence(
    make: Factory, steps: list[tuple[str, int, int]]
) -> None:
    officer = make.officer()
    reviews = small_round(make, officer, applications=3, reviewers=2)
    rnd = reviews[0].application.round
    for kind, index, overall in steps:
        review = reviews[index % len(reviews)]
        db.session.refresh(review)
        try:
            if kind == "submit" and review.state in ("assigned", "in_progress"):
                submit(review, overall)
            elif kind == "reopen" and review.state == "submitted":
                fire(review, "reopen", officer, comment="Look again.")
                commit()
            elif kind == "recuse" and review.state in ("assigned", "in_progress"):
                fire(review, "recuse", officer, comment="A conflict came to light.")
                commit()
            elif kind == "resubmit" and review.state == "submitted":
                fire(review, "reopen", officer, comment="Look again.")
                commit()
                db.session.refresh(review)
                submit(review, overall)
        except TransitionRefused:
            db.session.rollback()  # e.g. reopening once the application is decided
        wait_for_jobs()
    assert_stored_equals_recomputed(rnd)


def test_a_submission_writes_the_score_row_in_its_own_transaction(make: Factory) -> None:
    """The application's scores are stored with the submission, even if the ranking job has not
    run yet; the page then shows the ranking of the version before, marked as being updated."""
    officer = make.officer()
    first, second = small_round(make, officer, applications=1, reviewers=2)
    rnd = first.application.round
    submit(first, 2)
    wait_for_jobs()
    assert rank_of(first.application) == 1
    ranked_before = db.session.get(RoundRanking, rnd.id).ranked_version

    held = submit(second, 6, run_jobs=False)  # committed; its ranking job not run yet
    db.session.expire_all()
    row = db.session.get(ApplicationScore, first.application_id)
    assert (row.n_reviews, row.overall_scores, row.raw, row.nih) == (2, [2, 6], 4.0, 40)
    status = db.session.get(RoundRanking, rnd.id)
    assert status.updating and status.ranked_version == ranked_before
    page = ranking.ranking_page(rnd, ranking.RankingFilters())
    assert page.updating and page.version == ranked_before
    dispatch(held)  # the job runs: the ranking catches up
    wait_for_jobs()
    db.session.expire_all()
    assert not db.session.get(RoundRanking, rnd.id).updating
    assert_stored_equals_recomputed(rnd)


def test_the_ranking_page_says_when_it_is_being_updated(
    make: Factory, login: SignIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    officer = make.officer()
    rnd, (a, _b) = scored_round(make, officer, [100 * K, 100 * K], scores=[2, 4])
    client = login(officer)
    html = client.get(f"/officer/rounds/{rnd.id}/ranking").get_data(as_text=True)
    assert "Ranking being updated" not in html
    db.session.execute(
        update(RoundRanking)
        .where(RoundRanking.round_id == rnd.id)
        .values(scores_version=RoundRanking.scores_version + 1)
    )
    commit()
    html = client.get(f"/officer/rounds/{rnd.id}/ranking").get_data(as_text=True)
    status = db.session.get(RoundRanking, rnd.id)
    assert "Ranking being updated" in html
    assert f"this page shows version {status.ranked_version}" in html
    detail = client.get(f"/officer/applications/{a.id}").get_data(as_text=True)
    assert "The ranking is being updated" in detail
    line = client.get(f"/officer/rounds/{rnd.id}/decisions").get_data(as_text=True)
    assert "Ranking being updated" in line
    assert f"the line below is version {status.ranked_version}" in line


def _decision_form(client: Any, rnd: Round) -> str:
    html = client.get(f"/officer/rounds/{rnd.id}/decisions").get_data(as_text=True)
    (version,) = set(re.findall(r'name="ranking_version" value="(\d+)"', html))
    return version


def test_a_decision_on_an_outdated_ranking_is_refused_with_its_reason(
    make: Factory, login: SignIn
) -> None:
    """The officer draws the funding line, a review is reopened and resubmitted meanwhile (a new
    ranking is committed): the award posted from the old page is refused, nothing is awarded,
    and the reason says what changed; from a fresh page it goes through."""
    officer = make.officer()
    rnd, (a, _b) = scored_round(make, officer, [100 * K, 100 * K], scores=[2, 4])
    client = login(officer)
    shown = _decision_form(client, rnd)
    scores.rebuild_round(rnd)  # what a reopened and resubmitted review does to the version
    commit()
    response = client.post(
        f"/officer/rounds/{rnd.id}/decisions/{a.id}",
        data={"trigger": "award", "ranking_version": shown, "justification": ""},
    )
    assert response.status_code == 409
    text = response.get_data(as_text=True)
    now = db.session.get(RoundRanking, rnd.id).ranked_version
    assert f"the ranking changed since the page was drawn (version {shown} shown, {now} now)" in (
        text
    )
    db.session.expire_all()
    assert db.session.get(Application, a.id).state == "scored"

    fresh = _decision_form(client, rnd)
    assert fresh == str(now)
    response = client.post(
        f"/officer/rounds/{rnd.id}/decisions/{a.id}",
        data={"trigger": "award", "ranking_version": fresh, "justification": ""},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Application, a.id).state == "awarded"


@pytest.mark.parametrize("trigger", ["award", "waitlist", "decline"])
def test_every_decision_checks_the_ranking_version_it_was_made_on(
    make: Factory, trigger: str
) -> None:
    officer = make.officer()
    rnd, (a,) = scored_round(make, officer, [100 * K])
    old = db.session.get(RoundRanking, rnd.id).ranked_version
    scores.rebuild_round(rnd)
    commit()
    with pytest.raises(TransitionRefused) as refused:
        fire(a, trigger, officer, comment="Decided.", data={"ranking_version": old})
    assert any("the ranking changed since the page was drawn" in r for r in refused.value.reasons)
    db.session.rollback()
    fire(a, trigger, officer, comment="Decided.", data={"ranking_version": old + 1})
    commit()
    assert a.state == {"award": "awarded", "waitlist": "waitlisted", "decline": "declined"}[trigger]


def test_the_application_page_posts_the_ranking_it_showed(make: Factory, login: SignIn) -> None:
    officer = make.officer()
    rnd, (_a, b) = scored_round(make, officer, [100 * K, 100 * K], scores=[2, 4])
    client = login(officer)
    html = client.get(f"/officer/applications/{b.id}").get_data(as_text=True)
    assert "Ranked <strong>2</strong> of 2" in html
    (shown,) = set(re.findall(r'name="ranking_version" value="(\d+)"', html))
    scores.rebuild_round(rnd)
    commit()
    response = client.post(
        f"/officer/applications/{b.id}/transition",
        data={"trigger": "waitlist", "ranking_version": shown, "comment": "Wait."},
        follow_redirects=True,
    )
    assert "the ranking changed since the page was drawn" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Application, b.id).state == "scored"


def test_the_ranking_job_is_idempotent_and_never_goes_back_a_version(make: Factory) -> None:
    officer = make.officer()
    rnd, apps = scored_round(make, officer, [100 * K] * 3, scores=[3, 1, 2])
    status = db.session.get(RoundRanking, rnd.id)
    version = status.ranked_version
    entries = lambda: db.session.execute(  # noqa: E731
        select(RankingEntry.application_id, RankingEntry.rank)
        .where(RankingEntry.round_id == rnd.id, RankingEntry.version == version)
        .order_by(RankingEntry.rank)
    ).all()
    before = entries()
    assert [aid for aid, _ in before] == [apps[1].id, apps[2].id, apps[0].id]
    assert scores.rank(rnd.id) == version  # run again: the same version, the same rows
    commit()
    assert entries() == before
    # A job for an older version arriving late changes nothing.
    db.session.execute(
        update(RoundRanking).where(RoundRanking.round_id == rnd.id).values(scores_version=1)
    )
    assert scores.rank(rnd.id) == version
    db.session.rollback()


def test_withdrawing_a_ranked_application_takes_it_out_of_the_ranking(make: Factory) -> None:
    officer = make.officer()
    reviews = small_round(make, officer, applications=2, reviewers=1)
    submit(reviews[0], 3)
    wait_for_jobs()
    application = reviews[1].application
    submit(reviews[1], 5)
    wait_for_jobs()
    db.session.refresh(application)
    assert rank_of(application) == 2
    # Reopen so the application is back in review, then the applicant withdraws it.
    fire(reviews[1], "reopen", officer, comment="Look again.")
    commit()
    db.session.refresh(application)
    fire(application, "withdraw", application.created_by, comment="We withdraw.")
    commit()
    wait_for_jobs()
    db.session.expire_all()
    rnd = db.session.get(Round, application.round_id)
    assert [r.application_id for r in ranking.rank_round(rnd)] == [reviews[0].application_id]
    assert_stored_equals_recomputed(rnd)


def _guards_queries(
    count_queries: Callable[[], Any], application: Application, officer: User
) -> int:
    db.session.expire_all()
    application = db.session.get(Application, application.id)
    application.round  # noqa: B018  (loaded before counting: the page has it already)
    with count_queries() as q:
        options = available(application, officer)
    assert {o.transition.trigger for o in options} >= {"award", "waitlist", "decline"}
    return q.count


def test_the_decision_guards_cost_the_same_few_queries_in_any_round(
    make: Factory, count_queries: Callable[[], Any]
) -> None:
    """available() for one application reads the committed ranking with a fixed number of
    queries (each guard's question asked once: app.memo), whatever the size of the round."""
    officer = make.officer()
    _small, (s,) = scored_round(make, officer, [100 * K])
    _large, rows = scored_round(make, officer, [100 * K] * 12, budget=10_000 * K)
    fire(rows[0], "award", officer, comment="Funded.")
    fire(rows[1], "decline", officer, comment="Declined.")
    commit()
    few = _guards_queries(count_queries, s, officer)
    many = _guards_queries(count_queries, rows[5], officer)
    assert few <= many <= 8, (few, many)
    assert _guards_queries(count_queries, rows[6], officer) == many


def test_decisions_use_the_stored_rank_order(make: Factory) -> None:
    """Passing over a better-ranked application still needs a justification, read from the
    stored ranking: its reason counts the applications between."""
    officer = make.officer()
    _rnd, (best, middle, worst) = scored_round(
        make, officer, [100 * K] * 3, scores=[1, 2, 3], budget=Decimal(1_000 * K)
    )
    fire(best, "decline", officer, comment="Out of scope after all.")
    fire(middle, "waitlist", officer)
    commit()
    with pytest.raises(TransitionRefused) as refused:
        fire(worst, "award", officer, comment="")
    assert any("over 2 better-ranked application(s)" in r for r in refused.value.reasons)


def test_a_decided_or_scored_application_page_offers_no_reviewer_changes(
    make: Factory, login: SignIn, count_queries: Callable[[], Any]
) -> None:
    """While reviewers may be assigned, the page offers the pool's candidates (add and swap);
    once scored, nobody can be added or swapped, and the page does not work out candidates."""
    officer = make.officer()
    first, second = small_round(make, officer, applications=1, reviewers=2)
    application = first.application
    client = login(officer)
    open_page = client.get(f"/officer/applications/{application.id}").get_data(as_text=True)
    assert "Add a reviewer" in open_page and "Swap " in open_page
    submit(first, 3)
    submit(second, 4)
    wait_for_jobs()
    db.session.refresh(application)
    assert application.state == "scored"
    with count_queries() as q:
        scored_page = client.get(f"/officer/applications/{application.id}").get_data(as_text=True)
    assert "Add a reviewer" not in scored_page and "Swap " not in scored_page
    assert not any("reviewer_profiles" in s for s in q.statements)
