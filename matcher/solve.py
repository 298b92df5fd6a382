"""The optimal assignment of mentees to mentors.

Objective, lexicographic (each level only breaks ties of the one before):

1. the most mentees matched;
2. with ``matching.objective = "fairness"``: the highest score of the worst-off matched mentee;
3. the highest total score (the sum of the candidates' integer scores).

Methods, chosen per instance:

* **Min-cost flow** (OR-Tools ``SimpleMinCostFlow.solve_max_flow_with_min_cost``): source ->
  mentor (capacity) -> mentee (1, cost -score) -> sink (1). A maximum flow of minimum cost is
  exactly levels 1 and 3. Pins are exact in the flow too: a pinned pair is formed up front, its
  mentee leaves the graph and its mentor keeps one seat fewer.
* **Fairness** (level 2) stays exact with flows: the best worst-off score is the largest
  threshold ``t`` such that candidates scoring ``>= t`` still match as many mentees (binary search
  over the distinct scores); then a min-cost flow over those candidates gives level 3.
* **CP-SAT** when a side constraint binds that a flow cannot express: "no two people mentoring
  each other" (people with role ``both``; checked on the flow solution, so CP-SAT runs only when
  the flow actually picked both directions of a pair). Levels are solved one after another, each
  fixing the previous optimum, warm-started with hints from the flow solution (and
  ``warm_start``). ``progress`` receives an ``improve`` event (stage ``match``, the level as message)
  on every solution found.

The reported ``objective`` is the total score (level 3), ``bound`` its best proven bound, and
``gap = (bound - objective) / max(1, |bound|)``; 0 for the exact flow. When only the best K
candidates per mentee were kept, the optimum is over the kept candidates (``stats``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from ortools.graph.python import min_cost_flow
from ortools.sat.python import cp_model

from cohort.errors import InfeasibleError, InputError, Problem
from cohort.model import Cohort, PersonId
from cohort.program import Program
from cohort.progress import Progress, improved
from cohort.solving import configure
from matcher.candidates import CandidateSet, build_candidates
from matcher.constraints import PairVars, capacity, mutual_mentoring, one_mentor, pin
from matcher.encode import pair_keys, seats
from matcher.model import MatchResult, Pair


def flow_assignment(cs: CandidateSet, active: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Max-cardinality, then max-score assignment over candidates ``active``; chosen indices."""
    if len(active) == 0:
        return active
    n_m, n_e = len(cs.arrays.mentors), len(cs.arrays.mentees)
    src, sink = 0, n_m + n_e + 1
    mentors = np.nonzero(capacity > 0)[0]
    mentees = np.unique(cs.mentee[active])
    tails = np.concatenate(
        [np.zeros(len(mentors), np.int64), 1 + cs.mentor[active].astype(np.int64), 1 + n_m + mentees]
    )
    heads = np.concatenate(
        [1 + mentors, 1 + n_m + cs.mentee[active].astype(np.int64), np.full(len(mentees), sink, np.int64)]
    )
    caps = np.concatenate([capacity[mentors], np.ones(len(active) + len(mentees), np.int64)])
    costs = np.concatenate(
        [
            np.zeros(len(mentors), np.int64),
            -cs.score[active].astype(np.int64),
            np.zeros(len(mentees), np.int64),
        ]
    )
    smcf = min_cost_flow.SimpleMinCostFlow()
    arcs = smcf.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    supply = int(min(capacity[mentors].sum(), len(mentees)))
    smcf.set_node_supply(src, supply)
    smcf.set_node_supply(sink, -supply)
    status = smcf.solve_max_flow_with_min_cost()
    if status != smcf.OPTIMAL:
        raise InfeasibleError(f"the min-cost flow solver failed with status {status}")
    flows = smcf.flows(arcs[len(mentors) : len(mentors) + len(active)])
    return active[flows > 0]


def _flow_fair(
    cs: CandidateSet, active: np.ndarray, capacity: np.ndarray, floor: int | None
) -> tuple[np.ndarray, int]:
    """Fairness by threshold search over flows; returns (chosen, best worst-off score)."""
    best = flow_assignment(cs, active, capacity)
    target = len(best)
    if target == 0:
        return best, 0
    values = np.unique(cs.score[active])
    lo, hi = 0, len(values) - 1  # values[lo] is always achievable
    while lo < hi:
        mid = (lo + hi + 1) // 2
        sub = active[cs.score[active] >= values[mid]]
        if len(flow_assignment(cs, sub, capacity)) == target:
            lo = mid
        else:
            hi = mid - 1
    threshold = int(values[lo]) if floor is None else min(int(values[lo]), floor)
    chosen = flow_assignment(cs, active[cs.score[active] >= threshold], capacity)
    return chosen, threshold


