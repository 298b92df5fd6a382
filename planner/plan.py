"""Who meets whom *and* when: matching and scheduling solved together, as one plan.

The matcher alone cannot see that a mentor with capacity 3 but one free hour a week can take only
one mentee, or that a pair's only common hour moves outside someone's day after a DST change.
``plan`` therefore builds one ``planner.instance.PlanInstance`` (the candidates carry the
scheduler's exact recurring-slot test as the matcher's ``slot_filter``: a pair with no valid slot
for the whole cycle is never a candidate) and runs these named steps on it:

1. ``first_match``: the matching, optimal (min-cost flow, or CP-SAT when side constraints bind);
2. ``first_schedule``: the chosen pairs' slots (CP-SAT over slot options: no overlaps, buffers,
   weekly limits); pins (the program's and kept pairs) are placed first;
3. ``planner.repair.repair``: the pairs that could not be placed together (they compete for the
   same hours of one person), by the exact joint model on instances up to
   ``Limits.joint_limit`` candidates or by forbid-and-rematch rounds (rank levels, kept pairs);
4. ``final_pass`` (``planner.augment``): every unmatched mentee tries every candidate mentor with
   a free seat and every slot around what is placed (first fit), then augmenting chains of
   length one, so that nobody is left out who could be placed. Above ``joint_limit`` with the
   ``"joint"`` strategy this pass is the repair;
5. ``search``: above ``Limits.search_above`` candidates (score objective), a large-neighbourhood
   search over pairs and slots (``planner.lns``, budget ``[matching] lns_seconds``): more matched,
   then more score; protected pairs never move;
6. ``explained``: the final pairs described, each unmatched mentee with the tested reason
   (``planner.reasons``); then every hard rule checked (``planner.validate``) and the bound that
   counts time (``planner.bound``).

What earlier runs and cycles impose arrives as one ``planner.continuity.Continuity``: ``keep``
pins pairs that both sides want to continue (those still allowed by every rule and a mentor's
capacity), ``prefer_new`` / ``prefer_same`` break ties of equal total score (fewer re-formed
``prefer_new`` pairs first, then more re-formed ``prefer_same`` pairs), ``capacities`` overrides
capacities, and ``repair`` names the repair strategy.

The final pairs are exactly the scheduled ones: ``matches.csv`` and ``schedule.json`` always
describe the same pairs. The reported bound is the matcher's schedule-free optimum, so the gap
says what the calendars cost; ``Plan.time_bound`` (``planner.bound``) bounds what any plan could
match with time counted.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import cast

from cohort.model import Cohort, PersonId
from cohort.program import Program
from cohort.progress import Progress, ProgressEvent, null_progress
from matcher import ranks as rank_choices
from matcher.candidates import CandidateSet
from matcher.explain import Alternative, alternatives, describe
from matcher.model import MatchResult, Pair, Unmatched
from matcher.solve import CANDIDATES_IN_RESULT, solve
from planner import lns
from planner.augment import augment
from planner.bound import TimeBound, time_aware_bound
from planner.continuity import Continuity, StoredPlan
from planner.instance import Limits, PlanInstance, slot_aware_candidates
from planner.reasons import Reasons, free_seat_note, unmatched_reasons
from planner.repair import (
    Record,
    Repaired,
    RepairRecord,
    ReusedRecord,
    StoredPairsRecord,
    match_solver,
    repair,
)
from planner.validate import assert_sound
from scheduler.assign import Keep, schedule
from scheduler.model import Schedule

PairKey = tuple[PersonId, PersonId]


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
    repair: Record = field(default_factory=ReusedRecord)
    time_bound: TimeBound | None = None  # upper bounds that count time (``planner.bound``)


@contextmanager
def _timed(timings: dict[str, float], step: str) -> Iterator[None]:
    t = time.perf_counter()
    yield
    timings[step] = time.perf_counter() - t


def plan(
    cohort: Cohort,
    program: Program,
    continuity: Continuity,
    *,
    uid_salt: str,
    progress: Progress | None = None,
    limits: Limits | None = None,
) -> Plan:
    """Match and schedule ``cohort`` under ``program``, respecting ``continuity``, step by step
    (module doc); ``uid_salt`` keys the calendar UIDs, ``limits`` are the strategy limits."""
    inst = PlanInstance.build(
        cohort, program, continuity, uid_salt=uid_salt, limits=limits, progress=progress
    )
    timings = {"candidates": inst.build_seconds}
    if continuity.reuse is not None:
        return reused(inst, continuity.reuse, timings)
    with _timed(timings, "match"):
        first = first_match(inst)
    with _timed(timings, "schedule"):
        repaired = repair(inst, first, first_schedule(inst, first))
        sched, record = final_pass(repaired)
    if record.unplaceable_first and lns.applies(repaired.inst):
        with _timed(timings, "lns"):  # above the joint model's size: pairs and slots improved together
            sched, figures = lns.improve(repaired.inst, sched)
        record = replace(record, lns=figures)
    with _timed(timings, "explain"):
        match, sched, banned = explained(repaired, first, sched)
    record = replace(record, unplaceable_final=len(sched.unplaceable))
    match = replace(match, method=_method(first.method, record))
    sched = replace(sched, unplaceable=())
    final = sorted((s.mentor_id, s.mentee_id) for s in sched.series)
    pins = repaired.inst.candidates.pins
    assert_sound(cohort, program, final, sched, pins, banned, inst.seats)  # checks every hard rule
    with _timed(timings, "bound"):
        bound = time_aware_bound(inst)
    return Plan(cohort, program, repaired.inst.candidates, match, sched, banned, timings, record, bound)


def reused(inst: PlanInstance, stored: StoredPlan, timings: dict[str, float]) -> Plan:
    """The plan an earlier run made from exactly this input, kept whole (``StoredPlan``)."""
    inst.progress(ProgressEvent("match", "done", "input unchanged since the last run: keeping its plan"))
    cs = inst.candidates
    match = replace(
        stored.match, candidates=inst.scored.candidates() if len(cs) <= CANDIDATES_IN_RESULT else ()
    )
    record = ReusedRecord(stored.repair)
    bound = time_aware_bound(inst)
    return Plan(inst.cohort, inst.program, cs, match, stored.schedule, inst.banned, timings, record, bound)


def first_match(inst: PlanInstance) -> MatchResult:
    """The optimal matching of the instance, before any calendar is decided."""
    inst.progress(ProgressEvent("match", "start"))
    result = match_solver(inst)(
        inst.cohort,
        inst.program,
        inst.scored,
        progress=inst.progress,
        forbidden_pairs=sorted(inst.banned),
        warm_start=inst.hints,
        mentor_capacity=inst.seats,
    )
    inst.progress(ProgressEvent("match", "done", f"{result.matched} mentees matched ({result.method})"))
    return result


def first_schedule(inst: PlanInstance, first: MatchResult) -> Schedule:
    """The slots of the first matching's pairs; the pins (the program's and kept pairs) placed
    first, so that other pairs fit around them, and the fixed slots kept where still valid."""
    chosen = [(p.mentor_id, p.mentee_id) for p in first.pairs]
    keep = Keep(dict(inst.fixed), required=inst.candidates.pins)
    return schedule(
        inst.cohort,
        inst.program,
        chosen,
        uid_salt=inst.uid_salt,
        ctx=inst.ctx,
        keep=keep,
        progress=inst.progress,
    )


def final_pass(repaired: Repaired) -> tuple[Schedule, RepairRecord]:
    """Nobody left out who fits: every unmatched mentee tries every free seat around what is
    placed (``planner.augment``); protected pairs (kept, pinned and continuing) never move, and
    only the instance's bans count (the repairs' own bans are guesses: the exact test decides)."""
    before = repaired.schedule
    sched, _ = augment(repaired.inst, before)
    record = repaired.record
    if len(sched.series) > len(before.series):
        added = len(sched.series) - len(before.series)
        moved = cast(int, sched.stats.get("moved", 0))
        record = replace(record, augmented=added, moved_by_chains=moved)
        repaired.inst.progress(
            ProgressEvent("repair", "done", f"{added} more pairs placed by first fit and chains")
        )
    return sched, record


def explained(
    repaired: Repaired, first: MatchResult, sched: Schedule
) -> tuple[MatchResult, Schedule, frozenset[PairKey]]:
    """The final pairs (exactly the scheduled ones) described against the schedule-free bound,
    each unmatched mentee with the binding reason; and the bans that still hold (a repair's ban
    the final pass placed after all is lifted)."""
    inst = repaired.inst
    final = sorted((s.mentor_id, s.mentee_id) for s in sched.series)
    banned = frozenset(repaired.banned - (set(final) - set(inst.banned)))
    pairs, unmatched = describe(
        inst.cohort,
        inst.program,
        replace(inst.candidates, pins=inst.program_pins),
        final,
        forbidden_pairs=sorted(banned),
        mentor_capacity=inst.seats,
    )
    unmatched = _with_schedule_reasons(unmatched, repaired.reasons, inst.cohort)
    binding = unmatched_reasons(inst, sched, augmented=True)
    unmatched = tuple(
        Unmatched(u.id, u.role, binding[u.id]) if u.role == "mentee" and u.id in binding else u
        for u in unmatched
    )
    bound = inst.tie.unscale_bound(first.bound)
    return _final_match(repaired.result, pairs, unmatched, bound, first.method), sched, banned


def _method(first: str, record: RepairRecord) -> str:
    return first if record.method == "none" else f"{first}+{record.method}"


def match_only(
    cohort: Cohort, program: Program, *, progress: Progress | None = None
) -> tuple[CandidateSet, MatchResult]:
    """The matching step alone (``mentorsync match``): the slot-aware candidates and the optimal
    assignment, before any calendar is decided."""
    progress = progress or null_progress
    _, cs = slot_aware_candidates(cohort, program, progress)
    progress(ProgressEvent("match", "start"))
    solver = rank_choices.solve_ranked if rank_choices.active(cohort, program) else solve
    result = solver(cohort, program, cs, progress=progress)
    progress(ProgressEvent("match", "done", f"{result.matched} mentees matched ({result.method})"))
    return cs, result


def schedule_pairs(inst: PlanInstance, pairs: Sequence[PairKey]) -> Plan:
    """The calendars of given pairs (``mentorsync schedule`` of the pairs ``match`` stored).

    No pair is replaced: a pair that can no longer be placed is left out of the plan, its mentee
    is unmatched with the scheduler's reason, and the ``StoredPairsRecord`` lists it so the caller
    can say so. Then the final pass (``planner.augment``) gives every mentee left without a
    partner the first candidate mentor with a free seat and a slot that fits both calendars
    around the scheduled pairs, which never move (first fit only: a chain would move a stored
    pair); the record lists those pairs (``added``), so that no unmatched mentee could still be
    placed when the step ends, as after ``run``. The instance's fixed slots are kept where still
    valid; the bound is the matcher's schedule-free optimum, as for ``plan``.
    """
    timings = {"candidates": inst.build_seconds}
    with _timed(timings, "schedule"):
        keep = Keep(dict(inst.fixed), required=[k for k in inst.candidates.pins if k in set(pairs)])
        sched = schedule(
            inst.cohort,
            inst.program,
            list(pairs),
            uid_salt=inst.uid_salt,
            ctx=inst.ctx,
            keep=keep,
            progress=inst.progress,
        )
        # nobody left out who fits: the stored pairs stay where they are, free seats take the rest
        sched, added = augment(inst.with_protected((s.mentor_id, s.mentee_id) for s in sched.series), sched)
    with _timed(timings, "explain"):
        match = _stored_match(inst, sched)
    with _timed(timings, "bound"):
        bound = time_aware_bound(inst)
    unplaced = tuple((m, e, r) for (m, e), r in sorted(_reasons(sched).items()))
    record = StoredPairsRecord(unplaced, tuple(added))
    sched = replace(sched, unplaceable=())
    return Plan(inst.cohort, inst.program, inst.candidates, match, sched, inst.banned, timings, record, bound)


def _reasons(sched: Schedule) -> dict[PairKey, str]:
    return {(u.mentor_id, u.mentee_id): u.reason for u in sched.unplaceable}


def _stored_match(inst: PlanInstance, sched: Schedule) -> MatchResult:
    """The stored pairs as placed, described against the matcher's optimum; each unmatched mentee
    with the stored pair that could not be kept and what binds now."""
    cohort, program, cs = inst.cohort, inst.program, inst.candidates
    banned = sorted(inst.banned)
    optimum = solve(cohort, program, cs, forbidden_pairs=banned)
    final = sorted((s.mentor_id, s.mentee_id) for s in sched.series)
    described, unmatched = describe(cohort, program, cs, final, forbidden_pairs=banned)
    reasons = _reasons(sched)
    unmatched = _with_schedule_reasons(unmatched, reasons, cohort)
    binding = unmatched_reasons(inst, sched, augmented=False)
    for m, e in reasons:  # the stored pair first, then what binds now
        if e in binding:
            binding[e] = f"no common recurring slot could be kept with the stored mentor {m}; {binding[e]}"
    unmatched = tuple(
        Unmatched(u.id, u.role, binding[u.id]) if u.role == "mentee" and u.id in binding else u
        for u in unmatched
    )
    method = f"{optimum.method}, pairs stored by match"
    return _final_match(optimum, described, unmatched, optimum.bound, method)


def alternatives_for(
    inst: PlanInstance,
    chosen: Sequence[PairKey],
    person_id: PersonId,
    *,
    top: int = 5,
    schedule: Schedule | None = None,
) -> tuple[tuple[Alternative, ...], str | None]:
    """``person_id``'s best other partners among the instance's candidates and why not each, and
    for a ranking mentee why they missed their first choice (None when they did not).

    With the placed ``schedule``, an unmatched mentee's free-seat mentor (or a free-seat mentor's
    unmatched mentee) is tested against the calendars: whether a recurring slot fits, or what every
    slot in the hours the two share collides with (``planner.reasons``)."""
    cohort, program, cs = inst.cohort, inst.program, inst.candidates
    alts = alternatives(cohort, program, cs, chosen, person_id, top=top)
    if schedule is not None:
        load = Counter(m for m, _ in chosen)
        matched = {e for _, e in chosen}
        tests: Reasons | None = None
        out = []
        for a in alts:
            pair = (a.partner_id, person_id) if a.partner_role == "mentor" else (person_id, a.partner_id)
            if pair[1] not in matched and load[pair[0]] < inst.seats.get(pair[0], 0):
                tests = tests or Reasons(inst, schedule)
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
