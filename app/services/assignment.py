"""Automatic reviewer assignment, solved exactly as a minimum-cost flow with OR-Tools.

Every application gets ``per_application`` distinct reviewers; no reviewer gets an application they
have a conflict with; every reviewer's load (assignments already made included) stays within
``[min_load, max_load]``.  Among the assignments that meet all of that, the solver returns one of
the highest total match quality and, among those, one with the most even loads.

Match quality of a reviewer and an application (``match_score``)::

    score = 2 × |reviewer's priority areas ∩ application's priority areas|
          + 1 × |reviewer's regions ∩ regions of the application's partner countries|

The network.  Each application is a source of the reviewers it still needs.  An arc of capacity 1
and cost ``-BIG × score`` joins it to every reviewer it may get: no conflict, not already on it,
room left under the reviewer's maximum.  Each reviewer sends its flow to the sink over parallel
unit arcs whose costs rise with the load: a reviewer's L-th assignment costs L, so the load cost of
a solution is ``Σ L(L+1)/2`` and, of two solutions of equal quality, the one with the more even
loads is cheaper.  ``BIG`` is more than the largest load cost any assignment can have above the
reviewers' base loads, so one point of quality outweighs any difference in load cost: quality is
maximised first and loads are balanced second (a lexicographic objective).  A minimum load is a
demand of the reviewer's node: flow must reach it, and its first assignments up to the minimum
carry no load cost (every solution pays them alike).  The maximum load bounds the number of unit
arcs.  Existing assignments count in the loads and the quotas and are kept.

The solve.  The network is complete: 10,000 applications × 300 reviewers make three million arcs,
built as numpy arrays and handed to OR-Tools' ``SimpleMinCostFlow`` (compiled cost scaling), which
returns an optimal integer flow of the whole network or reports that none is feasible.  The flow
is therefore an optimal assignment, not an approximation: nothing is left out of the network for
speed.  (A pure-Python network simplex over a sparse network grown by column generation took about
five times as long, which is why the complete network is solved directly.)

Infeasible requests raise :class:`AssignmentInfeasible`.  Counting conditions (total places,
minimum loads, conflict-free reviewers for each application, open applications for each reviewer
with a minimum load) are checked before solving, so their messages state the numbers at fault.
Anything subtler shows when the solver finds no feasible flow: the same network is solved again
with a "spare" node that may stand in for missing reviewers and for missing minimum loads at a
cost of one per unit, and the least such help it needs names the applications left short and the
reviewers left under their minimum.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from ortools.graph.python.min_cost_flow import SimpleMinCostFlow

AREA_POINTS = 2
REGION_POINTS = 1

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
    """The whole assignment, existing pairs included; always an optimal one.

    ``pairs`` is sorted; ``scores`` holds the match score of every pair; ``loads`` the number of
    applications of every reviewer in the pool (existing pairs included); ``quality`` the sum of
    the scores.  ``new_pairs`` (sorted) are the pairs the solver added.  ``stats``: ``arcs`` and
    ``nodes`` of the network solved, and ``load_cost`` (Σ L(L+1)/2 over the loads).
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
) -> AssignmentResult:
    """Give every application ``per_application`` reviewers (see the module docstring).

    ``min_load``/``max_load`` bound every reviewer's load unless the reviewer sets its own;
    ``max_load=None`` sets no upper bound.  ``conflicts`` and ``existing`` are
    (reviewer id, application id) pairs.  Conflicts naming someone outside the inputs are
    ignored.  An existing pair counts toward its reviewer's load even if its application is not
    among ``applications`` (another part of the round), and toward its application's quota even
    if its reviewer is not in the pool.  The same inputs give the same assignment.

    Raises AssignmentInfeasible when no assignment meets the constraints, ValueError for
    malformed input (duplicate ids, negative numbers).
    """
    problem = _Problem(applications, reviewers, per_application, min_load, max_load)
    problem.load_pairs(conflicts, existing)
    problem.check_counts()
    network = _Network(problem)
    if not network.solve():
        raise problem.infeasible_after_solve(*network.shortfall())
    return problem.result(network)


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

    def scores(self) -> NDArray[np.int64]:
        """The match score of every (application, reviewer), as one matrix product.

        Each side is a 0/1 matrix of the codes it holds, areas weighted by their points, so
        ``A @ R.T`` counts the shared codes of every pair at once.
        """
        codes: dict[tuple[str, str], int] = {}
        for item in (*self.apps, *self.revs):
            for code in item.priority_areas:
                codes.setdefault(("area", code), len(codes))
            for code in item.regions:
                codes.setdefault(("region", code), len(codes))
        points = np.array(
            [AREA_POINTS if kind == "area" else REGION_POINTS for kind, _ in codes], np.int64
        )

        def held(items: Sequence[ApplicationItem] | Sequence[Reviewer]) -> NDArray[np.int64]:
            matrix = np.zeros((len(items), len(codes)), np.int64)
            for row, item in enumerate(items):
                matrix[row, [codes["area", c] for c in item.priority_areas]] = 1
                matrix[row, [codes["region", c] for c in item.regions]] = 1
            return matrix

        return (held(self.apps) * points) @ held(self.revs).T

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

    def open_pairs(self) -> NDArray[np.bool_]:
        """Which (application, reviewer) may be added: needed, room left, not blocked."""
        open_ = np.zeros((len(self.apps), len(self.revs)), np.bool_)
        open_[np.array(self.need) > 0] = True
        open_[:, np.array(self.room) <= 0] = False
        blocked = [(i, j) for i, on in enumerate(self.conflicted) for j in on]
        blocked += [(i, j) for i, on in enumerate(self.existing) for j in on]
        if blocked:
            rows, cols = np.array(blocked).T
            open_[rows, cols] = False
        return open_

    def infeasible_after_solve(
        self, short_apps: dict[int, int], under_reviewers: dict[int, int]
    ) -> AssignmentInfeasible:
        short = {self.apps[i].id: k for i, k in sorted(short_apps.items())}
        under = {self.revs[j].id: k for j, k in sorted(under_reviewers.items())}
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

    def result(self, network: _Network) -> AssignmentResult:
        scores: dict[Pair, int] = {}
        for i, app in enumerate(self.apps):
            for j in self.existing[i]:
                scores[(self.revs[j].id, app.id)] = int(network.score[i, j])
        new_pairs: list[Pair] = []
        for i, j in zip(network.app_of.tolist(), network.rev_of.tolist(), strict=True):
            pair = (self.revs[j].id, self.apps[i].id)
            scores[pair] = int(network.score[i, j])
            new_pairs.append(pair)
        added = np.bincount(network.rev_of, minlength=len(self.revs)).tolist()
        loads = {r.id: e + a for r, e, a in zip(self.revs, self.existing_load, added, strict=True)}
        return AssignmentResult(
            pairs=sorted(scores),
            new_pairs=sorted(new_pairs),
            scores=scores,
            loads=loads,
            quality=float(sum(scores.values())),
            stats={
                "arcs": network.arcs,
                "nodes": network.nodes,
                "load_cost": sum(_triangle(load) for load in loads.values()),
            },
        )


