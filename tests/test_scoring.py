"""Scores, calibration, percentiles, disagreement and ranking (app.rules.scoring)."""

from __future__ import annotations

import math
import random
from decimal import Decimal

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.rules.scoring import (
    Calibration,
    Disagreement,
    RankRow,
    ReviewScore,
    application_raw_score,
    calibrate,
    criterion_score,
    disagreement,
    nih_score,
    percentiles,
    rank,
    round_disagreement,
    round_percentiles,
)

# ---------------------------------------------------------------------------------------------
# Criterion and application scores


def test_criterion_score_is_the_weighted_mean() -> None:
    scores = {"significance": 2, "approach": 5, "team": 3}
    weights = {"significance": Decimal("0.5"), "approach": Decimal("0.3"), "team": 0.2}
    assert criterion_score(scores, weights) == pytest.approx(0.5 * 2 + 0.3 * 5 + 0.2 * 3)


def test_criterion_score_ignores_weights_of_criteria_not_scored() -> None:
    # A "sufficient/insufficient" criterion has a weight entry but no numeric score.
    assert criterion_score({1: 4, 2: 6}, {1: 1, 2: 1, 3: 5}) == 5.0


def test_criterion_score_with_equal_weights_is_the_mean() -> None:
    assert criterion_score({1: 1, 2: 2, 3: 6}, {1: 2, 2: 2, 3: 2}) == 3.0


def test_criterion_score_of_nothing_is_none() -> None:
    assert criterion_score({}, {"a": 1}) is None
    assert criterion_score({"a": 3}, {"a": 0}) is None


@pytest.mark.parametrize(
    ("scores", "weights"),
    [({"a": 0}, {"a": 1}), ({"a": 10}, {"a": 1}), ({"a": 3}, {}), ({"a": 3}, {"a": -1})],
)
def test_criterion_score_rejects_bad_input(scores: dict, weights: dict) -> None:
    with pytest.raises(ValueError):
        criterion_score(scores, weights)


@given(
    st.dictionaries(
        st.integers(0, 20),
        st.tuples(st.integers(1, 9), st.decimals(min_value=0, max_value=100, places=2)),
        min_size=1,
    )
)
@settings(max_examples=60)
def test_criterion_score_stays_between_the_extremes(items: dict) -> None:
    scores = {k: s for k, (s, _) in items.items()}
    weights = {k: w for k, (_, w) in items.items()}
    result = criterion_score(scores, weights)
    if sum(weights.values()) == 0:
        assert result is None
    else:
        assert result is not None
        assert 1 <= result <= 9
        assert min(scores.values()) - 1e-9 <= result <= max(scores.values()) + 1e-9


def test_raw_score_and_nih_score() -> None:
    assert application_raw_score([]) is None
    assert application_raw_score([2, 3, 3]) == pytest.approx(8 / 3)
    assert nih_score(8 / 3) == 27
    assert nih_score(1.0) == 10
    assert nih_score(9.0) == 90
    # Halves round up, as NIH rounds, and float noise does not tip them (1.15 * 10 = 11.4999...).
    assert nih_score(1.75) == 18
    assert nih_score(1.15) == 12
    assert nih_score(2.25) == 23
    # Calibrated means beyond the scale are held to its ends.
    assert nih_score(0.7) == 10
    assert nih_score(9.4) == 90


def test_raw_score_rejects_out_of_range() -> None:
    with pytest.raises(ValueError):
        application_raw_score([0, 3])


# ---------------------------------------------------------------------------------------------
# Percentiles


def test_percentiles_follow_the_nih_formula_with_shared_ranks() -> None:
    result = percentiles({"a": 20, "b": 35, "c": 35, "d": 50, "e": 10})
    # Ranks: e 1, a 2, b and c 3.5, d 5; percentile = 100 (rank - 0.5) / 5.
    assert result == {"e": 10.0, "a": 30.0, "b": 60.0, "c": 60.0, "d": 90.0}


def test_percentiles_of_one_and_of_none() -> None:
    assert percentiles({7: 3.2}) == {7: 50.0}
    assert percentiles({}) == {}


@given(st.dictionaries(st.integers(), st.integers(10, 90), min_size=1, max_size=40))
@settings(max_examples=60)
def test_percentiles_are_monotone_and_average_fifty(scores: dict[int, int]) -> None:
    result = percentiles(scores)
    assert set(result) == set(scores)
    assert math.fsum(result.values()) / len(result) == pytest.approx(50.0)
    for a in scores:
        assert 0 < result[a] < 100
        for b in scores:
            if scores[a] < scores[b]:
                assert result[a] < result[b]
            elif scores[a] == scores[b]:
                assert result[a] == result[b]


