"""An upper bound on what any plan can match that counts time (``summary.json``'s ``bound_time_aware``).

The matcher's ``bound`` is the schedule-free optimum: it believes a mentor with capacity 3 and one
free hour a week can take three mentees. ``time_aware_bound`` caps each mentor's seats by what
their calendar can hold, then solves the seat problem exactly (max flow for the matched count,
min-cost flow for the score) over the candidate pairs.

The time cap of mentor ``m`` over a window ``W`` of 28 anchor-local days (``W`` runs over every
28-day window starting at the cycle's start or a later week, and days 1-28 of each month in
the cycle):

- ``D_c(W)``: the fewest dates any pattern of cadence ``c`` has in ``W`` (a weekly pattern 4, a
  biweekly 2, a monthly one 1 in a month's days 1-28);
- ``q(m, e) = max(0, D_c - a_e - a_m - h)`` for a candidate mentee ``e`` at the pair's cadence
  ``c``, where ``a_e``, ``a_m`` count the person's ``unavailable`` days and ``h`` the holidays
  in ``W`` widened by one day on each side;
- ``N_m(W)``: the most meetings ``m`` can hold that touch ``W`` widened by a day: ``m``'s local
  availability laid out day by day (a day ``m`` is away or on holiday keeps only its first
  ``L`` minutes, ``L`` the longest meeting), each unbroken stretch of ``S`` minutes holding
  ``floor((S + 60·dst + b) / (d + b))`` meetings (``d`` the shortest meeting length, ``b`` the
  buffer, ``dst`` 1 when the stretch crosses a day with ``m``'s clock change), and at most
  ``max_meetings_per_week`` in each local week;
- ``B_m(W)``: the most candidate mentees whose ``q`` add up to at most ``N_m(W)`` (the smallest
  ``q`` first).

The mentor's seats are ``min(capacity, B_m(W) over every W)``.

**Why this is an upper bound.** Take any plan that keeps the hard rules. Its pairs are candidate
pairs not forbidden by history (``planner.validate.assert_sound``), each mentee has at most one
pair, and each mentor ``m`` at most ``capacity`` pairs. Fix ``m`` and a window ``W``. A pair's
series has its pattern's dates in ``W`` (at least ``D_c``); a date is skipped only when its local
date for the mentee or the mentor is a holiday or that person's ``unavailable`` day, and as a
pattern's dates are at least a week apart and a local day lasts at most 25 hours, each such day
(within a day of ``W``: local dates differ from anchor dates by at most one) skips at most one of
them; a date that is not skipped is a meeting (a milestone takes its place or adds one). So the
pair has at least ``q(m, e)`` meetings whose local date for ``m`` lies in ``W`` widened by a day.
All of ``m``'s meetings are inside ``m``'s availability, start on a day ``m`` is not away (so
reach into an away day at most ``L`` minutes), keep the buffer between each other and cannot
straddle ``m``'s clock change (``no_overlap_with_buffer``, ``inside_availability``,
``no_blackout``): ``n`` meetings in one stretch need ``n·d + (n-1)·b`` minutes of real time, and
a stretch's real length exceeds its wall-clock length by at most an hour across a clock change.
With the weekly limit, ``m`` holds at most ``N_m(W)`` meetings there, so the ``q`` of ``m``'s
mentees add up to at most ``N_m(W)`` and there are at most ``B_m(W)`` of them. The plan is
therefore a flow in the network source -> mentee (1) -> mentor (the time cap) -> sink, and
matches at most its maximum flow; its total score is at most the network's maximum-weight flow.

The bound is over the candidate set (every hard rule and a recurring slot, after the best-K limit
that also limits every plan). Mentees need no cap of their own: a candidate has a slot option.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
from ortools.graph.python import max_flow, min_cost_flow

from cohort.model import MINUTES_PER_DAY, MINUTES_PER_WEEK, Person, PersonId
from matcher.candidates import CandidateSet
from planner.instance import PlanInstance
from scheduler.slots import CADENCE_RANK, SlotContext

PairKey = tuple[PersonId, PersonId]
WINDOW_DAYS = 28
CADENCES = ("weekly", "biweekly", "monthly")


@dataclass(frozen=True)
class TimeBound:
    """Upper bounds on any plan over the candidate pairs: mentees matched and total score, with
    time counted (``matched``, ``score``) and without (``schedule_free_matched``), and each
    mentor's seats as their calendar allows (``seats``)."""

    matched: int
    score: float
    schedule_free_matched: int
    seats: Mapping[PersonId, int] = field(default_factory=dict)


