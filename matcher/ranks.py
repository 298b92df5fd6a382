"""Ranked choices allocated for the whole cohort at once (``[matching] preferences``).

The ``ranks`` column (``cohort.ranks``) gives each mentee's mentors in order of preference (and,
optionally, each mentor's mentees). Every mode keeps "the most mentees matched" as its first level;
then, lexicographically (each level only breaks ties of the one before):

* ``rank-maximal``: the most mentees with their 1st choice, then the most with their 2nd, ...;
  a partner a mentee did not rank comes after every ranked one;
* ``worst-rank``: the best (lowest) worst rank any ranking mentee gets (a partner off their list
  counts as worse than any rank), then rank-maximal;
* ``score``: no rank levels; a ranked pair's ``prefer`` component becomes at least
  ``weights.prefer x (f_mentee + f_mentor) / 2`` with ``f = (L + 1 - r) / L`` for a person who put
  the partner at rank ``r`` of ``L`` (1 for a first choice, 0 when not ranked): ranks score like
  ``prefer`` requests, a first choice like a ``prefer`` entry, later ones less.

Mentors' ranks of mentees, in the two rank modes, are a tie-break level after the mentees' levels:
the most mentors with their 1st-ranked mentee, then 2nd, ... Last of all comes the total score.

Only candidates count: pairs that pass every hard rule and have a common recurring slot for the
whole cycle (the slot-aware candidate build), so a ranked pair that cannot be scheduled is never
"allocated". Ranked pairs are protected from the best-K candidate limit.

Model (exact): a min-cost circulation source -> mentor (capacity) -> mentee (1) -> sink -> source,
solved once per level. After each level, optimal node potentials are computed from the residual
graph (Bellman-Ford); by complementary slackness every optimal flow of that level has flow at its
lower bound on arcs of positive reduced cost and at its upper bound on arcs of negative reduced
cost, so fixing those bounds keeps exactly the optimal flows of every level so far. No big
weights: each level's costs are small integers, and arcs fixed by earlier levels leave the later
flows (which shrink fast). The worst-rank level is a binary search for the smallest ``t`` such
that allowing ranks ``<= t`` keeps the level-1 optimum feasible (``0``: only mentees who ranked
nobody are matched; ``depth + 1``: some ranking mentee must get a mentor off their list).
When the solution uses both directions between two people with role ``both``, the same levels are
solved by CP-SAT instead, each fixing the previous optimum.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace

import numpy as np
from ortools.graph.python import min_cost_flow
from ortools.sat.python import cp_model

from cohort.errors import InfeasibleError, Problem
from cohort.model import Cohort, PersonId
from cohort.program import Program
from cohort.progress import Progress, improved
from cohort.ranks import has_ranks, split_ranks
from cohort.rules import RULES, Violation
from matcher.candidates import CandidateSet
from matcher.encode import pair_keys, seats
from matcher.model import COMPONENTS, MatchResult
from matcher.solve import Assignment, assignment_model, mutual_conflicts

PairKey = tuple[PersonId, PersonId]
RANK_MODES = ("rank-maximal", "worst-rank")


def active(cohort: Cohort, program: Program) -> bool:
    """Whether ranks change the matching: someone ranked and the mode is a rank mode."""
    return program.matching.preferences in RANK_MODES and has_ranks(cohort)


@dataclass(frozen=True, eq=False)
class RankArrays:
    """Per candidate: the mentee's rank of the mentor and the mentor's rank of the mentee (0: none)."""

    mentee_rank: np.ndarray
    mentor_rank: np.ndarray
    ranking_mentee: np.ndarray  # per mentee index: ranked at least one mentor
    depth: int  # the longest mentee list
    mentor_depth: int


def _lookup(
    cs: CandidateSet, ranks: Mapping[PersonId, tuple[PersonId, ...]], mentee_side: bool
) -> np.ndarray:
    enc = cs.encoder
    mentors, mentees, values = [], [], []
    for who, listed in ranks.items():
        for r, other in enumerate(listed, 1):
            m, e = (
                (enc.mentor(other), enc.mentee(who)) if mentee_side else (enc.mentor(who), enc.mentee(other))
            )
            if m is not None and e is not None:
                mentors.append(m)
                mentees.append(e)
                values.append(r)
    out = np.zeros(len(cs), dtype=np.int32)
    if not values:
        return out
    n_e = len(cs.arrays.mentees)
    keys = pair_keys(np.array(mentors), np.array(mentees), n_e)
    order = np.argsort(keys)
    keys, vals = keys[order], np.array(values, dtype=np.int32)[order]
    ck = pair_keys(cs.mentor, cs.mentee, n_e)
    pos = np.minimum(np.searchsorted(keys, ck), len(keys) - 1)
    hit = keys[pos] == ck
    out[hit] = vals[pos[hit]]
    return out


def rank_arrays(cohort: Cohort, cs: CandidateSet) -> RankArrays:
    """The ranks of every candidate pair, from the cohort's ``ranks`` cells."""
    as_mentee, as_mentor = split_ranks(cohort)
    ranking = np.zeros(len(cs.arrays.mentees), dtype=bool)
    for pid in as_mentee:
        e = cs.encoder.mentee(pid)
        if e is not None:
            ranking[e] = True
    return RankArrays(
        _lookup(cs, as_mentee, True),
        _lookup(cs, as_mentor, False),
        ranking,
        max((len(v) for v in as_mentee.values()), default=0),
        max((len(v) for v in as_mentor.values()), default=0),
    )


