"""The block path of ``build_candidates`` equals the pair-by-pair reference, bit for bit."""

from __future__ import annotations

import dataclasses
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cohort.errors import InputError
from cohort.program import Program
from matcher.candidates import CandidateSet, build_candidates
from sample_data.generate import generate_cohort
from tests.test_match_properties import cohorts

FIELDS = (
    "mentor",
    "mentee",
    "score",
    "components",
    "common_minutes",
    "excluded_by_mentee",
    "excluded_by_mentor",
    "dropped_by_mentee",
)


def assert_same(fast: CandidateSet, slow: CandidateSet) -> None:
    for name in FIELDS:
        a, b = getattr(fast, name), getattr(slow, name)
        assert a.shape == b.shape and np.array_equal(a, b), name
    assert fast.kept_per_mentee == slow.kept_per_mentee


def both(cohort, prog, **kw) -> tuple[CandidateSet | str, CandidateSet | str]:
    """Both paths' results, or the text of the InputError each raised."""
    out = []
    for method in ("blocks", "pairs"):
        try:
            out.append(build_candidates(cohort, prog, method=method, **kw))
        except InputError as err:
            out.append(str(err))
    return out[0], out[1]


def with_matching(prog: Program, **kw) -> Program:
    return dataclasses.replace(prog, matching=dataclasses.replace(prog.matching, **kw))


def some_slots(mentor_ids, mentee_ids) -> list[bool]:
    """A deterministic stand-in for the scheduler's slot filter (drops about a third of pairs)."""
    return [zlib.crc32(f"{m}|{e}".encode()) % 3 != 0 for m, e in zip(mentor_ids, mentee_ids, strict=True)]


@settings(max_examples=40, deadline=None)
@given(
    cohorts(),
    st.sampled_from((0, 1, 2, 3)),
    st.booleans(),
    st.data(),
)
def test_blocks_equal_pairs_with_pruning_forced(data, keep, filtered, draw):
    cohort, prog = data
    pins = []
    if draw.draw(st.booleans()) and cohort.mentors and cohort.mentees:
        m = draw.draw(st.sampled_from([p.id for p in cohort.mentors]))
        e = draw.draw(st.sampled_from([p.id for p in cohort.mentees]))
        pins = [[m, e]]
    prog = with_matching(prog, max_candidates_per_mentee=keep, pins=pins)
    fast, slow = both(cohort, prog, slot_filter=some_slots if filtered else None)
    if isinstance(slow, str) or isinstance(fast, str):
        assert fast == slow  # the same problems (e.g. a pin breaking a rule), in the same words
        return
    assert_same(fast, slow)
    assert fast.stats["method"] == "blocks" and slow.stats["method"] == "pairs"


@pytest.mark.parametrize(
    ("rules", "keep"),
    [
        ({}, 5),
        ({}, 0),
        ({"same_department": "forbid", "min_level_gap": 2}, 3),
        ({"common_language": False, "reporting_line": "allow"}, 4),
    ],
)
def test_blocks_equal_pairs_on_a_generated_cohort(rules, keep):
    cohort = generate_cohort(700, 180, seed=11)
    base = Program()
    prog = dataclasses.replace(base, rules=dataclasses.replace(base.rules, **rules))
    prog = with_matching(prog, max_candidates_per_mentee=keep)
    fast, slow = both(cohort, prog)
    assert_same(fast, slow)
    if keep:
        assert fast.dropped > 0  # the limit really pruned something
        assert fast.stats["scored_pairs"] < fast.stats["passing_pairs"]  # and the bounds skipped work


def test_blocks_with_threads_equal_one_thread():
    cohort = generate_cohort(900, 220, seed=5)
    prog = with_matching(Program(), max_candidates_per_mentee=4)
    import matcher.blocks as blocks

    old = blocks.CHUNK_PAIRS
    blocks.CHUNK_PAIRS = 220 * 50  # many small chunks, so that two threads share the work
    try:
        one = build_candidates(cohort, with_matching(prog, workers=1))
        two = build_candidates(cohort, with_matching(prog, workers=2))
    finally:
        blocks.CHUNK_PAIRS = old
    assert_same(two, one)
    assert_same(one, build_candidates(cohort, prog, method="pairs"))


def test_unknown_method_is_refused():
    with pytest.raises(ValueError):
        build_candidates(generate_cohort(20, 5, seed=1), Program(), method="magic")


@pytest.mark.parametrize(
    ("hours", "density"), [("ordinary", 1.0), ("broad", 1.0), ("broad", 0.0), ("ordinary", 1e9)]
)
def test_blocks_with_the_scheduler_slot_test_equal_pairs(hours, density):
    """The scheduler's ``has_slot`` answers by signature on the block path (looked up per pair,
    two threads, many chunks; from a table of codes, or from the pairs of codes present, as
    ``density`` decides) and by ids on the pair path: the same candidate set. Hourly starts
    and a few Tokyo mentors free one hour a day make the slot test exclude pairs that the time
    rule lets through (anchored in Kolkata, hourly starts fall at half past in Tokyo)."""
    from datetime import date

    import matcher.blocks as blocks
    from cohort.model import Cohort
    from cohort.program import CycleSettings
    from scheduler.slots import SlotContext
    from tests.factories import make_person

    cycle = CycleSettings(start=date(2027, 2, 22), weeks=10, cadence="biweekly", granularity_minutes=60)
    prog = with_matching(Program(cycle=cycle), max_candidates_per_mentee=6, workers=2)
    generated = generate_cohort(500, 130, seed=9, program=prog, hours=hours)
    hour = tuple((d * 1440 + 9 * 60, d * 1440 + 10 * 60) for d in range(5))
    tokyo = [make_person(f"t{i}", "mentor", timezone="Asia/Tokyo", availability=hour) for i in range(3)]
    cohort = Cohort(generated.people + tuple(tokyo))
    old = blocks.CHUNK_PAIRS, blocks.SLOT_TABLE_DENSITY
    blocks.CHUNK_PAIRS, blocks.SLOT_TABLE_DENSITY = 133 * 60, density
    try:
        fast = build_candidates(cohort, prog, slot_filter=SlotContext(cohort, prog).has_slot)
    finally:
        blocks.CHUNK_PAIRS, blocks.SLOT_TABLE_DENSITY = old
    ctx = SlotContext(cohort, prog)
    slow = build_candidates(cohort, prog, slot_filter=lambda m, e: ctx.has_slot(m, e), method="pairs")
    assert_same(fast, slow)
    assert fast.excluded_by_mentee[:, -1].sum() > 0  # the slot test excluded some pairs
