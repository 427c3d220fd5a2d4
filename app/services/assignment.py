"""Automatic reviewer assignment, solved as a minimum-cost flow with networkx.

Every application gets ``per_application`` distinct reviewers; no reviewer gets an application they
have a conflict with; every reviewer's load (assignments already made included) stays within
``[min_load, max_load]``.  Among the assignments that meet all of that, the solver returns one of
the highest total match quality and, among those, one with the most even loads.

Match quality of a reviewer and an application (``match_score``)::

    score = 2 × |reviewer's priority areas ∩ application's priority areas|
          + 1 × |reviewer's regions ∩ regions of the application's partner countries|

The network.  Each application is a source of the reviewers it still needs.  An arc of capacity 1
and cost ``-BIG × score`` joins it to each candidate reviewer.  Each reviewer sends its flow to the
sink over parallel unit arcs whose costs rise with the load: a reviewer's L-th assignment costs L,
so the load cost of a solution is ``Σ L(L+1)/2`` and, of two solutions of equal quality, the one
with the more even loads is cheaper.  ``BIG`` is more than twice the largest possible load cost,
so quality is maximised first and loads are balanced second (a lexicographic objective).  A
minimum load is a demand of the reviewer's node: flow must reach it, and its first assignments up
to the minimum carry no load cost.  The maximum load bounds the number of unit arcs.  Existing
assignments count in the loads and the quotas and are kept.

Keeping the network small.  10,000 applications × 300 reviewers make three million possible
arcs, far more than networkx's (pure Python) network simplex handles quickly.  Two devices:

* Column generation.  The first network holds only a few arcs per application: its best
  ``initial_candidates`` reviewers, plus the reviewers a greedy pass by profile gives it where the
  best are in short supply, plus, for reviewers with a minimum load, the applications they match
  best.  After each solve, node potentials (shortest-path distances in the residual network)
  price every arc left out: only an arc of negative reduced cost could improve the solution.
  Such arcs are added and the network is solved again.  When none is left, the potentials prove
  the solution optimal for the complete network: the sparse start saves time, it does not cost
  optimality.  Short of that, the potentials bound how much better any solution could be
  (``AssignmentResult.stats``); ``balance_tolerance`` lets the solver stop once that bound proves
  quality optimal and the load cost within the tolerance of the least possible.
* Sampling.  For a large round, "best" means least reduced cost under the potentials of a
  sample a quarter the size, with loads scaled down to match (solved the same way,
  recursively).  Those potentials already price the scarce reviewers, so the first network is
  close to the optimum and few rounds of pricing remain.
* Aggregation.  Applications with the same expertise profile, the same number of reviewers
  needed and the same candidate reviewers (conflicts and existing pairs left out) are one node,
  whose arcs carry as many units as it has applications.  Its flow splits back exactly: list
  the reviewers, each as many times as units it took, and deal the list out to the applications
  in turn; no reviewer takes more units than there are applications, so none lands twice on the
  same application.

Arcs from every application to an artificial "spare" node with a prohibitive cost keep every
sparse network feasible; if the proven optimum still uses them, no assignment meets the constraints.

Infeasible requests raise :class:`AssignmentInfeasible`.  Counting conditions (total places,
minimum loads, conflict-free reviewers for each application, open applications for each reviewer
with a minimum load) are checked before solving, so their messages state the numbers at fault;
anything subtler is reported after solving, naming the applications left short and the reviewers
left under their minimum.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

AREA_POINTS = 2
REGION_POINTS = 1
# Arcs added per application and round of pricing.
ADD_PER_ROUND = 3

Pair = tuple[int, int]
"""(reviewer id, application id)."""


@dataclass(frozen=True, slots=True)
class Reviewer:
    """A reviewer in the pool.  ``min_load``/``max_load``, if set, override the round's."""

    id: int
    priority_areas: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    min_load: int | None = None
    max_load: int | None = None


@dataclass(frozen=True, slots=True)
class ApplicationItem:
    """An application to review: its priority areas and its partner countries' regions."""

    id: int
    priority_areas: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()


@dataclass(frozen=True)
class AssignmentResult:
    """The whole assignment, existing pairs included.

    ``pairs`` is sorted; ``scores`` holds the match score of every pair; ``loads`` the number of
    applications of every reviewer in the pool (existing pairs included); ``quality`` the sum of
    the scores.  ``new_pairs`` (sorted) are the pairs the solver added.  ``stats``: ``rounds`` of
    solving, ``arcs`` in the last network, ``nodes`` (aggregated application nodes),
    ``optimal`` (1 if proven optimal), ``quality_optimal`` (1 if no assignment has a higher
    quality), ``load_cost`` (Σ L(L+1)/2 over the loads) and ``load_cost_gap`` (how much lower the
    load cost of an assignment of the same quality could at most be; 0 when optimal).
    """

    pairs: list[Pair]
    new_pairs: list[Pair]
    scores: dict[Pair, int]
    loads: dict[int, int]
    quality: float
    stats: dict[str, int] = field(default_factory=dict)


