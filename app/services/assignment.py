"""Automatic reviewer assignment, solved as a minimum-cost flow.

Every application needs ``per_application`` distinct reviewers; a reviewer never gets an application
they declared a conflict with; every reviewer ends with a load in ``[min_load, max_load]``.  Among
the assignments that satisfy all of that, the solver returns one with the highest total match
quality and, among those, the most even loads.

Match quality of a reviewer and an application (``match_score``)::

    score = 2 × |reviewer's priority areas ∩ application's priority areas|
          + 1 × |reviewer's regions ∩ regions of the application's partner countries|

The network: each application is a source of the reviewers it still needs; an arc of capacity 1 and
cost ``-BIG × score`` joins it to each candidate reviewer; each reviewer sends its flow to the sink
over parallel unit arcs whose costs rise with the load, the L-th assignment of a reviewer costing L.
The convex cost spreads the work: of two otherwise equal solutions, the one with the more even loads
is cheaper.  ``BIG`` exceeds the largest possible total of the load costs, so quality is maximised
first and loads are balanced second (a lexicographic objective).  A minimum load becomes a demand of
the reviewer's node, so its first ``min_load`` assignments carry no load cost and flow must reach it.
Assignments that already exist are counted in the reviewers' loads and the applications' quotas and
are kept.

Keeping the graph small: 10,000 applications × 300 reviewers is three million possible arcs, more
than networkx's network simplex handles quickly.  The solver starts from a sparse graph (for every
application, its best ``initial_candidates`` reviewers by score, plus the reviewers a least-loaded
greedy pass gives it, so that the sparse problem is usually feasible) and then prices out the arcs
it left out (column generation).  After each solve it computes node potentials (shortest-path
distances in the residual network); an omitted arc can improve the solution only if its reduced
cost is negative.  Omitted arcs with negative reduced cost are added and the problem is solved
again; when none is left, the potentials certify that the sparse optimum is optimal for the complete
graph.  The result is therefore exactly optimal, not an approximation; the sparse start only saves
time.  Arcs from each application to an artificial node with a prohibitive cost keep every sparse
problem feasible; if the certified optimum still uses them, no assignment satisfies the constraints.

Infeasible requests raise :class:`AssignmentInfeasible`.  Counting conditions (total places, minimum
loads, reviewers free of conflicts for each application, applications open to each reviewer with a
minimum load) are checked before solving, so their messages state the numbers at fault; anything
subtler is reported after solving, naming the applications left short and the reviewers left under
their minimum.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

LIMIT = 3
MARGIN = 0
AREA_POINTS = 2
REGION_POINTS = 1

Pair = tuple[int, int]
"""(reviewer id, application id)."""


@dataclass(frozen=True, slots=True)
class Reviewer:
    """A reviewer in the pool.  ``min_load``/``max_load`` override the round's loads if set."""

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
    """The complete assignment, existing pairs included.

    ``pairs`` is sorted; ``scores`` holds the match score of every pair; ``loads`` the number of
    applications of every reviewer in the pool; ``quality`` the sum of the scores.  ``new_pairs``
    are the pairs the solver added.  ``stats`` records the solve: rounds of pricing, arcs in the
    final sparse graph.
    """

    pairs: list[Pair]
    new_pairs: list[Pair]
    scores: dict[Pair, int]
    loads: dict[int, int]
    quality: float
    stats: dict[str, int] = field(default_factory=dict)