def mutual_conflicts(cs: CandidateSet, active: np.ndarray) -> np.ndarray:
    """(k, 2) candidate index pairs that are the two directions between the same two people."""
    arr = cs.arrays
    n = len(arr.mentee_person) + len(arr.mentor_person) + 1
    mp = arr.mentor_person[cs.mentor[active]]
    ep = arr.mentee_person[cs.mentee[active]]
    fwd = mp * n + ep
    rev = ep * n + mp
    order = np.argsort(fwd)
    pos = np.searchsorted(fwd[order], rev)
    pos = np.minimum(pos, len(fwd) - 1)
    hit = fwd[order][pos] == rev
    a = np.nonzero(hit)[0]
    b = order[pos[hit]]
    keep = a < b
    return np.stack([active[a[keep]], active[b[keep]]], axis=1) if keep.any() else np.zeros((0, 2), np.int64)


class _Callback(cp_model.CpSolverSolutionCallback):
    def __init__(self, stage: str, progress: Progress):
        super().__init__()
        self.stage, self.progress = stage, progress

    def on_solution_callback(self) -> None:
        obj, bound = self.objective_value, self.best_objective_bound
        improved(self.progress, "match", self.stage, obj, bound, abs(bound - obj) / max(1.0, abs(bound)))


@dataclass(frozen=True)
class Assignment:
    """An assignment problem over candidate indices: the candidates that may be chosen
    (``active``), each mentor's seats (by mentor index), the pinned candidates, and the pairs of
    candidates that are the two directions between two people (``mutual_conflicts``)."""

    cs: CandidateSet
    active: np.ndarray
    capacity: np.ndarray
    pinned: np.ndarray
    conflicts: np.ndarray


def assignment_model(a: Assignment) -> tuple[PairVars, dict[int, list[int]]]:
    """A CP-SAT model with one Boolean per active candidate (``x{k}``) and every matching rule:
    ``capacity``, ``one_mentor``, ``mutual_mentoring``, ``pin``; and the variables' indices per
    mentee (the levels of ``matcher.solve`` and ``matcher.ranks`` are built on it)."""
    model = cp_model.CpModel()
    cs, active = a.cs, a.active
    pos = {int(k): i for i, k in enumerate(active)}
    v = PairVars(model, [model.new_bool_var(f"x{k}") for k in active])
    x = v.x
    mentor = cs.mentor[active]
    capacity(v, (([x[i] for i in np.nonzero(mentor == m)[0]], int(a.capacity[m])) for m in np.unique(mentor)))
    by_mentee: dict[int, list[int]] = {}
    for i, e in enumerate(cs.mentee[active].tolist()):
        by_mentee.setdefault(e, []).append(i)
    one_mentor(v, ([x[i] for i in idx] for idx in by_mentee.values()))
    mutual_mentoring(v, (([x[pos[int(k)]]], [x[pos[int(j)]]]) for k, j in a.conflicts))
    pin(v, (x[pos[int(k)]] for k in a.pinned if int(k) in pos))
    return v, by_mentee


def _cp_sat(
    a: Assignment, hint: np.ndarray, program: Program, progress: Progress | None
) -> tuple[np.ndarray, float, float, dict[str, object]]:
    """Lexicographic CP-SAT: count, (fairness,) total; each level fixed before the next."""
    v, by_mentee = assignment_model(a)
    model, x, active = v.model, v.x, a.active
    hinted = set(int(k) for k in hint)
    for i, k in enumerate(active):
        model.add_hint(x[i], int(k) in hinted)
    score = [int(s) for s in a.cs.score[active]]
    count = sum(x)
    total = sum(s * v for s, v in zip(score, x, strict=False))
    levels: list[tuple[str, cp_model.LinearExprT]] = [("count", count)]
    if program.matching.objective == "fairness":
        top = max(score, default=0)
        worst = model.new_int_var(0, top, "worst")
        for idx in by_mentee.values():
            matched = sum(x[i] for i in idx)
            model.add(worst <= sum(score[i] * x[i] for i in idx) + top * (1 - matched))
        levels.append(("fairness", worst))
    levels.append(("total", total))
    values, obj, bound, stats = _levels(model, x, levels, program, progress)
    chosen = active[np.array(values, dtype=bool)]
    return chosen, obj, bound, stats