near_ties = st.sampled_from([0.0, 1e-10, 4e-10, 6e-10, 1e-9, 1e-7, 0.25, 0.5])


@given(
    st.lists(
        st.tuples(st.floats(1, 9, allow_nan=False), near_ties),
        max_size=60,
    )
)
@settings(max_examples=150)
def test_round_percentiles_equal_the_scalar_ones(values: list[tuple[float, float]]) -> None:
    # Scores a hair apart (below and above the tie precision) as well as plain ties.
    scores = [min(base + nudge, 9.0) for base, nudge in values]
    scores += scores[: len(scores) // 3]
    expected = percentiles(dict(enumerate(scores)))
    result = round_percentiles(scores)
    assert result.tolist() == [expected[k] for k in range(len(scores))]


def test_round_percentiles_of_none() -> None:
    assert round_percentiles([]).tolist() == []


# ---------------------------------------------------------------------------------------------
# Disagreement


@pytest.mark.parametrize(
    ("scores", "flag"),
    [
        ([2, 2, 3], False),
        ([1, 3, 3], False),  # spread 2, stdev 1.15
        ([1, 4], True),  # spread 3
        ([2, 5, 3], True),  # spread 3
        ([1, 1, 1, 3.9], False),  # spread 2.9, stdev 1.45
        ([5], False),
        ([], False),
    ],
)
def test_disagreement_flag(scores: list[float], flag: bool) -> None:
    assert disagreement(scores).flag is flag


def test_disagreement_by_standard_deviation_alone() -> None:
    # Spread 2.2 < 3, but the sample standard deviation of (1.4, 3.6) is 1.556 >= 1.5.
    result = disagreement([1.4, 3.6])
    assert result.spread == pytest.approx(2.2)
    assert result.stdev == pytest.approx(2.2 / math.sqrt(2))
    assert result.flag
    calm = disagreement([1.4, 3.4])
    assert calm.stdev == pytest.approx(2 / math.sqrt(2))
    assert not calm.flag


def test_disagreement_reports_sample_stdev() -> None:
    assert disagreement([2, 4, 6]) == Disagreement(flag=True, spread=4.0, stdev=2.0)
    assert disagreement([3]) == Disagreement(flag=False, spread=0.0, stdev=0.0)


@given(
    st.lists(
        st.tuples(st.integers(0, 15), st.sampled_from([1, 1.5, 2, 3, 4, 4.25, 5, 6, 7, 8, 9])),
        max_size=80,
    )
)
@settings(max_examples=150)
def test_round_disagreement_equals_the_scalar_one(reviews: list[tuple[int, float]]) -> None:
    by_application: dict[int, list[float]] = {}
    for application_id, score in reviews:
        by_application.setdefault(application_id, []).append(score)
    result = round_disagreement([a for a, _ in reviews], [s for _, s in reviews])
    assert result.application_ids == list(by_application)
    assert result.counts.tolist() == [len(own) for own in by_application.values()]
    for application_id, found in result.by_application().items():
        expected = disagreement(by_application[application_id])
        assert (found.flag, found.spread) == (expected.flag, expected.spread)
        assert found.stdev == pytest.approx(expected.stdev, abs=1e-12)


def test_round_disagreement_of_none() -> None:
    result = round_disagreement([], [])
    assert result.application_ids == [] and result.by_application() == {}


# ---------------------------------------------------------------------------------------------
# Ranking


def test_rank_orders_by_score_then_agreement_then_best_scores_then_id() -> None:
    rows = [
        RankRow(1, 3.0, (3, 3, 3)),
        RankRow(2, 2.0, (1, 2, 3)),
        RankRow(3, 3.0, (1, 3, 5)),  # same mean as 1, more disagreement
        RankRow(4, 3.0, (2, 3, 4)),  # same mean and stdev as 6; no 1
        RankRow(5, None, ()),
        RankRow(6, 3.0, (4, 3, 2)),
        RankRow(7, 2.0, (2, 2, 2)),  # beats 2 on agreement
        RankRow(8, 3.0, (2.0, 3.0, 4.0)),
        RankRow(0, None, ()),
    ]
    ordered = [row.application_id for row in rank(rows)]
    assert ordered == [7, 2, 1, 4, 6, 8, 3, 0, 5]


def test_rank_prefers_more_best_scores_among_equal_mean_and_spread() -> None:
    # Same mean (3) and same sample stdev, but 11 has a 1 where 12 has none.
    eleven = RankRow(11, 3.0, (1, 4, 4))
    twelve = RankRow(12, 3.0, (2, 2, 5))
    assert disagreement(eleven.review_scores).stdev == pytest.approx(
        disagreement(twelve.review_scores).stdev
    )
    assert [r.application_id for r in rank([twelve, eleven])] == [11, 12]


# ---------------------------------------------------------------------------------------------
# Calibration


def _synthetic_round(
    seed: int,
    n_apps: int = 240,
    n_reviewers: int = 24,
    per_app: int = 3,
    offset_sd: float = 1.0,
    noise_sd: float = 0.6,
) -> tuple[dict[int, float], dict[int, float], list[ReviewScore]]:
    rng = random.Random(seed)
    quality = {a: rng.uniform(2.0, 7.0) for a in range(n_apps)}
    raw_offsets = {r: rng.gauss(0, offset_sd) for r in range(100, 100 + n_reviewers)}
    mean = math.fsum(raw_offsets.values()) / n_reviewers
    offsets = {r: o - mean for r, o in raw_offsets.items()}
    reviews = []
    for a in range(n_apps):
        for r in rng.sample(sorted(offsets), per_app):
            value = quality[a] + offsets[r] + rng.gauss(0, noise_sd)
            reviews.append(ReviewScore(r, a, min(9, max(1, round(value)))))
    return quality, offsets, reviews


def _rmse_centered(estimate: dict[int, float], truth: dict[int, float]) -> float:
    """RMSE after removing the mean of each (the scale's level is arbitrary)."""
    me = math.fsum(estimate.values()) / len(estimate)
    mt = math.fsum(truth[k] for k in estimate) / len(estimate)
    return math.sqrt(
        math.fsum((estimate[k] - me - truth[k] + mt) ** 2 for k in estimate) / len(estimate)
    )


def test_calibration_recovers_reviewer_offsets_and_beats_the_raw_mean() -> None:
    raw_errors, calibrated_errors, offset_errors = [], [], []
    for seed in range(6):
        quality, offsets, reviews = _synthetic_round(seed)
        result = calibrate(reviews)
        assert result.converged
        raw_errors.append(_rmse_centered(result.raw, quality))
        calibrated_errors.append(_rmse_centered(result.calibrated, quality))
        offset_errors.append(_rmse_centered(result.offsets, offsets))
        assert calibrated_errors[-1] < raw_errors[-1]
    raw, cal, off = (math.fsum(e) / len(e) for e in (raw_errors, calibrated_errors, offset_errors))
    print(f"\nRMSE vs true quality: raw mean {raw:.3f}, calibrated {cal:.3f}; offsets {off:.3f}")
    # Offsets of sd 1 against noise of sd 0.6 plus rounding: calibration removes most of the
    # reviewer effect, and the offsets themselves come out close.
    assert cal < 0.7 * raw
    assert off < 0.3


def test_calibration_without_offsets_changes_little() -> None:
    quality, _, reviews = _synthetic_round(7, offset_sd=0.0)
    result = calibrate(reviews)
    assert max(abs(o) for o in result.offsets.values()) < 0.5
    assert _rmse_centered(result.calibrated, quality) < _rmse_centered(result.raw, quality) + 0.1


def test_calibration_hand_made_case() -> None:
    # Reviewer 2 scores every application exactly two points worse than reviewer 1.
    reviews = [ReviewScore(1, a, s) for a, s in enumerate([1, 2, 3, 4, 5])]
    reviews += [ReviewScore(2, a, s + 2) for a, s in enumerate([1, 2, 3, 4, 5])]
    result = calibrate(reviews)
    assert result.offsets[1] == pytest.approx(-1.0)
    assert result.offsets[2] == pytest.approx(1.0)
    for a, s in enumerate([1, 2, 3, 4, 5]):
        assert result.raw[a] == pytest.approx(s + 1)
        assert result.calibrated[a] == pytest.approx(s + 1)
    assert result.review_counts == {1: 5, 2: 5}


def test_few_reviews_shrink_the_offset() -> None:
    # Same pattern with only two applications: offsets shrink by 2/5.
    reviews = [ReviewScore(1, a, s) for a, s in enumerate([2, 3])]
    reviews += [ReviewScore(2, a, s + 2) for a, s in enumerate([2, 3])]
    result = calibrate(reviews)
    assert result.offsets[1] == pytest.approx(-1.0 * 2 / 5)
    assert result.offsets[2] == pytest.approx(1.0 * 2 / 5)
    # A calibrated score stays the mean of its reviews' score minus offset.
    assert result.calibrated[0] == pytest.approx(((2 + 0.4) + (4 - 0.4)) / 2)


def test_separate_panels_are_centred_separately() -> None:
    panel_a = [ReviewScore(r, a, 3 + (r == 2)) for r in (1, 2) for a in range(5)]
    panel_b = [ReviewScore(r, a, 6) for r in (3, 4) for a in range(10, 15)]
    result = calibrate(panel_a + panel_b)
    assert result.offsets[1] + result.offsets[2] == pytest.approx(0)
    assert result.offsets[2] == pytest.approx(0.5)
    assert result.offsets[3] == pytest.approx(0) and result.offsets[4] == pytest.approx(0)


def test_calibration_of_nothing_and_duplicates() -> None:
    assert calibrate([]) == Calibration(raw={}, calibrated={}, offsets={}, review_counts={})
    with pytest.raises(ValueError):
        calibrate([ReviewScore(1, 1, 3), ReviewScore(1, 1, 4)])
    with pytest.raises(ValueError):
        calibrate([ReviewScore(1, 1, 10)])


@st.composite
def review_rounds(draw: st.DrawFn) -> list[ReviewScore]:
    n_apps = draw(st.integers(1, 25))
    n_reviewers = draw(st.integers(1, 8))
    per_app = draw(st.integers(1, min(3, n_reviewers)))
    reviews = []
    for a in range(n_apps):
        chosen = draw(
            st.lists(
                st.integers(0, n_reviewers - 1), min_size=per_app, max_size=per_app, unique=True
            )
        )
        reviews += [ReviewScore(r, a, draw(st.integers(1, 9))) for r in chosen]
    return reviews


@given(review_rounds())
@settings(max_examples=80, deadline=None)
def test_calibration_properties(reviews: list[ReviewScore]) -> None:
    result = calibrate(reviews)
    assert result.converged
    assert math.fsum(result.offsets.values()) == pytest.approx(0, abs=1e-6)
    for a, calibrated in result.calibrated.items():
        own = [r for r in reviews if r.application_id == a]
        assert 1 <= result.raw[a] <= 9
        expected = math.fsum(r.score - result.offsets[r.reviewer_id] for r in own) / len(own)
        assert calibrated == pytest.approx(expected)
    # No reviewer offset exceeds the scale's range.
    assert all(abs(o) <= 8 for o in result.offsets.values())


@st.composite
def connected_rounds(draw: st.DrawFn) -> list[ReviewScore]:
    """Every reviewer on every application: connected, and everyone has five or more reviews."""
    n_reviewers = draw(st.integers(2, 5))
    n_apps = draw(st.integers(5, 12))
    return [
        ReviewScore(r, a, draw(st.integers(1, 9)))
        for a in range(n_apps)
        for r in range(n_reviewers)
    ]


@given(connected_rounds(), st.data())
@settings(max_examples=60, deadline=None)
def test_a_constant_added_to_one_reviewer_shifts_everything_alike(
    reviews: list[ReviewScore], data: st.DataObject
) -> None:
    reviewers = sorted({r.reviewer_id for r in reviews})
    harsh = data.draw(st.sampled_from(reviewers))
    constant = data.draw(st.sampled_from([-0.5, 0.25, 0.75]))
    shifted = [
        ReviewScore(r.reviewer_id, r.application_id, r.score + constant)
        if r.reviewer_id == harsh and 1 <= r.score + constant <= 9
        else r
        for r in reviews
    ]
    if any(
        r.reviewer_id == harsh and not 1 <= r.score + constant <= 9 for r in reviews
    ):  # the shift would leave the scale: not this property's business
        return
    before, after = calibrate(reviews), calibrate(shifted)
    moves = {a: after.calibrated[a] - before.calibrated[a] for a in before.calibrated}
    # Every calibrated score moves by the same amount (constant / number of reviewers), so
    # ranks and percentiles do not change.
    for move in moves.values():
        assert move == pytest.approx(constant / len(reviewers), abs=1e-6)
    assert after.offsets[harsh] - before.offsets[harsh] == pytest.approx(
        constant * (1 - 1 / len(reviewers)), abs=1e-6
    )
    assert percentiles(after.calibrated) == pytest.approx(percentiles(before.calibrated))


def _dense_least_squares(
    reviews: list[ReviewScore], full_weight_reviews: int = 5
) -> tuple[dict[int, float], dict[int, float]]:
    """The calibration solved directly: least squares over application effects and reviewer
    offsets (the penalty as extra rows), with each connected group's offsets restricted to
    sum to zero by writing them in a basis of that subspace.  Offsets and calibrated scores."""
    apps = sorted({r.application_id for r in reviews})
    reviewers = sorted({r.reviewer_id for r in reviews})
    a_pos = {a: k for k, a in enumerate(apps)}
    r_pos = {r: k for k, r in enumerate(reviewers)}
    graph = nx.Graph()
    graph.add_nodes_from(("r", r) for r in reviewers)
    graph.add_edges_from((("r", r.reviewer_id), ("a", r.application_id)) for r in reviews)
    groups = [
        [r_pos[node[1]] for node in component if node[0] == "r"]
        for component in nx.connected_components(graph)
    ]
    constraints = np.zeros((len(groups), len(reviewers)))
    for g, members in enumerate(groups):
        constraints[g, members] = 1.0
    _, _, vt = np.linalg.svd(constraints)
    basis = vt[len(groups) :].T  # offsets = basis @ z satisfy every group's sum = 0
    counts = {r: sum(1 for x in reviews if x.reviewer_id == r) for r in reviewers}
    penalised = [r for r in reviewers if counts[r] < full_weight_reviews]
    design = np.zeros((len(reviews) + len(penalised), len(apps) + len(reviewers)))
    target = np.zeros(len(design))
    for k, review in enumerate(reviews):
        design[k, a_pos[review.application_id]] = 1.0
        design[k, len(apps) + r_pos[review.reviewer_id]] = 1.0
        target[k] = review.score
    for k, r in enumerate(penalised, start=len(reviews)):
        design[k, len(apps) + r_pos[r]] = math.sqrt(full_weight_reviews - counts[r])
    reduced = np.hstack([design[:, : len(apps)], design[:, len(apps) :] @ basis])
    solution = np.linalg.lstsq(reduced, target, rcond=None)[0]
    offsets = basis @ solution[len(apps) :]
    offset_of = {r: float(offsets[r_pos[r]]) for r in reviewers}
    calibrated = {
        a: math.fsum(x.score - offset_of[x.reviewer_id] for x in reviews if x.application_id == a)
        / sum(1 for x in reviews if x.application_id == a)
        for a in apps
    }
    return offset_of, calibrated


@st.composite
def scattered_rounds(draw: st.DrawFn) -> list[ReviewScore]:
    """Small rounds with separate panels, reviewers with few and many reviews, halves."""
    n_reviewers = draw(st.integers(1, 9))
    reviews = []
    for a in range(draw(st.integers(1, 20))):
        panel = draw(st.lists(st.integers(0, n_reviewers - 1), min_size=1, max_size=4, unique=True))
        reviews += [
            ReviewScore(10 + r, 100 + a, draw(st.sampled_from([1, 2, 2.5, 3, 4, 5, 6.5, 7, 9])))
            for r in panel
        ]
    return reviews


@given(scattered_rounds())
@settings(max_examples=120, deadline=None)
def test_calibration_equals_the_dense_least_squares_solution(reviews: list[ReviewScore]) -> None:
    result = calibrate(reviews)
    offsets, calibrated = _dense_least_squares(reviews)
    assert result.converged
    assert set(result.offsets) == set(offsets) and set(result.calibrated) == set(calibrated)
    for r, offset in offsets.items():
        assert result.offsets[r] == pytest.approx(offset, abs=1e-9)
    for a, score in calibrated.items():
        assert result.calibrated[a] == pytest.approx(score, abs=1e-9)


def test_calibration_keys_follow_the_order_reviews_arrive_in() -> None:
    reviews = [ReviewScore(r, a, 1 + (a * r) % 9) for a in (30, 10, 20) for r in (7, 3, 5)]
    result = calibrate(reviews)
    assert list(result.raw) == list(result.calibrated) == [30, 10, 20]
    assert list(result.offsets) == list(result.review_counts) == [7, 3, 5]


def test_a_long_chain_of_panels_is_one_group() -> None:
    # Reviewer k shares one application with k + 1 only: the group spans 200 reviewers.
    reviews = [ReviewScore(k + j, k, 2 + 3 * j + (k % 2)) for k in range(199) for j in (0, 1)]
    result = calibrate(reviews)
    offsets, _ = _dense_least_squares(reviews)
    assert math.fsum(result.offsets.values()) == pytest.approx(0, abs=1e-9)
    for r, offset in offsets.items():
        assert result.offsets[r] == pytest.approx(offset, abs=1e-9)
