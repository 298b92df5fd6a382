"""Who meets whom *and* when: matching and scheduling solved together, as one plan.

The matcher alone cannot see that a mentor with capacity 3 but one free hour a week can take only
one mentee, or that a pair's only common hour moves outside someone's day after a DST change.
``plan`` therefore:

1. builds candidates with the scheduler's exact recurring-slot test as the matcher's
   ``slot_filter`` (a pair with no valid slot for the whole cycle is never a candidate);
2. solves the matching optimally (min-cost flow, or CP-SAT when side constraints bind);
3. schedules the chosen pairs (CP-SAT over slot options: no overlaps, buffers, weekly limits);
4. if some pairs could not be placed together (they compete for the same hours of one person):
   with the ``"joint"`` strategy on cohorts small enough (``JOINT_LIMIT`` candidates) re-solves
   matching and slots jointly in one CP-SAT model, which is exact with respect to the weekly
   grid; with the ``"rematch"`` strategy (rank levels, kept pairs) repeats "forbid the
   unplaceable pairs, keep every placed pair with its slot, match the unplaced mentees to the
   free capacity, schedule the new pairs around the placed ones" while a round places more pairs
   than the one before (no fixed number of rounds). Placed pairs are pinned, so a round never
   loses a placed pair and moves nobody else; it schedules only the conflict components a new
   pair joins (``scheduler.assign.reschedule``);
5. the final pass (``planner.augment``): every unmatched mentee tries every candidate mentor with
   a free seat and every slot around what is placed (first fit), then augmenting chains of
   length one, so that nobody is left out who could be placed. Above ``JOINT_LIMIT`` with the
   ``"joint"`` strategy this pass is the repair.
6. on cohorts above ``JOINT_LIMIT`` (score objective), a large-neighbourhood search over pairs and
   slots (``planner.lns``, budget ``[matching] lns_seconds``) after the final pass: more matched,
   then more score; protected pairs never move.

What earlier runs and cycles impose arrives as one ``planner.continuity.Continuity``: ``keep``
pins pairs that both sides want to continue (those still allowed by every rule and a mentor's
capacity), ``prefer_new`` / ``prefer_same`` break ties of equal total score (fewer re-formed
``prefer_new`` pairs first, then more re-formed ``prefer_same`` pairs), ``capacities`` overrides
capacities, and ``repair`` names the repair strategy. In forbid-and-rematch rounds a kept pair
whose old slot collides first gets a new slot, and is only given up when it cannot be placed.

The final pairs are exactly the scheduled ones: ``matches.csv`` and ``schedule.json`` always
describe the same pairs. The reported bound is the matcher's schedule-free optimum, so the gap
says what the calendars cost; ``Plan.time_bound`` (``planner.bound``) bounds what any plan could
match with time counted, and ``planner.reasons`` gives each unmatched mentee the tested reason.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from cohort.model import Cohort, PersonId
from cohort.program import Program
from cohort.progress import Progress, ProgressEvent, null_progress
from matcher import ranks as rank_choices
from matcher.candidates import CandidateSet, build_candidates
from matcher.explain import Alternative, alternatives, describe
from matcher.model import MatchResult, Pair, Unmatched
from matcher.solve import CANDIDATES_IN_RESULT, solve
from planner import lns
from planner.augment import augment
from planner.bound import TimeBound, time_aware_bound
from planner.continuity import Continuity
from planner.joint import match_and_schedule
from planner.reasons import Reasons, free_seat_note, unmatched_reasons
from planner.tiebreak import TieBreak
from planner.validate import assert_sound
from scheduler.assign import pattern_of_series, reschedule, schedule
from scheduler.model import Schedule
from scheduler.slots import SlotContext

PairKey = tuple[PersonId, PersonId]

JOINT_LIMIT = 3000  # candidates up to which unplaceable pairs trigger the exact joint model
MAX_REPAIR_ROUNDS: int | None = None  # no cap: rounds go on while each places more pairs


@dataclass(frozen=True)
class Plan:
    """The decided pairs and schedule, with what it took to get them."""

    cohort: Cohort
    program: Program
    candidates: CandidateSet
    match: MatchResult
    schedule: Schedule
    forbidden: frozenset[PairKey] = frozenset()
    timings: Mapping[str, float] = field(default_factory=dict)
    repair: Mapping[str, object] = field(default_factory=dict)
    time_bound: TimeBound | None = None  # upper bounds that count time (``planner.bound``)


def slot_aware_candidates(
    cohort: Cohort,
    program: Program,
    progress: Progress = null_progress,
    *,
    protect: Iterable[PairKey] = (),
    message: str = "",
) -> tuple[SlotContext, CandidateSet]:
    """The one candidate build of a plan: every hard rule, and a valid recurring slot for the
    whole cycle (the scheduler's exact test as the matcher's ``slot_filter``)."""
    progress(ProgressEvent("candidates", "start", message))
    ctx = SlotContext(cohort, program)
    # ranked pairs (issue 16) survive the best-K limit like pairs that may continue
    cs = build_candidates(
        cohort, program, slot_filter=ctx.has_slot, protect=[*protect, *rank_choices.ranked_pairs(cohort)]
    )
    if program.matching.preferences == "score":  # ranks as one more score component
        cs = rank_choices.with_rank_scores(cohort, program, cs)
    progress(ProgressEvent("candidates", "done", f"{len(cs):,} possible pairs pass every rule"))
    return ctx, cs


def match_solver(cohort: Cohort, program: Program) -> Callable[..., MatchResult]:
    """The matching solver of this cohort: rank levels (``[matching] preferences`` with ranks)
    or the score objective; both put the most people matched first."""
    return rank_choices.solve_ranked if rank_choices.active(cohort, program) else solve


def capacities(cohort: Cohort, program: Program) -> dict[PersonId, int]:
    """Every mentor's capacity this cycle (their cell, or the program default)."""
    default = program.rules.default_capacity
    return {p.id: (p.capacity if p.capacity is not None else default) for p in cohort.mentors}