class AssignmentInfeasible(Exception):
    """No assignment satisfies the constraints; ``details`` holds the numbers that show why."""

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
    initial_candidates: int | None = 3,
    seed: int = 0,
) -> AssignmentResult:
    """Assign ``per_application`` reviewers to every application.

    ``min_load``/``max_load`` bound every reviewer's total load (existing pairs included) unless
    the reviewer sets its own; ``max_load=None`` means no upper bound.  ``conflicts`` and
    ``existing`` are (reviewer id, application id) pairs; conflicts naming applications or
    reviewers outside the inputs are ignored, existing pairs must name known ones.
    ``initial_candidates`` is the number of best-scoring reviewers each application starts with in
    the sparse graph (``None``: every reviewer); it changes the running time, not the result.
    ``seed`` fixes the order in which ties are explored.

    Raises AssignmentInfeasible when no assignment meets the constraints and ValueError for
    malformed input (duplicate ids, unknown ids in ``existing``, negative numbers).
    """
    problem = _Problem(applications, reviewers, per_application, min_load, max_load)
    problem.load_pairs(conflicts, existing)
    problem.check_counts()
    rng = random.Random(seed)
    candidates = problem.initial_candidates(initial_candidates, rng)
    solver = _Solver(problem, candidates)
    rounds = 0
    while True:
        rounds += 1
        solver.solve()
        if not solver.add_improving_arcs():
            break
    if solver.short_apps or solver.under_reviewers:
        raise problem.infeasible_after_solve(solver)
    return problem.result(solver, rounds)