class AssignmentInfeasible(Exception):
    """No assignment meets the constraints; ``details`` holds the numbers that show why."""

    def __init__(self, message: str, details: dict[str, Any]) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


def match_score(reviewer: Reviewer, application: ApplicationItem) -> int:
    """2 points per shared priority area plus 1 per shared region."""
    return AREA_POINTS * len(reviewer.priority_areas & application.priority_areas) + (
        REGION_POINTS * len(reviewer.regions & application.regions)
    )


def assign(
    applications: Sequence[ApplicationItem],
    reviewers: Sequence[Reviewer],
    per_application: int,
    *,
    min_load: int = 0,
    max_load: int | None = None,
    conflicts: Collection[Pair] = frozenset(),
    existing: Collection[Pair] = frozenset(),
    initial_candidates: int | None = 4,
    balance_tolerance: float = 1e-4,
    seed: int = 0,
) -> AssignmentResult:
    """Give every application ``per_application`` reviewers (see the module docstring).

    ``min_load``/``max_load`` bound every reviewer's load unless the reviewer sets its own;
    ``max_load=None`` sets no upper bound.  ``conflicts`` and ``existing`` are
    (reviewer id, application id) pairs.  Conflicts naming someone outside the inputs are
    ignored.  An existing pair counts toward its reviewer's load even if its application is not
    among ``applications`` (another part of the round), and toward its application's quota even
    if its reviewer is not in the pool.

    ``initial_candidates``: reviewers per application in the first sparse network (``None``:
    all of them); it changes the running time, not the optimality.  Quality is always proven
    optimal; ``balance_tolerance`` lets the solver stop once the load cost is also proven within
    that fraction of the least possible (0: prove the exact optimum; the default, 0.01 %, spares
    large rounds the last solves, which only shave a few units of load cost).  ``seed`` orders
    ties among equal reviewers; the same inputs and seed give the same assignment.

    Raises AssignmentInfeasible when no assignment meets the constraints, ValueError for
    malformed input (duplicate ids, negative numbers).
    """
    problem = _Problem(applications, reviewers, per_application, min_load, max_load)
    problem.load_pairs(conflicts, existing)
    problem.check_counts()
    scale = _Scale(problem.base, 1, 2 * problem.load_cost_bound() + 1)
    solver = _optimise(problem, initial_candidates, random.Random(seed), scale, balance_tolerance)
    if solver.short_apps or solver.under_reviewers:
        raise problem.infeasible_after_solve(solver)
    return problem.result(solver)


# Above this many applications, the first network's candidates come from the potentials of a
# sample a quarter the size (solved the same way, recursively), which carries most of what the
# optimum needs; samples stop at a looser tolerance, as only their potentials are used.
SAMPLE_ABOVE = 800
SAMPLE_RATIO = 4
SAMPLE_TOLERANCE = 0.01


@dataclass(frozen=True)
class _Scale:
    """Costs of a network: the k-th unit of reviewer j above its base load costs
    ``base_cost[j] + k × step``; an arc's quality counts ``big`` per score point.

    The real problem has ``base_cost`` = the base loads and ``step`` 1, so that a reviewer's
    L-th assignment costs L.  A sample with one application in r has ``step`` r, so that its
    loads cost what the full-size loads would, and shares ``big``, so its potentials carry over.
    """

    base_cost: list[int]
    step: int
    big: int


def _optimise(
    problem: _Problem,
    initial_candidates: int | None,
    rng: random.Random,
    scale: _Scale,
    tolerance: float,
) -> _Solver:
    potentials: list[int] | None = None
    big = scale.big
    if initial_candidates is None:
        candidates = problem.all_candidates()
    else:
        if sum(1 for need in problem.need if need) > SAMPLE_ABOVE:
            sample = problem.sample(rng, SAMPLE_RATIO)
            if sample is not None:
                sample_scale = _Scale(scale.base_cost, scale.step * SAMPLE_RATIO, scale.big)
                solved = _optimise(
                    sample, initial_candidates, rng, sample_scale, max(tolerance, SAMPLE_TOLERANCE)
                )
                if not (solved.short_apps or solved.under_reviewers):
                    potentials, big = solved.potentials()[0], solved.big
        candidates = problem.initial_candidates(initial_candidates, rng, potentials, big)
    solver = _Solver(problem, candidates, scale)
    while True:
        solver.solve()
        gap = solver.gap = solver.price()
        if not gap:
            solver.optimal = solver.quality_optimal = True
            return solver
        # A gap below big / 2 proves that no assignment has a higher quality (see price()).
        solver.quality_optimal = 2 * gap < solver.big
        if solver.quality_optimal and gap <= tolerance * solver.load_cost():
            return solver
        solver.add_pending()