def plan(
    cohort: Cohort,
    program: Program,
    continuity: Continuity,
    *,
    uid_salt: str,
    progress: Progress | None = None,
) -> Plan:
    """Match and schedule ``cohort`` under ``program``, respecting ``continuity`` (see the module
    doc); ``uid_salt`` keys the calendar UIDs.

    Long on purpose: the match, the schedule, the repairs and the explanation share one candidate
    set, one set of bans and one timing record; the module doc lists the steps in order.
    """
    progress = progress or null_progress
    timings: dict[str, float] = {}
    banned: set[PairKey] = set(continuity.forbidden)
    mentor_capacity = continuity.capacities

    t = time.perf_counter()

    def permitted(pairs: Iterable[PairKey]) -> list[PairKey]:
        return [k for k in dict.fromkeys(pairs) if k not in banned and (k[1], k[0]) not in banned]

    kept = permitted(continuity.keep)
    # pairs that may continue (kept, or nobody asked for a change) survive the best-K limit
    ctx, cs = slot_aware_candidates(
        cohort, program, progress, protect=[*kept, *permitted(continuity.prefer_same)]
    )
    match_solve = match_solver(cohort, program)
    # the joint model knows only the score objective: rank levels repair by re-matching
    rematch_only = continuity.repair == "rematch" or match_solve is not solve
    fixed = dict(continuity.slots)
    warm_start = continuity.hints
    base_pins = cs.pins
    if kept:
        cs = _pin(cohort, program, cs, kept, mentor_capacity)
    timings["candidates"] = time.perf_counter() - t
    tie = TieBreak.of(cs, continuity.prefer_new, continuity.prefer_same)
    reuse = continuity.reuse
    if reuse is not None:
        progress(ProgressEvent("match", "done", "input unchanged since the last run: keeping its plan"))
        kept_match = replace(
            reuse.match, candidates=tie.apply(cs).candidates() if len(cs) <= CANDIDATES_IN_RESULT else ()
        )
        seats = capacities(cohort, program) | dict(mentor_capacity or {})
        bound_t = time_aware_bound(cohort, program, ctx, cs, capacity=seats, banned=banned)
        repaired = dict(reuse.repair)
        return Plan(
            cohort, program, cs, kept_match, reuse.schedule, frozenset(banned), timings, repaired, bound_t
        )

    t = time.perf_counter()
    progress(ProgressEvent("match", "start"))
    result = match_solve(
        cohort,
        program,
        tie.apply(cs),
        progress=progress,
        forbidden_pairs=sorted(banned),
        warm_start=warm_start,
        mentor_capacity=mentor_capacity,
    )
    timings["match"] = time.perf_counter() - t
    progress(ProgressEvent("match", "done", f"{result.matched} mentees matched ({result.method})"))
    bound, first_method = tie.unscale_bound(result.bound), result.method

    t = time.perf_counter()
    chosen = [(p.mentor_id, p.mentee_id) for p in result.pairs]
    # pins (the program's and kept pairs) are placed first: other pairs fit around them
    sched = schedule(
        cohort, program, chosen, uid_salt=uid_salt, ctx=ctx, fixed=fixed, required=cs.pins, progress=progress
    )
    repair: dict[str, object] = {"unplaceable_first": len(sched.unplaceable), "rounds": 0, "method": "none"}
    unplaceable_reason = {(u.mentor_id, u.mentee_id): u.reason for u in sched.unplaceable}
    if sched.unplaceable and len(cs) <= JOINT_LIMIT and not rematch_only:
        progress(
            ProgressEvent(
                "repair",
                "start",
                f"{len(sched.unplaceable)} pairs compete for the same hours: matching and scheduling jointly",
            )
        )
        allowed = [
            c
            for c in cs.candidates()
            if (c.mentor_id, c.mentee_id) not in banned and (c.mentee_id, c.mentor_id) not in banned
        ]
        m = program.matching
        # deterministic CP-SAT (``cohort.solving``): equal inputs give equal plans
        joint_pairs, joint_sched = match_and_schedule(
            cohort,
            program,
            allowed,
            uid_salt=uid_salt,
            capacity=capacities(cohort, program),
            progress=progress,
            time_limit=m.time_limit_seconds,
            workers=m.workers,
            seed=m.seed,
            ctx=ctx,
            pins=cs.pins,
        )
        if fixed:  # keep stored slots where the joint choice allows (stable re-runs)
            hints = {(s.mentor_id, s.mentee_id): pattern_of_series(s, program) for s in joint_sched.series}
            again = schedule(
                cohort,
                program,
                joint_pairs,
                uid_salt=uid_salt,
                ctx=ctx,
                fixed=fixed,
                hints=hints,
                required=cs.pins,
                progress=progress,
            )
            if len(again.series) >= len(joint_sched.series):
                joint_sched = again
        if len(joint_sched.series) >= len(sched.series):
            sched = joint_sched
        repair.update(method="joint", rounds=1)
        progress(ProgressEvent("repair", "done", f"{len(sched.series)} pairs placed"))
    rounds = 0
    cap = MAX_REPAIR_ROUNDS  # (tests set a number to exercise the final pass alone)
    # above JOINT_LIMIT the "joint" strategy leaves the repair to the final pass (first fit and
    # chains): on generated 2,000/4,000-person cohorts rounds placed 0 and 1 more pair for 40% and
    # 60% more time; rank levels and kept pairs (whose old slot may need a new one) re-match
    while sched.unplaceable and (cap is None or rounds < cap) and rematch_only:
        rounds += 1
        progress(
            ProgressEvent(
                "repair",
                "start",
                f"round {rounds}: {len(sched.unplaceable)} pairs could not be placed; finding other partners",
            )
        )
        stuck = {(u.mentor_id, u.mentee_id) for u in sched.unplaceable}
        pinned = set(cs.pins)  # kept pairs and the program's pins
        # a kept pair whose old slot collides first tries any slot; only then is it given up (a
        # pin that cannot be placed is given up too: the mentee's reason says why)
        retry = {k for k in stuck & pinned if k in fixed}
        for k in retry:
            del fixed[k]
        given_up = (stuck & pinned) - retry
        if given_up:
            cs = replace(cs, pins=tuple(p for p in cs.pins if p not in given_up))
        banned |= stuck - retry
        placed = {(s.mentor_id, s.mentee_id): s for s in sched.series}
        # placed pairs stay (pinned): only the unplaced mentees look for other partners among the
        # free capacity, so every round places at least as many pairs and moves nobody else
        round_cs = replace(cs, pins=tuple(dict.fromkeys([*cs.pins, *sorted(placed)])))
        result = match_solve(
            cohort,
            program,
            tie.apply(round_cs),
            progress=progress,
            forbidden_pairs=sorted(banned),
            warm_start=list(placed),
            mentor_capacity=mentor_capacity,
        )
        chosen = [(p.mentor_id, p.mentee_id) for p in result.pairs]
        repair.update(method="forbid-and-rematch", rounds=rounds)
        if set(chosen) <= set(placed):  # nobody else can be matched: the schedule stays as it is
            progress(ProgressEvent("repair", "done", "no other partner is free"))
            break
        # placed pairs keep their slots; only the components a new pair joins are scheduled again
        before = len(sched.series)
        sched = reschedule(
            cohort, program, sched, chosen, uid_salt=uid_salt, ctx=ctx, fixed=fixed, progress=progress
        )
        unplaceable_reason.update({(u.mentor_id, u.mentee_id): u.reason for u in sched.unplaceable})
        progress(ProgressEvent("repair", "done", f"{len(sched.series)} pairs placed"))
        if len(sched.series) <= before:  # a round that placed nobody more: the final pass goes on
            break
    # nobody left out who fits: every unmatched mentee tries every free seat around what is placed
    placed_before = len(sched.series)
    seats = capacities(cohort, program) | dict(mentor_capacity or {})
    protected = [*cs.pins, *continuity.slots]  # kept, pinned and continuing pairs never move
    sched, _ = augment(
        cohort,
        program,
        ctx,
        cs,
        sched,
        capacity=seats,
        banned=continuity.forbidden,  # the repairs' own bans are guesses: the exact test decides
        uid_salt=uid_salt,
        protected=protected,
    )
    if len(sched.series) > placed_before:
        repair["augmented"] = len(sched.series) - placed_before
        repair["moved_by_chains"] = sched.stats.get("moved", 0)
        progress(
            ProgressEvent(
                "repair", "done", f"{repair['augmented']} more pairs placed by first fit and chains"
            )
        )
    timings["schedule"] = time.perf_counter() - t
    if repair["unplaceable_first"] and lns.applies(
        program, len(cs), JOINT_LIMIT, score_objective=match_solve is solve
    ):
        t = time.perf_counter()  # above the joint model's size: pairs and slots improved together
        sched, repair["lns"] = lns.improve(
            cohort,
            program,
            ctx,
            cs,
            sched,
            capacity=seats,
            banned=continuity.forbidden,
            uid_salt=uid_salt,
            protected=protected,
            scores=tie.apply(cs).score,
            progress=progress,
        )
        timings["lns"] = time.perf_counter() - t

    # The final pairs are exactly the scheduled ones.
    t = time.perf_counter()
    final = sorted((s.mentor_id, s.mentee_id) for s in sched.series)
    banned -= set(final) - set(continuity.forbidden)  # a repair's ban the final pass placed after all
    pairs, unmatched = describe(
        cohort,
        program,
        replace(cs, pins=base_pins),
        final,
        forbidden_pairs=sorted(banned),
        mentor_capacity=mentor_capacity,
    )
    unmatched = _with_schedule_reasons(unmatched, unplaceable_reason, cohort)
    binding = unmatched_reasons(
        cohort, program, ctx, cs, sched, capacity=seats, banned=continuity.forbidden, augmented=True
    )
    unmatched = tuple(
        Unmatched(u.id, u.role, binding[u.id]) if u.role == "mentee" and u.id in binding else u
        for u in unmatched
    )
    repair["unplaceable_final"] = len(sched.unplaceable)
    method = first_method if repair["method"] == "none" else f"{first_method}+{repair['method']}"
    match = _final_match(result, pairs, unmatched, bound, method)
    sched = replace(sched, unplaceable=())
    timings["explain"] = time.perf_counter() - t
    assert_sound(cohort, program, final, sched, cs.pins, banned, mentor_capacity)  # checks every hard rule
    t = time.perf_counter()
    bound_t = time_aware_bound(cohort, program, ctx, cs, capacity=seats, banned=continuity.forbidden)
    timings["bound"] = time.perf_counter() - t
    return Plan(cohort, program, cs, match, sched, frozenset(banned), timings, repair, bound_t)