def ranked_pairs(cohort: Cohort) -> list[PairKey]:
    """Every (mentor, mentee) pair that either side ranked (protected from the best-K limit)."""
    as_mentee, as_mentor = split_ranks(cohort)
    out = [(m, e) for e, ms in as_mentee.items() for m in ms]
    out += [(m, e) for m, es in as_mentor.items() for e in es]
    return list(dict.fromkeys(out))


def with_rank_scores(cohort: Cohort, program: Program, cs: CandidateSet) -> CandidateSet:
    """``cs`` with ranked pairs scored as ``prefer`` requests (mode ``score``; see the module doc)."""
    if not has_ranks(cohort) or len(cs) == 0:
        return cs
    as_mentee, as_mentor = split_ranks(cohort)
    ra = rank_arrays(cohort, cs)
    length_e = np.zeros(len(cs.arrays.mentees), dtype=np.float64)
    for pid, listed in as_mentee.items():
        length_e[cs.encoder.mentee(pid)] = len(listed)
    length_m = np.zeros(len(cs.arrays.mentors), dtype=np.float64)
    for pid, listed in as_mentor.items():
        length_m[cs.encoder.mentor(pid)] = len(listed)
    le, lm = length_e[cs.mentee], length_m[cs.mentor]
    fe = np.where(ra.mentee_rank > 0, (le + 1 - ra.mentee_rank) / np.maximum(le, 1), 0.0)
    fm = np.where(ra.mentor_rank > 0, (lm + 1 - ra.mentor_rank) / np.maximum(lm, 1), 0.0)
    col = COMPONENTS.index("prefer")
    bonus = np.rint(program.weights.prefer * (fe + fm) / 2).astype(np.int32)
    comps = cs.components.copy()
    comps[:, col] = np.maximum(comps[:, col], bonus)
    return replace(cs, components=comps, score=comps.sum(axis=1, dtype=np.int32))


# ------------------------------------------------------------------------------------------------
# The lexicographic flow


