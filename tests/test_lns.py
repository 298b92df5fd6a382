"""The large-neighbourhood search over (pair, slot) (``planner.lns``): what it may change, what it
must keep, and that it finds the moves a neighbourhood holds."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from cohort.program import CycleSettings, Program, load_program
from planner import lns
from planner.continuity import Continuity
from planner.instance import Limits, PlanInstance, capacities, slot_aware_candidates
from planner.plan import plan
from planner.repair import RepairRecord
from planner.validate import check_plan
from sample_data.generate import generate_cohort
from scheduler.assign import build_series, schedule
from scheduler.model import Schedule
from scheduler.slots import pair_slot_options
from scheduler.validate import check_schedule
from tests.factories import make_cohort, make_person

ROOT = Path(__file__).resolve().parent.parent
LOW = Limits(joint_limit=100, search_above=100)  # the search runs on these small cohorts


def _small_program() -> Program:
    base = Program(cycle=CycleSettings(start=date(2027, 2, 1), weeks=8, cadence="weekly"))
    return replace(base, matching=replace(base.matching, workers=1, seed=0))


def _improve(cohort, program, pairs, protected=()):  # type: ignore[no-untyped-def]
    """``lns.improve`` from a schedule of ``pairs`` (placed by the scheduler)."""
    inst = PlanInstance.build(cohort, program, uid_salt="t").with_protected(protected)
    start = schedule(cohort, program, pairs, uid_salt="t", ctx=inst.ctx)
    assert len(start.series) == len(pairs)
    out, figures = lns.improve(inst, start, seconds=5.0)
    return start, out, figures, inst.candidates


def test_a_mentee_moves_to_another_mentor_so_that_one_more_is_matched() -> None:
    """b can only meet m1 (language); a, placed with m1, can meet m2 too: the search moves a."""
    cohort = make_cohort(
        make_person("m1", "mentor", capacity=1, languages=("en", "fr")),
        make_person("m2", "mentor", capacity=1),
        make_person("a"),
        make_person("b", languages=("fr",)),
    )
    program = _small_program()
    start, out, figures, _ = _improve(cohort, program, [("m1", "a")])
    pairs = sorted((s.mentor_id, s.mentee_id) for s in out.series)
    assert pairs == [("m1", "b"), ("m2", "a")]
    assert figures.matched_gained == 1 and figures.improved >= 1
    assert check_plan(cohort, program, pairs, out) == []


def test_a_mentee_moves_to_a_better_scoring_mentor() -> None:
    cohort = make_cohort(
        make_person("m1", "mentor", capacity=1),
        make_person("m2", "mentor", capacity=1, expertise=("python", "design")),
        make_person("a", goals=("python", "design")),
    )
    program = _small_program()
    _, out, figures, cs = _improve(cohort, program, [("m1", "a")])
    assert int(cs.score[cs.index_of("m2", "a")]) > int(cs.score[cs.index_of("m1", "a")])
    assert [(s.mentor_id, s.mentee_id) for s in out.series] == [("m2", "a")]
    assert figures.matched_gained == 0
    assert figures.score_gained == int(cs.score[cs.index_of("m2", "a")] - cs.score[cs.index_of("m1", "a")])


def test_protected_pairs_never_move() -> None:
    cohort = make_cohort(
        make_person("m1", "mentor", capacity=1),
        make_person("m2", "mentor", capacity=1, expertise=("python", "design")),
        make_person("a", goals=("python", "design")),
    )
    start, out, figures, _ = _improve(cohort, _small_program(), [("m1", "a")], protected=[("m1", "a")])
    assert out == start and figures.improved == 0


def test_a_busy_hour_outside_the_neighbourhood_is_respected() -> None:
    """m2 has one free hour a week, taken by a fixed (protected) pair: a cannot move there."""
    hour = ((9 * 60, 10 * 60),)
    cohort = make_cohort(
        make_person("m1", "mentor", capacity=1),
        make_person("m2", "mentor", capacity=2, availability=hour, expertise=("python", "design")),
        make_person("a", goals=("python", "design")),
        make_person("c", availability=hour),
    )
    program = _small_program()
    start, out, figures, _ = _improve(cohort, program, [("m1", "a"), ("m2", "c")], protected=[("m2", "c")])
    assert sorted((s.mentor_id, s.mentee_id) for s in out.series) == [("m1", "a"), ("m2", "c")]
    assert check_schedule(out, cohort, program) == []


def _mid_program(lns_seconds: float) -> Program:
    prog = load_program(ROOT / "sample_data" / "program.toml")
    return replace(
        prog,
        matching=replace(prog.matching, workers=1, seed=0, time_limit_seconds=20.0, lns_seconds=lns_seconds),
    )


def _addable(cohort, program, result) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """An independent brute force: (mentor, mentee) pairs of an unmatched mentee and a free-seat
    candidate mentor with a slot option the schedule validator accepts next to what is placed."""
    pairs = [(p.mentor_id, p.mentee_id) for p in result.match.pairs]
    sched = result.schedule
    cap = capacities(cohort, program)
    used = Counter(m for m, _ in pairs)
    matched = {e for _, e in pairs}
    ctx, cs = slot_aware_candidates(cohort, program)
    found = []
    for c in cs.candidates():
        m, e = c.mentor_id, c.mentee_id
        if e in matched or used[m] >= cap[m] or (e, m) in set(pairs) or any(x == e for _, x in found):
            continue
        people = {m, e}
        around = Schedule(
            tuple(s for s in sched.series if people & {s.mentor_id, s.mentee_id}),
            tuple(ev for ev in sched.events if people & {ev.mentor_id, ev.mentee_id}),
        )
        for option in pair_slot_options(cohort[m], cohort[e], program, ctx=ctx):
            s, evs = build_series(ctx, option, "t")
            if not check_schedule(Schedule((*around.series, s), (*around.events, *evs)), cohort, program):
                found.append((m, e))
                break
    return found


@pytest.mark.parametrize(("people", "mentors", "seed"), [(300, 90, 2), (220, 50, 7)])
def test_search_on_generated_cohorts(people: int, mentors: int, seed: int) -> None:
    """Above a (lowered) joint limit: valid, never worse (matched, then score), maximal, its
    figures true, and the same answer twice; a budget of 0 is the plan without the search."""
    cohort = generate_cohort(people, mentors, seed=seed, program=_mid_program(0.0))
    before = plan(cohort, _mid_program(0.0), Continuity(), uid_salt="t", limits=LOW)
    assert isinstance(before.repair, RepairRecord) and before.repair.lns is None
    after = plan(cohort, _mid_program(2.0), Continuity(), uid_salt="t", limits=LOW)
    assert isinstance(after.repair, RepairRecord)
    figures = after.repair.lns
    assert figures is not None and figures.neighbourhoods > 0
    assert figures.seconds < 2.0 + 1.0  # the budget, and at most the one neighbourhood it ended in
    pairs = [(p.mentor_id, p.mentee_id) for p in after.match.pairs]
    assert check_plan(cohort, after.program, pairs, after.schedule) == []  # every rule and occurrence
    gained = (after.match.matched - before.match.matched, after.match.objective - before.match.objective)
    assert gained == (figures.matched_gained, figures.score_gained)
    assert gained[0] > 0 or (gained[0] == 0 and gained[1] >= 0)
    assert _addable(cohort, after.program, after) == []
    again = plan(cohort, _mid_program(2.0), Continuity(), uid_salt="t", limits=LOW)
    assert (again.schedule.series, again.schedule.events) == (after.schedule.series, after.schedule.events)
    assert again.repair == after.repair


def test_continuing_pairs_keep_their_series() -> None:
    """A re-plan that keeps half the pairs with their slots: the search moves none of them (and
    does search: other pairs may move)."""
    program = _mid_program(0.0)
    cohort = generate_cohort(300, 90, seed=2, program=program)
    first = plan(cohort, program, Continuity(), uid_salt="t", limits=LOW)
    kept = tuple(sorted((s.mentor_id, s.mentee_id) for s in first.schedule.series)[::2])
    slots = {
        (s.mentor_id, s.mentee_id): s for s in first.schedule.series if (s.mentor_id, s.mentee_id) in kept
    }
    continuity = Continuity(keep=kept, slots=slots, repair="rematch")
    without = plan(cohort, program, continuity, uid_salt="t", limits=LOW)
    with_lns = plan(cohort, _mid_program(2.0), continuity, uid_salt="t", limits=LOW)
    assert isinstance(with_lns.repair, RepairRecord)
    figures = with_lns.repair.lns
    assert figures is not None and figures.improved > 0  # it did move other pairs
    old = {(s.mentor_id, s.mentee_id): s for s in without.schedule.series}
    new = {(s.mentor_id, s.mentee_id): s for s in with_lns.schedule.series}
    assert all(new[k] == old[k] for k in kept if k in old)
    assert {k: s for k, s in new.items() if k in slots} == {k: s for k, s in old.items() if k in slots}


def test_zero_budget_turns_the_search_off() -> None:
    program = _mid_program(0.0)
    cohort = generate_cohort(220, 50, seed=7, program=program)
    inst = PlanInstance.build(cohort, program, uid_salt="t", limits=LOW)
    assert len(inst.candidates) > LOW.search_above and not lns.applies(inst)
    assert lns.applies(replace(inst, program=_mid_program(2.0)))
    planned = plan(cohort, program, Continuity(), uid_salt="t", limits=LOW)
    assert isinstance(planned.repair, RepairRecord) and planned.repair.lns is None


_DIGEST = """
import hashlib, json, sys
from dataclasses import replace
from pathlib import Path
sys.path.insert(0, {root!r})
from cohort.program import load_program
from planner.continuity import Continuity
from planner.instance import Limits
from planner.plan import plan
from sample_data.generate import generate_cohort
from scheduler.outputs import schedule_dict
prog = load_program(Path({root!r}) / "sample_data" / "program.toml")
prog = replace(prog, matching=replace(prog.matching, workers=1, seed=0, lns_seconds=2.0))
cohort = generate_cohort(220, 50, seed=7, program=prog)
p = plan(cohort, prog, Continuity(), uid_salt="t", limits=Limits(joint_limit=100, search_above=100))
doc = json.dumps([schedule_dict(p.schedule), p.repair.lns.as_dict()], sort_keys=True, default=str)
print(hashlib.sha256(doc.encode()).hexdigest())
"""


def test_same_answer_in_processes_with_different_hash_seeds() -> None:
    """Sets of ids iterate by string hash: the search never depends on that order."""
    digests = set()
    for hash_seed in ("1", "2"):
        out = subprocess.run(
            [sys.executable, "-c", _DIGEST.format(root=str(ROOT))],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
        )
        digests.add(out.stdout.strip())
    assert len(digests) == 1


def test_lns_seconds_is_validated_with_its_line(tmp_path: Path) -> None:
    from cohort.errors import InputError

    path = tmp_path / "program.toml"
    path.write_text("[matching]\nworkers = 1\nlns_seconds = -2\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_program(path)
    assert f"{path}:3: column 'matching.lns_seconds': -2 is too small" in str(err.value.problems[0])
    path.write_text("[matching]\nlns_seconds = 0\n", encoding="utf-8")
    assert load_program(path).matching.lns_seconds == 0