def _levels(
    model: cp_model.CpModel,
    x: Sequence[Any],
    levels: Sequence[tuple[str, cp_model.LinearExprT]],
    program: Program,
    progress: Progress | None,
) -> tuple[list[int], float, float, dict[str, object]]:
    """Maximise each level in turn, fixing its optimum before the next, warm-started from the
    level before; the last level's values, objective and bound, and each level's status."""
    solver = cp_model.CpSolver()
    deterministic = program.matching.deterministic
    deadline = time.perf_counter() + program.matching.time_limit_seconds
    budget = program.matching.time_limit_seconds  # deterministic time left for the later levels
    stats: dict[str, object] = {}
    obj = bound = 0.0
    values = None
    for stage, expr in levels:
        model.maximize(expr)
        left = budget if deterministic else deadline - time.perf_counter()
        configure(
            solver.parameters,
            deterministic=deterministic,
            time_limit=max(0.1, left),
            workers=program.matching.workers,
            seed=program.matching.seed,
        )
        cb = _Callback(stage, progress) if progress else None
        status = solver.solve(model, cb) if cb else solver.solve(model)
        budget -= solver.response_proto.deterministic_time
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            if values is None:
                raise InfeasibleError(f"CP-SAT found no assignment ({solver.status_name(status)})")
            break
        values = [solver.value(v) for v in x]
        obj, bound = solver.objective_value, solver.best_objective_bound
        stats[f"{stage}_status"] = solver.status_name(status)
        stats[f"{stage}_value"] = obj
        model.clear_hints()
        for v, val in zip(x, values, strict=False):
            model.add_hint(v, val)
        if stage != "total":
            model.add(expr >= int(round(obj)))
    assert values is not None
    return values, obj, bound, stats


def _allowed(cs: CandidateSet, forbidden: Sequence[tuple[PersonId, PersonId]]) -> np.ndarray:
    """The candidate indices no forbidden pair (either direction) excludes."""
    enc = cs.encoder
    active = np.arange(len(cs), dtype=np.int64)
    both = [(enc.mentor(a), enc.mentee(b)) for x, y in forbidden for a, b in ((x, y), (y, x))]
    both = [(m, e) for m, e in both if m is not None and e is not None]
    if both:
        n_e = len(cs.arrays.mentees)
        fk = pair_keys(np.array([m for m, _ in both]), np.array([e for _, e in both]), n_e)
        active = active[~np.isin(pair_keys(cs.mentor, cs.mentee, n_e), fk)]
    return active


def _pinned(cs: CandidateSet, active: np.ndarray) -> np.ndarray:
    """The pinned candidate indices; ``InputError`` naming every pin that is not an active candidate."""
    pinned = np.array([k for k in (cs.index_of(m, e) for m, e in cs.pins) if k is not None], dtype=np.int64)
    still = set(active.tolist()) if cs.pins else set()
    lost = [
        p
        for p, k in zip(cs.pins, (cs.index_of(m, e) for m, e in cs.pins), strict=False)
        if k is None or k not in still
    ]
    if lost:
        raise InputError(
            [
                Problem(
                    "program.toml",
                    0,
                    "matching.pins",
                    f"pin {list(p)!r} is not a candidate (excluded, e.g. by history)",
                    "remove the pin",
                )
                for p in lost
            ]
        )
    return pinned


def _flow_choice(a: Assignment, program: Program) -> tuple[np.ndarray, int | None, str]:
    """The exact flow's choice (pins formed up front, their mentees and reverse pairs left out),
    the fairness threshold (None without fairness) and the method's words."""
    cs, arr, pinned = a.cs, a.cs.arrays, a.pinned
    free_cap = a.capacity.copy()
    np.subtract.at(free_cap, cs.mentor[pinned], 1)
    pin_people = {
        (int(arr.mentor_person[cs.mentor[k]]), int(arr.mentee_person[cs.mentee[k]])) for k in pinned
    }
    rest = a.active[~np.isin(cs.mentee[a.active], list(set(cs.mentee[pinned].tolist())))]
    if pin_people and len(rest):  # the reverse of a pinned pair can never be formed
        reverse = [
            (int(arr.mentee_person[cs.mentee[k]]), int(arr.mentor_person[cs.mentor[k]])) not in pin_people
            for k in rest
        ]
        rest = rest[reverse]
    if program.matching.objective == "fairness":
        floor = int(cs.score[pinned].min()) if len(pinned) else None
        chosen, worst = _flow_fair(cs, rest, free_cap, floor)
        return np.concatenate([pinned, chosen]), worst, "min-cost flow + fairness threshold search (exact)"
    return np.concatenate([pinned, flow_assignment(cs, rest, free_cap)]), None, "min-cost flow (exact)"


