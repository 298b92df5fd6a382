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
from collections.abc import Iterable, Mapping

import numpy as np
from ortools.graph.python import min_cost_flow
from ortools.sat.python import cp_model

from cohort.errors import InfeasibleError, InputError, Problem
from cohort.model import Cohort, PersonId
from cohort.program import Program
from cohort.progress import Progress, improved
from cohort.solving import configure
from matcher.candidates import CandidateSet, build_candidates
from matcher.encode import pair_keys
from matcher.model import MatchResult


def _flow(cs: CandidateSet, active: np.ndarray, capacity: np.ndarray) -> np.ndarray:
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
    best = _flow(cs, active, capacity)
    target = len(best)
    if target == 0:
        return best, 0
    values = np.unique(cs.score[active])
    lo, hi = 0, len(values) - 1  # values[lo] is always achievable
    while lo < hi:
        mid = (lo + hi + 1) // 2
        sub = active[cs.score[active] >= values[mid]]
        if len(_flow(cs, sub, capacity)) == target:
            lo = mid
        else:
            hi = mid - 1
    threshold = int(values[lo]) if floor is None else min(int(values[lo]), floor)
    chosen = _flow(cs, active[cs.score[active] >= threshold], capacity)
    return chosen, threshold


def _mutual_conflicts(cs: CandidateSet, active: np.ndarray) -> np.ndarray:
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