@dataclass
class _Graph:
    """A circulation with per-arc lower and upper bounds; arc ``k < n_pairs`` is candidate ``pair[k]``."""

    n: int
    tail: np.ndarray
    head: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    n_pairs: int

    def solve(self, pair_cost: np.ndarray, back_cost: int) -> np.ndarray | None:
        """A minimum-cost circulation within the bounds (None when infeasible)."""
        cost = np.zeros(len(self.tail), dtype=np.int64)
        cost[: self.n_pairs] = pair_cost
        cost[-1] = back_cost
        supply = np.zeros(self.n, dtype=np.int64)
        np.add.at(supply, self.head, self.lo)
        np.subtract.at(supply, self.tail, self.lo)
        # arcs fixed by earlier levels (hi == lo) are left out: their flow is in the supplies
        free = np.nonzero(self.hi > self.lo)[0]
        smcf = min_cost_flow.SimpleMinCostFlow()
        arcs = smcf.add_arcs_with_capacity_and_unit_cost(
            self.tail[free], self.head[free], self.hi[free] - self.lo[free], cost[free]
        )
        smcf.set_nodes_supplies(np.arange(self.n), supply)
        status = smcf.solve()
        if status == smcf.INFEASIBLE:
            return None
        if status != smcf.OPTIMAL:
            raise InfeasibleError(f"the min-cost flow solver failed with status {status}")
        self._cost = cost
        flow = self.lo.copy()
        flow[free] += smcf.flows(arcs)
        return flow

    def fix(self, flow: np.ndarray) -> None:
        """Keep only the optimal flows of the level just solved (complementary slackness)."""
        cost = self._cost
        fwd = flow < self.hi
        bwd = flow > self.lo
        ru = np.concatenate([self.tail[fwd], self.head[bwd]])
        rv = np.concatenate([self.head[fwd], self.tail[bwd]])
        rc = np.concatenate([cost[fwd], -cost[bwd]])
        d = _potentials(self.n, ru, rv, rc)
        reduced = cost + d[self.tail] - d[self.head]
        self.hi = np.where(reduced > 0, self.lo, self.hi)
        self.lo = np.where(reduced < 0, self.hi, self.lo)


def _potentials(n: int, ru: np.ndarray, rv: np.ndarray, rc: np.ndarray) -> np.ndarray:
    """Shortest distances from a virtual root joined to every node at cost 0 (Bellman-Ford, only
    relaxing arcs out of nodes whose distance changed). The residual graph of an optimal flow has
    no negative cycle, so this ends within ``n`` rounds."""
    d = np.zeros(n, dtype=np.int64)
    changed = np.ones(n, dtype=bool)
    for _ in range(n + 1):
        sel = np.nonzero(changed[ru])[0]
        if len(sel) == 0:
            return d
        new = d.copy()
        np.minimum.at(new, rv[sel], d[ru[sel]] + rc[sel])
        changed = new < d
        if not changed.any():
            return d
        d = new
    raise InfeasibleError("negative cycle in an optimal residual graph (a bug)")


def _graph(cs: CandidateSet, act: np.ndarray, capacity: np.ndarray, pinned: np.ndarray) -> _Graph:
    n_m, n_e = len(cs.arrays.mentors), len(cs.arrays.mentees)
    src, sink = n_m + n_e, n_m + n_e + 1
    mentors = np.nonzero(capacity > 0)[0]
    mentees = np.unique(cs.mentee[act])
    n_pairs = len(act)
    tail = np.concatenate(
        [cs.mentor[act].astype(np.int64), np.full(len(mentors), src), n_m + mentees.astype(np.int64), [sink]]
    )
    head = np.concatenate(
        [n_m + cs.mentee[act].astype(np.int64), mentors, np.full(len(mentees), sink), [src]]
    )
    hi = np.concatenate(
        [
            np.ones(n_pairs, np.int64),
            capacity[mentors].astype(np.int64),
            np.ones(len(mentees), np.int64),
            [min(int(capacity.sum()), len(mentees))],
        ]
    )
    lo = np.zeros(len(hi), dtype=np.int64)
    lo[:n_pairs] = np.isin(act, pinned)
    return _Graph(n_m + n_e + 2, tail, head, lo, hi, n_pairs)


@dataclass(frozen=True)
class Level:
    """One level of the lexicographic objective: its name and its optimum."""

    name: str
    value: int


