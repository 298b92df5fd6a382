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
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from cohort.model import MINUTES_PER_WEEK, Cohort, PersonId
from cohort.program import Program
from cohort.progress import Progress, ProgressEvent
from cohort.solving import configure
from scheduler import recurrence
from scheduler.constraints import (
    Occupancy,
    SlotVars,
    mentor_spread,
    no_overlap_with_buffer,
    occupied_cells,
    one_slot_per_pair,
    over_weekly_limit,
    week_counts,
    weekly_limit,
)
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


def occupancy(ctx: SlotContext, option: SlotOption) -> Occupancy:
    """An option's meetings (milestones included) on the grid's minutes."""
    meetings = option.meetings
    starts = np.array(
        [int((m.start - ctx.epoch_utc).total_seconds() // 60) for m in meetings], dtype=np.int64
    )
    lengths = np.array([m.duration_minutes for m in meetings], dtype=np.int64)
    return Occupancy(starts, lengths)


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


def local_weeks(ctx: SlotContext, pid: PersonId, occ: Occupancy) -> np.ndarray:
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
                ok &= not over_weekly_limit(week_counts(weeks), {}, limit)
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


@dataclass(frozen=True)
class Component:
    """Pairs of the person-conflict graph that constrain each other (they share people): each
    pair's slot options, its hinted option, and whether it must be placed (``required``; an
    already placed pair other pairs fit around)."""

    keys: Sequence[PairKey]
    options: Sequence[Sequence[SlotOption]]
    hints: Sequence[int | None]
    required: Sequence[bool] = ()

    def __len__(self) -> int:
        return len(self.keys)

    def people(self) -> dict[PersonId, list[int]]:
        """Each person's pairs (indices), people in pair order (a set of ids iterates by string
        hash)."""
        out: dict[PersonId, list[int]] = {}
        for i, key in enumerate(self.keys):
            for pid in dict.fromkeys(key):
                out.setdefault(pid, []).append(i)
        return out


def _independent_optimum(ctx: SlotContext, comp: Component) -> list[int] | None:
    """Each pair's own best option, when together they break no hard rule and no mentor meets two
    mentees on one weekday: then no choice scores better on any level of the objective (all
    placed, least cost per pair, zero spread penalty, hints kept among equals). Else ``None``."""
    picks = [
        min(range(len(opts)), key=lambda j: (opts[j].cost, int(j != h), j))
        for opts, h in zip(comp.options, comp.hints, strict=True)
    ]
    days = {
        (m, opts[j].mentor_weekday) for (m, _), opts, j in zip(comp.keys, comp.options, picks, strict=True)
    }
    if len(days) < len(comp):
        return None
    buffer, cell = ctx.program.cycle.buffer_minutes, cell_size(ctx.program)
    occ = [occupancy(ctx, opts[j]) for opts, j in zip(comp.options, picks, strict=True)]
    for pid, idx in comp.people().items():
        if len(idx) >= 2:
            cells = np.concatenate([occupied_cells(occ[i], buffer, cell) for i in idx])
            if np.unique(cells).size != cells.size:
                return None
        limit = ctx.cohort[pid].max_meetings_per_week
        if limit is not None:
            weeks = np.concatenate([local_weeks(ctx, pid, occ[i]) for i in idx])
            if over_weekly_limit(week_counts(weeks), {}, limit):
                return None
    return picks


def component_model(ctx: SlotContext, comp: Component) -> tuple[SlotVars, int]:
    """The CP-SAT model of one component (module doc: the hard rules, then lexicographically most
    pairs placed, least option cost, ``mentor_spread``, hints kept); and its overlap groups."""
    program = ctx.program
    buffer, cell = program.cycle.buffer_minutes, cell_size(program)
    model = cp_model.CpModel()
    v = SlotVars(
        model,
        [
            [model.new_bool_var(f"slot[{m},{e},{j}]") for j in range(len(opts))]
            for (m, e), opts in zip(comp.keys, comp.options, strict=True)
        ],
    )
    for i in range(len(comp)):
        one_slot_per_pair(v, i, required=i < len(comp.required) and comp.required[i])
    occ = [[occupancy(ctx, o) for o in opts] for opts in comp.options]
    n_groups = 0
    for pid, pairs in comp.people().items():
        refs = [(i, j) for i in pairs for j in range(len(comp.options[i]))]
        if len(pairs) >= 2:
            n_groups += no_overlap_with_buffer(
                v, refs, [occupied_cells(occ[i][j], buffer, cell) for i, j in refs]
            )
        limit = ctx.cohort[pid].max_meetings_per_week
        if limit is not None:
            per_week: dict[int, list[tuple[int, Any]]] = {}
            for i, j in refs:
                weeks, counts = np.unique(local_weeks(ctx, pid, occ[i][j]), return_counts=True)
                for w, c in zip(weeks.tolist(), counts.tolist(), strict=True):
                    per_week.setdefault(w, []).append((c, v.x[i][j]))
            weekly_limit(v, ((terms, limit) for terms in per_week.values()))
    by_mentor_day: dict[tuple[PersonId, int], list[Any]] = {}
    for i, (m, _) in enumerate(comp.keys):
        for j, o in enumerate(comp.options[i]):
            by_mentor_day.setdefault((m, o.mentor_weekday), []).append(v.x[i][j])
    spread = mentor_spread(v, by_mentor_day)
    # Lexicographic weights sized to this component: placed >> cost >> spread >> keeping hints.
    w3 = len(comp) + 1
    w2 = w3 * (len(comp) + 1)
    max_cost = sum(max((o.cost for o in opts), default=0) for opts in comp.options)
    w1 = w2 * (max_cost + 1)
    hinted = [v.x[i][h] for i, h in enumerate(comp.hints) if h is not None and h < len(v.x[i])]
    cost = sum(
        o.cost * x for opts, xs in zip(comp.options, v.x, strict=True) for o, x in zip(opts, xs, strict=True)
    )
    model.maximize(w1 * sum(sum(xs) for xs in v.x) - w2 * cost - w3 * sum(spread) + sum(hinted))
    for i, h in enumerate(comp.hints):
        if h is not None:
            for j, x in enumerate(v.x[i]):
                model.add_hint(x, int(h == j))
    return v, n_groups


def solve_component(
    ctx: SlotContext, comp: Component, *, time_limit: float, workers: int, seed: int
) -> tuple[list[int | None], dict[str, Any]]:
    """CP-SAT over one component of the person-conflict graph; returns the chosen option per pair."""
    v, n_groups = component_model(ctx, comp)
    solver = cp_model.CpSolver()
    configure(
        solver.parameters,
        deterministic=ctx.program.matching.deterministic,
        time_limit=time_limit,
        workers=workers,
        seed=seed,
    )
    status = solver.Solve(v.model)
    chosen: list[int | None] = [None] * len(comp)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        for i, xs in enumerate(v.x):
            for j, x in enumerate(xs):
                if solver.BooleanValue(x):
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


@dataclass(frozen=True)
class Keep:
    """What a schedule starts from. ``fixed``: earlier series to keep for a pair while their pattern
    is still valid; ``hints``: a pattern per pair to start the search from (e.g. from joint
    matching); ``required``: pairs that must be placed, ahead of the others (pins; placed pairs that
    new ones fit around, held to their ``fixed`` slot)."""

    fixed: Mapping[PairKey, Series] = field(default_factory=dict)
    hints: Mapping[PairKey, Pattern] = field(default_factory=dict)
    required: Iterable[PairKey] = ()


@dataclass(frozen=True)
class Effort:
    """How hard the scheduler tries: slot options per pair, CP-SAT seconds, workers and seed (None:
    the program's ``[schedule]`` and ``[matching]`` settings)."""

    options_per_pair: int | None = None
    time_limit: float | None = None
    workers: int | None = None
    seed: int | None = None

    def resolved(self, program: Program) -> Effort:
        settings = getattr(program, "schedule", None)
        k = settings.options_per_pair if settings else 12
        limit = settings.time_limit_seconds if settings else 30.0
        return Effort(
            self.options_per_pair if self.options_per_pair is not None else k,
            self.time_limit if self.time_limit is not None else limit,
            self.workers if self.workers is not None else program.matching.workers,
            self.seed if self.seed is not None else program.matching.seed,
        )


@dataclass
class _Live:
    """The pairs that have slot options, with their options and hinted option; and the pairs
    that have none (``unplaceable``) and how many kept their fixed slot."""

    keys: list[PairKey] = field(default_factory=list)
    options: list[list[SlotOption]] = field(default_factory=list)
    hints: list[int | None] = field(default_factory=list)
    unplaceable: list[Unplaceable] = field(default_factory=list)
    kept: int = 0


def _live_options(
    ctx: SlotContext, keys: Sequence[PairKey], keep: Keep, k: int, progress: Progress | None
) -> _Live:
    """Each pair's slot options: its fixed slot when still valid, else its best ``k`` options (and
    its hinted pattern), or an ``Unplaceable`` saying why there is none."""
    cohort, program = ctx.cohort, ctx.program
    live = _Live()
    for n, key in enumerate(keys):
        mentor, mentee = cohort[key[0]], cohort[key[1]]
        cadence = pair_cadence(mentor, mentee, program)
        opts: list[SlotOption] = []
        if key in keep.fixed:
            prev = pattern_of_series(keep.fixed[key], program)
            opts = pair_slot_options(mentor, mentee, program, prev.cadence, ctx=ctx, only=prev)
            live.kept += bool(opts)
        hint = keep.hints.get(key)
        if not opts:
            opts = pair_slot_options(mentor, mentee, program, cadence, ctx=ctx, limit=k)
            if hint is not None and all(o.pattern != hint for o in opts):
                opts += pair_slot_options(mentor, mentee, program, hint.cadence, ctx=ctx, only=hint)
        if not opts:
            live.unplaceable.append(
                Unplaceable(key[0], key[1], explain_no_slot(ctx, mentor, mentee, cadence))
            )
            continue
        live.keys.append(key)
        live.options.append(opts)
        # only a real hint counts in the tie-break and solver hints
        live.hints.append(
            None if hint is None else next((j for j, o in enumerate(opts) if o.pattern == hint), None)
        )
        if progress and n % 200 == 199:
            _emit(progress, "info", f"slot options for {n + 1} of {len(keys)} pairs")
    return live


def _solve_held(
    ctx: SlotContext, comp: Component, keep: Keep, effort: Effort
) -> tuple[list[int | None], dict[str, Any]]:
    """``solve_component`` with the fallbacks of required pairs: with no answer in time, pairs held
    to their one fixed slot keep it (placed together before) and the others stay unplaced rather
    than displace them; required pairs that clash (or no answer in time) are not promised."""
    assert effort.time_limit is not None and effort.workers is not None and effort.seed is not None
    # a required pair held to its one fixed slot can keep it without the solver's answer
    held = [
        n
        and k in keep.fixed
        and len(opts) == 1
        and opts[0].pattern == pattern_of_series(keep.fixed[k], ctx.program)
        for k, opts, n in zip(comp.keys, comp.options, comp.required, strict=True)
    ]
    limit, workers, seed = effort.time_limit, effort.workers, effort.seed
    picks, info = solve_component(ctx, comp, time_limit=limit, workers=workers, seed=seed)
    if any(comp.required) and info["status"] not in ("OPTIMAL", "FEASIBLE"):
        if info["status"] != "INFEASIBLE" and list(comp.required) == held:
            picks = [0 if h else None for h in held]
        else:
            alone = replace(comp, required=())
            picks, info = solve_component(ctx, alone, time_limit=limit, workers=workers, seed=seed)
    return picks, info


def _choose(
    ctx: SlotContext, live: _Live, keep: Keep, effort: Effort
) -> tuple[dict[int, int], dict[str, int]]:
    """The chosen option of every placed pair (by index into ``live``), component by component of
    the person-conflict graph (pairs that share nobody cannot conflict: small models reach OPTIMAL
    fast, one pair needs no solver), and the components' figures."""
    assert effort.time_limit is not None and effort.workers is not None
    comps = sorted(_components(live.keys), key=lambda c: (-len(c), c[0]))
    must = set(keep.required)
    chosen: dict[int, int] = {}
    n_limit = n_solved = n_direct = 0
    total = max(1, len(live.keys))
    for idx in comps:
        if len(idx) == 1:
            pick = _single_pair(ctx, live.keys[idx[0]], live.options[idx[0]], live.hints[idx[0]])
            if pick is not None:
                chosen[idx[0]] = pick
            continue
        comp = Component(
            [live.keys[i] for i in idx],
            [live.options[i] for i in idx],
            [live.hints[i] for i in idx],
            [live.keys[i] in must for i in idx],
        )
        direct = _independent_optimum(ctx, comp)
        if direct is not None:
            n_direct += 1
            chosen.update(zip(idx, direct, strict=True))
            continue
        share = max(2.0, effort.time_limit * len(idx) / total)
        workers = effort.workers if len(idx) >= 50 else 1
        picks, info = _solve_held(ctx, comp, keep, replace(effort, time_limit=share, workers=workers))
        n_solved += 1
        n_limit += info["status"] != "OPTIMAL"
        chosen.update((i, pick) for i, pick in zip(idx, picks, strict=True) if pick is not None)
    return chosen, {
        "components": len(comps),
        "components_direct": n_direct,
        "components_solved": n_solved,
        "components_at_time_limit": n_limit,
        "largest_component": max((len(c) for c in comps), default=0),
    }


def _place(
    ctx: SlotContext, live: _Live, chosen: Mapping[int, int], uid_salt: str
) -> tuple[list[Series], list[Event], list[Unplaceable]]:
    """The series and milestones of the chosen options, and why each pair left out is."""
    buffer = ctx.program.cycle.buffer_minutes
    n_pairs_of: dict[PersonId, int] = {}
    for key in live.keys:
        for pid in dict.fromkeys(key):  # in pair order: a set of ids iterates by string hash
            n_pairs_of[pid] = n_pairs_of.get(pid, 0) + 1
    series: list[Series] = []
    events: list[Event] = []
    unplaceable: list[Unplaceable] = []
    for i, key in enumerate(live.keys):
        if i in chosen:
            s, evs = build_series(ctx, live.options[i][chosen[i]], uid_salt)
            series.append(s)
            events.extend(evs)
            continue
        mentor, mentee = ctx.cohort[key[0]], ctx.cohort[key[1]]
        others = [p.name for p in (mentor, mentee) if n_pairs_of[p.id] > 1]
        limits = [
            f"{p.name}'s limit of {p.max_meetings_per_week} meetings a week"
            for p in (mentor, mentee)
            if p.max_meetings_per_week is not None
        ]
        what = " and ".join(others) or "these two"
        reason = (
            f"each of the {len(live.options[i])} valid slots collides with other mentoring meetings "
            f"of {what} (keeping {buffer} minutes between meetings)"
        )
        if limits:
            reason += " or exceeds " + " and ".join(limits)
        unplaceable.append(Unplaceable(key[0], key[1], reason))
    return series, events, unplaceable


def schedule(
    cohort: Cohort,
    program: Program,
    pairs: Iterable[Any],
    *,
    uid_salt: str,
    ctx: SlotContext | None = None,
    keep: Keep | None = None,
    effort: Effort | None = None,
    progress: Progress | None = None,
) -> Schedule:
    """One recurring series (plus milestones) per pair, or an ``Unplaceable`` saying why.

    ``pairs``: ``matcher.model.Pair`` objects or ``(mentor_id, mentee_id)`` tuples; ``keep``: the
    earlier slots, hints and required pairs (``Keep``). Should required pairs clash among
    themselves, the requirement is dropped for their component; should the solver find no answer
    in time, pairs held to a fixed slot keep it and the other pairs of their component stay
    unplaced.
    """
    t0 = _time.perf_counter()
    keep = keep or Keep()
    effort = (effort or Effort()).resolved(program)
    assert effort.options_per_pair is not None
    ctx = ctx or SlotContext(cohort, program)
    keys = sorted({_pair_key(p) for p in pairs})
    _emit(progress, "start", f"{len(keys)} pairs")
    live = _live_options(ctx, keys, keep, effort.options_per_pair, progress)
    t_options = _time.perf_counter() - t0
    chosen, figures = _choose(ctx, live, keep, effort)
    series, events, unplaced = _place(ctx, live, chosen, uid_salt)
    unplaceable = [*live.unplaceable, *unplaced]
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
        "kept": live.kept,
        "options_seconds": round(t_options, 3),
        "solve_seconds": round(elapsed - t_options, 3),
        "seconds": round(elapsed, 3),
        "cost": sum(live.options[i][j].cost for i, j in chosen.items()),
        "spread_penalty": spread_penalty([(live.keys[i][0], live.options[i][j]) for i, j in chosen.items()]),
        **figures,
        "status": "OPTIMAL" if figures["components_at_time_limit"] == 0 else "FEASIBLE",
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
        keep=Keep(slots, hints, [k for k in touched if k in placed]),
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