class _Problem:
    """Inputs indexed by position, with the counting checks."""

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
        n_apps = len(self.apps)
        self.lo = [r.min_load if r.min_load is not None else min_load for r in self.revs]
        self.declared_hi = [r.max_load if r.max_load is not None else max_load for r in self.revs]
        for j, r in enumerate(self.revs):
            hi = self.declared_hi[j]
            if self.lo[j] < 0 or (hi is not None and hi < 0):
                raise ValueError(f"reviewer {r.id} has a negative load bound")
            if hi is not None and self.lo[j] > hi:
                raise AssignmentInfeasible(
                    f"reviewer {r.id} has a minimum load of {self.lo[j]}, above their maximum of {hi}",
                    {"reviewer_id": r.id, "min_load": self.lo[j], "max_load": hi},
                )
        # Nobody can review more applications than there are.
        self.hi = [n_apps if hi is None else min(hi, n_apps) for hi in self.declared_hi]
        # Score rows: one per distinct expertise profile of the applications.
        area_bits: dict[str, int] = {}
        region_bits: dict[str, int] = {}

        def mask(codes: frozenset[str], bits: dict[str, int]) -> int:
            value = 0
            for code in codes:
                value |= 1 << bits.setdefault(code, len(bits))
            return value

        rev_masks = [
            (mask(r.priority_areas, area_bits), mask(r.regions, region_bits)) for r in reviewers
        ]
        profiles: dict[tuple[int, int], int] = {}
        self.profile_of: list[int] = []
        self.rows: list[list[int]] = []
        for a in self.apps:
            key = (mask(a.priority_areas, area_bits), mask(a.regions, region_bits))
            p = profiles.get(key)
            if p is None:
                p = profiles[key] = len(self.rows)
                am, rm = key
                self.rows.append(
                    [
                        AREA_POINTS * (am & ra).bit_count() + REGION_POINTS * (rm & rr).bit_count()
                        for ra, rr in rev_masks
                    ]
                )
            self.profile_of.append(p)

    def load_pairs(self, conflicts: Collection[Pair], existing: Collection[Pair]) -> None:
        n_apps, n_revs = len(self.apps), len(self.revs)
        self.conflicted: list[set[int]] = [set() for _ in range(n_apps)]
        for rid, aid in conflicts:
            i, j = self.app_index.get(aid), self.rev_index.get(rid)
            if i is not None and j is not None:
                self.conflicted[i].add(j)
        self.existing: list[set[int]] = [set() for _ in range(n_apps)]
        self.existing_load = [0] * n_revs
        for rid, aid in existing:
            i, j = self.app_index.get(aid), self.rev_index.get(rid)
            if i is None or j is None:
                raise ValueError(
                    f"existing pair {(rid, aid)} names an unknown reviewer or application"
                )
            if j in self.conflicted[i]:
                raise AssignmentInfeasible(
                    f"reviewer {rid} is already assigned to application {aid}, "
                    "with which they have a conflict",
                    {"reviewer_id": rid, "application_id": aid},
                )
            if j not in self.existing[i]:
                self.existing[i].add(j)
                self.existing_load[j] += 1
        p = self.per_application
        self.need = [max(0, p - len(done)) for done in self.existing]
        for i, done in enumerate(self.existing):
            if len(done) > p:
                aid = self.apps[i].id
                raise AssignmentInfeasible(
                    f"application {aid} already has {len(done)} reviewers, more than {p}",
                    {"application_id": aid, "existing": len(done), "per_application": p},
                )
        for j, load in enumerate(self.existing_load):
            hi = self.declared_hi[j]
            if hi is not None and load > hi:
                rid = self.revs[j].id
                raise AssignmentInfeasible(
                    f"reviewer {rid} already has {load} applications, more than their maximum {hi}",
                    {"reviewer_id": rid, "existing": load, "max_load": hi},
                )
        self.demand = [max(0, lo - e) for lo, e in zip(self.lo, self.existing_load, strict=True)]
        self.room = [hi - e for hi, e in zip(self.hi, self.existing_load, strict=True)]
        self.total_need = sum(self.need)

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
        uniform_hi = len(set(self.declared_hi)) == 1 and self.declared_hi[0] is not None
        if needed > available:
            details = {
                "needed": needed,
                "available": available,
                "applications": n_apps,
                "per_application": p,
                "reviewers": n_revs,
                "existing": made,
            }
            if not made and uniform_hi:
                hi = self.declared_hi[0]
                details["max_load"] = hi
                message = (
                    f"{n_apps} applications × {p} reviewers = {needed} assignments needed, "
                    f"but {n_revs} reviewers × max load {hi} = {available} available"
                )
            else:
                message = (
                    f"{needed} more assignments needed ({n_apps} applications × {p} reviewers, "
                    f"{made} already made), but the {n_revs} reviewers have only {available} "
                    "places left under their maximum loads"
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
                details["min_load"] = self.lo[0]
                message = (
                    f"min load {self.lo[0]} × {n_revs} reviewers = {required} exceeds the "
                    f"{needed} assignments needed"
                )
            else:
                message = (
                    f"reviewers' minimum loads call for {required} more assignments, "
                    f"but only {needed} are needed"
                )
            raise AssignmentInfeasible(message, details)
        for i, need in enumerate(self.need):
            if not need:
                continue
            free = sum(1 for j in range(n_revs) if self.room[j] > 0 and self.eligible(i, j))
            if free < need:
                aid = self.apps[i].id
                conflict_free = n_revs - len(self.conflicted[i]) - len(self.existing[i])
                if self.existing[i]:
                    message = (
                        f"application {aid} needs {need} more reviewers but only {free} "
                        "reviewers without a conflict are free"
                    )
                else:
                    message = (
                        f"application {aid} has only {free} reviewers without a conflict, "
                        f"needs {need}"
                    )
                if free < conflict_free:
                    message += f" ({conflict_free - free} others are already at their maximum load)"
                raise AssignmentInfeasible(
                    message,
                    {
                        "application_id": aid,
                        "needed": need,
                        "eligible": free,
                        "conflicts": len(self.conflicted[i]),
                    },
                )
        open_to = [0] * n_revs
        for i, need in enumerate(self.need):
            if need:
                for j in range(n_revs):
                    if self.eligible(i, j):
                        open_to[j] += 1
        for j, demand in enumerate(self.demand):
            if demand > open_to[j]:
                rid = self.revs[j].id
                raise AssignmentInfeasible(
                    f"reviewer {rid} must take {demand} more applications to reach their "
                    f"minimum load of {self.lo[j]}, but only {open_to[j]} open applications "
                    "are free of conflicts with them",
                    {"reviewer_id": rid, "required": demand, "eligible": open_to[j]},
                )
        self.open_to = open_to

    def initial_candidates(self, count: int | None, rng: random.Random) -> list[set[int]]:
        """The sparse start: each application's best ``count`` reviewers plus a greedy pick."""
        n_revs = len(self.revs)
        candidates: list[set[int]] = [set() for _ in self.apps]
        if count is None:
            for i, need in enumerate(self.need):
                if need:
                    candidates[i] = {j for j in range(n_revs) if self.eligible(i, j)}
            return candidates
        # Reviewers of each profile grouped by score, best first, in a shuffled order.
        levels: list[list[list[int]]] = []
        for row in self.rows:
            by_score: dict[int, list[int]] = {}
            for j, s in enumerate(row):
                if self.room[j] > 0:
                    by_score.setdefault(s, []).append(j)
            groups = [by_score[s] for s in sorted(by_score, reverse=True)]
            for group in groups:
                rng.shuffle(group)
            levels.append(groups)
        load = list(self.existing_load)
        order = [i for i, need in enumerate(self.need) if need]
        rng.shuffle(order)
        for i in order:
            chosen = candidates[i]
            top: list[int] = []
            greedy: list[int] = []
            need = self.need[i]
            for group in levels[self.profile_of[i]]:
                if len(top) < count:
                    top.extend(j for j in group[: count - len(top) + 8] if self.eligible(i, j))
                    del top[count:]
                if len(greedy) < need:
                    free = [j for j in group if load[j] < self.hi[j] and self.eligible(i, j)]
                    free.sort(key=lambda j: (load[j] >= self.lo[j], load[j]))
                    greedy.extend(free[: need - len(greedy)])
                if len(top) >= count and len(greedy) >= need:
                    break
            for j in greedy:
                load[j] += 1
            chosen.update(top)
            chosen.update(greedy)
        # The greedy pass ignores minimum loads: offer each reviewer it left short a few more
        # applications, those it matches best, so that the sparse problem stays feasible.
        profile_apps: list[list[int]] = [[] for _ in self.rows]
        for i in order:
            profile_apps[self.profile_of[i]].append(i)
        for j, lo in enumerate(self.lo):
            missing = lo - load[j]
            if missing <= 0:
                continue
            wanted = 2 * missing + self.per_application
            for p in sorted(range(len(self.rows)), key=lambda p: -self.rows[p][j]):
                for i in profile_apps[p]:
                    if j not in candidates[i] and self.eligible(i, j):
                        candidates[i].add(j)
                        wanted -= 1
                        if not wanted:
                            break
                if not wanted:
                    break
        return candidates

    def infeasible_after_solve(self, solver: _Solver) -> AssignmentInfeasible:
        short = {self.apps[i].id: k for i, k in solver.short_apps.items()}
        under = {self.revs[j].id: k for j, k in solver.under_reviewers.items()}
        parts = []
        if short:
            listed = ", ".join(f"application {a} is short {k}" for a, k in list(short.items())[:5])
            more = f" and {len(short) - 5} more" if len(short) > 5 else ""
            parts.append(
                f"{len(short)} applications cannot get all their reviewers ({listed}{more}): "
                "the reviewers without a conflict with them are needed elsewhere or at their "
                "maximum load"
            )
        if under:
            listed = ", ".join(f"reviewer {r} is {k} short" for r, k in list(under.items())[:5])
            more = f" and {len(under) - 5} more" if len(under) > 5 else ""
            parts.append(f"{len(under)} reviewers cannot reach their minimum load ({listed}{more})")
        return AssignmentInfeasible(
            "; ".join(parts),
            {"short_applications": short, "underloaded_reviewers": under},
        )

    def result(self, solver: _Solver, rounds: int) -> AssignmentResult:
        scores: dict[Pair, int] = {}
        new_pairs: list[Pair] = []
        loads = {r.id: self.existing_load[j] for j, r in enumerate(self.revs)}
        for i, app in enumerate(self.apps):
            row = self.rows[self.profile_of[i]]
            for j in self.existing[i]:
                scores[(self.revs[j].id, app.id)] = row[j]
            for j in solver.assigned[i]:
                pair = (self.revs[j].id, app.id)
                scores[pair] = row[j]
                new_pairs.append(pair)
                loads[pair[0]] += 1
        new_pairs.sort()
        return AssignmentResult(
            pairs=sorted(scores),
            new_pairs=new_pairs,
            scores=scores,
            loads=loads,
            quality=float(sum(scores.values())),
            stats={"rounds": rounds, "arcs": sum(len(c) for c in solver.candidates)},
        )


class _Solver:
    """The sparse network, its optimal flow, the node potentials and the pricing step."""

    def __init__(self, problem: _Problem, candidates: list[set[int]]) -> None:
        self.pb = problem
        self.candidates = candidates
        n_apps, n_revs = len(problem.apps), len(problem.revs)
        self.sink = n_apps + n_revs
        self.spare = n_apps + n_revs + 1
        # Loads run from base (existing plus the minimum-load demand, free of load cost) to top.
        self.base = [e + d for e, d in zip(problem.existing_load, problem.demand, strict=True)]
        top_full = [min(problem.hi[j], self.base[j] + problem.open_to[j]) for j in range(n_revs)]
        load_cost_bound = sum(
            _triangle(top) - _triangle(base)
            for base, top in zip(self.base, top_full, strict=True)
            if top > base
        )
        self.big = load_cost_bound + 1
        max_score = max((max(row) for row in problem.rows if row), default=0)
        self.artificial = self.big * (problem.total_need * max_score + 1) + 1
        self.assigned: list[list[int]] = [[] for _ in range(n_apps)]
        self.short_apps: dict[int, int] = {}
        self.under_reviewers: dict[int, int] = {}

    def solve(self) -> None:
        pb = self.pb
        n_apps = len(pb.apps)
        sink, spare, big = self.sink, self.spare, self.big
        graph = nx.MultiDiGraph()
        degree = [0] * len(pb.revs)
        edges: list[tuple[int, int, dict[str, int]]] = []
        for i, need in enumerate(pb.need):
            if not need:
                continue
            graph.add_node(i, demand=-need)
            row = pb.rows[pb.profile_of[i]]
            for j in self.candidates[i]:
                edges.append((i, n_apps + j, {"capacity": 1, "weight": -big * row[j]}))
                degree[j] += 1
            edges.append((i, spare, {"capacity": need, "weight": self.artificial}))
        for j, demand in enumerate(pb.demand):
            node = n_apps + j
            graph.add_node(node, demand=demand)
            if demand:
                edges.append((spare, node, {"capacity": demand, "weight": 0}))
            # Flow through a reviewer cannot exceed its arcs in, so arcs beyond that are useless.
            top = min(pb.hi[j], self.base[j] + degree[j])
            edges.extend(
                (node, sink, {"capacity": 1, "weight": load})
                for load in range(self.base[j] + 1, top + 1)
            )
        graph.add_node(sink, demand=pb.total_need - sum(pb.demand))
        graph.add_node(spare, demand=0)
        edges.append((spare, sink, {"weight": 0}))
        graph.add_edges_from(edges)
        _, flow = nx.network_simplex(graph)

        self.assigned = [[] for _ in range(n_apps)]
        self.app_spare = [0] * n_apps
        app_flow = [0] * len(pb.revs)
        for i, need in enumerate(pb.need):
            if not need:
                continue
            out = flow[i]
            chosen = [j for j in self.candidates[i] if out[n_apps + j][0]]
            self.assigned[i] = chosen
            for j in chosen:
                app_flow[j] += 1
            self.app_spare[i] = out[spare][0]
        self.spare_in = [
            flow[spare][n_apps + j][0] if demand else 0 for j, demand in enumerate(pb.demand)
        ]
        self.spare_to_sink = flow[spare][sink][0]
        self.app_flow = app_flow
        self.short_apps = {i: k for i, k in enumerate(self.app_spare) if k}
        self.under_reviewers = {j: k for j, k in enumerate(self.spare_in) if k}

    def potentials(self) -> tuple[dict[int, int], list[int]]:
        """Shortest-path distances in the residual network, reviewers and applications.

        Application nodes are contracted: a path through an application enters by one of its
        assigned reviewers (or the artificial node) and leaves by an unassigned candidate (or
        the artificial node), so the reviewer-level graph gets one arc per such combination.
        """
        pb = self.pb
        n_apps = len(pb.apps)
        sink, spare, big, art = self.sink, self.spare, self.big, self.artificial
        arcs: dict[int, dict[int, int]] = {}

        def arc(u: int, v: int, cost: int) -> None:
            out = arcs.setdefault(u, {})
            if cost < out.get(v, cost + 1):
                out[v] = cost

        dist: dict[int, int] = {sink: 0, spare: 0}
        for j in range(len(pb.revs)):
            node = n_apps + j
            dist[node] = 0
            to_sink = self.spare_in[j] + self.app_flow[j] - pb.demand[j]
            # The next unit arc to the sink, which the complete network always has below the cap.
            if self.base[j] + to_sink < pb.hi[j]:
                arc(node, sink, self.base[j] + to_sink + 1)
            if to_sink > 0:
                arc(sink, node, -(self.base[j] + to_sink))
            if self.spare_in[j] < pb.demand[j]:
                arc(spare, node, 0)
            if self.spare_in[j] > 0:
                arc(node, spare, 0)
        arc(spare, sink, 0)
        if self.spare_to_sink > 0:
            arc(sink, spare, 0)
        entries: list[list[tuple[int, int]]] = [[] for _ in range(n_apps)]
        for i, need in enumerate(pb.need):
            if not need:
                continue
            row = pb.rows[pb.profile_of[i]]
            assigned = self.assigned[i]
            into = [(n_apps + j, big * row[j]) for j in assigned]
            if self.app_spare[i]:
                into.append((spare, -art))
            entries[i] = into
            taken = set(assigned)
            leave = [(n_apps + j, -big * row[j]) for j in self.candidates[i] if j not in taken]
            if self.app_spare[i] < need:
                leave.append((spare, art))
            for v, cost in leave:
                if cost < dist[v]:
                    dist[v] = cost
                for u, back in into:
                    if u != v:
                        arc(u, v, back + cost)
        _bellman_ford(arcs, dist)
        app_dist = [0] * n_apps
        for i, into in enumerate(entries):
            app_dist[i] = min([0, *(dist[u] + cost for u, cost in into)])
        return dist, app_dist

    def add_improving_arcs(self) -> bool:
        """Add every omitted arc with a negative reduced cost; report whether there was one."""
        pb = self.pb
        n_apps = len(pb.apps)
        dist, app_dist = self.potentials()
        big = self.big
        rev_dist = [dist[n_apps + j] for j in range(len(pb.revs))]
        ranked: list[list[tuple[int, int]] | None] = [None] * len(pb.rows)
        added = False
        limit = LIMIT
        for i, need in enumerate(pb.need):
            if not need:
                continue
            p = pb.profile_of[i]
            order = ranked[p]
            if order is None:
                row = pb.rows[p]
                order = sorted(
                    (
                        (d + big * s, j)
                        for j, (d, s) in enumerate(zip(rev_dist, row, strict=True))
                        if pb.room[j] > 0
                    ),
                    reverse=True,
                )
                ranked[p] = order
            threshold = app_dist[i]
            chosen = self.candidates[i]
            found = 0
            for value, j in order:
                if value <= threshold - MARGIN:
                    break
                if j not in chosen and pb.eligible(i, j):
                    chosen.add(j)
                    found += 1
                    if found >= limit:
                        break
            added = added or found > 0
        return added


def _bellman_ford(arcs: dict[int, dict[int, int]], dist: dict[int, int]) -> None:
    """Relax ``dist`` in place to shortest distances (queue-based Bellman-Ford)."""
    queue = deque(dist)
    queued = set(dist)
    limit = len(dist) * (sum(len(out) for out in arcs.values()) + 1)
    steps = 0
    while queue:
        u = queue.popleft()
        queued.discard(u)
        du = dist[u]
        for v, cost in arcs.get(u, {}).items():
            if du + cost < dist[v]:
                dist[v] = du + cost
                if v not in queued:
                    queued.add(v)
                    queue.append(v)
        steps += 1
        if steps > limit:
            raise RuntimeError("negative cycle in the residual network of an optimal flow")


def _triangle(n: int) -> int:
    return n * (n + 1) // 2


def _index(ids: Iterable[int]) -> dict[int, int]:
    index: dict[int, int] = {}
    for position, ident in enumerate(ids):
        if ident in index:
            raise ValueError(f"duplicate id {ident}")
        index[ident] = position
    return index
