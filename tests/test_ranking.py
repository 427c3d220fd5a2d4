"""Scores and the ranking of a round (app.rules.ranking), its pages and its CSV export.

Rounds are made by hand through the services and the engine: applications submitted and marked
eligible, reviewers added, reviews drafted and submitted. In a round where every reviewer
reviews every application, calibration leaves the raw means unchanged (the reviewer offsets sum
to zero and every application sees all of them), so calibrated scores can be computed by hand.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from app.clock import utcnow
from app.extensions import db
from app.jobs import commit
from app.models.application import Application, ApplicationPriorityArea
from app.models.review import Review
from app.models.round import Round
from app.models.user import User
from app.rules import ranking, scoring
from app.services.review_assignment import add_reviewer
from app.services.reviews import declare, save_draft
from tests.factories import Factory, wait_for_jobs
from workflows import fire


@pytest.fixture
def officer(make: Factory) -> User:
    return make.officer()


_n = iter(range(1, 100_000))


def reviewers(make: Factory, count: int) -> list[User]:
    """Reviewers outside the applicants' email domain (a shared domain is a conflict)."""
    people = []
    for _ in range(count):
        n = next(_n)
        people.append(make.reviewer(email=f"rev{n}@institute{n}.org", name=f"Reviewer {n}"))
    return people


def eligible(
    make: Factory,
    rnd: Round,
    officer: User,
    government_type: str = "city",
    state_code: str = "OH",
    areas: Sequence[str] = ("climate", "education"),
) -> Application:
    organization = make.organization(government_type=government_type, state_code=state_code)
    application = make.application(rnd, make.applicant(organization), submit=True)
    if list(areas) != ["climate", "education"]:
        application.priority_area_rows = [ApplicationPriorityArea(area=a) for a in areas]
    fire(application, "mark_eligible", officer, comment="Eligible.")
    commit()
    return application


Scores = int | tuple[int, tuple[int, int, int]]  # overall, or (overall, three criterion scores)


def score(application: Application, marks: dict[User, Scores]) -> None:
    """Put every reviewer on the application, then each drafts and submits its review."""
    rows = [(add_reviewer(application, person, None), mark) for person, mark in marks.items()]
    commit()
    for review, mark in rows:
        submit(review, mark)


def submit(review: Review, mark: Scores) -> None:
    overall, per_criterion = mark if isinstance(mark, tuple) else (mark, (mark, mark, mark))
    numbers = iter(per_criterion)
    entries: dict[str, Any] = {}
    for c in review.application.round.criteria:
        if c.kind == "scored":
            entries[str(c.id)] = {"score": next(numbers)}
        else:
            entries[str(c.id)] = {"sufficient": overall < 5, "explanation": "Checked."}
    declare(review, True, True, utcnow())
    save_draft(
        review,
        {"criterion_scores": entries, "overall_score": overall, "confidence": 2},
        review.version,
    )
    fire(review, "submit", review.reviewer)
    commit()
    wait_for_jobs()  # under a real worker, the round is ranked a moment after the submission


# --- scores, ranks, percentiles, flags ----------------------------------------------------------


def test_raw_nih_criterion_scores_and_sufficiency(make: Factory, officer: User) -> None:
    rnd = make.round(officer=officer)
    a = eligible(make, rnd, officer)
    r1, r2 = reviewers(make, 2)
    # Default rubric: three criteria scored 1 to 9 weighing 1.5, 1.5 and 1, then a sufficiency.
    score(a, {r1: (2, (2, 4, 6)), r2: (5, (3, 3, 7))})
    (row,) = ranking.rank_round(rnd)
    assert row.application_id == a.id and row.n_reviews == 2
    assert row.overall_scores == (2, 5)
    assert row.raw == pytest.approx(3.5)
    assert row.nih == 35
    ids = [c.id for c in rnd.criteria]
    assert row.criterion_means == {
        ids[0]: pytest.approx(2.5),
        ids[1]: pytest.approx(3.5),
        ids[2]: pytest.approx(6.5),
    }
    # Weighted per review: (1.5·2 + 1.5·4 + 6) / 4 = 3.75, (1.5·3 + 1.5·3 + 7) / 4 = 4; mean 3.875.
    assert row.criterion_score == pytest.approx(3.875)
    assert row.sufficiency == {ids[3]: (1, 2)}  # sufficient when overall < 5
    assert row.spread == 3 and row.disagreement
    assert row.stdev == pytest.approx(2.1213203, abs=1e-6)
    assert row.rank == 1 and row.percentile == pytest.approx(50.0)