def _windows(ctx: SlotContext) -> list[int]:
    """First days (cycle day index) of the 28-day windows inside the cycle."""
    starts = set(range(0, ctx.days - WINDOW_DAYS + 1, 7))
    for d in range(ctx.days - WINDOW_DAYS + 1):
        if (ctx.start + timedelta(days=d)).day == 1:
            starts.add(d)
    return sorted(starts)


def _fewest_dates(ctx: SlotContext, w0: int) -> np.ndarray:
    """Per cadence (``CADENCES`` order): the fewest dates any pattern has in the window."""
    out = []
    for cadence in CADENCES:
        mat = ctx.day_matrix[cadence]
        inside = (mat >= w0) & (mat < w0 + WINDOW_DAYS)
        out.append(int(inside.sum(axis=1).min()))
    return np.array(out, dtype=np.int64)


def _away_prefix(ctx: SlotContext, unavailable: Iterable[tuple[date, date]], holidays: bool) -> np.ndarray:
    """Prefix sums of away days (``unavailable`` ranges, and the holidays if asked) over cycle
    days -2..days+2."""
    first = ctx.start - timedelta(days=2)
    hit = np.zeros(ctx.days + 5, dtype=np.int64)
    days: Iterable[date] = ctx.holidays if holidays else ()
    for d in days:
        if 0 <= (d - first).days < hit.size:
            hit[(d - first).days] = 1
    for lo, hi in unavailable:
        a, b = max(0, (lo - first).days), min(hit.size - 1, (hi - first).days)
        if a <= b:
            hit[a : b + 1] = 1
    return np.concatenate([[0], np.cumsum(hit)])


def _count(prefix: np.ndarray, w0: int) -> int:
    """Away days in the window starting at ``w0`` widened by one day each side (``_away_prefix``)."""
    lo, hi = w0 - 1 + 2, w0 + WINDOW_DAYS + 1 + 2  # index of day w0-1 .. day w0+28 inclusive
    return int(prefix[hi] - prefix[lo])


