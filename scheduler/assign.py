"""Choose one recurring slot per formed pair with CP-SAT, under every person's hard limits.

Hard (on UTC instants, over every meeting of the cycle, milestones included):

* ``Hard: one_slot_per_pair`` -- a pair gets at most one of its options (unplaced pairs are
  reported as ``Unplaceable`` with the reason).
* ``Hard: no_overlap_with_buffer`` -- no two meetings of one person overlap, and
  ``cycle.buffer_minutes`` stays free between them (each meeting occupies ``[start, end + buffer)``
  on a cell grid; one ``AddAtMostOne`` per distinct set of options sharing a cell).
* ``Hard: weekly_limit`` -- a person's ``max_meetings_per_week`` in their own local Mon-Sun week.

Soft, lexicographic: most pairs placed; then each option's own quality (see ``scheduler.slots``:
skipped share, DST exception weeks, edge distance, shared inconvenience -- lexicographic within a
pair, summed over pairs); then ``Soft: mentor_spread`` -- a mentor's regular meetings on
different weekdays rather than stacked on one; last, a pair's ``hints`` slot among equals.

Decomposition: pairs that share no person never constrain each other, so each connected component
of the person-conflict graph (pairs linked by a shared person) is optimised on its own; the
lexicographic optimum of the sum is the sum of the components' optima. A one-pair component, or
one whose pairs' own best options already clash nowhere and spread the mentor's weekdays, needs no
solver; the rest each get a small CP-SAT model (``stats['components_at_time_limit']`` counts any
that stopped before OPTIMAL).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time as _time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from cohort.model import MINUTES_PER_WEEK, Cohort, PersonId
from cohort.program import Program
from cohort.progress import Progress, ProgressEvent
from cohort.solving import configure
from scheduler import recurrence
from scheduler.model import Event, Schedule, Series, Unplaceable
from scheduler.recurrence import Pattern, expand, local_to_utc, week_parity
from scheduler.slots import (
    SlotContext,
    SlotOption,
    explain_no_slot,
    pair_cadence,
    pair_slot_options,
)

PairKey = tuple[PersonId, PersonId]


def make_uid(uid_salt: str, cycle_start: date, mentor_id: str, mentee_id: str, what: str) -> str:
    """A deterministic, opaque UID: HMAC of the cycle, the pair and the item, no personal data."""
    msg = f"{cycle_start.isoformat()}|{mentor_id}|{mentee_id}|{what}".encode()
    return hmac.new(uid_salt.encode(), msg, hashlib.sha256).hexdigest()[:32] + "@mentorsync"


def _pair_key(p: Any) -> PairKey:
    if isinstance(p, tuple):
        return (p[0], p[1])
    return (p.mentor_id, p.mentee_id)


def _emit(progress: Progress | None, status: str, message: str = "", **values: Any) -> None:
    if progress is None:
        return
    progress(ProgressEvent("schedule", status, message, values=values))


def pattern_of_series(series: Series, program: Program) -> Pattern:
    """The pattern a previous cycle's series followed, placed in this program's cycle."""
    start = series.dtstart
    nth = (start.day - 1) // 7 + 1 if series.cadence == "monthly" else 0
    return Pattern(
        series.timezone,
        start.weekday(),
        start.hour * 60 + start.minute,
        program.cycle.duration_minutes,
        series.cadence,
        parity=(week_parity(start.date(), program.cycle.start) if series.cadence == "biweekly" else 0),
        nth=min(nth, 4),
    )


@dataclass
class _Occupancy:
    """One option's meetings as integer minutes since the grid epoch (UTC), with lengths."""

    starts: np.ndarray
    lengths: np.ndarray


