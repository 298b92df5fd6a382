"""Shortlists of mentors for each mentee (``mentorsync suggest``), spread over mentors' seats.

Each mentee gets at most ``top`` distinct candidates (every hard rule and a common recurring slot:
the slot-aware candidate build), chosen for the whole cohort at once by one min-cost flow:

    source -> mentee (capacity ``top``) -> mentor (1 per candidate pair, cost -score) -> sink

where the mentor -> sink arc holds at most ``limit(m) = max(capacity, ceil(spread x fair share))``
appearances, the fair share being ``capacity(m) x top x mentees / seats``: requests reach each
mentor in proportion to their seats, so no mentor is on far more shortlists than they can serve.
The flow is maximal first (as many suggestions as possible), then of the highest total score.
A shortlist is ordered best score first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from ortools.graph.python import min_cost_flow

from cohort.errors import InfeasibleError
from cohort.model import Cohort, PersonId
from matcher.candidates import CandidateSet
from matcher.explain import pair_reasons

SPREAD = 1.5  # appearances per mentor: at most this many times their fair share of all requests


@dataclass(frozen=True)
class Suggestion:
    """One line of a mentee's shortlist."""

    mentee_id: PersonId
    rank: int
    mentor_id: PersonId
    score: int
    reasons: str


def appearance_limits(cs: CandidateSet, top: int, spread: float = SPREAD) -> np.ndarray:
    """Per mentor index: the most shortlists they may appear on."""
    cap = cs.arrays.capacity.astype(np.int64)
    seats = int(cap.sum())
    n_e = len(np.unique(cs.mentee))
    if seats == 0:
        return np.zeros_like(cap)
    fair = cap * top * n_e / seats
    return np.maximum(cap, np.ceil(spread * fair - 1e-9).astype(np.int64)) * (cap > 0)


def shortlists(cohort: Cohort, cs: CandidateSet, top: int, spread: float = SPREAD) -> tuple[Suggestion, ...]:
    """Every mentee's shortlist (mentee order, best first); see the module doc."""
    if top < 1:
        raise ValueError("top must be at least 1")
    if len(cs) == 0:
        return ()
    n_m, n_e = len(cs.arrays.mentors), len(cs.arrays.mentees)
    limit = appearance_limits(cs, top, spread)
    act = np.nonzero(limit[cs.mentor] > 0)[0]
    mentees = np.unique(cs.mentee[act])
    mentors = np.nonzero(limit > 0)[0]
    src, sink = n_m + n_e, n_m + n_e + 1
    tails = np.concatenate([np.full(len(mentees), src), cs.mentee[act].astype(np.int64) + n_m, mentors])
    heads = np.concatenate(
        [mentees.astype(np.int64) + n_m, cs.mentor[act].astype(np.int64), np.full(len(mentors), sink)]
    )
    caps = np.concatenate([np.full(len(mentees), top), np.ones(len(act), np.int64), limit[mentors]])
    costs = np.concatenate(
        [np.zeros(len(mentees), np.int64), -cs.score[act].astype(np.int64), np.zeros(len(mentors), np.int64)]
    )
    smcf = min_cost_flow.SimpleMinCostFlow()
    arcs = smcf.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    supply = int(min(len(mentees) * top, limit.sum(), len(act)))
    smcf.set_node_supply(src, supply)
    smcf.set_node_supply(sink, -supply)
    status = smcf.solve_max_flow_with_min_cost()
    if status != smcf.OPTIMAL:
        raise InfeasibleError(f"the min-cost flow solver failed with status {status}")
    chosen = act[smcf.flows(arcs[len(mentees) : len(mentees) + len(act)]) > 0]
    order = np.lexsort((cs.mentor[chosen], -cs.score[chosen].astype(np.int64), cs.mentee[chosen]))
    chosen = chosen[order]
    enc = cs.encoder
    out: list[Suggestion] = []
    rank = 0
    last = -1
    for k in chosen.tolist():
        e = int(cs.mentee[k])
        rank = rank + 1 if e == last else 1
        last = e
        m_id, e_id = enc.mentor_ids[cs.mentor[k]], enc.mentee_ids[e]
        reasons = pair_reasons(cohort[m_id], cohort[e_id], int(cs.common_minutes[k]))
        out.append(Suggestion(e_id, rank, m_id, int(cs.score[k]), reasons))
    return tuple(out)


def spread_ratio(cs: CandidateSet, suggestions: tuple[Suggestion, ...]) -> float:
    """The largest requests-to-seats ratio of any mentor, over the cohort's overall ratio."""
    cap = {cs.encoder.mentor_ids[i]: int(c) for i, c in enumerate(cs.arrays.capacity)}
    counts: dict[PersonId, int] = {}
    for s in suggestions:
        counts[s.mentor_id] = counts.get(s.mentor_id, 0) + 1
    seats = sum(cap.values())
    overall = len(suggestions) / seats if seats else 0.0
    worst = max((n / cap[m] for m, n in counts.items()), default=0.0)
    return worst / overall if overall else math.inf