def _stretches(ctx: SlotContext, mentor: Person, longest: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The mentor's unbroken available stretches over days -1..days (local minutes from the cycle's
    first local midnight): starts, ends, and whether each crosses a day with a clock change."""
    lo_t, hi_t = -MINUTES_PER_DAY, (ctx.days + 1) * MINUTES_PER_DAY
    shift = ctx.start.weekday() * MINUTES_PER_DAY
    intervals: list[list[int]] = []
    for k in range(-1, ctx.days // 7 + 3):
        for a, b in mentor.availability:
            s, e = a - shift + k * MINUTES_PER_WEEK, b - shift + k * MINUTES_PER_WEEK
            s, e = max(s, lo_t), min(e, hi_t)
            if s >= e:
                continue
            if intervals and s <= intervals[-1][1]:
                intervals[-1][1] = max(intervals[-1][1], e)
            else:
                intervals.append([s, e])
    away = {
        d
        for d in range(-1, ctx.days + 1)
        if mentor.is_away(ctx.start + timedelta(days=d)) or ctx.start + timedelta(days=d) in ctx.holidays
    }
    cut: list[tuple[int, int]] = []
    for s, e in intervals:  # an away day keeps only the minutes a meeting begun the day before can use
        pieces = [(s, e)]
        for d in range(s // MINUTES_PER_DAY, -(-e // MINUTES_PER_DAY)):
            if d in away:
                a, b = d * MINUTES_PER_DAY + longest, (d + 1) * MINUTES_PER_DAY
                pieces = [p for x, y in pieces for p in ((x, min(y, a)), (max(x, b), y)) if p[0] < p[1]]
        cut.extend(pieces)
    starts = np.array([s for s, _ in cut], dtype=np.int64)
    ends = np.array([e for _, e in cut], dtype=np.int64)
    table = ctx.zone_table(mentor.timezone)
    # a day's local midnight is within 14 hours of grid minute (d + 2) * 1440 (the grid's epoch is
    # local midnight two days before the cycle): a change between two such minutes is within a day
    day_utc = (np.arange(-1, ctx.days + 2, dtype=np.int64) + 2) * MINUTES_PER_DAY
    offs = table.offset(day_utc)
    change_days = np.flatnonzero(np.diff(offs) != 0) - 1  # day index whose next midnight differs
    dst = np.zeros(starts.size, dtype=bool)
    for d in change_days.tolist():
        lo, hi = (d - 1) * MINUTES_PER_DAY, (d + 2) * MINUTES_PER_DAY  # a day's margin each side
        dst |= (starts < hi) & (ends > lo)
    return starts, ends, dst


def mentor_time_caps(
    ctx: SlotContext, cs: CandidateSet, active: np.ndarray, capacity: Mapping[PersonId, int]
) -> dict[PersonId, int]:
    """Every mentor's seats as their calendar allows over the ``active`` candidates (see the
    module doc), never above ``capacity``.

    Long on purpose: the windows, the per-person away counts and the per-mentor stretches share
    one pass over the candidates.
    """
    program = ctx.program
    cohort = ctx.cohort
    enc = cs.encoder
    cycle, ms = program.cycle, program.milestones
    lengths = [cycle.duration_minutes]
    if ms.kickoff:
        lengths.append(ms.kickoff_minutes)
    if ms.closing:
        lengths.append(ms.closing_minutes)
    shortest, longest, buffer = min(lengths), max(lengths), cycle.buffer_minutes
    n_m = len(enc.mentor_ids)
    cap = np.array([capacity.get(m, 0) for m in enc.mentor_ids], dtype=np.int64)
    windows = _windows(ctx)
    if not windows or active.size == 0:
        return {m: int(c) for m, c in zip(enc.mentor_ids, cap, strict=True)}
    # the pair's cadence by the documented rule, from per-person codes (9: none set)
    code_of = {p.id: CADENCE_RANK[p.cadence] if p.cadence else 9 for p in cohort.people}
    m_code = np.array([code_of[m] for m in enc.mentor_ids], dtype=np.int64)
    e_code = np.array([code_of[e] for e in enc.mentee_ids], dtype=np.int64)
    mentor_k, mentee_k = cs.mentor[active], cs.mentee[active]
    cad = np.minimum(m_code[mentor_k], e_code[mentee_k])
    cad[cad == 9] = CADENCE_RANK[cycle.cadence]
    m_prefix = [_away_prefix(ctx, cohort[m].unavailable, False) for m in enc.mentor_ids]
    e_prefix = [_away_prefix(ctx, cohort[e].unavailable, False) for e in enc.mentee_ids]
    hol_prefix = _away_prefix(ctx, (), True)
    stretches = []
    for m in enc.mentor_ids:
        starts, ends, dst = _stretches(ctx, cohort[m], longest)
        fits = (ends - starts + 60 * dst + buffer) // (shortest + buffer)
        stretches.append((starts, ends, np.maximum(fits, 0)))
    best = cap.copy()
    order_m = np.argsort(mentor_k, kind="stable")
    for w0 in windows:
        fewest = _fewest_dates(ctx, w0)
        a_m = np.array([_count(p, w0) for p in m_prefix], dtype=np.int64)
        a_e = np.array([_count(p, w0) for p in e_prefix], dtype=np.int64)
        h = _count(hol_prefix, w0)
        q = np.maximum(0, fewest[cad] - a_m[mentor_k] - a_e[mentee_k] - h)
        lo, hi = (w0 - 1) * MINUTES_PER_DAY, (w0 + WINDOW_DAYS + 1) * MINUTES_PER_DAY
        room = np.empty(n_m, dtype=np.int64)
        for i, (starts, ends, fits) in enumerate(stretches):
            room[i] = int(fits[(starts < hi) & (ends > lo)].sum())
            limit = cohort[enc.mentor_ids[i]].max_meetings_per_week
            if limit is not None:
                d0 = (ctx.start + timedelta(days=w0 - 1)).weekday()
                weeks = -(-(d0 + WINDOW_DAYS + 2) // 7)  # local Mon-Sun weeks the widened window touches
                room[i] = min(room[i], limit * weeks)
        # per mentor, the most mentees whose q fit in the room: the smallest q first
        order = order_m[np.lexsort((q[order_m], mentor_k[order_m]))]
        qs, ms_ = q[order], mentor_k[order]
        total = np.cumsum(qs)
        group_start = np.searchsorted(ms_, np.arange(n_m))
        before = np.where(group_start > 0, total[np.maximum(group_start - 1, 0)], 0)
        within = total - before[ms_]
        fit = np.bincount(ms_, weights=(within <= room[ms_]).astype(np.int64), minlength=n_m)
        best = np.minimum(best, fit.astype(np.int64))
    return {m: int(c) for m, c in zip(enc.mentor_ids, best, strict=True)}


def _flows(
    cs: CandidateSet, active: np.ndarray, seats: np.ndarray, plain: np.ndarray
) -> tuple[int, float, int]:
    """(max matched with ``seats``, max total score with ``seats``, max matched with ``plain``)."""
    n_e, n_m = len(cs.encoder.mentee_ids), len(cs.encoder.mentor_ids)
    source, sink = n_e + n_m, n_e + n_m + 1
    tails = np.concatenate([np.full(n_e, source), cs.mentee[active], n_e + np.arange(n_m)])
    heads = np.concatenate([np.arange(n_e), n_e + cs.mentor[active], np.full(n_m, sink)])

    def matched(caps: np.ndarray) -> int:
        flow = max_flow.SimpleMaxFlow()
        ones = np.ones(n_e + active.size, dtype=np.int64)
        flow.add_arcs_with_capacity(
            tails.astype(np.int32), heads.astype(np.int32), np.concatenate([ones, caps]).astype(np.int64)
        )
        if flow.solve(source, sink) != flow.OPTIMAL:
            raise RuntimeError("max flow failed")
        return int(flow.optimal_flow())

    mcf = min_cost_flow.SimpleMinCostFlow()
    score = cs.score[active].astype(np.int64)
    t = np.concatenate([tails, [source]]).astype(np.int32)
    h = np.concatenate([heads, [sink]]).astype(np.int32)
    c = np.concatenate([np.ones(n_e + active.size, dtype=np.int64), seats, [n_e]]).astype(np.int64)
    cost = np.concatenate([np.zeros(n_e, dtype=np.int64), -score, np.zeros(n_m + 1, dtype=np.int64)])
    mcf.add_arcs_with_capacity_and_unit_cost(t, h, c, cost)
    mcf.set_nodes_supplies(np.array([source, sink], dtype=np.int32), np.array([n_e, -n_e], dtype=np.int64))
    if mcf.solve() != mcf.OPTIMAL:
        raise RuntimeError("min-cost flow failed")
    return matched(seats), float(-mcf.optimal_cost()), matched(plain)


def time_aware_bound(inst: PlanInstance) -> TimeBound:
    """Upper bounds on the mentees matched and the total score of any plan over the instance's
    candidates (its banned pairs excluded, either direction) with its seats; see the module doc
    for the proof."""
    cohort, cs, capacity = inst.cohort, inst.candidates, inst.seats
    enc = cs.encoder
    keep = np.ones(len(cs), dtype=bool)
    for a, b in inst.banned:
        for m, e in ((a, b), (b, a)):
            k = cs.index_of(m, e) if m in cohort and e in cohort else None
            if k is not None:
                keep[k] = False
    active = np.flatnonzero(keep)
    seats = mentor_time_caps(inst.ctx, cs, active, capacity)
    caps = np.array([seats[m] for m in enc.mentor_ids], dtype=np.int64)
    plain = np.array([capacity.get(m, 0) for m in enc.mentor_ids], dtype=np.int64)
    if active.size == 0:
        return TimeBound(0, 0.0, 0, seats)
    matched, score, free = _flows(cs, active, caps, plain)
    return TimeBound(matched, score, free, seats)