def test_calibration_corrects_a_harsh_reviewer_and_sets_the_order(
    make: Factory, officer: User
) -> None:
    """H is harsh, L lenient; they meet on Z only. Each has 2 reviews (divisor 5), so with the
    zero-sum constraint o_H = -o_L = o and 5·o = o + (9 - 1)/2, i.e. o = 1: X (4 from H)
    calibrates to 3, Y (3 from L) to 4, Z (9 and 1) stays 5. Raw order Y, X, Z; calibrated X, Y, Z.
    """
    rnd = make.round(officer=officer)
    x, y, z = (eligible(make, rnd, officer) for _ in range(3))
    harsh, lenient = reviewers(make, 2)
    score(x, {harsh: 4})
    score(y, {lenient: 3})
    score(z, {harsh: 9, lenient: 1})
    rows = ranking.rank_round(rnd)
    assert [r.application_id for r in rows] == [x.id, y.id, z.id]
    got = {r.application_id: r for r in rows}
    assert (got[x.id].raw, got[y.id].raw, got[z.id].raw) == (4, 3, 5)
    assert got[x.id].calibrated == pytest.approx(3.0, abs=1e-8)
    assert got[y.id].calibrated == pytest.approx(4.0, abs=1e-8)
    assert got[z.id].calibrated == pytest.approx(5.0, abs=1e-8)
    # Percentiles within the round: 100 * (rank - 0.5) / 3.
    assert [r.percentile for r in rows] == pytest.approx([100 / 6, 50.0, 500 / 6])
    assert [r.rank for r in rows] == [1, 2, 3]
    assert [r.disagreement for r in rows] == [False, False, True]
    # The same numbers as the scoring service on every submitted review of the round.
    reviews = db.session.scalars(select(Review).where(Review.state == "submitted")).all()
    calibration = scoring.calibrate(
        scoring.ReviewScore(r.reviewer_id, r.application_id, r.overall_score) for r in reviews
    )
    for row in rows:
        assert row.calibrated == pytest.approx(calibration.calibrated[row.application_id])


def test_ties_go_to_lower_disagreement_then_more_best_scores_then_lower_id(
    make: Factory, officer: User
) -> None:
    """Every reviewer reviews every application, so calibrated = raw = 3 for all five."""
    rnd = make.round(officer=officer, reviewers_per_application=3)
    wide = eligible(make, rnd, officer)  # 2, 2, 5: SD √3, no 1s
    mirrored = eligible(make, rnd, officer)  # 4, 4, 1: SD √3, one 1
    some = eligible(make, rnd, officer)  # 2, 3, 4: SD 1
    steady = eligible(make, rnd, officer)  # 3, 3, 3: SD 0
    twin = eligible(make, rnd, officer)  # 3, 3, 3: as steady, a higher id
    r1, r2, r3 = reviewers(make, 3)
    score(wide, {r1: 2, r2: 2, r3: 5})
    score(mirrored, {r1: 4, r2: 4, r3: 1})
    score(some, {r1: 2, r2: 3, r3: 4})
    score(steady, {r1: 3, r2: 3, r3: 3})
    score(twin, {r1: 3, r2: 3, r3: 3})
    rows = ranking.rank_round(rnd)
    assert [r.application_id for r in rows] == [steady.id, twin.id, some.id, mirrored.id, wide.id]
    assert all(r.calibrated == pytest.approx(3.0, abs=1e-8) for r in rows)
    assert [round(r.stdev, 6) for r in rows] == [0, 0, 1, 1.732051, 1.732051]
    assert [r.best_count for r in rows] == [0, 0, 0, 1, 0]
    assert [r.disagreement for r in rows] == [False, False, False, True, True]
    # All tied on the calibrated score: they share the mean rank 3, percentile 100 * 2.5 / 5.
    assert [r.percentile for r in rows] == pytest.approx([50.0] * 5)
    assert [r.rank for r in rows] == [1, 2, 3, 4, 5]