def solve(
    cohort: Cohort,
    program: Program,
    candidates: CandidateSet | None = None,
    *,
    progress: Progress | None = None,
    forbidden_pairs: Iterable[tuple[PersonId, PersonId]] = (),
    mentor_capacity: Mapping[PersonId, int] | None = None,
    warm_start: Iterable[tuple[PersonId, PersonId]] | None = None,
) -> MatchResult:
    """Match ``cohort`` optimally under ``program``; explanations included.

    ``forbidden_pairs`` (either direction) are never formed (e.g. pairs a feedback said no to);
    ``mentor_capacity`` overrides capacities by id; ``warm_start`` pairs are CP-SAT hints.
    ``MatchResult.candidates`` holds every candidate as a domain value unless there are more than
    ``CANDIDATES_IN_RESULT`` (then it is empty: write candidates.csv from the ``CandidateSet``).
    """
    from matcher.explain import describe

    t0 = time.perf_counter()
    cs = (
        candidates
        if candidates is not None
        else build_candidates(cohort, program, mentor_capacity=mentor_capacity)
    )
    t_candidates = time.perf_counter() - t0
    t1 = time.perf_counter()
    forbidden_list = [(a, b) for a, b in forbidden_pairs]
    active = _allowed(cs, forbidden_list)
    pinned = _pinned(cs, active)
    a = Assignment(cs, active, seats(cs.arrays, mentor_capacity), pinned, mutual_conflicts(cs, active))
    chosen, worst, method = _flow_choice(a, program)
    objective = bound = float(cs.score[chosen].sum())
    extra: dict[str, object] = {}
    chosen_set = set(chosen.tolist())
    binding = [(k, j) for k, j in a.conflicts.tolist() if k in chosen_set and j in chosen_set]
    if binding:
        hint = chosen
        if warm_start:
            ws = [cs.index_of(m, e) for m, e in warm_start]
            hint = np.array([k for k in ws if k is not None], dtype=np.int64)
        chosen, objective, bound, extra = _cp_sat(a, hint, program, progress)
        method = "CP-SAT (no two people mentoring each other binds), warm-started from the flow"
    elif progress:
        improved(progress, "match", "total", objective, bound, 0.0)
    solve_seconds = time.perf_counter() - t1
    enc = cs.encoder
    chosen_pairs = [(enc.mentor_ids[cs.mentor[k]], enc.mentee_ids[cs.mentee[k]]) for k in chosen.tolist()]
    t2 = time.perf_counter()
    pairs, unmatched = describe(
        cohort, program, cs, chosen_pairs, mentor_capacity=mentor_capacity, forbidden_pairs=forbidden_list
    )
    stats = _stats(a, pairs, len(binding), (t_candidates, time.perf_counter() - t2), extra)
    if worst is not None:
        stats["fairness_threshold"] = worst
    return MatchResult(
        pairs=pairs,
        unmatched=unmatched,
        candidates=cs.candidates() if len(cs) <= CANDIDATES_IN_RESULT else (),
        matched=len(pairs),
        objective=objective,
        bound=bound,
        gap=abs(bound - objective) / max(1.0, abs(bound)),
        method=method,
        solve_seconds=solve_seconds,
        stats=stats,
    )


def _stats(
    a: Assignment,
    pairs: Sequence[Pair],
    binding: int,
    seconds: tuple[float, float],
    extra: Mapping[str, object],
) -> dict[str, object]:
    """The matching's figures (``MatchResult.stats``); ``seconds``: candidates and explanations."""
    cs = a.cs
    scores = [p.score for p in pairs]
    return {
        "candidates": len(cs),
        "candidates_dropped": cs.dropped,
        "kept_per_mentee": cs.kept_per_mentee,
        "optimal_over": "kept candidates" if cs.dropped else "all candidates",
        "mentors": len(cs.arrays.mentors),
        "mentees": len(cs.arrays.mentees),
        "mutual_conflicts": int(len(a.conflicts)),
        "mutual_conflicts_binding": binding,
        "worst_score": min(scores) if scores else None,
        "pins": len(a.pinned),
        "candidates_seconds": round(seconds[0], 3),
        "explain_seconds": round(seconds[1], 3),
        **dict(cs.stats),
        **extra,
    }


CANDIDATES_IN_RESULT = 200_000