def occupancy(ctx: SlotContext, option: SlotOption) -> _Occupancy:
    meetings = option.meetings
    starts = np.array(
        [int((m.start - ctx.epoch_utc).total_seconds() // 60) for m in meetings], dtype=np.int64
    )
    lengths = np.array([m.duration_minutes for m in meetings], dtype=np.int64)
    return _Occupancy(starts, lengths)


def cell_size(program: Program) -> int:
    """Cells on which occupancy is exact when all starts, lengths and offsets are multiples of it."""
    c = program.cycle
    ms = program.milestones
    return math.gcd(
        c.granularity_minutes,
        c.duration_minutes,
        c.buffer_minutes or c.granularity_minutes,
        ms.kickoff_minutes,
        ms.closing_minutes,
        15,
    )


def occupied_cells(occ: _Occupancy, buffer: int, cell: int) -> np.ndarray:
    """Every cell touched by ``[start, start + length + buffer)`` of every meeting (sorted, unique)."""
    first = occ.starts // cell
    last = -(-(occ.starts + occ.lengths + buffer) // cell)  # ceil: over-approximates, never misses
    counts = last - first
    if counts.sum() == 0:
        return np.zeros(0, dtype=np.int64)
    base = np.repeat(first, counts)
    offs = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.unique(base + offs)


def conflict_groups(cells: Sequence[np.ndarray], owners: Sequence[int]) -> list[list[int]]:
    """Distinct sets of options (indices into ``cells``) sharing a cell, spanning >= 2 owners."""
    if len(cells) < 2:
        return []
    all_cells = np.concatenate(cells)
    opt = np.repeat(np.arange(len(cells)), [c.size for c in cells])
    uniq, inverse = np.unique(all_cells, return_inverse=True)
    mat = np.zeros((uniq.size, len(cells)), dtype=bool)
    mat[inverse, opt] = True
    mat = mat[mat.sum(axis=1) >= 2]
    if mat.size == 0:
        return []
    rows = np.unique(np.packbits(mat, axis=1), axis=0)
    owners_arr = np.asarray(owners)
    out = []
    for row in rows:
        members = np.flatnonzero(np.unpackbits(row)[: len(cells)])
        if np.unique(owners_arr[members]).size >= 2:
            out.append(members.tolist())
    return out


def local_weeks(ctx: SlotContext, pid: PersonId, occ: _Occupancy) -> np.ndarray:
    """The person's local Mon-Sun week number of each meeting."""
    table = ctx.zone_table(ctx.cohort[pid].timezone)
    local = occ.starts + table.offset(occ.starts)
    return (local + ctx.epoch_wd * 1440) // MINUTES_PER_WEEK


def _components(keys: Sequence[PairKey]) -> list[list[int]]:
    parent: dict[str, str] = {}

    def find(a: str) -> str:
        while parent.setdefault(a, a) != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for m, e in keys:
        parent[find(m)] = find(e)
    groups: dict[str, list[int]] = {}
    for i, (m, _) in enumerate(keys):
        groups.setdefault(find(m), []).append(i)
    return list(groups.values())


def _single_pair(
    ctx: SlotContext, key: PairKey, options: Sequence[SlotOption], hint: int | None
) -> int | None:
    """The optimum of a component with one pair, without a solver: the best option (hinted one
    first among equals) whose meetings keep both people's weekly limits on their own."""
    best: tuple[int, int, int] | None = None
    for j, o in enumerate(options):
        ok = True
        for pid in dict.fromkeys(key):  # in pair order: a set of ids iterates by string hash
            limit = ctx.cohort[pid].max_meetings_per_week
            if limit is not None:
                weeks = local_weeks(ctx, pid, occupancy(ctx, o))
                ok &= weeks.size == 0 or int(np.unique(weeks, return_counts=True)[1].max()) <= limit
        if ok and (best is None or (o.cost, int(j != hint), j) < best):
            best = (o.cost, int(j != hint), j)
    return None if best is None else best[2]


def spread_penalty(chosen: Iterable[tuple[PersonId, SlotOption]]) -> int:
    """``Soft: mentor_spread`` of chosen (mentor, option) pairs: series beyond the first on a
    mentor-local weekday, summed."""
    count: dict[tuple[PersonId, int], int] = {}
    for m, o in chosen:
        count[(m, o.mentor_weekday)] = count.get((m, o.mentor_weekday), 0) + 1
    return sum(c - 1 for c in count.values())


def _independent_optimum(
    ctx: SlotContext,
    keys: Sequence[PairKey],
    options: Sequence[Sequence[SlotOption]],
    hints: Sequence[int | None],
) -> list[int] | None:
    """Each pair's own best option, when together they break no hard rule and no mentor meets two
    mentees on one weekday: then no choice scores better on any level of the objective (all
    placed, least cost per pair, zero spread penalty, hints kept among equals). Else ``None``."""
    picks = [
        min(range(len(opts)), key=lambda j: (opts[j].cost, int(j != h), j))
        for opts, h in zip(options, hints, strict=True)
    ]
    days = {(m, opts[j].mentor_weekday) for (m, _), opts, j in zip(keys, options, picks, strict=True)}
    if len(days) < len(keys):
        return None
    buffer, cell = ctx.program.cycle.buffer_minutes, cell_size(ctx.program)
    occ = [occupancy(ctx, opts[j]) for opts, j in zip(options, picks, strict=True)]
    by_person: dict[PersonId, list[int]] = {}
    for i, key in enumerate(keys):
        for pid in dict.fromkeys(key):  # in pair order: a set of ids iterates by string hash
            by_person.setdefault(pid, []).append(i)
    for pid, idx in by_person.items():
        if len(idx) >= 2:
            cells = np.concatenate([occupied_cells(occ[i], buffer, cell) for i in idx])
            if np.unique(cells).size != cells.size:
                return None
        limit = ctx.cohort[pid].max_meetings_per_week
        if limit is not None:
            weeks = np.concatenate([local_weeks(ctx, pid, occ[i]) for i in idx])
            if weeks.size and int(np.unique(weeks, return_counts=True)[1].max()) > limit:
                return None
    return picks


def _solve_component(
    ctx: SlotContext,
    keys: Sequence[PairKey],
    options: Sequence[Sequence[SlotOption]],
    hints: Sequence[int | None],
    *,
    time_limit: float,
    workers: int,
    seed: int,
    required: Sequence[bool] = (),
) -> tuple[list[int | None], dict[str, Any]]:
    """CP-SAT over one component of the person-conflict graph; returns the chosen option per pair.

    ``required[i]``: pair ``i`` must be placed (an already placed pair other pairs fit around)."""
    program = ctx.program
    buffer = program.cycle.buffer_minutes
    cell = cell_size(program)
    model = cp_model.CpModel()
    x = [
        [model.new_bool_var(f"slot[{m},{e},{j}]") for j in range(len(opts))]
        for (m, e), opts in zip(keys, options, strict=True)
    ]
    placed = []
    for i, xs in enumerate(x):
        placed.append(sum(xs))
        if i < len(required) and required[i]:
            model.add_exactly_one(xs)
        else:
            model.add_at_most_one(xs)  # Hard: one_slot_per_pair
    occ = [[occupancy(ctx, o) for o in opts] for opts in options]
    by_person: dict[PersonId, list[tuple[int, int]]] = {}
    for i, (m, e) in enumerate(keys):
        for pid in dict.fromkeys((m, e)):  # in pair order, never by string hash
            by_person.setdefault(pid, []).extend((i, j) for j in range(len(options[i])))
    n_groups = 0
    for pid, refs in by_person.items():
        pairs_of = {i for i, _ in refs}
        if len(pairs_of) >= 2:  # Hard: no_overlap_with_buffer
            cells = [occupied_cells(occ[i][j], buffer, cell) for i, j in refs]
            for group in conflict_groups(cells, [i for i, _ in refs]):
                model.add_at_most_one([x[refs[k][0]][refs[k][1]] for k in group])
                n_groups += 1
        limit = ctx.cohort[pid].max_meetings_per_week
        if limit is not None:  # Hard: weekly_limit
            per_week: dict[int, list[tuple[int, Any]]] = {}
            for i, j in refs:
                weeks, counts = np.unique(local_weeks(ctx, pid, occ[i][j]), return_counts=True)
                for w, c in zip(weeks.tolist(), counts.tolist(), strict=True):
                    per_week.setdefault(w, []).append((c, x[i][j]))
            for terms in per_week.values():
                if sum(c for c, _ in terms) > limit:
                    model.add(sum(c * v for c, v in terms) <= limit)
    # Soft: mentor_spread -- count regular series per mentor-local weekday beyond the first
    spread_terms = []
    by_mentor_day: dict[tuple[PersonId, int], list[Any]] = {}
    for i, (m, _) in enumerate(keys):
        for j, o in enumerate(options[i]):
            by_mentor_day.setdefault((m, o.mentor_weekday), []).append(x[i][j])
    for (m, wd), vars_ in by_mentor_day.items():
        if len({id(v) for v in vars_}) > 1:
            excess = model.new_int_var(0, len(vars_), f"mentor_spread[{m},{wd}]")
            model.add(excess >= sum(vars_) - 1)
            spread_terms.append(excess)
    # Lexicographic weights sized to this component: placed >> cost >> spread >> keeping hints.
    w3 = len(keys) + 1
    w2 = w3 * (len(keys) + 1)
    max_cost = sum(max((o.cost for o in opts), default=0) for opts in options)
    w1 = w2 * (max_cost + 1)
    hinted = [x[i][h] for i, h in enumerate(hints) if h is not None and h < len(x[i])]
    model.maximize(
        w1 * sum(placed)
        - w2
        * sum(o.cost * v for opts, xs in zip(options, x, strict=True) for o, v in zip(opts, xs, strict=True))
        - w3 * sum(spread_terms)
        + sum(hinted)
    )
    for i, h in enumerate(hints):
        if h is not None:
            for j, v in enumerate(x[i]):
                model.add_hint(v, int(h == j))
    solver = cp_model.CpSolver()
    configure(
        solver.parameters,
        deterministic=program.matching.deterministic,
        time_limit=time_limit,
        workers=workers,
        seed=seed,
    )
    status = solver.Solve(model)
    chosen: list[int | None] = [None] * len(keys)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        for i, xs in enumerate(x):
            for j, v in enumerate(xs):
                if solver.BooleanValue(v):
                    chosen[i] = j
    return chosen, {
        "status": solver.StatusName(status),
        "conflict_groups": n_groups,
        "seconds": solver.WallTime(),
    }


def agenda_for(cohort: Cohort, mentee_id: PersonId, kind: str = "regular") -> str:
    """A short agenda drawn from the mentee's goals."""
    from scheduler.slots import MILESTONE_AGENDA

    mentee = cohort[mentee_id]
    goals = ", ".join(mentee.goals[:3]) or "the mentee's goals"
    if kind == "regular":
        return f"Regular meeting on {goals}: recent challenges, accomplishments, next steps"
    return MILESTONE_AGENDA[kind].format(goals=goals)


def build_series(ctx: SlotContext, option: SlotOption, uid_salt: str) -> tuple[Series, list[Event]]:
    """The Series and milestone Events of a chosen option, cross-checked against ``zoneinfo``."""
    program, cohort = ctx.program, ctx.cohort
    start, last = program.cycle.start, program.cycle.last_day
    pat = option.pattern
    m, e = option.mentor_id, option.mentee_id
    excluded = {local_to_utc(x, pat.timezone) for x in option.exdates}
    expected = tuple(t for t in expand(pat, start, last) if t not in excluded)
    if expected != option.occurrences:  # the grid and zoneinfo must agree, instant for instant
        raise AssertionError(f"slot grid disagrees with zoneinfo for {m}/{e}: {pat}")
    series = Series(
        mentor_id=m,
        mentee_id=e,
        uid=make_uid(uid_salt, start, m, e, "series"),
        timezone=pat.timezone,
        dtstart=recurrence.dtstart(pat, start, last),
        duration_minutes=pat.duration_minutes,
        recurrence=recurrence.recurrence_of(pat, start, last),
        exdates=option.exdates,
        occurrences=option.occurrences,
        cadence=pat.cadence,
        agenda=agenda_for(cohort, e),
    )
    events = []
    counts: dict[str, int] = {}
    for meeting in option.events:
        n = counts.get(meeting.kind, 0)
        counts[meeting.kind] = n + 1
        events.append(
            Event(
                m,
                e,
                make_uid(uid_salt, start, m, e, f"{meeting.kind}|{n}"),
                meeting.kind,
                meeting.start,
                meeting.duration_minutes,
                timezone=pat.timezone,
                agenda=agenda_for(cohort, e, meeting.kind),
            )
        )
    return series, events


def schedule(
    cohort: Cohort,
    program: Program,
    pairs: Iterable[Any],
    *,
    uid_salt: str,
    progress: Progress | None = None,
    fixed: Mapping[PairKey, Series] | None = None,
    hints: Mapping[PairKey, Pattern] | None = None,
    required: Iterable[PairKey] = (),
    ctx: SlotContext | None = None,
    options_per_pair: int | None = None,
    time_limit: float | None = None,
    workers: int | None = None,
    seed: int | None = None,
) -> Schedule:
    """One recurring series (plus milestones) per pair, or an ``Unplaceable`` saying why.

    ``pairs``: ``matcher.model.Pair`` objects or ``(mentor_id, mentee_id)`` tuples.
    ``fixed``: a previous cycle's series to keep for a pair when its pattern is still valid.
    ``hints``: a pattern per pair to start the search from (e.g. from joint matching).
    ``required``: pairs that must be placed, ahead of the others (pins; placed pairs that new ones
    fit around, held to their ``fixed`` slot). Should they clash among themselves, the
    requirement is dropped for their component; should the solver find no answer in time, pairs
    held to a fixed slot keep it and the other pairs of their component stay unplaced.
    """
    # Long on purpose: options per pair, components, one CP-SAT model per component and the
    # fallbacks (required pairs dropped, fixed slots kept on timeout) share the per-pair state.
    t0 = _time.perf_counter()
    settings = getattr(program, "schedule", None)
    k = options_per_pair if options_per_pair is not None else (settings.options_per_pair if settings else 12)
    limit = time_limit if time_limit is not None else (settings.time_limit_seconds if settings else 30.0)
    workers = workers if workers is not None else program.matching.workers
    seed = seed if seed is not None else program.matching.seed
    ctx = ctx or SlotContext(cohort, program)
    keys = sorted({_pair_key(p) for p in pairs})
    must = set(required)
    _emit(progress, "start", f"{len(keys)} pairs")
    unplaceable: list[Unplaceable] = []
    live_keys: list[PairKey] = []
    live_opts: list[list[SlotOption]] = []
    live_hints: list[int | None] = []
    kept = 0
    for n, key in enumerate(keys):
        mentor, mentee = cohort[key[0]], cohort[key[1]]
        cadence = pair_cadence(mentor, mentee, program)
        opts: list[SlotOption] = []
        if fixed and key in fixed:
            prev = pattern_of_series(fixed[key], program)
            opts = pair_slot_options(mentor, mentee, program, prev.cadence, ctx=ctx, only=prev)
            kept += bool(opts)
        if not opts:
            opts = pair_slot_options(mentor, mentee, program, cadence, ctx=ctx, limit=k)
            if hints and key in hints and all(o.pattern != hints[key] for o in opts):
                opts += pair_slot_options(
                    mentor, mentee, program, hints[key].cadence, ctx=ctx, only=hints[key]
                )
        if not opts:
            unplaceable.append(Unplaceable(key[0], key[1], explain_no_slot(ctx, mentor, mentee, cadence)))
            continue
        hint: int | None = None  # only a real hint counts in the tie-break and solver hints
        if hints and key in hints:
            hint = next((j for j, o in enumerate(opts) if o.pattern == hints[key]), None)
        live_keys.append(key)
        live_opts.append(opts)
        live_hints.append(hint)
        if progress and n % 200 == 199:
            _emit(progress, "info", f"slot options for {n + 1} of {len(keys)} pairs")
    t_options = _time.perf_counter() - t0
    # Pairs that share nobody cannot conflict: solve each connected component of the
    # person-conflict graph on its own (small models reach OPTIMAL fast; one pair needs no solver).
    comps = sorted(_components(live_keys), key=lambda c: (-len(c), c[0]))
    chosen: dict[int, int] = {}
    n_limit = n_solved = n_direct = 0
    largest = max((len(c) for c in comps), default=0)
    total = max(1, len(live_keys))
    for comp in comps:
        if len(comp) == 1:
            i = comp[0]
            pick = _single_pair(ctx, live_keys[i], live_opts[i], live_hints[i])
            if pick is not None:
                chosen[i] = pick
            continue
        ks = [live_keys[i] for i in comp]
        os_, hs = [live_opts[i] for i in comp], [live_hints[i] for i in comp]
        direct = _independent_optimum(ctx, ks, os_, hs)
        if direct is not None:
            n_direct += 1
            chosen.update(zip(comp, direct, strict=True))
            continue
        share = max(2.0, limit * len(comp) / total)
        need = [k in must for k in ks]
        # a required pair held to its one fixed slot can keep it without the solver's answer
        held = [
            n
            and fixed is not None
            and k in fixed
            and len(live_opts[i]) == 1
            and live_opts[i][0].pattern == pattern_of_series(fixed[k], program)
            for i, k, n in zip(comp, ks, need, strict=True)
        ]
        picks, info = _solve_component(
            ctx,
            ks,
            os_,
            hs,
            time_limit=share,
            seed=seed,
            required=need,
            workers=workers if len(comp) >= 50 else 1,
        )
        if any(need) and info["status"] not in ("OPTIMAL", "FEASIBLE"):
            if info["status"] != "INFEASIBLE" and need == held:
                # no answer in time: the required pairs keep their slots (placed together before),
                # the others stay unplaced rather than displace them
                picks = [0 if h else None for h in held]
            else:  # required pairs that clash (or no answer in time): not promised
                picks, info = _solve_component(
                    ctx, ks, os_, hs, time_limit=share, seed=seed, workers=workers if len(comp) >= 50 else 1
                )
        n_solved += 1
        n_limit += info["status"] != "OPTIMAL"
        for i, pick in zip(comp, picks, strict=True):
            if pick is not None:
                chosen[i] = pick
    series: list[Series] = []
    events: list[Event] = []
    buffer = program.cycle.buffer_minutes
    n_pairs_of: dict[PersonId, int] = {}
    for key in live_keys:
        for pid in dict.fromkeys(key):  # in pair order: a set of ids iterates by string hash
            n_pairs_of[pid] = n_pairs_of.get(pid, 0) + 1
    for i, key in enumerate(live_keys):
        if i not in chosen:
            mentor, mentee = cohort[key[0]], cohort[key[1]]
            others = [p.name for p in (mentor, mentee) if n_pairs_of[p.id] > 1]
            limits = [
                f"{p.name}'s limit of {p.max_meetings_per_week} meetings a week"
                for p in (mentor, mentee)
                if p.max_meetings_per_week is not None
            ]
            what = " and ".join(others) or "these two"
            reason = (
                f"each of the {len(live_opts[i])} valid slots collides with other mentoring meetings "
                f"of {what} (keeping {buffer} minutes between meetings)"
            )
            if limits:
                reason += " or exceeds " + " and ".join(limits)
            unplaceable.append(Unplaceable(key[0], key[1], reason))
            continue
        s, evs = build_series(ctx, live_opts[i][chosen[i]], uid_salt)
        series.append(s)
        events.extend(evs)
    elapsed = _time.perf_counter() - t0
    _emit(
        progress,
        "done",
        f"{len(series)} pairs placed, {len(unplaceable)} unplaceable",
        placed=len(series),
        unplaceable=len(unplaceable),
    )
    stats: dict[str, object] = {
        "pairs": len(keys),
        "placed": len(series),
        "unplaceable": len(unplaceable),
        "kept": kept,
        "options_seconds": round(t_options, 3),
        "solve_seconds": round(elapsed - t_options, 3),
        "seconds": round(elapsed, 3),
        "cost": sum(live_opts[i][j].cost for i, j in chosen.items()),
        "spread_penalty": spread_penalty([(live_keys[i][0], live_opts[i][j]) for i, j in chosen.items()]),
        "components": len(comps),
        "components_direct": n_direct,
        "components_solved": n_solved,
        "components_at_time_limit": n_limit,
        "largest_component": largest,
        "status": "OPTIMAL" if n_limit == 0 else "FEASIBLE",
    }
    series.sort(key=lambda s: (s.mentor_id, s.mentee_id))
    events.sort(key=lambda ev: (ev.mentor_id, ev.mentee_id, ev.start, ev.kind))
    unplaceable.sort(key=lambda u: (u.mentor_id, u.mentee_id))
    return Schedule(tuple(series), tuple(events), tuple(unplaceable), stats)


def reschedule(
    cohort: Cohort,
    program: Program,
    previous: Schedule,
    pairs: Iterable[Any],
    *,
    uid_salt: str,
    ctx: SlotContext | None = None,
    fixed: Mapping[PairKey, Series] | None = None,
    progress: Progress | None = None,
) -> Schedule:
    """``schedule`` for a changed set of pairs, reusing ``previous`` where nothing can change.

    Every pair of ``previous`` that is still in ``pairs`` keeps its slot when still valid (it is
    ``fixed`` and ``required``): new pairs fit around the placed ones, never displace them. A
    conflict component of ``pairs`` made only of such pairs is then decided already: each pair has
    exactly its previous option and together they were feasible, so its series and events are
    carried over unchanged. Only the components holding a new pair are scheduled again -- the
    same result as scheduling everything, at the cost of the changed part.
    """
    keys = sorted({_pair_key(p) for p in pairs})
    placed = {(s.mentor_id, s.mentee_id): s for s in previous.series}
    new = {k for k in keys if k not in placed}
    touched: set[PairKey] = set()
    for comp in _components(keys):
        members = [keys[i] for i in comp]
        if any(k in new for k in members):
            touched.update(members)
    slots = {**(fixed or {}), **{k: placed[k] for k in touched if k in placed}}
    hints = {k: pattern_of_series(placed[k], program) for k in touched if k in placed}
    sub = schedule(
        cohort,
        program,
        sorted(touched),
        uid_salt=uid_salt,
        ctx=ctx,
        fixed=slots,
        hints=hints,
        required=[k for k in touched if k in placed],
        progress=progress,
    )
    carried_keys = set(keys) - touched
    carried = [s for k, s in placed.items() if k in carried_keys]
    series = sorted([*carried, *sub.series], key=lambda s: (s.mentor_id, s.mentee_id))
    events = sorted(
        [*(e for e in previous.events if (e.mentor_id, e.mentee_id) in carried_keys), *sub.events],
        key=lambda ev: (ev.mentor_id, ev.mentee_id, ev.start, ev.kind),
    )
    stats = dict(sub.stats)
    stats.update(pairs=len(keys), placed=len(series), carried=len(carried), rescheduled=len(touched))
    return Schedule(tuple(series), tuple(events), sub.unplaceable, stats)