def test_the_disagreement_flag_at_its_thresholds(make: Factory, officer: User) -> None:
    rnd = make.round(officer=officer)
    close, apart, single = (eligible(make, rnd, officer) for _ in range(3))
    r1, r2 = reviewers(make, 2)
    score(close, {r1: 2, r2: 4})  # spread 2, SD 1.41: no flag
    score(apart, {r1: 2, r2: 5})  # spread 3: flagged
    score(single, {r1: 7})  # one review cannot disagree
    got = {r.application_id: r for r in ranking.rank_round(rnd)}
    assert (got[close.id].spread, got[close.id].disagreement) == (2, False)
    assert got[close.id].stdev == pytest.approx(2**0.5)
    assert (got[apart.id].spread, got[apart.id].disagreement) == (3, True)
    assert (got[single.id].spread, got[single.id].stdev, got[single.id].disagreement) == (
        0,
        0,
        False,
    )
    assert got[apart.id].flags[0].startswith("Disagreement (spread 3, SD 2.12)")


def test_which_applications_are_ranked(make: Factory, officer: User, wait_for_jobs: Any) -> None:
    """Scored ones, and those in review with at least one submitted review."""
    rnd = make.round(officer=officer)
    done, partial_, waiting, other_round = (
        eligible(make, rnd, officer),
        eligible(make, rnd, officer),
        eligible(make, rnd, officer),
        eligible(make, make.round(officer=officer), officer),
    )
    r1, r2 = reviewers(make, 2)
    score(done, {r1: 3, r2: 4})
    score(other_round, {r1: 1})
    first = add_reviewer(partial_, r1, None)
    add_reviewer(partial_, r2, None)
    add_reviewer(waiting, r1, None)
    commit()
    submit(first, 6)
    wait_for_jobs()
    db.session.expire_all()
    assert (done.state, partial_.state, waiting.state) == ("scored", "in_review", "in_review")
    ranked = [r.application_id for r in ranking.rank_round(rnd)]
    assert ranked == [done.id, partial_.id]
    flags = {r.application_id: r.flags for r in ranking.rank_round(rnd)}
    assert flags[partial_.id] == ["Review still open"]


# --- the page, the CSV, filters and access -------------------------------------------------------


def references_on(html: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="/officer/applications/\d+">([^<]+)</a>', html)


@pytest.fixture
def ranked_round(make: Factory, officer: User) -> dict[str, Any]:
    rnd = make.round(officer=officer)
    texas_county = eligible(
        make, rnd, officer, government_type="county", state_code="TX", areas=("trade",)
    )
    ohio_city = eligible(make, rnd, officer)
    vermont = eligible(
        make, rnd, officer, government_type="state", state_code="VT", areas=("climate", "health")
    )
    r1, r2 = reviewers(make, 2)
    score(texas_county, {r1: (3, (3, 4, 5)), r2: (4, (4, 4, 4))})
    score(ohio_city, {r1: (2, (2, 2, 2)), r2: (2, (1, 2, 3))})
    score(vermont, {r1: (6, (6, 6, 6)), r2: (2, (2, 2, 2))})
    return {"round": rnd, "order": [ohio_city, texas_county, vermont]}


def test_the_ranking_page_lists_every_score_in_rank_order(
    ranked_round: dict[str, Any], login: Any, officer: User
) -> None:
    rnd: Round = ranked_round["round"]
    client = login(officer)
    response = client.get(f"/officer/rounds/{rnd.id}/ranking")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert references_on(html) == [a.reference for a in ranked_round["order"]]
    first = html[html.index(ranked_round["order"][0].reference) :]
    first = first[: first.index("</tr>")]
    # Calibrated, raw (with the scores), NIH, weighted criteria, percentile, reviews, requested.
    for text in ("2.00", "2, 2", ">20<", "1.94", "16.7", ">2<", "$100,000.00"):
        assert text in first, text
    assert "Disagreement (spread 4, SD 2.83)" in html
    assert "3 of 3 ranked applications" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("area=trade", [1]),
        ("area=climate", [0, 2]),
        ("government_type=state", [2]),
        ("state=TX", [1]),
        ("state=tx&government_type=county", [1]),
        ("government_type=city&state=VT", []),
        ("area=nonsense", [0, 1, 2]),
    ],
)
def test_the_ranking_filters(
    query: str, expected: list[int], ranked_round: dict[str, Any], login: Any, officer: User
) -> None:
    rnd: Round = ranked_round["round"]
    order: list[Application] = ranked_round["order"]
    html = login(officer).get(f"/officer/rounds/{rnd.id}/ranking?{query}").get_data(as_text=True)
    assert references_on(html) == [order[i].reference for i in expected]
    # Ranks stay those of the whole round.
    ranks = re.findall(r'<tr>\s*<td class="l2g-money">(\d+)</td>', html)
    assert ranks == [str(i + 1) for i in expected]


