"""Scaling machinery: memoised has_slot, shared per-hours arrays, per-component assignment."""

from __future__ import annotations

import random
from datetime import date

import numpy as np
import pytest

from cohort.model import Cohort, Person
from cohort.program import CycleSettings, Milestones, Program
from scheduler.assign import Component, Effort, Keep, schedule, solve_component, spread_penalty
from scheduler.outputs import schedule_dict
from scheduler.slots import SlotContext, pair_cadence, pair_slot_options
from tests.checker import check
from tests.factories import make_cohort, make_person

DST_ZONES = ["Europe/London", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "Europe/Berlin"]
# crosses the US (14 Mar), EU (28 Mar) and Sydney (4 Apr) changes
CROSSING = CycleSettings(start=date(2027, 2, 22), weeks=10, cadence="biweekly")


def _hours_pool(rng: random.Random, n: int) -> list[tuple[tuple[int, int], ...]]:
    """A few distinct sets of weekly hours, so that many people share one (memo hits)."""
    pool = []
    for _ in range(n):
        days = sorted(rng.sample(range(7), rng.randint(1, 3)))
        out = []
        for d in days:
            h = rng.randint(6, 20)
            out.append((d * 1440 + h * 60, d * 1440 + h * 60 + rng.choice([60, 90, 120, 180])))
        pool.append(tuple(out))
    return pool


def _random_people(seed: int, n: int = 70) -> Cohort:
    rng = random.Random(seed)
    pool = _hours_pool(rng, 12)
    people = []
    for i in range(n):
        role = rng.choice(["mentor", "mentee", "mentee", "both"])
        people.append(
            make_person(
                f"p{i}",
                role,
                timezone=rng.choice(DST_ZONES),
                availability=rng.choice(pool),
                cadence=rng.choice([None, None, "weekly", "biweekly", "monthly"]),
            )
        )
    return make_cohort(*people)


def _reference_has_slot(ctx: SlotContext, m: Person, e: Person) -> bool:
    """Dense, per pair: some pattern whose every date works for both (no gap, no straddle)."""
    cadence = pair_cadence(m, e, ctx.program)
    for anchor in ctx.anchors(m, e):
        grid = ctx.grid(anchor, (m, e))
        ok = grid.ok[m.id] & grid.ok[e.id] & ~grid.gap
        if ctx._reduce(ok, cadence, "all", True).any():
            return True
    return False


@pytest.mark.parametrize("seed", range(3))
def test_memoised_has_slot_equals_unmemoised_on_a_random_cohort(seed: int) -> None:
    cohort = _random_people(seed)
    prog = Program(cycle=CROSSING)
    mentors = [p for p in cohort.people if p.is_mentor]
    mentees = [p for p in cohort.people if p.is_mentee]
    pairs = [(m.id, e.id) for m in mentors for e in mentees if m.id != e.id]
    random.Random(seed).shuffle(pairs)
    ctx = SlotContext(cohort, prog)
    half = len(pairs) // 2
    # two overlapping calls: the second answers partly from the memo filled by the first
    first = ctx.has_slot([m for m, _ in pairs[: half + 50]], [e for _, e in pairs[: half + 50]])
    second = ctx.has_slot([m for m, _ in pairs[half:]], [e for _, e in pairs[half:]])
    memoised = np.concatenate([first[:half], second])
    plain = SlotContext(cohort, prog).has_slot([m for m, _ in pairs], [e for _, e in pairs], memo=False)
    assert memoised.tolist() == plain.tolist()
    assert np.array_equal(first[half:], second[:50])
    assert 0 < plain.sum() < len(pairs)  # the cohort exercises both answers
    ref = SlotContext(cohort, prog)
    expected = [_reference_has_slot(ref, cohort[m], cohort[e]) for m, e in pairs]
    assert plain.tolist() == expected


