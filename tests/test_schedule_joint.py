"""Schedule-aware matching: the number matched equals an exhaustive search with exact conflicts."""

from __future__ import annotations

import itertools
import random
from datetime import date, timedelta

import pytest

from cohort.model import Cohort
from cohort.program import CycleSettings, Milestones, Program
from matcher.model import Candidate
from planner.continuity import Continuity
from planner.instance import PlanInstance
from planner.joint import match_and_schedule
from scheduler.assign import Effort
from scheduler.outputs import schedule_dict
from scheduler.slots import SlotContext, pair_slot_options
from tests.checker import check
from tests.factories import make_cohort, make_person


def _instance(cohort: Cohort, program: Program, seats: dict[str, int]) -> PlanInstance:
    """A plan instance of ``cohort`` whose mentors have ``seats``."""
    return PlanInstance.build(cohort, program, Continuity(capacities=seats), uid_salt="s")


ZONES = ["UTC", "Africa/Lagos", "Asia/Kolkata"]  # no clock changes: the weekly grid is exact


def _clash(a, b, buffer: int) -> bool:  # type: ignore[no-untyped-def]
    """Exact: any two meetings of the options closer than the buffer (pairwise, in UTC)."""
    gap = timedelta(minutes=buffer)
    for x in a.meetings:
        for y in b.meetings:
            xe = x.start + timedelta(minutes=x.duration_minutes)
            ye = y.start + timedelta(minutes=y.duration_minutes)
            if x.start < ye + gap and y.start < xe + gap:
                return True
    return False


def exhaustive_best(cohort, program, candidates, capacity) -> int:  # type: ignore[no-untyped-def]
    """Most mentees matchable with a conflict-free schedule, by brute force."""
    opts = {
        (c.mentor_id, c.mentee_id): pair_slot_options(cohort[c.mentor_id], cohort[c.mentee_id], program)
        for c in candidates
    }
    mentees = sorted({c.mentee_id for c in candidates})
    choices = {
        e: [None] + [c.mentor_id for c in candidates if c.mentee_id == e and opts[(c.mentor_id, e)]]
        for e in mentees
    }
    buffer = program.cycle.buffer_minutes
    best = 0
    for assignment in itertools.product(*(choices[e] for e in mentees)):
        pairs = [(m, e) for m, e in zip(assignment, mentees, strict=True) if m is not None]
        if len(pairs) <= best:
            continue
        load: dict[str, int] = {}
        for m, _ in pairs:
            load[m] = load.get(m, 0) + 1
        if any(load[m] > capacity[m] for m in load):
            continue

        def place(i: int, taken: list, pairs: list = pairs) -> bool:  # type: ignore[type-arg]
            if i == len(pairs):
                return True
            m, e = pairs[i]
            for o in opts[(m, e)]:
                if all(not _clash(o, t, buffer) for (pm, pe), t in taken if {pm, pe} & {m, e}):
                    if place(i + 1, taken + [((m, e), o)]):
                        return True
            return False

        if place(0, []):
            best = len(pairs)
    return best


def _random_cohort(seed: int):  # type: ignore[no-untyped-def]
    rng = random.Random(seed)

    def windows() -> tuple[tuple[int, int], ...]:
        days = sorted(rng.sample(range(2), rng.randint(1, 2)))
        out = []
        for d in days:
            h = rng.randint(9, 12)
            out.append((d * 1440 + h * 60, d * 1440 + h * 60 + rng.choice([60, 120, 180])))
        return tuple(out)

    mentors = [
        make_person(
            f"m{i}", "mentor", timezone=rng.choice(ZONES), availability=windows(), capacity=rng.randint(1, 3)
        )
        for i in range(2)
    ]
    mentees = [
        make_person(
            f"e{i}",
            "mentee",
            timezone=rng.choice(ZONES),
            availability=windows(),
            cadence=rng.choice(["weekly", "biweekly"]),
        )
        for i in range(4)
    ]
    return make_cohort(*mentors, *mentees), mentors, mentees, rng


@pytest.mark.parametrize("seed", range(12))
def test_joint_matches_as_many_as_exhaustive_search(seed: int) -> None:
    cohort, mentors, mentees, rng = _random_cohort(seed)
    prog = Program(
        cycle=CycleSettings(
            start=date(2027, 2, 1), weeks=6, cadence="weekly", buffer_minutes=15, granularity_minutes=30
        ),
        milestones=Milestones(checkins=False, review=False),
    )
    candidates = [Candidate(m.id, e.id, rng.randint(0, 50)) for m in mentors for e in mentees]
    capacity = {m.id: m.capacity for m in mentors}
    inst = _instance(cohort, prog, capacity)
    effort = Effort(time_limit=10, workers=1, seed=0)
    chosen, sched = match_and_schedule(inst, candidates, options_per_pair=0, effort=effort)
    assert len(chosen) == exhaustive_best(cohort, prog, candidates, capacity)
    # matches and schedule describe the same pairs, and the schedule is sound
    assert sorted((s.mentor_id, s.mentee_id) for s in sched.series) == chosen
    assert check(schedule_dict(sched), cohort, prog) == []


def test_capacity_three_with_one_free_hour_is_one_mentee() -> None:
    mentor = make_person("m", "mentor", availability=((600, 660),), capacity=3)
    mentees = [make_person(f"e{i}", cadence="weekly") for i in range(3)]
    cohort = make_cohort(mentor, *mentees)
    prog = Program(cycle=CycleSettings(start=date(2027, 2, 1), weeks=8))
    cands = [Candidate("m", e.id, 10) for e in mentees]
    inst = _instance(cohort, prog, {"m": 3})
    chosen, sched = match_and_schedule(inst, cands, effort=Effort(time_limit=30, workers=1, seed=0))
    assert len(chosen) == 1 and len(sched.series) == 1


def test_pair_without_slot_is_never_chosen_and_mentee_gets_another_mentor() -> None:
    far = make_person("far", "mentor", timezone="Australia/Sydney", availability=((600, 720),))
    near = make_person("near", "mentor", timezone="Europe/London")
    e = make_person("e", timezone="America/New_York", availability=((600, 720),))
    cohort = make_cohort(far, near, e)
    prog = Program(cycle=CycleSettings(start=date(2027, 2, 1), weeks=8))
    assert SlotContext(cohort, prog).has_slot(["far", "near"], ["e", "e"]).tolist() == [False, True]
    cands = [Candidate("far", "e", 100), Candidate("near", "e", 1)]
    inst = _instance(cohort, prog, {"far": 1, "near": 1})
    chosen, sched = match_and_schedule(inst, cands, effort=Effort(time_limit=30, workers=2, seed=0))
    assert chosen == [("near", "e")] and len(sched.series) == 1


def test_two_people_never_mentor_each_other_in_the_joint_model() -> None:
    """``a`` and ``b`` (role ``both``) could each mentor the other and have the hours for both
    series: the joint model forms one direction only (``mutual_mentoring``)."""
    cohort = make_cohort(make_person("a", "both", capacity=1), make_person("b", "both", capacity=1))
    prog = Program(cycle=CycleSettings(start=date(2027, 2, 1), weeks=6, cadence="weekly"))
    cands = [Candidate("a", "b", 10), Candidate("b", "a", 10)]
    inst = _instance(cohort, prog, {"a": 1, "b": 1})
    chosen, sched = match_and_schedule(inst, cands, effort=Effort(time_limit=10, workers=1, seed=0))
    assert len(chosen) == 1 and len(sched.series) == 1