def test_the_ranking_is_paginated(
    ranked_round: dict[str, Any], login: Any, officer: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("app.views.officer.common.PAGE_SIZE", 2)
    rnd: Round = ranked_round["round"]
    order: list[Application] = ranked_round["order"]
    client = login(officer)
    page1 = client.get(f"/officer/rounds/{rnd.id}/ranking").get_data(as_text=True)
    assert references_on(page1) == [order[0].reference, order[1].reference]
    assert "showing 1–2" in page1 and "Previous page" not in page1
    # Keyset pages: the next page starts after the last rank shown, the previous ends before
    # the first.
    (next_url,) = re.findall(r'href="([^"]*after=2[^"]*)">Next page', page1)
    page2 = client.get(next_url.replace("&amp;", "&")).get_data(as_text=True)
    assert references_on(page2) == [order[2].reference]
    assert "showing 3–3" in page2 and "Next page" not in page2
    (previous_url,) = re.findall(r'href="([^"]*before=3[^"]*)">Previous page', page2)
    back = client.get(previous_url.replace("&amp;", "&")).get_data(as_text=True)
    assert references_on(back) == references_on(page1)


def test_the_csv_has_a_header_and_a_row_per_application_with_every_score(
    ranked_round: dict[str, Any], login: Any, officer: User
) -> None:
    rnd: Round = ranked_round["round"]
    order: list[Application] = ranked_round["order"]
    response = login(officer).get(f"/officer/rounds/{rnd.id}/ranking.csv")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    header, body = rows[0], rows[1:]
    assert len(body) == 3
    ids = [c.id for c in rnd.criteria]
    for column in (
        "rank",
        "reference",
        "raw_score",
        "nih_score",
        "calibrated_score",
        "percentile",
        "weighted_criterion_score",
        "spread",
        "standard_deviation",
        "disagreement",
        "reviews",
        "overall_scores",
        "requested_amount",
    ):
        assert column in header, column
    criterion_columns = [h for h in header if h.startswith("criterion_")]
    assert [c.split(":")[0] for c in criterion_columns] == [
        f"criterion_{ids[0]}_mean",
        f"criterion_{ids[1]}_mean",
        f"criterion_{ids[2]}_mean",
        f"criterion_{ids[3]}_sufficient",
    ]
    record = [dict(zip(header, row, strict=True)) for row in body]
    assert [r["reference"] for r in record] == [a.reference for a in order]
    first = record[0]
    assert first["rank"] == "1"
    assert (first["raw_score"], first["nih_score"], first["calibrated_score"]) == (
        "2.00",
        "20",
        "2.00",
    )
    assert first["overall_scores"] == "2 2"
    assert first["percentile"] == "16.7"
    assert first[criterion_columns[0]] == "1.50"  # (2 + 1) / 2
    assert first[criterion_columns[2]] == "2.50"  # (2 + 3) / 2
    assert first[criterion_columns[3]] == "2/2"
    assert first["weighted_criterion_score"] == "1.94"  # (2 + (1.5·1 + 1.5·2 + 3) / 4) / 2
    assert record[2]["disagreement"] == "yes" and record[2]["spread"] == "4"
    assert first["requested_amount"] == "100000.00"


def test_the_csv_neutralises_spreadsheet_formulas(make: Factory, officer: User, login: Any) -> None:
    rnd = make.round(officer=officer)
    application = eligible(make, rnd, officer)
    application.title = '=HYPERLINK("http://evil")'
    commit()
    score(application, {reviewers(make, 1)[0]: 3})
    text = login(officer).get(f"/officer/rounds/{rnd.id}/ranking.csv").get_data(as_text=True)
    row = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))[1]
    assert '\'=HYPERLINK("http://evil")' in row