def test_people_with_the_same_hours_share_arrays() -> None:
    hours = ((9 * 60, 11 * 60),)
    cohort = make_cohort(
        make_person("a", "mentor", availability=hours),
        make_person("b", availability=hours),
        make_person("c", availability=((600, 780),)),
    )
    ctx = SlotContext(cohort, Program())
    assert ctx.person("a").covers is ctx.person("b").covers
    assert ctx.person("a").covers is not ctx.person("c").covers
    # fits() agrees with the covers mask it replaced (prefix sums), wrap-around included
    wrap = make_person("w", availability=((0, 60), (10080 - 60, 10080)))
    ctx = SlotContext(make_cohort(wrap, make_person("x", "mentor")), Program())
    epoch_wd = ctx.epoch_wd
    at = (10080 - 30 - epoch_wd * 1440) % 10080  # Sunday 23:30 local (UTC person)
    assert ctx.fits("w", at, 60) and not ctx.fits("w", at, 120)


def _crowded(seed: int) -> tuple[Cohort, Program, list[tuple[str, str]]]:
    """Mentors with several mentees in narrow, overlapping windows: real conflicts to resolve."""
    rng = random.Random(seed)
    zones = ["UTC", "Europe/London", "Asia/Kolkata"]
    pool = [((d * 1440 + h * 60, d * 1440 + h * 60 + w),) for d in (0, 1) for h in (9, 10) for w in (90, 120)]
    people, pairs = [], []
    for i in range(5):
        mentor = make_person(
            f"m{i}",
            "mentor",
            timezone=rng.choice(zones),
            capacity=4,
            availability=rng.choice(pool) + rng.choice(pool)[: rng.randint(0, 1)],
            max_meetings_per_week=rng.choice([None, None, 2]),
        )
        people.append(mentor)
        spread_out = seed % 2 == 1 and i % 2 == 1  # mentees on different days: no conflict at all
        if spread_out:
            mentor = make_person(
                f"m{i}",
                "mentor",
                timezone=mentor.timezone,
                capacity=4,
                availability=tuple((d * 1440 + 540, d * 1440 + 720) for d in range(5)),
            )
            people[-1] = mentor
        for j in range(rng.randint(1, 4)):
            hours = ((j * 1440 + 540, j * 1440 + 660),) if spread_out else rng.choice(pool)
            e = make_person(
                f"e{i}_{j}",
                timezone=mentor.timezone,
                availability=hours,
                cadence=rng.choice(["weekly", "biweekly"]),
            )
            people.append(e)
            pairs.append((mentor.id, e.id))
    prog = Program(
        cycle=CycleSettings(
            start=date(2027, 2, 1), weeks=6, cadence="weekly", buffer_minutes=15, granularity_minutes=30
        ),
        milestones=Milestones(checkins=False, review=False),
    )
    return make_cohort(*people), prog, pairs


def test_per_component_solving_reaches_the_joint_optimum() -> None:
    direct = solved = 0
    for seed in range(8):
        cohort, prog, pairs = _crowded(seed)
        ctx = SlotContext(cohort, prog)
        sched = schedule(
            cohort,
            prog,
            pairs,
            uid_salt="s",
            ctx=ctx,
            effort=Effort(options_per_pair=6, time_limit=10, workers=1, seed=0),
        )
        assert check(schedule_dict(sched), cohort, prog) == []
        assert sched.stats["components_at_time_limit"] == 0 and sched.stats["status"] == "OPTIMAL"
        direct += sched.stats["components_direct"]  # type: ignore[operator]
        solved += sched.stats["components_solved"]  # type: ignore[operator]
        # one CP-SAT model over every pair at once, same options: same lexicographic optimum
        keys, opts = [], []
        for m, e in sorted(pairs):
            o = pair_slot_options(cohort[m], cohort[e], prog, ctx=ctx, limit=6)
            if o:
                keys.append((m, e))
                opts.append(o)
        comp = Component(keys, opts, [None] * len(keys))
        picks, info = solve_component(ctx, comp, time_limit=20, workers=1, seed=0)
        assert info["status"] == "OPTIMAL"
        chosen = [(k, o[j]) for k, o, j in zip(keys, opts, picks, strict=True) if j is not None]
        assert len(sched.series) == len(chosen), seed
        assert sched.stats["cost"] == sum(o.cost for _, o in chosen), seed
        assert sched.stats["spread_penalty"] == spread_penalty((k[0], o) for k, o in chosen), seed
    assert direct > 0 and solved > 0  # both paths (no solver, CP-SAT) were exercised