class _Network:
    """The complete network as arrays, its solve, and the shortfall of an infeasible one.

    Nodes: applications 0..A-1, reviewers A..A+R-1, the sink A+R (and, for the shortfall, the
    spare node A+R+1).  The first arcs join applications to reviewers, one per open pair; the
    reviewers' unit arcs to the sink follow.
    """

    def __init__(self, problem: _Problem) -> None:
        self.pb = problem
        n_apps, n_revs = len(problem.apps), len(problem.revs)
        self.sink = n_apps + n_revs
        self.nodes = n_apps + n_revs + 1
        self.score = problem.scores()
        self.pair_app, self.pair_rev = np.nonzero(problem.open_pairs())
        base = np.array(problem.base, np.int64)
        demand = np.array(problem.demand, np.int64)
        # No more can leave a reviewer for the sink than its arcs bring in, less its demand.
        offered = np.bincount(self.pair_rev, minlength=n_revs)
        units = np.maximum(0, np.minimum(np.array(problem.hi) - base, offered - demand))
        self.unit_rev = np.repeat(np.arange(n_revs), units)
        # The k-th unit above the base load makes the load base + k, and costs that.
        first = np.repeat(np.cumsum(units) - units, units)
        self.unit_cost = base[self.unit_rev] + np.arange(len(self.unit_rev)) - first + 1
        self.big = int(self.unit_cost.sum()) + 1
        self.supplies = np.concatenate(
            [problem.need, -demand, [sum(problem.demand) - problem.total_need]]
        ).astype(np.int64)
        self.arcs = len(self.pair_app) + len(self.unit_rev)
        self.app_of = self.rev_of = np.zeros(0, np.int64)

    def _flow(self, with_spare: bool) -> tuple[SimpleMinCostFlow, int]:
        """The network in OR-Tools, costs of the real problem or, with the spare node, costs
        that count only the units the spare node carries."""
        n_apps = len(self.pb.apps)
        flow = SimpleMinCostFlow()
        pairs = len(self.pair_app)
        # big * (top - score) rather than -big * score: every solution sends the same number of
        # units from applications to reviewers, so the optimum is the same, and OR-Tools' cost
        # scaling solves non-negative costs about a tenth faster here (CPU, benchmark round).
        pair_scores = self.score[self.pair_app, self.pair_rev]
        quality = self.big * (pair_scores.max(initial=0) - pair_scores)
        flow.add_arcs_with_capacity_and_unit_cost(
            self.pair_app.astype(np.int32),
            (n_apps + self.pair_rev).astype(np.int32),
            np.ones(pairs, np.int64),
            np.zeros(pairs, np.int64) if with_spare else quality,
        )
        flow.add_arcs_with_capacity_and_unit_cost(
            (n_apps + self.unit_rev).astype(np.int32),
            np.full(len(self.unit_rev), self.sink, np.int32),
            np.ones(len(self.unit_rev), np.int64),
            np.zeros(len(self.unit_rev), np.int64) if with_spare else self.unit_cost,
        )
        supplies = self.supplies
        if with_spare:
            spare = self.sink + 1
            need = np.array(self.pb.need, np.int64)
            demand = np.array(self.pb.demand, np.int64)
            needing, wanting = np.flatnonzero(need), np.flatnonzero(demand)
            flow.add_arcs_with_capacity_and_unit_cost(
                np.concatenate([needing, np.full(len(wanting) + 1, spare)]).astype(np.int32),
                np.concatenate(
                    [np.full(len(needing), spare), n_apps + wanting, [self.sink]]
                ).astype(np.int32),
                np.concatenate([need[needing], demand[wanting], [self.pb.total_need]]),
                np.concatenate([np.ones(len(needing) + len(wanting), np.int64), [0]]),
            )
            supplies = np.append(supplies, 0)
        flow.set_nodes_supplies(np.arange(len(supplies), dtype=np.int32), supplies)
        return flow, flow.solve()

    def solve(self) -> bool:
        """Solve the real problem and keep the pairs it adds; False if no flow is feasible."""
        flow, status = self._flow(with_spare=False)
        if status == flow.INFEASIBLE:
            return False
        if status != flow.OPTIMAL:
            raise RuntimeError(f"the min-cost-flow solver failed with status {status}")
        taken = flow.flows(np.arange(len(self.pair_app))) > 0
        self.app_of, self.rev_of = self.pair_app[taken], self.pair_rev[taken]
        return True

    def shortfall(self) -> tuple[dict[int, int], dict[int, int]]:
        """The least help from the spare node: units short per application, per reviewer."""
        flow, status = self._flow(with_spare=True)
        if status != flow.OPTIMAL:
            raise RuntimeError(f"the min-cost-flow solver failed with status {status}")
        first = self.arcs
        needing = np.flatnonzero(self.pb.need)
        wanting = np.flatnonzero(self.pb.demand)
        short = flow.flows(np.arange(first, first + len(needing)))
        under = flow.flows(np.arange(first + len(needing), first + len(needing) + len(wanting)))
        return (
            {int(i): int(k) for i, k in zip(needing, short, strict=True) if k},
            {int(j): int(k) for j, k in zip(wanting, under, strict=True) if k},
        )


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