def _levels(mode: str, ra: RankArrays, act: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """(name, gain per active candidate) of every rank level after the count, in order."""
    er, mr = ra.mentee_rank[act], ra.mentor_rank[act]
    out = [(f"mentee_rank_{r}", (er == r).astype(np.int64)) for r in range(1, ra.depth + 1)]
    out += [(f"mentor_rank_{r}", (mr == r).astype(np.int64)) for r in range(1, ra.mentor_depth + 1)]
    return [(name, gain) for name, gain in out if gain.any()]


def _worst(ra: RankArrays, cs: CandidateSet, act: np.ndarray) -> np.ndarray:
    """Per active candidate: the rank it gives a ranking mentee (depth + 1 when off their list), 0
    for mentees who ranked nobody (they do not count for the worst rank)."""
    er = ra.mentee_rank[act].astype(np.int64)
    off = np.where(er == 0, ra.depth + 1, er)
    return np.where(ra.ranking_mentee[cs.mentee[act]], off, 0)


def flow_levels(
    cs: CandidateSet,
    act: np.ndarray,
    capacity: np.ndarray,
    pinned: np.ndarray,
    mode: str,
    ra: RankArrays,
    score: np.ndarray,
    progress: Progress | None = None,
) -> tuple[np.ndarray, list[Level]]:
    """Chosen candidate indices and the optimum of every level, by fixed-bound flow stages."""
    g = _graph(cs, act, capacity, pinned)
    levels: list[Level] = []
    n_e = len(cs.arrays.mentees)

    def stage(name: str, gain: np.ndarray, last: bool = False, count_too: bool = False) -> np.ndarray:
        # the return arc's cost -big makes "more pairs" outweigh any change of this level's total;
        # after the first level the number of pairs is fixed anyway
        big = int(np.abs(gain).max(initial=0)) * n_e + 1
        flow = g.solve(-gain, -big)
        if flow is None:
            raise InfeasibleError(f"level {name!r} has no feasible flow (a bug)")
        if count_too:
            levels.append(Level("matched", int(flow[: g.n_pairs].sum())))
        value = int((gain * flow[: g.n_pairs]).sum()) if name != "matched" else int(flow[: g.n_pairs].sum())
        levels.append(Level(name, value))
        if progress:
            improved(progress, "match", name, float(value), float(value), 0.0)
        if not last:
            g.fix(flow)
        return flow

    rank_levels = _levels(mode, ra, act)
    if mode == "worst-rank" or not rank_levels:
        stage("matched", np.zeros(len(act), np.int64))
    else:  # one solve for the count and the first rank level (lexicographic by the return arc's cost)
        name, gain = rank_levels.pop(0)
        stage(name, gain, count_too=True)
    if mode == "worst-rank" and ra.depth:
        # the smallest threshold t such that ranks <= t (0: only mentees who ranked nobody, depth + 1:
        # anybody) keep the count: binary search, depth + 1 is always feasible
        worst = _worst(ra, cs, act)
        lo_t, hi_t = 0, ra.depth + 1
        while lo_t < hi_t:
            t = (lo_t + hi_t) // 2
            trial = np.where(worst > t, 0, g.hi[: g.n_pairs])
            feasible = not (trial < g.lo[: g.n_pairs]).any()
            if feasible:
                saved = g.hi.copy()
                g.hi[: g.n_pairs] = trial
                feasible = g.solve(np.zeros(len(act), np.int64), 0) is not None
                g.hi = saved
            if feasible:
                hi_t = t
            else:
                lo_t = t + 1
        g.hi[: g.n_pairs] = np.where(worst > hi_t, 0, g.hi[: g.n_pairs])
        levels.append(Level("worst_rank", hi_t))
    for name, gain in rank_levels:
        stage(name, gain)
    flow = stage("score", score[act].astype(np.int64), last=True)
    return act[flow[: g.n_pairs] > 0], levels


def cp_sat_levels(
    a: Assignment, mode: str, ra: RankArrays, score: np.ndarray, program: Program
) -> tuple[np.ndarray, list[Level], bool]:
    """The same levels in CP-SAT (for "no two people mentoring each other"); (chosen, levels, optimal)."""
    v, _ = assignment_model(a)
    model, x, act, cs = v.model, v.x, a.active, a.cs
    levels: list[tuple[str, cp_model.LinearExprT, int]] = [("matched", sum(x), 1)]
    if mode == "worst-rank" and ra.depth:
        worst = _worst(ra, cs, act)
        w = model.new_int_var(0, ra.depth + 1, "worst")
        for i, value in enumerate(worst.tolist()):
            if value:
                model.add(w >= value).only_enforce_if(x[i])
        levels.append(("worst_rank", w, -1))
    for name, gain in _levels(mode, ra, act):
        levels.append((name, sum(int(g) * x[i] for i, g in enumerate(gain.tolist()) if g), 1))
    levels.append(("score", sum(int(s) * v for s, v in zip(score[act].tolist(), x, strict=True)), 1))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = program.matching.workers
    solver.parameters.random_seed = program.matching.seed
    deadline = time.perf_counter() + program.matching.time_limit_seconds
    out: list[Level] = []
    values = None
    optimal = True
    for name, expr, sign in levels:
        if sign > 0:
            model.maximize(expr)
        else:
            model.minimize(expr)
        solver.parameters.max_time_in_seconds = max(0.1, deadline - time.perf_counter())
        status = solver.solve(model)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            if values is None:
                raise InfeasibleError(f"CP-SAT found no assignment ({solver.status_name(status)})")
            optimal = False
            break
        optimal &= status == cp_model.OPTIMAL
        values = [solver.value(v) for v in x]
        value = int(round(solver.objective_value))
        out.append(Level(name, value))
        model.clear_hints()
        for v, val in zip(x, values, strict=True):
            model.add_hint(v, val)
        model.add(expr >= value if sign > 0 else expr <= value)
    assert values is not None
    return act[np.array(values, dtype=bool)], out, optimal


def solve_ranked(
    cohort: Cohort,
    program: Program,
    cs: CandidateSet,
    *,
    progress: Progress | None = None,
    forbidden_pairs: Iterable[PairKey] = (),
    mentor_capacity: Mapping[PersonId, int] | None = None,
    warm_start: Iterable[PairKey] | None = None,
) -> MatchResult:
    """``matcher.solve.solve`` for the rank modes: same arguments, same result type; the levels'
    optima are in ``stats["rank_levels"]`` and the profile in ``stats["rank_profile"]``."""
    from matcher.explain import describe

    del warm_start  # the flow stages are exact; CP-SAT starts from their levels
    t0 = time.perf_counter()
    arr, enc = cs.arrays, cs.encoder
    capacity = seats(arr, mentor_capacity)
    act = np.arange(len(cs), dtype=np.int64)
    forbidden_list = list(forbidden_pairs)
    banned = {
        k for a, b in forbidden_list for x, y in ((a, b), (b, a)) if (k := cs.index_of(x, y)) is not None
    }
    if banned:
        act = act[~np.isin(act, list(banned))]
    pinned = np.array(
        [k for k in (cs.index_of(m, e) for m, e in cs.pins) if k is not None and k not in banned],
        dtype=np.int64,
    )
    mode = program.matching.preferences
    ra = rank_arrays(cohort, cs)
    chosen, levels = flow_levels(cs, act, capacity, pinned, mode, ra, cs.score, progress)
    method = f"{mode}: lexicographic min-cost flow levels (exact)"
    conflicts = mutual_conflicts(cs, act)
    chosen_set = set(chosen.tolist())
    binding = [(a, b) for a, b in conflicts.tolist() if a in chosen_set and b in chosen_set]
    optimal = True
    if binding:
        problem = Assignment(cs, act, capacity, pinned, conflicts)
        chosen, levels, optimal = cp_sat_levels(problem, mode, ra, cs.score, program)
        method = f"{mode}: lexicographic CP-SAT levels (no two people mentoring each other binds)"
    objective = float(cs.score[chosen].sum())
    chosen_pairs = [(enc.mentor_ids[cs.mentor[k]], enc.mentee_ids[cs.mentee[k]]) for k in chosen.tolist()]
    solve_seconds = time.perf_counter() - t0
    pairs, unmatched = describe(
        cohort, program, cs, chosen_pairs, mentor_capacity=mentor_capacity, forbidden_pairs=forbidden_list
    )
    return MatchResult(
        pairs=pairs,
        unmatched=unmatched,
        candidates=(),
        matched=len(pairs),
        objective=objective,
        bound=objective,
        gap=0.0,
        method=method,
        solve_seconds=solve_seconds,
        stats={
            "candidates": len(cs),
            "candidates_dropped": cs.dropped,
            "kept_per_mentee": cs.kept_per_mentee,
            "preferences": mode,
            "rank_levels": {lv.name: lv.value for lv in levels},
            "rank_levels_optimal": optimal,
            "pins": len(pinned),
            **dict(cs.stats),
        },
    )


# ------------------------------------------------------------------------------------------------
# Reporting


def mentee_ranks(cohort: Cohort, pairs: Iterable[PairKey]) -> dict[PairKey, int | None]:
    """Each pair's rank in its mentee's list (None when the mentee did not rank the mentor)."""
    as_mentee, _ = split_ranks(cohort)
    out: dict[PairKey, int | None] = {}
    for m, e in pairs:
        listed = as_mentee.get(e, ())
        out[(m, e)] = listed.index(m) + 1 if m in listed else None
    return out


def rank_profile(cohort: Cohort, pairs: Iterable[PairKey]) -> dict[str, object]:
    """How many ranking mentees got their 1st, 2nd, ... choice, a partner off their list
    (``unranked``), or nobody (``unmatched``); mentees who ranked nobody are counted apart."""
    as_mentee, _ = split_ranks(cohort)
    depth = max((len(v) for v in as_mentee.values()), default=0)
    got = {e: m for m, e in pairs}
    by_rank = [0] * depth
    unranked = unmatched = 0
    for e, listed in as_mentee.items():
        m = got.get(e)
        if m is None:
            unmatched += 1
        elif m in listed:
            by_rank[listed.index(m)] += 1
        else:
            unranked += 1
    without = [p.id for p in cohort.mentees if p.id not in as_mentee]
    return {
        "mentees_ranking": len(as_mentee),
        "by_rank": {str(r): n for r, n in enumerate(by_rank, 1)},
        "unranked": unranked,
        "unmatched": unmatched,
        "mentees_not_ranking": {
            "matched": sum(e in got for e in without),
            "unmatched": sum(e not in got for e in without),
        },
        "worst_rank": max((r for r, n in enumerate(by_rank, 1) if n), default=None)
        if not unranked
        else "unranked",
    }


def _broken_words(broken: list[Violation]) -> str:
    """The broken rules in the catalogue's words, each with what is wrong."""
    return "; ".join(f"{RULES[v.rule].words if v.rule in RULES else v.rule} ({v.message})" for v in broken)


def why_not_candidate(cohort: Cohort, program: Program, mentor_id: PersonId, mentee_id: PersonId) -> str:
    """The hard rule that keeps a pair from being a candidate, in plain words."""
    from matcher.validate import check_pair

    broken = check_pair(cohort, program, mentor_id, mentee_id)
    if broken:
        return _broken_words(broken)
    cap = cohort[mentor_id].capacity
    if (cap if cap is not None else program.rules.default_capacity) == 0:
        return "the mentor has no seats this cycle"
    return "no recurring slot free in both calendars for the whole cycle"


def rule_warnings(cohort: Cohort, program: Program) -> list[Problem]:
    """``validate``'s warnings: ranked pairs that break a hard rule other than time (cheap, no
    candidates; ``run`` warns about every ranked pair that is not a candidate, time included)."""
    from matcher.validate import check_pair

    out = []
    for who, i, other, m, e in _ranked_choices(cohort):
        broken = check_pair(cohort, program, m, e, check_time=False)
        if broken:
            out.append(_choice_warning(cohort, who, i, other, _broken_words(broken)))
    return out


def ineligible_warnings(cohort: Cohort, program: Program, cs: CandidateSet) -> list[Problem]:
    """A warning per ranked pair that is not a candidate, naming the rule it breaks."""
    if not has_ranks(cohort):
        return []
    return [
        _choice_warning(cohort, who, i, other, why_not_candidate(cohort, program, m, e))
        for who, i, other, m, e in _ranked_choices(cohort)
        if cs.index_of(m, e) is None
    ]


def _ranked_choices(cohort: Cohort) -> Iterator[tuple[PersonId, int, PersonId, PersonId, PersonId]]:
    """Every ranked choice: (who ranked, rank, whom, mentor id, mentee id), mentees' lists first."""
    as_mentee, as_mentor = split_ranks(cohort)
    for e, ms in as_mentee.items():
        for i, m in enumerate(ms, 1):
            yield e, i, m, m, e
    for m, es in as_mentor.items():
        for i, e in enumerate(es, 1):
            yield m, i, e, m, e


def _choice_warning(cohort: Cohort, who: PersonId, i: int, other: PersonId, why: str) -> Problem:
    return Problem(
        cohort.source or "participants",
        cohort[who].line,
        "ranks",
        f"choice {i} '{other}' can never be paired with '{who}': {why}",
        "rank someone else, or change the rule or the people's data",
        severity="warning",
    )


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def first_choice_note(
    cohort: Cohort, program: Program, cs: CandidateSet, chosen: Iterable[PairKey], mentee_id: PersonId
) -> str | None:
    """Why a ranking mentee did not get their first choice, in plain words (None if they did, or
    ranked nobody): the pair is not possible (which rule, or no common slot), or the mentor's seats
    went to people who ranked them higher, or whose allocation the rank profile needs."""
    as_mentee, _ = split_ranks(cohort)
    listed = as_mentee.get(mentee_id)
    if not listed:
        return None
    first = listed[0]
    pairs = list(chosen)
    mine = next((m for m, e in pairs if e == mentee_id), None)
    if mine == first:
        return f"got their first choice, {first}"
    got = (
        f"got their {_ordinal(listed.index(mine) + 1)} choice, {mine}"
        if mine in listed
        else (f"got {mine}, whom they did not rank" if mine else "is unmatched")
    )
    got += f", not their first choice {first}"
    if cs.index_of(first, mentee_id) is None:
        return f"{got}: {first} can never be their mentor: " + why_not_candidate(
            cohort, program, first, mentee_id
        )
    taken = [e for m, e in pairs if m == first]
    cap = cohort[first].capacity
    cap = cap if cap is not None else program.rules.default_capacity
    if len(taken) < cap:
        return (
            f"{got}: {first} has a free seat, but no recurring slot could be kept "
            "for the two of them next to their other meetings"
        )
    ranked_by = {
        e: (as_mentee.get(e, ()).index(first) + 1 if first in as_mentee.get(e, ()) else None) for e in taken
    }
    words = ", ".join(
        f"{e} ({_ordinal(r)} choice)" if r else f"{e} (did not rank them)" for e, r in ranked_by.items()
    )
    higher = [e for e, r in ranked_by.items() if r == 1]
    note = f"{got}: {first}'s {cap} seat(s) went to {words}"
    if len(higher) < len(taken):
        note += (
            "; those whose list ranked them lower are there because the rank profile needs it (moving you "
            "would leave fewer people with their first choices, or someone worse off)"
        )
    elif program.matching.preferences == "score":
        note += '; with preferences = "score" ranks only add to the score'
    return note