def match_only(
    cohort: Cohort, program: Program, *, progress: Progress | None = None
) -> tuple[CandidateSet, MatchResult]:
    """The matching step alone (``mentorsync match``): the slot-aware candidates and the optimal
    assignment, before any calendar is decided."""
    progress = progress or null_progress
    _, cs = slot_aware_candidates(cohort, program, progress)
    progress(ProgressEvent("match", "start"))
    result = match_solver(cohort, program)(cohort, program, cs, progress=progress)
    progress(ProgressEvent("match", "done", f"{result.matched} mentees matched ({result.method})"))
    return cs, result


def schedule_pairs(
    cohort: Cohort,
    program: Program,
    pairs: Sequence[PairKey],
    continuity: Continuity,
    *,
    uid_salt: str,
    progress: Progress | None = None,
) -> Plan:
    """The calendars of given pairs (``mentorsync schedule`` of the pairs ``match`` stored).

    No pair is replaced: a pair that can no longer be placed is left out of the plan, its mentee
    is unmatched with the scheduler's reason, and ``repair["unplaceable"]`` lists it
    (``[mentor_id, mentee_id, reason]``) so the caller can say so. Then the final pass
    (``planner.augment``) gives every mentee left without a partner the first candidate mentor
    with a free seat and a slot that fits both calendars around the scheduled pairs, which never
    move (first fit only: a chain would move a stored pair); ``repair["added"]`` lists those pairs
    (``[mentor_id, mentee_id]``), so that no unmatched mentee could still be placed when the step
    ends, as after ``run``. ``continuity.slots`` are kept where still valid; the bound is the
    matcher's schedule-free optimum, as for ``plan``.
    """
    progress = progress or null_progress
    timings: dict[str, float] = {}
    t = time.perf_counter()
    ctx, cs = slot_aware_candidates(cohort, program, progress)
    timings["candidates"] = time.perf_counter() - t
    t = time.perf_counter()
    sched = schedule(
        cohort,
        program,
        list(pairs),
        uid_salt=uid_salt,
        ctx=ctx,
        fixed=dict(continuity.slots),
        required=[k for k in cs.pins if k in set(pairs)],
        progress=progress,
    )
    seats = capacities(cohort, program) | dict(continuity.capacities or {})
    # nobody left out who fits: the stored pairs stay where they are, free seats take the rest
    sched, added = augment(
        cohort,
        program,
        ctx,
        cs,
        sched,
        capacity=seats,
        banned=continuity.forbidden,
        uid_salt=uid_salt,
        protected=[(s.mentor_id, s.mentee_id) for s in sched.series],
    )
    timings["schedule"] = time.perf_counter() - t
    t = time.perf_counter()
    banned = sorted(continuity.forbidden)
    bound_result = solve(cohort, program, cs, forbidden_pairs=banned)
    final = sorted((s.mentor_id, s.mentee_id) for s in sched.series)
    described, unmatched = describe(cohort, program, cs, final, forbidden_pairs=banned)
    reasons = {(u.mentor_id, u.mentee_id): u.reason for u in sched.unplaceable}
    unmatched = _with_schedule_reasons(unmatched, reasons, cohort)
    binding = unmatched_reasons(
        cohort, program, ctx, cs, sched, capacity=seats, banned=banned, augmented=False
    )
    for m, e in reasons:  # the stored pair first, then what binds now
        if e in binding:
            binding[e] = f"no common recurring slot could be kept with the stored mentor {m}; {binding[e]}"
    unmatched = tuple(
        Unmatched(u.id, u.role, binding[u.id]) if u.role == "mentee" and u.id in binding else u
        for u in unmatched
    )
    match = _final_match(
        bound_result,
        described,
        unmatched,
        bound_result.bound,
        f"{bound_result.method}, pairs stored by match",
    )
    timings["explain"] = time.perf_counter() - t
    t = time.perf_counter()
    bound_t = time_aware_bound(cohort, program, ctx, cs, capacity=seats, banned=banned)
    timings["bound"] = time.perf_counter() - t
    unplaced = [[m, e, r] for (m, e), r in sorted(reasons.items())]
    repair: dict[str, object] = {"method": "none (the stored pairs)", "unplaceable": unplaced}
    if added:
        repair.update(method="the stored pairs, then first fit", added=[[m, e] for m, e in added])
    return Plan(
        cohort,
        program,
        cs,
        match,
        replace(sched, unplaceable=()),
        frozenset(continuity.forbidden),
        timings,
        repair,
        bound_t,
    )