@pytest.mark.parametrize("role", ["applicant", "reviewer"])
def test_the_ranking_is_for_officers_only(
    role: str, ranked_round: dict[str, Any], make: Factory, login: Any
) -> None:
    rnd: Round = ranked_round["round"]
    client = login(make.applicant() if role == "applicant" else reviewers(make, 1)[0])
    for path in ("ranking", "ranking.csv", "progress"):
        assert client.get(f"/officer/rounds/{rnd.id}/{path}").status_code == 403


def test_a_signed_out_visitor_is_sent_to_sign_in(ranked_round: dict[str, Any], client: Any) -> None:
    rnd: Round = ranked_round["round"]
    response = client.get(f"/officer/rounds/{rnd.id}/ranking.csv")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- the progress dashboard ----------------------------------------------------------------------


def test_the_progress_dashboard_counts_assigned_submitted_and_overdue(
    make: Factory, officer: User, login: Any
) -> None:
    rnd = make.round(officer=officer)
    a, b = eligible(make, rnd, officer), eligible(make, rnd, officer)
    quick, slow = reviewers(make, 2)
    past = utcnow().replace(microsecond=0)
    score(a, {quick: 2})
    late = add_reviewer(b, slow, past)
    add_reviewer(b, quick, None)
    commit()
    html = login(officer).get(f"/officer/rounds/{rnd.id}/progress").get_data(as_text=True)
    # Totals: 3 assigned, 1 submitted, 2 outstanding, 1 overdue (due before now).
    totals = re.findall(r'<strong class="font-sans-xl">(\d+)</strong>', html)
    assert totals == ["3", "1", "2", "1"]
    assert late.due_at is not None
    table = html[html.index("<caption>Reviews per reviewer</caption>") :]
    quick_row = table[table.index(quick.display_name) :]
    assert re.findall(
        r'<td class="l2g-money">(?:<strong>)?(\d+)', quick_row[: quick_row.index("</tr>")]
    ) == [
        "2",
        "1",
        "1",
        "0",
        "0",
    ]
    slow_row = table[table.index(slow.display_name) :]
    assert re.findall(
        r'<td class="l2g-money">(?:<strong>)?(\d+)', slow_row[: slow_row.index("</tr>")]
    ) == [
        "1",
        "0",
        "1",
        "1",
        "0",
    ]
    # The chart: an image with a title and a description, its numbers also in the table.
    assert '<svg xmlns="http://www.w3.org/2000/svg" role="img"' in html
    assert 'aria-labelledby="chart-title chart-desc"' in html
    assert '<title id="chart-title">' in html and '<desc id="chart-desc">' in html
    assert "1 of 2" in html  # the quick reviewer's bar label
    # Per application: b first (two outstanding).
    per_app = html[html.index('id="per-application"') :]
    assert per_app.index(b.reference) < per_app.index(a.reference)


# --- queries that do not grow with the rows ------------------------------------------------------


def scored_round(make: Factory, officer: User, size: int) -> Round:
    rnd = make.round(officer=officer)
    people = reviewers(make, 3)
    for i in range(size):
        application = eligible(
            make,
            rnd,
            officer,
            government_type=("city", "county", "state")[i % 3],
            state_code=("OH", "TX", "VT")[i % 3],
        )
        score(application, {people[i % 3]: 1 + i % 9, people[(i + 1) % 3]: 1 + (i * 5) % 9})
    return rnd


def test_the_pages_and_the_csv_run_a_fixed_number_of_queries(
    make: Factory, officer: User, login: Any, count_queries: Any, wait_for_jobs: Any
) -> None:
    small = scored_round(make, officer, 3)
    large = scored_round(make, officer, 15)
    client: FlaskClient = login(officer)
    wait_for_jobs()
    counts: dict[str, list[int]] = {}
    for round_id, size in ((small.id, 3), (large.id, 15)):
        for path in ("ranking", "ranking?state=TX", "ranking.csv", "progress"):
            db.session.expire_all()
            with count_queries() as q:
                response = client.get(f"/officer/rounds/{round_id}/{path}")
                body = response.get_data(as_text=True)
            assert response.status_code == 200, path
            counts.setdefault(path, []).append(q.count)
            if path == "ranking.csv":
                assert body.count("\n") == size + 1
    for path, (few, many) in counts.items():
        assert few == many, (path, counts)
        assert many <= 10, (path, counts)
