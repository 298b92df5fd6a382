"""Schedule-aware matching: choose pairs and their recurring slots in one CP-SAT model.

A pair without any valid slot is never chosen, and a mentor's mentees must fit into the mentor's
time together (capacity 3 with one free hour a week is one mentee). Objective, lexicographic:
most mentees matched, then total candidate score, then slot quality.

Tractable by design: each candidate keeps its best few diverse options, and conflicts are modelled
on a *weekly-equivalent* grid: every meeting of an option (milestones included, with the buffer)
marks the cells ``(week parity, cell of the week)`` it covers, and one ``AddAtMostOne`` per person
per distinct set of options sharing such a cell. Two meetings that overlap in real time always
share a cell, so the model never allows a real conflict (it may forbid a few harmless
combinations, e.g. two monthly series in the same weekly cell); the chosen pairs are then handed to
``scheduler.assign.schedule`` (exact, on UTC instants) with the chosen slots as hints.
"""

from __future__ import annotations

import time as _time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from cohort.model import MINUTES_PER_WEEK, PersonId
from cohort.solving import configure
from matcher.constraints import PairVars, capacity, mutual_mentoring, one_mentor, pin
from matcher.model import Candidate
from planner.instance import PlanInstance
from scheduler.assign import Effort, Keep, cell_size, local_weeks, occupancy, schedule
from scheduler.constraints import SlotVars, no_overlap_with_buffer, one_slot_per_pair, weekly_limit
from scheduler.model import Schedule
from scheduler.slots import SlotContext, SlotOption, pair_slot_options