def alternatives_for(
    cohort: Cohort,
    program: Program,
    chosen: Sequence[PairKey],
    person_id: PersonId,
    *,
    top: int = 5,
    schedule: Schedule | None = None,
) -> tuple[tuple[Alternative, ...], str | None]:
    """``person_id``'s best other partners among the slot-aware candidates and why not each, and
    for a ranking mentee why they missed their first choice (None when they did not).

    With the placed ``schedule``, an unmatched mentee's free-seat mentor (or a free-seat mentor's
    unmatched mentee) is tested against the calendars: whether a recurring slot fits, or what every
    slot in the hours the two share collides with (``planner.reasons``)."""
    ctx, cs = slot_aware_candidates(cohort, program)
    alts = alternatives(cohort, program, cs, chosen, person_id, top=top)
    if schedule is not None:
        seats = capacities(cohort, program)
        load = Counter(m for m, _ in chosen)
        matched = {e for _, e in chosen}
        tests: Reasons | None = None
        out = []
        for a in alts:
            pair = (a.partner_id, person_id) if a.partner_role == "mentor" else (person_id, a.partner_id)
            if pair[1] not in matched and load[pair[0]] < seats.get(pair[0], 0):
                tests = tests or Reasons(ctx, cs, schedule)
                a = replace(a, why_not=free_seat_note(tests, *pair, person_id))
            out.append(a)
        alts = tuple(out)
    return alts, rank_choices.first_choice_note(cohort, program, cs, chosen, person_id)


