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
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from cohort.model import MINUTES_PER_WEEK, Cohort, PersonId
from cohort.program import Program
from cohort.progress import Progress
from cohort.solving import configure
from matcher.model import Candidate
from scheduler.assign import cell_size, conflict_groups, local_weeks, occupancy, schedule
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


def match_and_schedule(
    cohort: Cohort,
    program: Program,
    candidates: Sequence[Candidate],
    *,
    uid_salt: str,
    capacity: Mapping[PersonId, int],
    progress: Progress | None = None,
    time_limit: float = 30.0,
    workers: int = 2,
    seed: int = 0,
    options_per_pair: int = 6,
    ctx: SlotContext | None = None,
    pins: Sequence[tuple[PersonId, PersonId]] = (),
) -> tuple[list[tuple[PersonId, PersonId]], Schedule]:
    """Pairs and slots chosen together; returns the chosen (mentor, mentee) pairs and their schedule.

    ``options_per_pair=0`` keeps every valid option (small cohorts, tests). ``pins`` are formed
    and placed first (hard, as one assumption: if they cannot all be placed together, the model
    is solved again without them and the best plan decides).

    Long on purpose: one CP-SAT model whose variables, constraints and objective share the
    pair-slot index built at its top.
    """
    t0 = _time.perf_counter()
    ctx = ctx or SlotContext(cohort, program)
    buffer = program.cycle.buffer_minutes
    cell = cell_size(program)
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
            cohort[c.mentor_id], cohort[c.mentee_id], program, ctx=ctx, limit=options_per_pair
        )
        if o:
            live.append(c)
            opts.append(o)
    model = cp_model.CpModel()
    x = [
        [model.new_bool_var(f"slot[{c.mentor_id},{c.mentee_id},{j}]") for j in range(len(o))]
        for c, o in zip(live, opts, strict=True)
    ]
    y = []
    for c, xs in zip(live, x, strict=True):
        v = model.new_bool_var(f"pair[{c.mentor_id},{c.mentee_id}]")
        model.add(sum(xs) == v)
        y.append(v)
    by_mentee: dict[PersonId, list[Any]] = {}
    by_mentor: dict[PersonId, list[Any]] = {}
    for c, v in zip(live, y, strict=True):
        by_mentee.setdefault(c.mentee_id, []).append(v)
        by_mentor.setdefault(c.mentor_id, []).append(v)
    for vs in by_mentee.values():
        model.add_at_most_one(vs)  # Hard: one mentor per mentee
    for m, vs in by_mentor.items():  # Hard: mentor capacity
        cap = capacity.get(
            m, cohort[m].capacity if cohort[m].capacity is not None else program.rules.default_capacity
        )
        model.add(sum(vs) <= cap)
    refs: dict[PersonId, list[tuple[int, int]]] = {}
    for i, c in enumerate(live):
        for pid in {c.mentor_id, c.mentee_id}:
            refs.setdefault(pid, []).extend((i, j) for j in range(len(opts[i])))
    for pid, rs in refs.items():  # Hard: the person's meetings fit their time together
        if len({i for i, _ in rs}) >= 2:
            cells = [weekly_cells(ctx, opts[i][j], buffer, cell) for i, j in rs]
            for group in conflict_groups(cells, [i for i, _ in rs]):
                model.add_at_most_one([x[rs[k][0]][rs[k][1]] for k in group])
        limit = cohort[pid].max_meetings_per_week
        if limit is not None:  # Hard: weekly limit, with each option's busiest week
            terms = []
            for i, j in rs:
                weeks = local_weeks(ctx, pid, occupancy(ctx, opts[i][j]))
                terms.append(int(np.bincount(weeks - weeks.min()).max()) * x[i][j])
            model.add(sum(terms) <= limit)
    # Lexicographic weights sized to this model: one more mentee matched outweighs any total score,
    # one more point of score outweighs any total slot cost (``max_cost`` exceeds the largest sum
    # of chosen options' costs, ``max_score`` the largest weighted score).
    max_cost = sum(max(o.cost for o in os) for os in opts) + 1
    max_score = sum(abs(c.score) for c in live) * max_cost + max_cost
    model.maximize(
        max_score * 2 * sum(y)
        + max_cost * sum(c.score * v for c, v in zip(live, y, strict=True))
        - sum(o.cost * v for os, xs in zip(opts, x, strict=True) for o, v in zip(os, xs, strict=True))
    )
    pinned = {(m, e) for m, e in pins}
    pin_vars = [v for c, v in zip(live, y, strict=True) if (c.mentor_id, c.mentee_id) in pinned]
    if pin_vars:
        all_pins = model.new_bool_var("pins_placed")
        for v in pin_vars:
            model.add(v == 1).only_enforce_if(all_pins)
        model.add_assumptions([all_pins])
    solver = cp_model.CpSolver()
    configure(
        solver.parameters,
        deterministic=program.matching.deterministic,
        time_limit=time_limit,
        workers=workers,
        seed=seed,
    )
    status = solver.Solve(model)
    if pin_vars and status == cp_model.INFEASIBLE:
        model.clear_assumptions()
        status = solver.Solve(model)
    chosen: list[tuple[PersonId, PersonId]] = []
    hints = {}
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        for c, xs, os in zip(live, x, opts, strict=True):
            for v, opt in zip(xs, os, strict=True):
                if solver.BooleanValue(v):
                    chosen.append((c.mentor_id, c.mentee_id))
                    hints[(c.mentor_id, c.mentee_id)] = opt.pattern
    sched = schedule(
        cohort,
        program,
        chosen,
        uid_salt=uid_salt,
        progress=progress,
        hints=hints,
        ctx=ctx,
        time_limit=time_limit,
        workers=workers,
        seed=seed,
        required=[k for k in chosen if k in pinned],
    )
    sched.stats.update(
        {
            "joint_status": solver.StatusName(status),
            "joint_candidates": len(live),
            "joint_seconds": round(_time.perf_counter() - t0, 3),
        }
    )
    return sorted(chosen), sched
