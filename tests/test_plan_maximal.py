"""After ``plan``, no unmatched mentee can be added by a first-fit: every candidate mentor with a
free seat and every one of the pair's slot options breaks a hard rule against what is placed.

The brute force here is written independently of ``planner.augment``: it tries every option of
every (free-seat mentor, unmatched mentee) candidate and asks the independent schedule validator
(``scheduler.validate.check_schedule``) about both people's placed series and events plus the new
series and milestones.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from cohort.program import load_program
from planner.continuity import Continuity
from planner.plan import capacities, plan, slot_aware_candidates
from planner.validate import check_plan
from sample_data.generate import generate_cohort
from scheduler.assign import build_series
from scheduler.model import Schedule
from scheduler.slots import pair_slot_options
from scheduler.validate import check_schedule

ROOT = Path(__file__).resolve().parent.parent


def _program():  # type: ignore[no-untyped-def]
    prog = load_program(ROOT / "sample_data" / "program.toml")
    return replace(prog, matching=replace(prog.matching, workers=1, seed=0, time_limit_seconds=20.0))


@pytest.mark.parametrize(
    ("people", "mentors", "seed", "repair", "rounds"),
    [
        (300, 90, 0, "rematch", 0),
        (300, 90, 2, "rematch", 4),
        (220, 50, 7, "rematch", 1),
        (200, 45, 2, "joint", 4),
    ],
)
def test_no_unmatched_mentee_fits_a_free_seat(
    people: int, mentors: int, seed: int, repair: str, rounds: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Also with fewer forbid-and-rematch rounds than the plan's own (0: the final pass alone
    must place every pair the first schedule left out that still fits)."""
    monkeypatch.setattr(
        sys.modules["planner.plan"], "MAX_REPAIR_ROUNDS", rounds
    )  # the module, not the function
    program = _program()
    cohort = generate_cohort(people, mentors, seed=seed, program=program)
    result = plan(cohort, program, Continuity(repair=repair), uid_salt="t")
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