def _final_match(
    result: MatchResult, pairs: Sequence[Pair], unmatched: Sequence[Unmatched], bound: float, method: str
) -> MatchResult:
    """``result`` describing the pairs that were finally placed: their total score against the
    schedule-free ``bound``, and the gap between them."""
    score = sum(p.score for p in pairs)
    return replace(
        result,
        pairs=tuple(pairs),
        unmatched=tuple(unmatched),
        matched=len(pairs),
        objective=float(score),
        bound=float(bound),
        gap=abs(bound - score) / max(1.0, abs(bound)),
        method=method,
    )


def _with_schedule_reasons(
    unmatched: Iterable[Unmatched], reasons: Mapping[PairKey, str], cohort: Cohort
) -> tuple[Unmatched, ...]:
    """Add the scheduler's words to the reason of a mentee whose pairs could not be placed."""
    by_mentee: dict[PersonId, list[str]] = {}
    for (mentor, mentee), reason in sorted(reasons.items()):
        by_mentee.setdefault(mentee, []).append(f"with {cohort[mentor].name}: {reason}")
    out = []
    for u in unmatched:
        if u.role == "mentee" and u.id in by_mentee:
            u = Unmatched(
                u.id,
                u.role,
                f"{u.reason}; no common recurring slot could be kept " + "; ".join(by_mentee[u.id][:2]),
            )
        out.append(u)
    return tuple(out)


def _pin(
    cohort: Cohort,
    program: Program,
    cs: CandidateSet,
    keep: list[PairKey],
    mentor_capacity: Mapping[PersonId, int] | None,
) -> CandidateSet:
    """``cs`` with the feasible ``keep`` pairs added to its pins.

    Feasible: a candidate (every hard rule and a recurring slot; ``keep`` pairs are protected from
    the best-K limit when the candidates are built), the mentee not already pinned, within the
    mentor's capacity (a mentor whose capacity dropped keeps the best-scoring pairs).
    """
    cap = capacities(cohort, program) | dict(mentor_capacity or {})
    used = Counter(m for m, _ in cs.pins)
    taken = {e for _, e in cs.pins}
    ranked = []
    for m, e in keep:
        k = cs.index_of(m, e) if m in cohort and e in cohort else None
        if k is not None:
            ranked.append((-int(cs.score[k]), m, e))
    chosen: list[PairKey] = []
    for _, m, e in sorted(ranked):
        if e in taken or used[m] >= cap.get(m, 0):
            continue
        chosen.append((m, e))
        used[m] += 1
        taken.add(e)
    return replace(cs, pins=(*cs.pins, *chosen))