def weekly_cells(ctx: SlotContext, option: SlotOption, buffer: int, cell: int) -> np.ndarray:
    """The (parity, week cell) keys an option's meetings cover, buffer included."""
    occ = occupancy(ctx, option)
    first = occ.starts // cell
    last = -(-(occ.starts + occ.lengths + buffer) // cell)
    counts = last - first
    base = np.repeat(first, counts)
    offs = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    absolute = base + offs
    per_week = MINUTES_PER_WEEK // cell
    return np.unique((absolute // per_week) % 2 * per_week + absolute % per_week)


def live_options(
    inst: PlanInstance, candidates: Sequence[Candidate], options_per_pair: int
) -> tuple[list[Candidate], list[list[SlotOption]]]:
    """The candidates (one per pair, sorted) that have slot options, with their best diverse
    options (``options_per_pair``; 0: every valid option)."""
    cohort, ctx = inst.cohort, inst.ctx
    cands = sorted(
        {(c.mentor_id, c.mentee_id): c for c in candidates}.values(), key=lambda c: (c.mentor_id, c.mentee_id)
    )
    if len(cands) > 2000:  # the vectorised test first, exact options only for survivors
        keep = ctx.has_slot([c.mentor_id for c in cands], [c.mentee_id for c in cands])
        cands = [c for c, k in zip(cands, keep, strict=True) if k]
    live: list[Candidate] = []
    opts: list[list[SlotOption]] = []
    for c in cands:
        o = pair_slot_options(
            cohort[c.mentor_id], cohort[c.mentee_id], inst.program, ctx=ctx, limit=options_per_pair
        )
        if o:
            live.append(c)
            opts.append(o)
    return live, opts


def joint_model(
    inst: PlanInstance, live: Sequence[Candidate], opts: Sequence[Sequence[SlotOption]]
) -> tuple[SlotVars, PairVars, Any]:
    """The joint CP-SAT model (module doc): a Boolean per pair and option (``SlotVars``) and per
    pair (``PairVars``), every rule, the lexicographic objective; and the pins' assumption
    literal (None without pins)."""
    cohort, ctx, program = inst.cohort, inst.ctx, inst.program
    buffer, cell = program.cycle.buffer_minutes, cell_size(program)
    model = cp_model.CpModel()
    slots = SlotVars(
        model,
        [
            [model.new_bool_var(f"slot[{c.mentor_id},{c.mentee_id},{j}]") for j in range(len(o))]
            for c, o in zip(live, opts, strict=True)
        ],
    )
    pairs = PairVars(model)
    for i, c in enumerate(live):
        pairs.x.append(model.new_bool_var(f"pair[{c.mentor_id},{c.mentee_id}]"))
        one_slot_per_pair(slots, i, chosen=pairs.x[i])
    by_mentee: dict[PersonId, list[Any]] = {}
    by_mentor: dict[PersonId, list[Any]] = {}
    for c, v in zip(live, pairs.x, strict=True):
        by_mentee.setdefault(c.mentee_id, []).append(v)
        by_mentor.setdefault(c.mentor_id, []).append(v)
    one_mentor(pairs, by_mentee.values())
    capacity(pairs, ((vs, inst.seats[m]) for m, vs in by_mentor.items()))
    index = {(c.mentor_id, c.mentee_id): i for i, c in enumerate(live)}
    both_ways = [(i, index[(e, m)]) for (m, e), i in index.items() if m < e and (e, m) in index]
    mutual_mentoring(pairs, (([pairs.x[i]], [pairs.x[j]]) for i, j in both_ways))
    refs: dict[PersonId, list[tuple[int, int]]] = {}
    for i, c in enumerate(live):
        for pid in dict.fromkeys((c.mentor_id, c.mentee_id)):  # in pair order, never by string hash
            refs.setdefault(pid, []).extend((i, j) for j in range(len(opts[i])))
    for pid, rs in refs.items():  # on the weekly-equivalent grid (module doc)
        if len({i for i, _ in rs}) >= 2:
            no_overlap_with_buffer(slots, rs, [weekly_cells(ctx, opts[i][j], buffer, cell) for i, j in rs])
        limit = cohort[pid].max_meetings_per_week
        if limit is not None:  # each option counted with its busiest week
            terms = []
            for i, j in rs:
                weeks = local_weeks(ctx, pid, occupancy(ctx, opts[i][j]))
                terms.append((int(np.bincount(weeks - weeks.min()).max()), slots.x[i][j]))
            weekly_limit(slots, [(terms, limit)])
    # Lexicographic weights sized to this model: one more mentee matched outweighs any total score,
    # one more point of score outweighs any total slot cost (``max_cost`` exceeds the largest sum
    # of chosen options' costs, ``max_score`` the largest weighted score).
    y = pairs.x
    max_cost = sum(max(o.cost for o in os) for os in opts) + 1
    max_score = sum(abs(c.score) for c in live) * max_cost + max_cost
    model.maximize(
        max_score * 2 * sum(y)
        + max_cost * sum(c.score * v for c, v in zip(live, y, strict=True))
        - sum(o.cost * v for os, xs in zip(opts, slots.x, strict=True) for o, v in zip(os, xs, strict=True))
    )
    pinned = set(inst.candidates.pins)
    pin_vars = [v for c, v in zip(live, y, strict=True) if (c.mentor_id, c.mentee_id) in pinned]
    if not pin_vars:
        return slots, pairs, None
    all_pins = model.new_bool_var("pins_placed")
    pin(pairs, pin_vars, enforce=all_pins)
    model.add_assumptions([all_pins])
    return slots, pairs, all_pins


def match_and_schedule(
    inst: PlanInstance,
    candidates: Sequence[Candidate],
    *,
    effort: Effort | None = None,
    options_per_pair: int | None = None,
) -> tuple[list[tuple[PersonId, PersonId]], Schedule]:
    """Pairs and slots chosen together among ``candidates``; returns the chosen (mentor, mentee)
    pairs and their schedule.

    ``options_per_pair`` (default ``inst.limits.joint_options``; 0 keeps every valid option: small
    cohorts, tests). The instance's pins are formed and placed first (hard, as one assumption: if
    they cannot all be placed together, the model is solved again without them and the best plan
    decides). ``effort``: CP-SAT's limits (default: the program's ``[matching]``).
    """
    t0 = _time.perf_counter()
    m = inst.program.matching
    effort = effort or Effort(time_limit=m.time_limit_seconds, workers=m.workers, seed=m.seed)
    k = inst.limits.joint_options if options_per_pair is None else options_per_pair
    live, opts = live_options(inst, candidates, k)
    slots, _, all_pins = joint_model(inst, live, opts)
    solver = cp_model.CpSolver()
    configure(
        solver.parameters,
        deterministic=m.deterministic,
        time_limit=effort.time_limit if effort.time_limit is not None else m.time_limit_seconds,
        workers=effort.workers if effort.workers is not None else m.workers,
        seed=effort.seed if effort.seed is not None else m.seed,
    )
    status = solver.Solve(slots.model)
    if all_pins is not None and status == cp_model.INFEASIBLE:
        slots.model.clear_assumptions()
        status = solver.Solve(slots.model)
    chosen: list[tuple[PersonId, PersonId]] = []
    hints = {}
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        for c, xs, os in zip(live, slots.x, opts, strict=True):
            for v, opt in zip(xs, os, strict=True):
                if solver.BooleanValue(v):
                    chosen.append((c.mentor_id, c.mentee_id))
                    hints[(c.mentor_id, c.mentee_id)] = opt.pattern
    pinned = set(inst.candidates.pins)
    sched = schedule(
        inst.cohort,
        inst.program,
        chosen,
        uid_salt=inst.uid_salt,
        ctx=inst.ctx,
        keep=Keep(hints=hints, required=[k for k in chosen if k in pinned]),
        effort=replace(effort, options_per_pair=None),
        progress=inst.progress,
    )
    sched.stats.update(
        {
            "joint_status": solver.StatusName(status),
            "joint_candidates": len(live),
            "joint_seconds": round(_time.perf_counter() - t0, 3),
        }
    )
    return sorted(chosen), sched
