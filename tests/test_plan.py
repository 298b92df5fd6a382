"""The planner's repair on a cohort too big for the joint model (the final pass: first fit and
chains around the placed pairs), and forbid-and-rematch rounds (pin the placed, re-match)."""

from __future__ import annotations

from dataclasses import replace

from cohort.program import Program
from matcher.candidates import build_candidates
from matcher.solve import solve
from matcher.validate import check_matching
from planner import Continuity
from planner import plan as _plan
from planner.instance import Limits
from planner.repair import RepairRecord
from sample_data.generate import generate_cohort
from scheduler.assign import schedule
from scheduler.outputs import schedule_dict
from scheduler.slots import SlotContext
from tests.checker import check


def test_repair_keeps_every_placed_pair_and_places_more() -> None:
    base = Program()
    # the repair alone: the search after it may trade a placed mentee for a better score
    # (tests/test_lns.py)
    matching = replace(base.matching, workers=1, seed=2, time_limit_seconds=20, lns_seconds=0.0)
    program = replace(base, matching=matching)
    cohort = generate_cohort(900, 220, seed=6, program=program)
    plan = _plan(cohort, program, Continuity(), uid_salt="s")
    assert len(plan.candidates) > Limits().joint_limit  # above the joint model's size:
    assert isinstance(plan.repair, RepairRecord) and plan.repair.method == "none"  # the final pass repairs

    # the first schedule, recomputed independently (one worker: deterministic)
    ctx = SlotContext(cohort, program)
    cs = build_candidates(cohort, program, slot_filter=ctx.has_slot)
    first = schedule(
        cohort,
        program,
        [(p.mentor_id, p.mentee_id) for p in solve(cohort, program, cs).pairs],
        uid_salt="s",
        ctx=ctx,
    )
    assert len(first.unplaceable) == plan.repair.unplaceable_first > 0
    final = {(s.mentor_id, s.mentee_id): s for s in plan.schedule.series}
    # no placed mentee is lost; a placed pair moves only in an augmenting chain (that places one
    # more mentee)
    assert {s.mentee_id for s in first.series} <= {e for _, e in final}
    moved = [s for s in first.series if final.get((s.mentor_id, s.mentee_id)) != s]
    assert len(moved) <= plan.repair.moved_by_chains <= (plan.repair.augmented or 0)
    assert len(final) > len(first.series)  # and the repair found other partners

    # the plan is one consistent, valid whole
    assert {(p.mentor_id, p.mentee_id) for p in plan.match.pairs} == set(final)
    assert check_matching(cohort, program, plan.match.pairs) == []
    assert not set(final) & plan.forbidden
    assert plan.match.objective == sum(int(cs.score[cs.index_of(m, e)]) for m, e in final)
    assert plan.match.objective <= plan.match.bound
    assert check(schedule_dict(plan.schedule), cohort, program) == []


def _one_hour_program(pins: list[list[str]]) -> tuple:
    from datetime import date

    from cohort.program import CycleSettings
    from tests.factories import make_cohort, make_person
    from tests.test_schedule_slots import NO_MILESTONES

    hour = ((9 * 60, 10 * 60),)
    cohort = make_cohort(
        make_person("m", "mentor", availability=hour, capacity=2),
        make_person("a", availability=hour),
        make_person("b", availability=hour),
    )
    base = Program(
        cycle=CycleSettings(start=date(2027, 2, 1), weeks=8, cadence="weekly", buffer_minutes=15),
        milestones=NO_MILESTONES,
    )
    return cohort, replace(base, matching=replace(base.matching, pins=pins, workers=1))


def test_a_pin_wins_the_one_free_hour_on_every_repair_path() -> None:
    for pin in (["m", "a"], ["m", "b"]):
        cohort, program = _one_hour_program([pin])
        for repair in ("joint", "rematch"):  # the joint model (small cohort) and forbid-and-rematch
            plan = _plan(cohort, program, Continuity(repair=repair), uid_salt="s")
            assert [(s.mentor_id, s.mentee_id) for s in plan.schedule.series] == [tuple(pin)], repair
            other = ({"a", "b"} - {pin[1]}).pop()
            assert "recurring slot" in next(u.reason for u in plan.match.unmatched if u.id == other)


def test_pins_that_cannot_all_be_placed_are_given_up_with_a_reason_not_a_crash() -> None:
    cohort, program = _one_hour_program([["m", "a"], ["m", "b"]])
    plan = _plan(cohort, program, Continuity(capacities={}, repair="rematch"), uid_salt="s")
    assert len(plan.schedule.series) == 1
    assert check(schedule_dict(plan.schedule), cohort, program) == []
    left = {"a", "b"} - {plan.schedule.series[0].mentee_id}
    assert "recurring slot" in next(u.reason for u in plan.match.unmatched if u.id in left)