def _cp_sat(
    cs: CandidateSet,
    active: np.ndarray,
    capacity: np.ndarray,
    pinned: np.ndarray,
    conflicts: np.ndarray,
    hint: np.ndarray,
    program: Program,
    progress: Progress | None,
) -> tuple[np.ndarray, float, float, dict[str, object]]:
    """Lexicographic CP-SAT: count, (fairness,) total; each level fixed before the next."""
    model = cp_model.CpModel()
    pos = {int(k): i for i, k in enumerate(active)}
    x = [model.new_bool_var(f"x{k}") for k in active]
    for m in np.unique(cs.mentor[active]):
        model.add(sum(x[i] for i in np.nonzero(cs.mentor[active] == m)[0]) <= int(capacity[m]))
    by_mentee: dict[int, list[int]] = {}
    for i, e in enumerate(cs.mentee[active].tolist()):
        by_mentee.setdefault(e, []).append(i)
    for idx in by_mentee.values():
        model.add_at_most_one(x[i] for i in idx)
    for a, b in conflicts:  # Hard: mutual_mentoring (cohort.rules)
        model.add_bool_or([x[pos[int(a)]].negated(), x[pos[int(b)]].negated()])
    for k in pinned:
        model.add(x[pos[int(k)]] == 1)
    hinted = set(int(k) for k in hint)
    for i, k in enumerate(active):
        model.add_hint(x[i], int(k) in hinted)
    score = [int(s) for s in cs.score[active]]
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
    chosen = active[np.array(values, dtype=bool)]
    return chosen, obj, bound, stats


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
    # Long on purpose: pins, forbidden pairs, the exact flow and the CP-SAT model with its side
    # constraints share the candidate indices; the steps are marked by comments below.
    from matcher.explain import describe

    t0 = time.perf_counter()
    cs = (
        candidates
        if candidates is not None
        else build_candidates(cohort, program, mentor_capacity=mentor_capacity)
    )
    t_candidates = time.perf_counter() - t0
    t1 = time.perf_counter()
    arr, enc = cs.arrays, cs.encoder
    capacity = arr.capacity.copy()
    for pid, cap in (mentor_capacity or {}).items():
        if enc.mentor(pid) is not None:
            capacity[enc.mentor(pid)] = cap
    active = np.arange(len(cs), dtype=np.int64)
    forbidden_list = [(a, b) for a, b in forbidden_pairs]
    forbidden = [(enc.mentor(a), enc.mentee(b)) for x, y in forbidden_list for a, b in ((x, y), (y, x))]
    forbidden = [(m, e) for m, e in forbidden if m is not None and e is not None]
    n_e = len(arr.mentees)
    keys = pair_keys(cs.mentor, cs.mentee, n_e)
    if forbidden:
        fk = pair_keys(np.array([m for m, _ in forbidden]), np.array([e for _, e in forbidden]), n_e)
        active = active[~np.isin(keys, fk)]
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
    conflicts = _mutual_conflicts(cs, active)
    pin_mentees = set(cs.mentee[pinned].tolist())
    free_cap = capacity.copy()
    np.subtract.at(free_cap, cs.mentor[pinned], 1)
    pin_people = {
        (int(arr.mentor_person[cs.mentor[k]]), int(arr.mentee_person[cs.mentee[k]])) for k in pinned
    }
    rest = active[~np.isin(cs.mentee[active], list(pin_mentees))]
    # the reverse of a pinned pair can never be formed
    rest = (
        rest[
            [
                (int(arr.mentee_person[cs.mentee[k]]), int(arr.mentor_person[cs.mentor[k]])) not in pin_people
                for k in rest
            ]
        ]
        if pin_people and len(rest)
        else rest
    )
    fairness = program.matching.objective == "fairness"
    floor = int(cs.score[pinned].min()) if len(pinned) else None
    if fairness:
        chosen, worst = _flow_fair(cs, rest, free_cap, floor)
        method = "min-cost flow + fairness threshold search (exact)"
    else:
        chosen, worst = _flow(cs, rest, free_cap), None
        method = "min-cost flow (exact)"
    chosen = np.concatenate([pinned, chosen])
    objective = bound = float(cs.score[chosen].sum())
    extra: dict[str, object] = {}
    chosen_set = set(chosen.tolist())
    binding = [(a, b) for a, b in conflicts.tolist() if a in chosen_set and b in chosen_set]
    if binding:
        hint = chosen
        if warm_start:
            ws = [cs.index_of(m, e) for m, e in warm_start]
            hint = np.array([k for k in ws if k is not None], dtype=np.int64)
        chosen, objective, bound, extra = _cp_sat(
            cs, active, capacity, pinned, conflicts, hint, program, progress
        )
        method = "CP-SAT (no two people mentoring each other binds), warm-started from the flow"
    elif progress:
        improved(progress, "match", "total", objective, bound, 0.0)
    solve_seconds = time.perf_counter() - t1
    gap = abs(bound - objective) / max(1.0, abs(bound))
    chosen_pairs = [(enc.mentor_ids[cs.mentor[k]], enc.mentee_ids[cs.mentee[k]]) for k in chosen.tolist()]
    t2 = time.perf_counter()
    pairs, unmatched = describe(
        cohort, program, cs, chosen_pairs, mentor_capacity=mentor_capacity, forbidden_pairs=forbidden_list
    )
    scores = [p.score for p in pairs]
    stats: dict[str, object] = {
        "candidates": len(cs),
        "candidates_dropped": cs.dropped,
        "kept_per_mentee": cs.kept_per_mentee,
        "optimal_over": "kept candidates" if cs.dropped else "all candidates",
        "mentors": len(arr.mentors),
        "mentees": len(arr.mentees),
        "mutual_conflicts": int(len(conflicts)),
        "mutual_conflicts_binding": len(binding),
        "worst_score": min(scores) if scores else None,
        "pins": len(pinned),
        "candidates_seconds": round(t_candidates, 3),
        "explain_seconds": round(time.perf_counter() - t2, 3),
        **dict(cs.stats),
        **extra,
    }
    if worst is not None:
        stats["fairness_threshold"] = worst
    return MatchResult(
        pairs=pairs,
        unmatched=unmatched,
        candidates=cs.candidates() if len(cs) <= CANDIDATES_IN_RESULT else (),
        matched=len(pairs),
        objective=objective,
        bound=bound,
        gap=gap,
        method=method,
        solve_seconds=solve_seconds,
        stats=stats,
    )


CANDIDATES_IN_RESULT = 200_000
