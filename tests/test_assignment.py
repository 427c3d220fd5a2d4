"""Automatic reviewer assignment (app.services.assignment) and the country table it relies on."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Collection, Sequence

import networkx as nx
import pytest
from babel import Locale
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.countries import COUNTRIES, country_choices, country_name, region_of
from app.domain import PRIORITY_AREAS, REGIONS
from app.services.assignment import (
    ApplicationItem,
    AssignmentInfeasible,
    AssignmentResult,
    Pair,
    Reviewer,
    assign,
    match_score,
)

AREAS = sorted(PRIORITY_AREAS)
REGION_CODES = sorted(REGIONS)


def app(ident: int, areas: Collection[str] = (), regions: Collection[str] = ()) -> ApplicationItem:
    return ApplicationItem(ident, frozenset(areas), frozenset(regions))


def rev(
    ident: int,
    areas: Collection[str] = (),
    regions: Collection[str] = (),
    min_load: int | None = None,
    max_load: int | None = None,
) -> Reviewer:
    return Reviewer(ident, frozenset(areas), frozenset(regions), min_load, max_load)


def load_cost(loads: dict[int, int]) -> int:
    return sum(n * (n + 1) // 2 for n in loads.values())


def check_valid(
    result: AssignmentResult,
    applications: Sequence[ApplicationItem],
    reviewers: Sequence[Reviewer],
    per_application: int,
    min_load: int,
    max_load: int | None,
    conflicts: Collection[Pair] = (),
    existing: Collection[Pair] = (),
) -> None:
    """Every promise of assign(), checked on its output."""
    by_id = {r.id: r for r in reviewers}
    apps = {a.id: a for a in applications}
    assert len(set(result.pairs)) == len(result.pairs)
    inside = {pair for pair in existing if pair[1] in apps}
    assert set(result.pairs) == set(result.new_pairs) | inside
    assert not set(result.new_pairs) & set(existing)
    assert not set(result.new_pairs) & set(conflicts)
    per_app = Counter(a for _, a in result.pairs)
    for a in apps:
        assert per_app[a] == per_application
    # Loads count existing pairs of applications outside the batch too.
    loads = Counter(r for r, _ in result.pairs) + Counter(r for r, _ in set(existing) - inside)
    assert result.loads == {r.id: loads[r.id] for r in reviewers}
    for r in reviewers:
        low = r.min_load if r.min_load is not None else min_load
        high = r.max_load if r.max_load is not None else max_load
        assert low <= result.loads[r.id]
        assert high is None or result.loads[r.id] <= high
    for pair in result.pairs:
        assert result.scores[pair] == match_score(by_id[pair[0]], apps[pair[1]])
    assert result.quality == sum(result.scores.values())


# ---------------------------------------------------------------------------------------------
# Countries


def test_country_table_covers_the_world_but_the_united_states() -> None:
    assert "US" not in COUNTRIES
    assert len(COUNTRIES) == 197  # 193 UN members - US + Holy See, Palestine, Taiwan, HK, Kosovo
    for code in ("TW", "HK", "XK", "PS", "VA"):
        assert code in COUNTRIES
    babel_codes = Locale("en").territories
    for code, (name, region) in COUNTRIES.items():
        assert code in babel_codes, code
        assert region in REGIONS, code
        assert name and name == name.strip()
    assert len({name for name, _ in COUNTRIES.values()}) == len(COUNTRIES)


REGION_SAMPLES = {
    "CA": "WHA",
    "MX": "WHA",
    "JM": "WHA",
    "BR": "WHA",
    "IN": "SCA",
    "PK": "SCA",
    "KZ": "SCA",
    "UZ": "SCA",
    "IL": "NEA",
    "IR": "NEA",
    "EG": "NEA",
    "MA": "NEA",
    "PS": "NEA",
    "RU": "EUR",
    "TR": "EUR",
    "UA": "EUR",
    "GE": "EUR",
    "XK": "EUR",
    "CN": "EAP",
    "JP": "EAP",
    "KR": "EAP",
    "VN": "EAP",
    "AU": "EAP",
    "FJ": "EAP",
    "TW": "EAP",
    "HK": "EAP",
    "NG": "AF",
    "KE": "AF",
    "SD": "AF",
    "ZA": "AF",
}


def test_regions_follow_the_regional_bureaus() -> None:
    for code, region in REGION_SAMPLES.items():
        assert region_of(code) == region, code
        assert region_of(code.lower()) == region, code


def test_country_helpers() -> None:
    assert country_name("de") == "Germany"
    assert region_of("US") is None
    assert region_of("ZZ") is None
    with pytest.raises(KeyError):
        country_name("ZZ")
    choices = country_choices()
    assert len(choices) == len(COUNTRIES)
    names = [name for _, name in choices]
    assert names[0] == "Afghanistan"
    # Sorted by name, ignoring accents and a leading "The".
    assert names.index("The Bahamas") < names.index("Bahrain")
    assert names.index("Costa Rica") < names.index("Côte d'Ivoire") < names.index("Croatia")


# ---------------------------------------------------------------------------------------------
# Match score and hand-made rounds


def test_match_score_counts_two_per_area_and_one_per_region() -> None:
    reviewer = rev(1, {"trade", "climate", "health"}, {"EUR", "AF"})
    application = app(1, {"trade", "health", "gender"}, {"AF", "EAP"})
    assert match_score(reviewer, application) == 2 * 2 + 1
    assert match_score(rev(2), application) == 0


def test_every_application_gets_its_best_reviewers() -> None:
    applications = [app(1, {"trade"}, {"EUR"}), app(2, {"climate"}, {"AF"})]
    reviewers = [
        rev(10, {"trade"}, {"EUR"}),
        rev(11, {"climate"}, {"AF"}),
        rev(12, {"trade"}),
        rev(13, {"climate"}),
    ]
    result = assign(applications, reviewers, 2, max_load=1)
    assert result.pairs == [(10, 1), (11, 2), (12, 1), (13, 2)]
    assert result.quality == 3 + 3 + 2 + 2
    check_valid(result, applications, reviewers, 2, 0, 1)


def test_equal_reviewers_share_the_work_evenly() -> None:
    applications = [app(i) for i in range(20)]
    reviewers = [rev(100 + j) for j in range(7)]
    result = assign(applications, reviewers, 3)
    # 60 assignments over 7 reviewers: loads 8 or 9, never further apart.
    assert sorted(result.loads.values()) == [8, 8, 8, 9, 9, 9, 9]


def test_quality_comes_before_balance() -> None:
    applications = [app(i, {"trade"}) for i in range(10)]
    expert = rev(1, {"trade"})
    reviewers = [expert, rev(2), rev(3)]
    result = assign(applications, reviewers, 1, max_load=8)
    # The expert takes all it may; the others share the rest.
    assert result.loads == {1: 8, 2: 1, 3: 1}
    assert result.quality == 16


def test_conflicts_are_never_assigned() -> None:
    applications = [app(i, {"trade"}) for i in range(6)]
    reviewers = [rev(1, {"trade"}), rev(2, {"trade"}), rev(3), rev(4)]
    conflicts = {(1, 0), (1, 1), (2, 0), (2, 5)}
    result = assign(applications, reviewers, 2, conflicts=conflicts)
    assert not set(result.pairs) & conflicts
    check_valid(result, applications, reviewers, 2, 0, None, conflicts)


def test_existing_pairs_are_kept_and_counted() -> None:
    applications = [app(1), app(2), app(3)]
    reviewers = [rev(10), rev(11), rev(12)]
    existing = {(10, 1), (10, 2), (11, 1), (12, 99)}  # 99: an application outside this batch
    result = assign(applications, reviewers, 2, max_load=3, existing=existing)
    assert {(10, 1), (10, 2), (11, 1)} <= set(result.pairs)
    assert (12, 99) not in result.pairs
    check_valid(result, applications, reviewers, 2, 0, 3, existing=existing)
    # Application 1 is complete, 2 needs one more, 3 two; the seven loads spread 2, 2, 3.
    assert len(result.new_pairs) == 3
    assert sorted(result.loads.values()) == [2, 2, 3]


def test_existing_pairs_can_leave_too_few_places() -> None:
    applications = [app(1), app(2), app(3)]
    reviewers = [rev(10), rev(11), rev(12)]
    existing = {(10, 1), (10, 2), (11, 1), (12, 99)}
    with pytest.raises(AssignmentInfeasible) as caught:
        assign(applications, reviewers, 2, max_load=2, existing=existing)
    assert caught.value.message == (
        "3 more assignments are needed (3 applications × 2 reviewers, less those already made), "
        "but the 3 reviewers have only 2 places left under their maximum loads"
    )


def test_per_reviewer_loads_override_the_round() -> None:
    applications = [app(i) for i in range(10)]
    reviewers = [rev(1, max_load=1), rev(2, min_load=5), rev(3)]
    result = assign(applications, reviewers, 1, max_load=6)
    assert result.loads[1] <= 1
    assert result.loads[2] >= 5
    check_valid(result, applications, reviewers, 1, 0, 6)


# ---------------------------------------------------------------------------------------------
# Infeasibility, with the numbers at fault


def test_too_few_places() -> None:
    applications = [app(i) for i in range(12)]
    reviewers = [rev(j) for j in range(100, 105)]
    with pytest.raises(AssignmentInfeasible) as caught:
        assign(applications, reviewers, 3, max_load=6)
    assert caught.value.message == (
        "12 applications × 3 reviewers = 36 assignments needed, "
        "but 5 reviewers × max load 6 = 30 available"
    )
    assert caught.value.details["needed"] == 36
    assert caught.value.details["available"] == 30


def test_minimum_loads_exceed_the_work() -> None:
    applications = [app(i) for i in range(12)]
    reviewers = [rev(j) for j in range(100, 110)]
    with pytest.raises(AssignmentInfeasible) as caught:
        assign(applications, reviewers, 3, min_load=5)
    assert str(caught.value) == "min load 5 × 10 reviewers = 50 exceeds the 36 assignments needed"


def test_an_application_with_too_few_free_reviewers() -> None:
    applications = [app(16), app(17)]
    reviewers = [rev(j) for j in range(1, 6)]
    conflicts = {(1, 17), (2, 17), (3, 17)}
    with pytest.raises(AssignmentInfeasible) as caught:
        assign(applications, reviewers, 3, conflicts=conflicts)
    assert caught.value.message == "application 17 has only 2 reviewers without a conflict, needs 3"
    assert caught.value.details == {
        "application_id": 17,
        "needed": 3,
        "eligible": 2,
        "conflicts": 3,
    }


def test_a_reviewer_who_cannot_reach_the_minimum() -> None:
    applications = [app(i) for i in range(4)]
    reviewers = [rev(1, min_load=3), rev(2), rev(3)]
    conflicts = {(1, 0), (1, 1)}
    with pytest.raises(AssignmentInfeasible) as caught:
        assign(applications, reviewers, 1, conflicts=conflicts)
    assert caught.value.message.startswith("reviewer 1 must take 3 more applications to reach")
    assert caught.value.details["eligible"] == 2


def test_infeasibility_only_the_flow_can_find() -> None:
    # Each application has two conflict-free reviewers, as it needs, but those two can take one
    # application each.
    applications = [app(1), app(2)]
    reviewers = [rev(10, max_load=1), rev(11, max_load=1), rev(12), rev(13)]
    conflicts = {(12, 1), (12, 2), (13, 1), (13, 2)}
    with pytest.raises(AssignmentInfeasible) as caught:
        assign(applications, reviewers, 2, conflicts=conflicts)
    assert "cannot get all their reviewers" in caught.value.message
    assert sum(caught.value.details["short_applications"].values()) == 2


def test_bad_input() -> None:
    with pytest.raises(ValueError):
        assign([app(1), app(1)], [rev(1)], 1)
    with pytest.raises(ValueError):
        assign([app(1)], [rev(1)], 0)
    with pytest.raises(AssignmentInfeasible):
        assign([app(1)], [rev(1, min_load=3, max_load=2)], 1)
    with pytest.raises(AssignmentInfeasible, match="with which they have a conflict"):
        assign([app(1)], [rev(1), rev(2)], 1, conflicts={(1, 1)}, existing={(1, 1)})


def test_nothing_to_do() -> None:
    result = assign([], [rev(1)], 2)
    assert result.pairs == [] and result.loads == {1: 0}
    done = assign([app(1)], [rev(1)], 1, existing={(1, 1)})
    assert done.pairs == [(1, 1)] and done.new_pairs == []


# ---------------------------------------------------------------------------------------------
# Against brute force on tiny rounds


def brute_force(
    applications: Sequence[ApplicationItem],
    reviewers: Sequence[Reviewer],
    per_application: int,
    min_load: int,
    max_load: int | None,
    conflicts: Collection[Pair],
    existing: Collection[Pair],
) -> tuple[int, int] | None:
    """(best quality, least load cost at that quality), or None if infeasible."""
    by_id = {r.id: r for r in reviewers}
    options = []
    for a in applications:
        done = {r for r, x in existing if x == a.id}
        free = [r.id for r in reviewers if (r.id, a.id) not in conflicts and r.id not in done]
        options.append(list(itertools.combinations(free, per_application - len(done))))
    best: tuple[int, int] | None = None
    for choice in itertools.product(*options):
        loads = Counter(r for r, _ in existing)
        for chosen in choice:
            loads.update(chosen)
        if any(
            not (r.min_load if r.min_load is not None else min_load)
            <= loads[r.id]
            <= (r.max_load if r.max_load is not None else max_load if max_load is not None else 99)
            for r in reviewers
        ):
            continue
        quality = sum(
            match_score(by_id[r], a)
            for a, chosen in zip(applications, choice, strict=True)
            for r in chosen
        ) + sum(
            match_score(by_id[r], next(a for a in applications if a.id == x)) for r, x in existing
        )
        key = (-quality, load_cost({r.id: loads[r.id] for r in reviewers}))
        if best is None or key < best:
            best = key
    return None if best is None else (-best[0], best[1])


@st.composite
def tiny_rounds(draw: st.DrawFn) -> dict:
    n_apps = draw(st.integers(1, 4))
    n_revs = draw(st.integers(1, 4))
    per_application = draw(st.integers(1, min(3, n_revs)))
    areas = st.frozensets(st.sampled_from(AREAS[:4]), max_size=2)
    regions = st.frozensets(st.sampled_from(REGION_CODES[:3]), max_size=2)
    applications = [ApplicationItem(i, draw(areas), draw(regions)) for i in range(n_apps)]
    reviewers = [
        Reviewer(
            10 + j,
            draw(areas),
            draw(regions),
            max_load=draw(st.one_of(st.none(), st.integers(0, 4))),
        )
        for j in range(n_revs)
    ]
    pairs = [(r.id, a.id) for r in reviewers for a in applications]
    conflicts = draw(st.frozensets(st.sampled_from(pairs), max_size=len(pairs) // 3))
    existing = set()
    for a in applications:
        for r in reviewers:
            already = sum(1 for _, x in existing if x == a.id)
            if (
                (r.id, a.id) not in conflicts
                and already < per_application
                and draw(st.integers(0, 7)) == 0
            ):
                existing.add((r.id, a.id))
    min_load = draw(st.integers(0, 2))
    max_load = draw(st.one_of(st.none(), st.integers(min_load, 4)))
    return {
        "applications": applications,
        "reviewers": reviewers,
        "per_application": per_application,
        "min_load": min_load,
        "max_load": max_load,
        "conflicts": conflicts,
        "existing": frozenset(existing),
    }


@given(tiny_rounds())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_tiny_rounds_match_brute_force(case: dict) -> None:
    expected = brute_force(**case)
    try:
        result = assign(**case)
    except AssignmentInfeasible:
        assert expected is None
        return
    assert expected is not None, "assign() found an assignment brute force says cannot exist"
    check_valid(result, **case)
    assert (result.quality, load_cost(result.loads)) == expected
    assert result.stats["load_cost"] == expected[1]


@given(tiny_rounds())
@settings(max_examples=40, deadline=None)
def test_counting_failures_are_reported_before_solving(case: dict) -> None:
    """When places are short, the message says so with the numbers."""
    reviewers, p = case["reviewers"], case["per_application"]
    needed = len(case["applications"]) * p - len(
        {pair for pair in case["existing"] if pair[1] in {a.id for a in case["applications"]}}
    )
    places = 0
    for r in reviewers:
        high = r.max_load if r.max_load is not None else case["max_load"]
        if high is not None and case["min_load"] > high:
            with pytest.raises(AssignmentInfeasible, match="above their maximum"):
                assign(**case)
            return
    for r in reviewers:
        high = r.max_load if r.max_load is not None else case["max_load"]
        done = sum(1 for x, _ in case["existing"] if x == r.id)
        if high is not None and done > high:
            with pytest.raises(AssignmentInfeasible, match=f"reviewer {r.id} already has {done}"):
                assign(**case)
            return
        on_batch = sum(
            1 for x, a in case["existing"] if x == r.id and a < len(case["applications"])
        )
        free = len(case["applications"]) - on_batch
        places += free if high is None else min(high - done, free)
    if needed <= places or len(reviewers) < p:
        return
    with pytest.raises(AssignmentInfeasible) as caught:
        assign(**case)
    assert caught.value.details["needed"] == needed
    assert caught.value.details["available"] == places
    assert f"{needed}" in caught.value.message and f"{places}" in caught.value.message


# ---------------------------------------------------------------------------------------------
# Against networkx's network simplex on larger rounds


def networkx_optimum(
    applications: Sequence[ApplicationItem],
    reviewers: Sequence[Reviewer],
    per_application: int,
    min_load: int,
    max_load: int | None,
    conflicts: Collection[Pair],
    existing: Collection[Pair],
) -> tuple[int, int] | None:
    """(best quality, least load cost at that quality), or None if infeasible.

    An independent solve: the network is built here with plain loops and solved by networkx's
    network simplex, one unit node per possible load so that no parallel arcs are needed, and a
    quality weight above the load cost of every reviewer at its largest possible load.
    """
    in_batch = {a.id for a in applications}
    done = Counter(r for r, _ in existing)
    graph = nx.DiGraph()
    weight = 1 + sum(
        (done[r.id] + len(applications)) * (done[r.id] + len(applications) + 1) // 2
        for r in reviewers
    )
    total = 0
    for a in applications:
        on = {r for r, x in existing if x == a.id}
        need = per_application - len(on)
        if need < 0:
            return None
        total += need
        graph.add_node(("a", a.id), demand=-need)
        for r in reviewers:
            if (r.id, a.id) not in conflicts and r.id not in on:
                graph.add_edge(
                    ("a", a.id), ("r", r.id), capacity=1, weight=-weight * match_score(r, a)
                )
    required = 0
    for r in reviewers:
        low = r.min_load if r.min_load is not None else min_load
        high = r.max_load if r.max_load is not None else max_load
        top = done[r.id] + len(applications) if high is None else high
        if done[r.id] > top or low > top:
            return None
        floor = max(low, done[r.id])
        graph.add_node(("r", r.id), demand=floor - done[r.id])
        required += floor - done[r.id]
        for load in range(floor + 1, top + 1):
            graph.add_edge(("r", r.id), ("load", r.id, load), capacity=1, weight=load)
            graph.add_edge(("load", r.id, load), "sink", capacity=1, weight=0)
    graph.add_node("sink", demand=total - required)
    try:
        _, flow = nx.network_simplex(graph)
    except nx.NetworkXUnfeasible:
        return None
    loads = dict(done)
    quality = sum(
        match_score(r, next(a for a in applications if a.id == x))
        for r in reviewers
        for rid, x in existing
        if rid == r.id and x in in_batch
    )
    for a in applications:
        for (_, rid), units in flow[("a", a.id)].items():
            if units:
                loads[rid] = loads.get(rid, 0) + 1
                quality += match_score(next(r for r in reviewers if r.id == rid), a)
    return quality, load_cost({r.id: loads.get(r.id, 0) for r in reviewers})


def random_round(
    seed: int,
    n_apps: int,
    n_revs: int,
    states: int = 6,
    areas: Sequence[str] = AREAS,
    regions: Sequence[str] = REGION_CODES,
) -> tuple[list[ApplicationItem], list[Reviewer], set[Pair]]:
    rng = random.Random(seed)
    applications = [
        ApplicationItem(
            i,
            frozenset(rng.sample(areas, rng.randint(1, 2))),
            frozenset(rng.sample(regions, rng.randint(1, 2))),
        )
        for i in range(n_apps)
    ]
    reviewers = [
        Reviewer(
            1000 + j,
            frozenset(rng.sample(areas, rng.randint(1, 3))),
            frozenset(rng.sample(regions, rng.randint(1, 3))),
        )
        for j in range(n_revs)
    ]
    # Jurisdiction conflicts: a reviewer from a state never reviews that state's applications.
    app_state = [rng.randrange(states) for _ in applications]
    rev_state = [rng.randrange(states * 2) for _ in reviewers]
    conflicts = {
        (r.id, a.id)
        for r, rs in zip(reviewers, rev_state, strict=True)
        for a, s in zip(applications, app_state, strict=True)
        if rs == s
    }
    return applications, reviewers, conflicts


@st.composite
def rounds(draw: st.DrawFn) -> dict:
    """Rounds of 10–60 applications, some reviews already made, loads near the average."""
    n_apps, n_revs = draw(st.integers(10, 60)), draw(st.integers(4, 10))
    per_application = draw(st.integers(1, 3))
    applications, reviewers, conflicts = random_round(draw(st.integers(0, 10_000)), n_apps, n_revs)
    rng = random.Random(draw(st.integers(0, 10_000)))
    existing: set[Pair] = set()
    for a in rng.sample(applications, draw(st.integers(0, n_apps // 3))):
        free = [r.id for r in reviewers if (r.id, a.id) not in conflicts]
        existing.update((r, a.id) for r in rng.sample(free, min(len(free), per_application - 1)))
    # A review made in another part of the round still counts in its reviewer's load.
    existing.update((r.id, 10_000 + k) for k, r in enumerate(reviewers[: draw(st.integers(0, 2))]))
    average = n_apps * per_application // n_revs
    slack = draw(st.integers(0, 3))
    special = draw(st.integers(0, n_revs))
    reviewers = [
        rev(r.id, r.priority_areas, r.regions, max_load=average // 2) if k < special else r
        for k, r in enumerate(reviewers)
    ]
    return {
        "applications": applications,
        "reviewers": reviewers,
        "per_application": per_application,
        "min_load": max(0, average - slack),
        "max_load": average + 1 + slack,
        "conflicts": conflicts,
        "existing": frozenset(existing),
    }


@given(rounds())
@settings(max_examples=60, deadline=None)
def test_rounds_match_networkx(case: dict) -> None:
    expected = networkx_optimum(**case)
    try:
        result = assign(**case)
    except AssignmentInfeasible:
        assert expected is None
        return
    assert expected is not None, "assign() found an assignment networkx says cannot exist"
    check_valid(result, **case)
    assert (result.quality, load_cost(result.loads)) == expected


def test_tight_minimum_loads_on_a_larger_round() -> None:
    # Minimum loads take 60 of the 85 assignments each reviewer could average; the rest goes
    # where quality and balance want it.
    applications, reviewers, conflicts = random_round(
        7, 850, 20, states=4, areas=AREAS[:4], regions=REGION_CODES[:3]
    )
    case = {
        "applications": applications,
        "reviewers": reviewers,
        "per_application": 2,
        "min_load": 60,
        "max_load": 100,
        "conflicts": conflicts,
        "existing": frozenset(),
    }
    result = assign(**case)
    check_valid(result, **case)
    assert (result.quality, load_cost(result.loads)) == networkx_optimum(**case)


def test_minimum_loads_only_the_flow_can_refuse() -> None:
    # Reviewers 1 and 2 must take two applications each, and every count allows it, but both
    # may review only applications 1 and 2, which need one reviewer each.
    applications = [app(k) for k in range(1, 5)]
    reviewers = [rev(1, min_load=2), rev(2, min_load=2), rev(3)]
    conflicts = {(r, a) for r in (1, 2) for a in (3, 4)}
    with pytest.raises(AssignmentInfeasible) as caught:
        assign(applications, reviewers, 1, conflicts=conflicts)
    assert "cannot reach their minimum load" in caught.value.message
    assert sum(caught.value.details["underloaded_reviewers"].values()) == 2


def test_many_codes_score_like_match_score() -> None:
    # More areas and regions than fit in a machine word, and codes the other side lacks.
    rng = random.Random(5)
    areas = [f"area-{k}" for k in range(80)]
    regions = [f"region-{k}" for k in range(70)]
    applications = [
        app(i, rng.sample(areas, rng.randint(0, 6)), rng.sample(regions, rng.randint(0, 6)))
        for i in range(30)
    ]
    reviewers = [
        rev(100 + j, rng.sample(areas, rng.randint(0, 30)), rng.sample(regions, 20))
        for j in range(8)
    ]
    result = assign(applications, reviewers, 2)
    check_valid(result, applications, reviewers, 2, 0, None)
    assert result.quality == networkx_optimum(applications, reviewers, 2, 0, None, (), ())[0]


def test_same_inputs_same_assignment() -> None:
    applications, reviewers, conflicts = random_round(3, 80, 9)
    first = assign(applications, reviewers, 3, max_load=40, conflicts=conflicts)
    again = assign(applications, reviewers, 3, max_load=40, conflicts=conflicts)
    assert first.pairs == again.pairs
