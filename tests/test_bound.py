"""The time-aware bound (``planner.bound``): never below what a plan or the exact joint model
matches, and strictly tighter than the schedule-free bound where a mentor's time binds."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from cohort.program import CycleSettings, Program
from planner import Continuity
from planner import plan as _plan
from planner.bound import time_aware_bound
from planner.instance import PlanInstance
from planner.joint import match_and_schedule
from sample_data.generate import generate_cohort
from scheduler.assign import Effort
from tests.factories import make_cohort, make_person
from tests.test_schedule_slots import NO_MILESTONES

MON_10_TO_11 = ((10 * 60, 11 * 60),)
MON_9_TO_12 = ((9 * 60, 12 * 60),)


def _program(cadence: str = "weekly", **cycle: object) -> Program:
    base = Program(
        cycle=CycleSettings(start=date(2027, 2, 1), weeks=12, cadence=cadence, buffer_minutes=15, **cycle),
        milestones=NO_MILESTONES,
    )
    return replace(base, matching=replace(base.matching, workers=1, seed=0, time_limit_seconds=20))


@pytest.mark.parametrize(("people", "mentors", "seed"), [(40, 12, 0), (50, 12, 3), (60, 15, 5)])
def test_the_bound_is_never_below_the_joint_model_nor_the_plan(people: int, mentors: int, seed: int) -> None:
    base = Program()
    program = replace(base, matching=replace(base.matching, workers=1, seed=0, time_limit_seconds=20))
    cohort = generate_cohort(people, mentors, seed=seed, program=program)
    inst = PlanInstance.build(cohort, program, uid_salt="t")
    cap = inst.seats
    bound = time_aware_bound(inst)
    m = program.matching
    effort = Effort(time_limit=30.0, workers=1, seed=m.seed)
    pairs, _ = match_and_schedule(inst, inst.candidates.candidates(), options_per_pair=0, effort=effort)
    planned = _plan(cohort, program, Continuity(repair="joint"), uid_salt="t")
    assert len(pairs) <= bound.matched
    assert planned.match.matched <= bound.matched <= bound.schedule_free_matched
    assert planned.match.objective <= bound.score
    assert all(bound.seats[m] <= cap[m] for m in cap)
    assert planned.time_bound is not None and planned.time_bound.matched == bound.matched


def _crafted(cadence: str) -> tuple:
    cohort = make_cohort(
        make_person("m", "mentor", availability=MON_10_TO_11, capacity=3),
        *(make_person(e, availability=MON_9_TO_12) for e in ("a", "b", "c")),
    )
    return cohort, _program(cadence)


def test_one_free_hour_a_week_is_one_weekly_mentee_however_many_seats() -> None:
    cohort, program = _crafted("weekly")
    bound = time_aware_bound(PlanInstance.build(cohort, program))
    assert bound.schedule_free_matched == 3
    assert bound.matched == 1 < bound.schedule_free_matched  # strictly tighter
    assert bound.seats == {"m": 1}
    planned = _plan(cohort, program, Continuity(), uid_salt="t")
    assert planned.match.matched == 1  # and here it is reached


def test_two_fortnightly_series_share_one_weekly_hour() -> None:
    """Biweekly series on alternate weeks fit one weekly hour twice: the bound allows both."""
    cohort, program = _crafted("biweekly")
    bound = time_aware_bound(PlanInstance.build(cohort, program))
    planned = _plan(cohort, program, Continuity(), uid_salt="t")
    assert planned.match.matched == 2 == bound.matched < bound.schedule_free_matched


def test_a_weekly_limit_caps_the_seats() -> None:
    cohort = make_cohort(
        make_person("m", "mentor", capacity=3, max_meetings_per_week=1),
        *(make_person(e) for e in ("a", "b", "c")),
    )
    program = _program("weekly")
    bound = time_aware_bound(PlanInstance.build(cohort, program))
    assert bound.matched == 1 and bound.schedule_free_matched == 3


def test_mentees_away_in_turn_share_one_hour_and_the_bound_allows_it() -> None:
    """Two weekly series in one weekly hour fit when each mentee is away while the other meets:
    the bound must count only the meetings that take place."""
    first_half = ((date(2027, 2, 1), date(2027, 3, 14)),)
    second_half = ((date(2027, 3, 15), date(2027, 4, 25)),)
    cohort = make_cohort(
        make_person("m", "mentor", availability=MON_10_TO_11, capacity=2),
        make_person("a", availability=MON_9_TO_12, unavailable=second_half),
        make_person("b", availability=MON_9_TO_12, unavailable=first_half),
    )
    program = _program("weekly")
    bound = time_aware_bound(PlanInstance.build(cohort, program))
    planned = _plan(cohort, program, Continuity(), uid_salt="t")
    assert planned.match.matched == 2 <= bound.matched
