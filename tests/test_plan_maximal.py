"""After ``plan`` (``run``), ``schedule_pairs`` (``schedule``) and a next cycle's plan
(``rematch``), no unmatched mentee can be added by a first-fit: every candidate mentor with a
free seat and every one of the pair's slot options breaks a hard rule against what is placed.

The brute force here is written independently of ``planner.augment``: it tries every option of
every (free-seat mentor, unmatched mentee) candidate and asks the independent schedule validator
(``scheduler.validate.check_schedule``) about both people's placed series and events plus the new
series and milestones.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from cohort.model import Cohort
from cohort.program import Program, load_program
from planner import continuity as policy
from planner.continuity import Continuity, Repair
from planner.instance import Limits, PlanInstance, capacities, slot_aware_candidates
from planner.plan import Plan, final_pass, first_match, first_schedule, match_only, plan, schedule_pairs
from planner.repair import RepairRecord, StoredPairsRecord, repair
from planner.validate import check_plan
from sample_data.generate import generate_cohort
from scheduler.assign import build_series
from scheduler.codec import event_to_dict, series_to_dict
from scheduler.model import Schedule
from scheduler.slots import pair_slot_options
from scheduler.validate import check_schedule

ROOT = Path(__file__).resolve().parent.parent


def _program():  # type: ignore[no-untyped-def]
    prog = load_program(ROOT / "sample_data" / "program.toml")
    return replace(prog, matching=replace(prog.matching, workers=1, seed=0, time_limit_seconds=20.0))


def _addable(
    cohort: Cohort, program: Program, result: Plan, banned: frozenset = frozenset()
) -> tuple[list, dict[str, list[str]]]:
    """Every (mentor, unmatched mentee, pattern) a brute-force first fit could still add (the
    first per mentee), and per unmatched mentee the free-seat candidate mentors it tried;
    ``banned``: pairs someone said no to (never formed again)."""
    pairs = [(p.mentor_id, p.mentee_id) for p in result.match.pairs]
    sched = result.schedule
    assert check_plan(cohort, program, pairs, sched) == []  # every hard rule, every occurrence
    cap = capacities(cohort, program)
    used = Counter(m for m, _ in pairs)
    matched = {e for _, e in pairs}
    ctx, cs = slot_aware_candidates(cohort, program)
    addable = []
    tried: dict[str, list[str]] = {}
    for mentee in cohort.mentees:
        if mentee.id in matched:
            continue
        for c in cs.candidates():
            m = c.mentor_id
            if c.mentee_id != mentee.id or used[m] >= cap[m] or (mentee.id, m) in set(pairs):
                continue
            if (m, mentee.id) in banned or (mentee.id, m) in banned:
                continue
            tried.setdefault(mentee.id, []).append(m)
            people_of = {m, mentee.id}
            around = Schedule(
                tuple(s for s in sched.series if people_of & {s.mentor_id, s.mentee_id}),
                tuple(e for e in sched.events if people_of & {e.mentor_id, e.mentee_id}),
            )
            for option in pair_slot_options(cohort[m], mentee, program, ctx=ctx):
                s, evs = build_series(ctx, option, "t")
                trial = Schedule((*around.series, s), (*around.events, *evs))
                if not check_schedule(trial, cohort, program):
                    addable.append((m, mentee.id, option.pattern))
                    break
            if addable and addable[-1][1] == mentee.id:
                break
    return addable, tried


@pytest.mark.parametrize(
    ("people", "mentors", "seed", "strategy", "rounds"),
    [
        (300, 90, 0, "rematch", 0),
        (300, 90, 2, "rematch", None),
        (220, 50, 7, "rematch", 1),
        (200, 45, 2, "joint", None),
    ],
)
def test_no_unmatched_mentee_fits_a_free_seat(
    people: int, mentors: int, seed: int, strategy: Repair, rounds: int | None
) -> None:
    """Also with fewer forbid-and-rematch rounds than the plan's own (0: the final pass alone
    must place every pair the first schedule left out that still fits; None: no cap)."""
    program = _program()
    cohort = generate_cohort(people, mentors, seed=seed, program=program)
    limits = Limits(repair_rounds=rounds)
    result = plan(cohort, program, Continuity(repair=strategy), uid_salt="t", limits=limits)
    addable, tried = _addable(cohort, program, result)
    assert addable == []
    # true reasons: a mentee told "free seat but no common hour" names the free-seat mentors the
    # brute force just found no slot with (the first few, and how many more), so forcing any of
    # those pairs fails
    reasons = {u.id: u.reason for u in result.match.unmatched if u.role == "mentee"}
    prefix = "eligible mentor(s) with a free seat: "
    for mentee, free_mentors in tried.items():
        if free_mentors:
            assert reasons[mentee].startswith(prefix), reasons[mentee]
            named = reasons[mentee].removeprefix(prefix).split("; none of their free hours")[0]
            listed, _, more = named.partition(" and ")
            assert set(listed.split(", ")) <= set(free_mentors)
            assert len(listed.split(", ")) + (int(more.split()[0]) if more else 0) == len(set(free_mentors))


def test_after_schedule_no_unmatched_mentee_fits_a_free_seat() -> None:
    """``schedule`` keeps every stored pair it can place where the scheduler put it, replaces
    none, and adds pairs for the mentees left without a partner until none fits any more."""
    program = _program()
    cohort = generate_cohort(300, 90, seed=2, program=program)
    _, matched = match_only(cohort, program)
    stored = [(p.mentor_id, p.mentee_id) for p in matched.pairs]
    result = schedule_pairs(PlanInstance.build(cohort, program, uid_salt="t"), stored)
    assert isinstance(result.repair, StoredPairsRecord)
    assert _addable(cohort, program, result)[0] == []
    final = {(s.mentor_id, s.mentee_id) for s in result.schedule.series}
    added = set(result.repair.added)
    unplaced = {(m, e) for m, e, _ in result.repair.unplaceable}
    assert unplaced and added  # the stored pairs leave some out, and free seats take some in
    assert final == (set(stored) - unplaced) | added  # no stored pair replaced
    assert not {e for _, e in added} & {e for _, e in set(stored) - unplaced}


def test_after_rematch_no_unmatched_mentee_fits_and_continuing_pairs_stay() -> None:
    """The next cycle: pairs that continue keep their slot, and the final pass (first fit and
    chains) leaves their series and milestones byte for byte as they were before it."""
    first_program = _program()
    cohort = generate_cohort(300, 90, seed=2, program=first_program)
    first = plan(cohort, first_program, Continuity(repair="rematch"), uid_salt="t")  # quick first cycle
    pairs = sorted((p.mentor_id, p.mentee_id) for p in first.match.pairs)
    verdicts = {k: ("continue", "end", "none", "partial")[i % 4] for i, k in enumerate(pairs)}
    ended = [k for k, v in verdicts.items() if v == "end"]
    cycle = first_program.cycle
    program = replace(first_program, cycle=replace(cycle, start=cycle.start + timedelta(weeks=cycle.weeks)))
    continuity = policy.next_cycle(verdicts, first.schedule, ended)

    result = plan(cohort, program, continuity, uid_salt="t")
    assert _addable(cohort, program, result, frozenset(ended))[0] == []
    assert not {(p.mentor_id, p.mentee_id) for p in result.match.pairs} & set(ended)

    # the plan's steps up to the final pass, one by one: the schedule before and after it
    inst = PlanInstance.build(cohort, program, continuity, uid_salt="t")
    matched = first_match(inst)
    repaired = repair(inst, matched, first_schedule(inst, matched))
    before, (after, _) = repaired.schedule, final_pass(repaired)
    assert isinstance(result.repair, RepairRecord)
    continuing = set(continuity.keep) | set(continuity.slots)

    def dump(s: Schedule, k: tuple[str, str]) -> bytes:
        series = [series_to_dict(x) for x in s.series if (x.mentor_id, x.mentee_id) == k]
        events = [event_to_dict(x) for x in s.events if (x.mentor_id, x.mentee_id) == k]
        return json.dumps([series, events], sort_keys=True).encode()

    kept = [k for k in continuing if dump(before, k) != dump(Schedule((), ()), k)]
    assert len(kept) > 10
    for k in kept:
        assert dump(after, k) == dump(before, k), k
    assert (result.repair.augmented or 0) > 0 or len(after.series) == len(before.series)