def test_hints_break_ties_so_placed_pairs_keep_their_slots() -> None:
    hours = tuple((d * 1440 + 9 * 60, d * 1440 + 12 * 60) for d in range(5))
    cohort = make_cohort(
        make_person("m", "mentor", availability=hours),
        make_person("a", availability=hours),
        make_person("b", availability=hours),
    )
    prog = Program(cycle=CycleSettings(start=date(2027, 2, 1), weeks=8, cadence="weekly"))
    first = schedule(cohort, prog, [("m", "a"), ("m", "b")], uid_salt="s", effort=Effort(workers=1, seed=0))
    assert len(first.series) == 2
    opts = pair_slot_options(cohort["m"], cohort["a"], prog)
    # ask for an equally good but different slot for (m, a): the hint wins the tie
    other = next(
        o.pattern
        for o in opts[1:]
        if o.cost == opts[0].cost and o.pattern.weekday != first.series[1].dtstart.weekday()
    )
    again = schedule(
        cohort,
        prog,
        [("m", "a"), ("m", "b")],
        uid_salt="s",
        keep=Keep(hints={("m", "a"): other}),
        effort=Effort(workers=1, seed=0),
    )
    got = next(s for s in again.series if s.mentee_id == "a")
    start = got.dtstart
    assert (start.weekday(), start.hour * 60 + start.minute) == (other.weekday, other.start_minute)
    assert check(schedule_dict(again), cohort, prog) == []


@pytest.mark.parametrize("seed", range(3))
def test_slot_table_equals_has_slot_pair_by_pair(seed: int) -> None:
    """The signature table (weekly first, then each pair's own cadence) answers exactly as
    ``has_slot`` does for every pair, across clock changes, cadence cells and anchors."""
    cohort = _random_people(seed)
    prog = Program(cycle=CROSSING)
    mentors = [p.id for p in cohort.people if p.is_mentor]
    mentees = [p.id for p in cohort.people if p.is_mentee]
    ctx = SlotContext(cohort, prog)
    m_codes, e_codes = ctx.has_slot.signatures(mentors), ctx.has_slot.signatures(mentees)
    um, m_at = np.unique(m_codes, return_inverse=True)
    ue, e_at = np.unique(e_codes, return_inverse=True)
    table = ctx.has_slot.table(um, ue)
    assert table.shape == (len(um), len(ue))
    got = table[m_at[:, None], e_at[None, :]].ravel()
    plain = SlotContext(cohort, prog).has_slot(
        [m for m in mentors for _ in mentees], [e for _ in mentors for e in mentees], memo=False
    )
    assert got.tolist() == plain.tolist()
    assert 0 < plain.sum() < len(plain)  # both answers occur
    # people with equal codes share every answer; a sub-table is the same rows and columns
    assert np.array_equal(ctx.has_slot.table(um[::2], ue[1::2]), table[::2, 1::2])


def test_slot_table_on_broad_hours_with_cadences() -> None:
    """Broad generated hours (most pairs pass weekly) and the cadence cells of the generator."""
    from sample_data.generate import generate_cohort

    prog = Program(cycle=CROSSING)
    cohort = generate_cohort(260, 70, seed=4, program=prog, hours="broad")
    mentors = [p.id for p in cohort.people if p.is_mentor]
    mentees = [p.id for p in cohort.people if p.is_mentee]
    ctx = SlotContext(cohort, prog)
    um, m_at = np.unique(ctx.has_slot.signatures(mentors), return_inverse=True)
    ue, e_at = np.unique(ctx.has_slot.signatures(mentees), return_inverse=True)
    got = ctx.has_slot.table(um, ue)[m_at[:, None], e_at[None, :]].ravel()
    plain = SlotContext(cohort, prog).has_slot(
        [m for m in mentors for _ in mentees], [e for _ in mentors for e in mentees], memo=False
    )
    assert got.tolist() == plain.tolist()
    assert 0.5 < plain.mean() < 1.0