class _Problem:
    """The inputs by position (applications i, reviewers j) and the counting checks."""

    def __init__(
        self,
        applications: Sequence[ApplicationItem],
        reviewers: Sequence[Reviewer],
        per_application: int,
        min_load: int,
        max_load: int | None,
    ) -> None:
        if per_application < 1:
            raise ValueError("per_application must be at least 1")
        if min_load < 0 or (max_load is not None and max_load < 0):
            raise ValueError("loads cannot be negative")
        self.apps = list(applications)
        self.revs = list(reviewers)
        self.per_application = per_application
        self.app_index = _index(a.id for a in self.apps)
        self.rev_index = _index(r.id for r in self.revs)
        self.lo = [r.min_load if r.min_load is not None else min_load for r in self.revs]
        self.declared_hi = [r.max_load if r.max_load is not None else max_load for r in self.revs]
        for r, low, high in zip(self.revs, self.lo, self.declared_hi, strict=True):
            if low < 0 or (high is not None and high < 0):
                raise ValueError(f"reviewer {r.id} has a negative load bound")
            if high is not None and low > high:
                raise AssignmentInfeasible(
                    f"reviewer {r.id} has a minimum load of {low}, above their maximum of {high}",
                    {"reviewer_id": r.id, "min_load": low, "max_load": high},
                )
        # One row of scores per distinct expertise profile among the applications.
        area_bits: dict[str, int] = {}
        region_bits: dict[str, int] = {}

        def mask(codes: frozenset[str], bits: dict[str, int]) -> int:
            value = 0
            for code in codes:
                value |= 1 << bits.setdefault(code, len(bits))
            return value

        rev_masks = [
            (mask(r.priority_areas, area_bits), mask(r.regions, region_bits)) for r in self.revs
        ]
        profiles: dict[tuple[int, int], int] = {}
        self.rows: list[list[int]] = []
        self.profile_of: list[int] = []
        for a in self.apps:
            key = (mask(a.priority_areas, area_bits), mask(a.regions, region_bits))
            p = profiles.get(key)
            if p is None:
                p = profiles[key] = len(self.rows)
                areas, regions = key
                self.rows.append(
                    [
                        AREA_POINTS * (areas & ra).bit_count()
                        + REGION_POINTS * (regions & rr).bit_count()
                        for ra, rr in rev_masks
                    ]
                )
            self.profile_of.append(p)

    def load_pairs(self, conflicts: Collection[Pair], existing: Collection[Pair]) -> None:
        n_apps, n_revs, p = len(self.apps), len(self.revs), self.per_application
        self.conflicted: list[set[int]] = [set() for _ in range(n_apps)]
        for rid, aid in conflicts:
            i, j = self.app_index.get(aid), self.rev_index.get(rid)
            if i is not None and j is not None:
                self.conflicted[i].add(j)
        self.existing: list[set[int]] = [set() for _ in range(n_apps)]
        done = [0] * n_apps
        self.existing_load = [0] * n_revs
        for rid, aid in set(existing):
            i, j = self.app_index.get(aid), self.rev_index.get(rid)
            if j is not None:
                self.existing_load[j] += 1
            if i is None:
                continue
            done[i] += 1
            if j is None:
                continue
            if j in self.conflicted[i]:
                raise AssignmentInfeasible(
                    f"reviewer {rid} is already assigned to application {aid}, with which they "
                    "have a conflict: take them off it first",
                    {"reviewer_id": rid, "application_id": aid},
                )
            self.existing[i].add(j)
        for i, count in enumerate(done):
            if count > p:
                aid = self.apps[i].id
                raise AssignmentInfeasible(
                    f"application {aid} already has {count} reviewers, more than {p}",
                    {"application_id": aid, "existing": count, "per_application": p},
                )
        # Nobody reviews an application twice: a reviewer can take at most those it is not on.
        open_count = [n_apps] * n_revs
        for reviewers_on in self.existing:
            for j in reviewers_on:
                open_count[j] -= 1
        self.hi = [
            e + free if high is None else min(high, e + free)
            for high, e, free in zip(self.declared_hi, self.existing_load, open_count, strict=True)
        ]
        for j, load in enumerate(self.existing_load):
            high = self.declared_hi[j]
            if high is not None and load > high:
                rid = self.revs[j].id
                raise AssignmentInfeasible(
                    f"reviewer {rid} already has {_count(load, 'application')}, more than their "
                    f"maximum of {high}",
                    {"reviewer_id": rid, "existing": load, "max_load": high},
                )
        self.need = [p - count for count in done]
        self.total_need = sum(self.need)
        self.demand = [max(0, lo - e) for lo, e in zip(self.lo, self.existing_load, strict=True)]
        self.room = [hi - e for hi, e in zip(self.hi, self.existing_load, strict=True)]
        self.base = [e + d for e, d in zip(self.existing_load, self.demand, strict=True)]

    def load_cost_bound(self) -> int:
        """More than the load cost above the base loads of any assignment can be."""
        total = 0
        for j, base in enumerate(self.base):
            top = min(self.hi[j], base + self.open_to[j])
            if top > base:
                total += _triangle(top) - _triangle(base)
        return total

    def sample(self, rng: random.Random, ratio: int) -> _Problem | None:
        """One application in ``ratio`` (among those without reviewers yet), loads scaled down.

        None if there is nothing to sample or the sample is infeasible.
        """
        fresh = [i for i, need in enumerate(self.need) if need == self.per_application]
        chosen = sorted(rng.sample(fresh, len(fresh) // ratio))
        if not chosen:
            return None
        # The sample shares the reviewers and score rows, so it skips __init__, which would
        # rebuild them from the inputs, and sets its fields here.
        sample = object.__new__(_Problem)
        sample.apps = [self.apps[i] for i in chosen]
        sample.revs = self.revs
        sample.per_application = self.per_application
        sample.rows = self.rows
        sample.profile_of = [self.profile_of[i] for i in chosen]
        sample.conflicted = [self.conflicted[i] for i in chosen]
        sample.existing = [set() for _ in chosen]
        sample.existing_load = [0] * len(self.revs)
        sample.lo = [demand // ratio for demand in self.demand]
        sample.declared_hi = [
            max(low, -(-room // ratio)) for low, room in zip(sample.lo, self.room, strict=True)
        ]
        sample.hi = [min(high, len(chosen)) for high in sample.declared_hi]
        sample.need = [self.per_application] * len(chosen)
        sample.total_need = self.per_application * len(chosen)
        sample.demand = list(sample.lo)
        sample.room = list(sample.hi)
        sample.base = list(sample.lo)
        try:
            sample.check_counts()
        except AssignmentInfeasible:
            return None
        return sample

    def eligible(self, i: int, j: int) -> bool:
        return j not in self.conflicted[i] and j not in self.existing[i]

    def check_counts(self) -> None:
        """Raise AssignmentInfeasible for the failures that counting alone reveals."""
        n_apps, n_revs, p = len(self.apps), len(self.revs), self.per_application
        needed = self.total_need
        if needed and n_revs < p:
            raise AssignmentInfeasible(
                f"each application needs {p} reviewers but the pool has only {n_revs}",
                {"per_application": p, "reviewers": n_revs},
            )
        available = sum(self.room)
        made = sum(self.existing_load)
        if needed > available:
            details: dict[str, Any] = {
                "needed": needed,
                "available": available,
                "applications": n_apps,
                "per_application": p,
                "reviewers": n_revs,
                "existing": made,
            }
            limits = set(self.declared_hi)
            if not made and limits == {self.room[0]}:
                details["max_load"] = high = self.declared_hi[0]
                message = (
                    f"{n_apps} applications × {p} reviewers = {needed} assignments needed, "
                    f"but {n_revs} reviewers × max load {high} = {available} available"
                )
            else:
                message = (
                    f"{needed} more assignments are needed ({n_apps} applications × {p} "
                    f"reviewers, less those already made), but the {n_revs} reviewers have only "
                    f"{available} places left under their maximum loads"
                )
            raise AssignmentInfeasible(message, details)
        required = sum(self.demand)
        if required > needed:
            details = {
                "required": required,
                "needed": needed,
                "reviewers": n_revs,
                "existing": made,
            }
            if not made and len(set(self.lo)) == 1:
                details["min_load"] = low = self.lo[0]
                message = (
                    f"min load {low} × {n_revs} reviewers = {required} exceeds the "
                    f"{needed} assignments needed"
                )
            else:
                message = (
                    f"the reviewers' minimum loads call for {required} more assignments, "
                    f"but only {needed} are needed"
                )
            raise AssignmentInfeasible(message, details)
        # Count through the (few) blocked pairs rather than all pairs.
        with_room = sum(1 for room in self.room if room > 0)
        self.open_to = [sum(1 for need in self.need if need)] * n_revs
        for i, need in enumerate(self.need):
            if not need:
                continue
            blocked = self.conflicted[i] | self.existing[i]
            for j in blocked:
                self.open_to[j] -= 1
            free = with_room - sum(1 for j in blocked if self.room[j] > 0)
            if free < need:
                raise self._short_application(i, free)
        for j, demand in enumerate(self.demand):
            if demand > self.open_to[j]:
                rid = self.revs[j].id
                raise AssignmentInfeasible(
                    f"reviewer {rid} must take {_count(demand, 'more application')} to reach "
                    f"their minimum load of {self.lo[j]}, but only {self.open_to[j]} of those "
                    "still needing reviewers are free of conflicts with them",
                    {"reviewer_id": rid, "required": demand, "eligible": self.open_to[j]},
                )

    def _short_application(self, i: int, free: int) -> AssignmentInfeasible:
        aid, need = self.apps[i].id, self.need[i]
        conflict_free = len(self.revs) - len(self.conflicted[i]) - len(self.existing[i])
        if need < self.per_application:
            message = (
                f"application {aid} needs {_count(need, 'more reviewer')} but has only "
                f"{free} left without a conflict"
            )
        else:
            message = (
                f"application {aid} has only {_count(free, 'reviewer')} without a conflict, "
                f"needs {need}"
            )
        if free < conflict_free:
            message += f" ({conflict_free - free} others are already at their maximum load)"
        return AssignmentInfeasible(
            message,
            {
                "application_id": aid,
                "needed": need,
                "eligible": free,
                "conflicts": len(self.conflicted[i]),
            },
        )

    def all_candidates(self) -> list[set[int]]:
        """Every arc: the complete network."""
        n_revs = len(self.revs)
        return [
            {j for j in range(n_revs) if self.room[j] > 0 and self.eligible(i, j)}
            if need
            else set()
            for i, need in enumerate(self.need)
        ]

    def initial_candidates(
        self, count: int, rng: random.Random, potentials: list[int] | None, big: int
    ) -> list[set[int]]:
        """The first network's arcs: for each application, its ``count`` best reviewers.

        Best by score, ties broken in one random order per profile, or, given a sample's
        potentials, by least reduced cost (``potential + big × score``, highest first).  Either
        way applications of one profile share their candidates (conflicts aside) and aggregate.
        A greedy pass adds, per profile, reviewers with room for it; reviewers with a minimum
        load are offered to the profiles they match best, enough applications to reach twice it.
        """
        n_revs = len(self.revs)
        with_room = [j for j in range(n_revs) if self.room[j] > 0]
        orders: list[list[int]] = []
        ranked: list[list[int]] = []
        for row in self.rows:
            tie = list(range(n_revs))
            rng.shuffle(tie)
            position = {j: k for k, j in enumerate(tie)}
            orders.append(sorted(with_room, key=lambda j: (-row[j], position[j])))
            if potentials is not None:
                ranked.append(
                    sorted(with_room, key=lambda j: (-potentials[j] - big * row[j], position[j]))
                )
        if potentials is None:
            ranked = orders
        by_profile: list[list[int]] = [[] for _ in self.rows]
        for i, need in enumerate(self.need):
            if need:
                by_profile[self.profile_of[i]].append(i)
        # A greedy pass by profile, in random order: each takes its best reviewers with room
        # left, at most one unit per application.  Its picks make the first network feasible
        # and close to the optimum where the best reviewers are in short supply.
        load = list(self.existing_load)
        greedy: list[list[int]] = [[] for _ in self.rows]
        visit = list(range(len(self.rows)))
        rng.shuffle(visit)
        for p in visit:
            members = by_profile[p]
            remaining = sum(self.need[i] for i in members)
            for j in orders[p]:
                if not remaining:
                    break
                take = min(len(members), self.hi[j] - load[j], remaining)
                if take > 0:
                    greedy[p].append(j)
                    load[j] += take
                    remaining -= take
        candidates: list[set[int]] = [set() for _ in self.apps]
        offered = [0] * n_revs
        for p, members in enumerate(by_profile):
            for i in members:
                chosen = candidates[i]
                wanted = max(count, self.need[i])
                for j in ranked[p]:
                    if len(chosen) >= wanted:
                        break
                    if self.eligible(i, j):
                        chosen.add(j)
                chosen.update(j for j in greedy[p] if self.eligible(i, j))
                for j in chosen:
                    offered[j] += 1
        for j, demand in enumerate(self.demand):
            missing = 2 * demand + self.per_application - offered[j] if demand else 0
            if missing <= 0:
                continue
            by_score: dict[int, list[int]] = {}
            for p, row in enumerate(self.rows):
                by_score.setdefault(row[j], []).append(p)
            for p in (p for score in sorted(by_score, reverse=True) for p in by_score[score]):
                if missing <= 0:
                    break
                for i in by_profile[p]:
                    if j not in candidates[i] and self.eligible(i, j):
                        candidates[i].add(j)
                        missing -= 1
        return candidates

    def infeasible_after_solve(self, solver: _Solver) -> AssignmentInfeasible:
        short = {self.apps[i].id: k for i, k in sorted(solver.short_apps.items())}
        under = {self.revs[j].id: k for j, k in sorted(solver.under_reviewers.items())}
        parts = []
        if short:
            listed = ", ".join(f"application {a} is {k} short" for a, k in list(short.items())[:5])
            more = f" and {len(short) - 5} more" if len(short) > 5 else ""
            parts.append(
                f"{_count(len(short), 'application')} cannot get all their reviewers "
                f"({listed}{more}): the reviewers without a conflict with them are needed "
                "elsewhere or at their maximum load"
            )
        if under:
            listed = ", ".join(f"reviewer {r} is {k} short" for r, k in list(under.items())[:5])
            more = f" and {len(under) - 5} more" if len(under) > 5 else ""
            parts.append(
                f"{_count(len(under), 'reviewer')} cannot reach their minimum load ({listed}{more})"
            )
        return AssignmentInfeasible(
            "no assignment meets every constraint: " + "; ".join(parts),
            {"short_applications": short, "underloaded_reviewers": under},
        )

    def result(self, solver: _Solver) -> AssignmentResult:
        scores: dict[Pair, int] = {}
        new_pairs: list[Pair] = []
        for i, app in enumerate(self.apps):
            row = self.rows[self.profile_of[i]]
            for j in self.existing[i]:
                scores[(self.revs[j].id, app.id)] = row[j]
            for j in solver.assigned[i]:
                pair = (self.revs[j].id, app.id)
                scores[pair] = row[j]
                new_pairs.append(pair)
        loads = {
            r.id: e + f
            for r, e, f in zip(self.revs, self.existing_load, solver.rev_flow, strict=True)
        }
        return AssignmentResult(
            pairs=sorted(scores),
            new_pairs=sorted(new_pairs),
            scores=scores,
            loads=loads,
            quality=float(sum(scores.values())),
            stats={
                "rounds": solver.rounds,
                "arcs": solver.arcs,
                "nodes": len(solver.groups),
                "optimal": int(solver.optimal),
                "quality_optimal": int(solver.quality_optimal),
                "load_cost": solver.load_cost(),
                "load_cost_gap": solver.gap,
            },
        )


class _Group:
    """Applications aggregated into one node: same profile, need and candidate reviewers."""

    __slots__ = ("candidates", "flow", "members", "need", "profile", "spare")

    def __init__(self, profile: int, need: int, candidates: tuple[int, ...]) -> None:
        self.profile = profile
        self.need = need
        self.candidates = candidates
        self.members: list[int] = []
        self.flow: dict[int, int] = {}
        self.spare = 0


class _Solver:
    """The sparse network, its optimal flow, the node potentials and the pricing.

    Nodes: application groups 0..G-1, reviewers G..G+R-1, the sink and the spare node.
    """

    def __init__(self, problem: _Problem, candidates: list[set[int]], scale: _Scale) -> None:
        self.pb = problem
        self.candidates = candidates
        self.scale = scale
        bound = 0
        for j, base in enumerate(problem.base):
            units = max(0, min(problem.hi[j] - base, problem.open_to[j]))
            bound += units * scale.base_cost[j] + scale.step * _triangle(units)
        self.big = max(scale.big, 2 * bound + 1)
        max_score = max((max(row) for row in problem.rows if row), default=0)
        # One unit through the spare node costs more than any quality and balance could repay.
        self.artificial = self.big * (problem.total_need * max_score + 1) + 1
        self.rounds = 0
        self.arcs = 0
        self.optimal = False
        self.quality_optimal = False
        self.gap = 0
        self.groups: list[_Group] = []
        self.group_of: list[int] = []
        self.pending: list[Pair] = []
        self.assigned: list[list[int]] = [[] for _ in problem.apps]
        self.rev_flow = [0] * len(problem.revs)
        self.spare_in = [0] * len(problem.revs)
        self.spare_to_sink = 0
        self.short_apps: dict[int, int] = {}
        self.under_reviewers: dict[int, int] = {}

    def group(self) -> None:
        pb = self.pb
        index: dict[tuple[int, int, tuple[int, ...]], int] = {}
        self.groups = []
        self.group_of = [-1] * len(pb.apps)
        for i, need in enumerate(pb.need):
            if not need:
                continue
            key = (pb.profile_of[i], need, tuple(sorted(self.candidates[i])))
            g = index.get(key)
            if g is None:
                g = index[key] = len(self.groups)
                self.groups.append(_Group(*key))
            self.groups[g].members.append(i)
            self.group_of[i] = g

    def solve(self) -> None:
        self.rounds += 1
        self.group()
        self.read_flow(nx.network_simplex(self.network())[1])

    def network(self) -> nx.MultiDiGraph:
        pb = self.pb
        n_groups = len(self.groups)
        sink, spare = n_groups + len(pb.revs), n_groups + len(pb.revs) + 1
        graph = nx.MultiDiGraph()
        offered = [0] * len(pb.revs)
        edges: list[tuple[int, int, dict[str, int]]] = []
        for g, group in enumerate(self.groups):
            size = len(group.members)
            graph.add_node(g, demand=-group.need * size)
            row = pb.rows[group.profile]
            for j in group.candidates:
                edges.append((g, n_groups + j, {"capacity": size, "weight": -self.big * row[j]}))
                offered[j] += size
            edges.append((g, spare, {"capacity": group.need * size, "weight": self.artificial}))
        for j, demand in enumerate(pb.demand):
            node = n_groups + j
            graph.add_node(node, demand=demand)
            if demand:
                edges.append((spare, node, {"capacity": demand, "weight": 0}))
            # No more can leave a reviewer than its arcs bring in.
            units = min(pb.hi[j] - pb.base[j], offered[j])
            edges.extend(
                (node, sink, {"capacity": 1, "weight": self.unit_cost(j, k)})
                for k in range(1, units + 1)
            )
        graph.add_node(sink, demand=pb.total_need - sum(pb.demand))
        graph.add_node(spare, demand=0)
        edges.append((spare, sink, {"weight": 0}))
        graph.add_edges_from(edges)
        self.arcs = len(edges)
        return graph

    def read_flow(self, flow: dict[int, dict[int, dict[int, int]]]) -> None:
        """Per-group flows, then each group's flow dealt out to its applications in turn."""
        pb = self.pb
        n_groups = len(self.groups)
        sink, spare = n_groups + len(pb.revs), n_groups + len(pb.revs) + 1
        self.assigned = [[] for _ in pb.apps]
        self.rev_flow = [0] * len(pb.revs)
        self.short_apps = {}
        for g, group in enumerate(self.groups):
            out = flow[g]
            group.flow = {j: out[n_groups + j][0] for j in group.candidates}
            group.spare = out[spare][0]
            members = group.members
            slot = 0
            for j in group.candidates:
                units = group.flow[j]
                self.rev_flow[j] += units
                for _ in range(units):
                    self.assigned[members[slot % len(members)]].append(j)
                    slot += 1
            for _ in range(group.spare):
                i = members[slot % len(members)]
                self.short_apps[i] = self.short_apps.get(i, 0) + 1
                slot += 1
        from_spare = flow[spare]
        self.spare_in = [from_spare[n_groups + j][0] if d else 0 for j, d in enumerate(pb.demand)]
        self.spare_to_sink = from_spare[sink][0]
        self.under_reviewers = {j: k for j, k in enumerate(self.spare_in) if k}

    def potentials(self) -> tuple[list[int], list[int]]:
        """Shortest-path distances in the residual network, for reviewers and for groups.

        Group nodes are contracted: a path through a group enters it by a reviewer it sends
        flow to (or the spare node) and leaves by a reviewer it could send more to (or the spare
        node), so the reviewer-level graph gets one arc per such pair.  The arcs from reviewers
        to the sink are those of the complete network, so the potentials price them as well.
        Every application of a group can take its group's potential: each residual arc of the
        application is also a residual arc of the group (a reviewer that has taken all of a
        group's units sits on every one of its applications).
        """
        pb = self.pb
        n_revs, big, art = len(pb.revs), self.big, self.artificial
        sink, spare = n_revs, n_revs + 1
        arcs: dict[int, dict[int, int]] = {}

        def arc(u: int, v: int, cost: int) -> None:
            out = arcs.setdefault(u, {})
            if cost < out.get(v, cost + 1):
                out[v] = cost

        dist = [0] * (n_revs + 2)
        for j in range(n_revs):
            units = self.spare_in[j] + self.rev_flow[j] - pb.demand[j]
            if pb.base[j] + units < pb.hi[j]:
                arc(j, sink, self.unit_cost(j, units + 1))
            if units > 0:
                arc(sink, j, -self.unit_cost(j, units))
            if self.spare_in[j] < pb.demand[j]:
                arc(spare, j, 0)
            if self.spare_in[j] > 0:
                arc(j, spare, 0)
        arc(spare, sink, 0)
        if self.spare_to_sink > 0:
            arc(sink, spare, 0)
        entries: list[list[tuple[int, int]]] = []
        for group in self.groups:
            size = len(group.members)
            row = pb.rows[group.profile]
            into = [(j, big * row[j]) for j in group.candidates if group.flow[j] > 0]
            leave = [(j, -big * row[j]) for j in group.candidates if group.flow[j] < size]
            if group.spare > 0:
                into.append((spare, -art))
            if group.spare < group.need * size:
                leave.append((spare, art))
            entries.append(into)
            for v, cost in leave:
                dist[v] = min(dist[v], cost)
                for u, back in into:
                    if u != v:
                        arc(u, v, back + cost)
        _bellman_ford(arcs, dist)
        group_dist = [min([0, *(dist[u] + cost for u, cost in into)]) for into in entries]
        return dist[:n_revs], group_dist

    def price(self) -> int:
        """Collect omitted arcs of negative reduced cost; return a bound on the gap.

        The reduced cost of arc (i, j) is ``-big × score + d(i) - d(j)``: negative when
        ``d(j) + big × score`` exceeds ``d(i)``.  Reviewers are ranked by that value once per
        profile, so each application scans only the head of its list.

        The bound: for any feasible flow x of the complete network, cost(x) - cost(current) is
        the sum over arcs of reduced cost × change of flow, and only omitted arcs can contribute
        negatively; application i uses at most ``need[i]`` of them.  So no solution is cheaper
        by more than the sum, over applications, of their ``need`` most negative reduced costs.
        A quality one point higher would be cheaper by ``big`` less the load cost, more than
        ``big / 2``; a bound below ``big / 2`` therefore proves quality optimal.
        """
        pb = self.pb
        rev_dist, group_dist = self.potentials()
        big = self.big
        # Per profile, the reviewers above the lowest threshold of its groups, best first.
        lowest: dict[int, int] = {}
        for group, threshold in zip(self.groups, group_dist, strict=True):
            lowest[group.profile] = min(threshold, lowest.get(group.profile, threshold))
        with_room = [j for j in range(len(pb.revs)) if pb.room[j] > 0]
        ranked: dict[int, list[tuple[int, int]]] = {}
        for p, floor in lowest.items():
            row = pb.rows[p]
            above = [(rev_dist[j] + big * row[j], j) for j in with_room]
            ranked[p] = sorted((item for item in above if item[0] > floor), reverse=True)
        gap = 0
        self.pending = []
        for i, need in enumerate(pb.need):
            if not need:
                continue
            threshold = group_dist[self.group_of[i]]
            chosen = self.candidates[i]
            found = 0
            for value, j in ranked[pb.profile_of[i]]:
                if value <= threshold:
                    break
                if j not in chosen and pb.eligible(i, j):
                    if found < need:
                        gap += value - threshold
                    if found < ADD_PER_ROUND:
                        self.pending.append((i, j))
                    found += 1
                    if found >= need and found >= ADD_PER_ROUND:
                        break
        return gap

    def add_pending(self) -> None:
        for i, j in self.pending:
            self.candidates[i].add(j)

    def unit_cost(self, j: int, k: int) -> int:
        """The cost of reviewer j's k-th unit above its base load."""
        return self.scale.base_cost[j] + k * self.scale.step

    def load_cost(self) -> int:
        """The load cost on the network's scale; for the real problem, Σ L(L+1)/2 over loads."""
        pb, total = self.pb, 0
        for j, flow in enumerate(self.rev_flow):
            units = pb.existing_load[j] + flow - pb.base[j]
            base_cost = self.scale.base_cost[j]
            total += _triangle(base_cost) + units * base_cost + self.scale.step * _triangle(units)
        return total


def _bellman_ford(arcs: dict[int, dict[int, int]], dist: list[int]) -> None:
    """Relax ``dist`` in place to shortest distances (queue-based Bellman-Ford)."""
    queue = deque(range(len(dist)))
    queued = [True] * len(dist)
    passes = [0] * len(dist)
    while queue:
        u = queue.popleft()
        queued[u] = False
        passes[u] += 1
        if passes[u] > len(dist):
            raise RuntimeError("negative cycle in the residual network of an optimal flow")
        du = dist[u]
        for v, cost in arcs.get(u, {}).items():
            if du + cost < dist[v]:
                dist[v] = du + cost
                if not queued[v]:
                    queued[v] = True
                    queue.append(v)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _triangle(n: int) -> int:
    return n * (n + 1) // 2


def _index(ids: Iterable[int]) -> dict[int, int]:
    index: dict[int, int] = {}
    for position, ident in enumerate(ids):
        if ident in index:
            raise ValueError(f"duplicate id {ident}")
        index[ident] = position
    return index
