"""Circles over two cycles (``planner.circles.continuity`` and ``form_circles(continuity=...)``):
continuing circles keep their id and, when still valid, their slot; every hard rule holds between
every two members; sizes within bounds; nobody who said no is back in that circle (nor, mentor-led,
with that mentor); every meeting inside every member's local availability (the second cycle spans
both DST changes); replacements only from the pool."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from itertools import combinations

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cohort.feedback import FeedbackRow
from cohort.model import Cohort, Person
from cohort.program import Program
from planner.circles.continuity import mid_cycle_circles, next_cycle_circles, placed_pattern, reserve_seats
from planner.circles.forming import form_circles
from planner.circles.model import CircleContinuity, CirclePlan
from planner.circles.outputs import circle_records
from planner.circles.pool import circle_pool, pair_cohort
from planner.circles.slots import circle_context, circle_slot_options, has_common_slot
from scheduler.slots import Meeting
from tests.factories import make_cohort, make_person
from tests.test_circle_slots import HOURS, ZONES, inside
from tests.test_circles import TOPICS, cohorts, program, valid_circle

CASES = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SALT = "salt"
FIRST = date(2027, 1, 4)  # 8 weeks; the second cycle starts on 2027-03-01 and spans both DST changes


def cycle(prog: Program, start: date) -> Program:
    return dataclasses.replace(prog, cycle=dataclasses.replace(prog.cycle, start=start))


def answers(plan: CirclePlan, draw: st.DrawFn) -> tuple[FeedbackRow, ...]:
    rows = []
    for c in plan.circles:
        for pid in c.people:
            said = draw(st.sampled_from((True, True, True, False, None)))
            if said is not None:
                rows.append(FeedbackRow(pid, c.id, said))
    return tuple(rows)


@st.composite
def two_cycles(
    draw: st.DrawFn, kind: str
) -> tuple[Cohort, Program, CirclePlan, tuple[FeedbackRow, ...], Cohort]:
    cohort, prog = draw(cohorts(kind))
    prog = cycle(prog, FIRST)
    first = form_circles(cohort, prog)
    rows = answers(first, draw)
    ids = [p.id for p in cohort.people]
    left = draw(st.sets(st.sampled_from(ids), max_size=2))
    moved = draw(st.sets(st.sampled_from(ids), max_size=2))  # new hours: an old slot may no longer fit
    people: list[Person] = []
    for p in cohort.people:
        if p.id in left:
            continue
        if p.id in moved:
            p = dataclasses.replace(p, availability=draw(st.sampled_from(HOURS)))
        if p.manager_id in left:
            p = dataclasses.replace(p, manager_id=None)
        people.append(p)
    for i in range(draw(st.integers(0, 3))):
        people.append(
            make_person(
                f"n{i}",
                role="mentee",
                timezone=draw(st.sampled_from(ZONES[:3])),
                availability=draw(st.sampled_from(HOURS[:3])),
                goals=tuple(draw(st.sets(st.sampled_from(TOPICS), min_size=1, max_size=2))),
                languages=("en",),
                format="circle",
            )
        )
    return cohort, prog, first, rows, make_cohort(*people)


def meetings_of(plan: CirclePlan) -> dict[str, list[Meeting]]:
    out: dict[str, list[Meeting]] = {}
    for c in plan.circles:
        for pid in c.people:
            out.setdefault(pid, []).extend(c.slot.meetings)
    return out


def check_second_cycle(
    cohort: Cohort, prog: Program, first: CirclePlan, rows: tuple[FeedbackRow, ...], roster: Cohort
) -> CirclePlan:
    nxt = cycle(prog, FIRST + timedelta(weeks=8))
    continuity = next_cycle_circles(circle_records(first, prog, SALT), rows, roster, nxt)
    plan = form_circles(roster, nxt, continuity=continuity)
    c = nxt.circles
    said = {(r.person_id, r.partner_id): r.wants_continue for r in rows}
    old = {x.id: x for x in first.circles}
    stored = {x.circle_id: x for x in circle_records(first, prog, SALT)}
    pool = {p.id for p in circle_pool(roster, nxt, (), {})[0]}
    ended = {
        frozenset((p, q))
        for x in first.circles
        for p in x.people
        for q in x.people
        if p != q and said.get((p, x.id)) is False
    }
    busy = meetings_of(plan)
    seen: set[str] = set()
    for circle in plan.circles:
        # sizes, every rule between every two members, one slot inside everyone's local hours
        assert c.min_size <= len(circle.member_ids) <= c.max_size
        assert not seen & set(circle.member_ids)
        seen |= set(circle.member_ids)
        assert set(circle.member_ids) <= pool, "replacements only from the circle pool"
        leader = roster[circle.mentor_id] if circle.mentor_id else None
        assert valid_circle(roster, nxt, leader, tuple(roster[m] for m in circle.member_ids))
        for meeting in circle.slot.meetings:
            for pid in circle.people:
                assert inside(roster[pid], meeting.start, meeting.duration_minutes)
        # nobody who said no is back in that circle, nor in a circle with any of its people
        assert all(said.get((m, circle.id)) is not False for m in circle.people if circle.id in old)
        assert not any(frozenset(two) in ended for two in combinations(circle.people, 2))
        if circle.id not in old:
            continue
        # a continuing circle: its mentor said yes, and it holds every member who said yes and stayed
        before = old[circle.id]
        assert circle.mentor_id == before.mentor_id
        if circle.mentor_id:
            assert said.get((circle.mentor_id, circle.id)) is True
        stay = {m for m in before.member_ids if said.get((m, circle.id)) is True and m in pool}
        assert stay <= set(circle.member_ids)
        assert len(stay) >= (1 if circle.mentor_id else 2)
    for ms in busy.values():  # nobody's meetings overlap
        ms = sorted(ms, key=lambda m: m.start)
        for x, y in zip(ms, ms[1:], strict=False):
            assert x.start + timedelta(minutes=x.duration_minutes + nxt.cycle.buffer_minutes) <= y.start
    ctx = circle_context(roster, nxt)
    by_id = {x.id: x for x in plan.circles}
    for kept in continuity.kept:
        leader = [roster[kept.mentor_id]] if kept.mentor_id else []
        core = [roster[m] for m in kept.member_ids if m in pool]
        everyone = leader + core
        if (
            len(core) >= c.min_size
            and valid_circle(roster, nxt, leader[0] if leader else None, tuple(core))
            and has_common_slot(ctx, everyone)
        ):  # the members who stay can go on alone: the circle continues
            assert kept.id in by_id, kept
        if kept.id not in by_id:
            assert kept.id in plan.dissolved
            continue
        circle = by_id[kept.id]
        pattern = placed_pattern(stored[kept.id].series, nxt)
        others = {
            pid: [m for x in plan.circles if x.id != kept.id and pid in x.people for m in x.slot.meetings]
            for pid in circle.people
        }
        if len(core) >= c.min_size and pattern is not None:
            # the old slot, still valid for the members who stay around everyone's other circles,
            # is kept
            if circle_slot_options(ctx, everyone, busy=others, only=pattern):
                assert circle.slot.pattern == pattern, (circle.slot.pattern, pattern)
                assert kept.id in plan.same_slot
        if kept.id in plan.same_slot:
            assert circle.slot.pattern == pattern
    event(
        f"continued {len(plan.continued)}, same slot {len(plan.same_slot)}, dissolved {len(plan.dissolved)}"
    )
    new_ids = {x.id for x in plan.circles} - set(old)
    assert not new_ids & set(continuity.used_ids)
    assert plan.placed == len(seen) and plan.bound >= plan.placed
    return plan


@CASES
@given(two_cycles("peer"))
def test_peer_circles_continue_shrink_or_take_replacements_over_two_cycles(case: tuple) -> None:
    check_second_cycle(*case)


@CASES
@given(two_cycles("mentor-led"))
def test_mentor_led_circles_continue_over_two_cycles(case: tuple) -> None:
    check_second_cycle(*case)


# --------------------------------------------------------------------------- small cases

HOURS_ALL = tuple((d * 1440 + 8 * 60, d * 1440 + 18 * 60) for d in range(5))


def people(n: int, **kw: object) -> list[Person]:
    return [make_person(f"c{i}", goals=("writing",), format="circle", **kw) for i in range(n)]  # type: ignore[arg-type]


def test_a_circle_continues_with_those_who_said_yes_and_keeps_its_slot() -> None:
    prog = cycle(program("peer", min_size=2, max_size=3), FIRST)
    roster = make_cohort(*people(3, availability=HOURS_ALL))
    first = form_circles(roster, prog)
    (circle,) = first.circles
    a, b, c = circle.member_ids
    rows = (
        FeedbackRow(a, circle.id, False),
        FeedbackRow(b, circle.id, True),
        FeedbackRow(c, circle.id, True),
    )
    nxt = cycle(prog, FIRST + timedelta(weeks=8))
    plan = form_circles(
        roster, nxt, continuity=next_cycle_circles(circle_records(first, prog, SALT), rows, roster, nxt)
    )
    assert [x.id for x in plan.circles] == [circle.id] and plan.continued == (circle.id,)
    assert set(plan.circles[0].member_ids) == {b, c}  # a said no: never back in it
    assert plan.circles[0].slot.pattern == placed_pattern(circle_records(first, prog, SALT)[0].series, nxt)
    assert plan.same_slot == (circle.id,) and "continues from the last cycle" in plan.circles[0].reasons
    assert [u.id for u in plan.unplaced] == [a]


def test_a_replacement_fills_the_place_of_someone_who_left() -> None:
    prog = cycle(program("peer", min_size=3, max_size=3), FIRST)
    roster = make_cohort(*people(3, availability=HOURS_ALL))
    first = form_circles(roster, prog)
    (circle,) = first.circles
    rows = tuple(FeedbackRow(m, circle.id, True) for m in circle.member_ids)
    gone = circle.member_ids[0]
    newcomer = make_person("n0", goals=("writing",), format="circle", availability=HOURS_ALL)
    roster2 = make_cohort(*(p for p in roster.people if p.id != gone), newcomer)
    nxt = cycle(prog, FIRST + timedelta(weeks=8))
    plan = form_circles(
        roster2, nxt, continuity=next_cycle_circles(circle_records(first, prog, SALT), rows, roster2, nxt)
    )
    assert [x.id for x in plan.circles] == [circle.id]
    assert set(plan.circles[0].member_ids) == set(circle.member_ids[1:]) | {"n0"}
    assert "joined: n0" in plan.circles[0].reasons and plan.same_slot == (circle.id,)


def test_a_circle_below_min_size_dissolves_and_new_ids_never_reuse_old_ones() -> None:
    prog = cycle(program("peer", min_size=3, max_size=3), FIRST)
    roster = make_cohort(*people(3, availability=HOURS_ALL))
    first = form_circles(roster, prog)
    (circle,) = first.circles
    a, b, c = circle.member_ids
    rows = (
        FeedbackRow(a, circle.id, True),
        FeedbackRow(b, circle.id, True),
        FeedbackRow(c, circle.id, False),
    )
    nxt = cycle(prog, FIRST + timedelta(weeks=8))
    continuity = next_cycle_circles(circle_records(first, prog, SALT), rows, roster, nxt)
    plan = form_circles(roster, nxt, continuity=continuity)
    assert plan.circles == () and plan.dissolved == (circle.id,)  # c never meets a or b again
    new = [
        make_person(f"n{i}", goals=("writing",), format="circle", availability=HOURS_ALL) for i in range(2)
    ]
    roster2 = make_cohort(*(p for p in roster.people if p.id != a), *new)
    continuity = next_cycle_circles(circle_records(first, prog, SALT), rows, roster2, nxt)
    plan = form_circles(roster2, nxt, continuity=continuity)  # a left: b alone cannot continue it
    assert continuity.kept == () and [x.id for x in plan.circles] == ["C002"]  # C001 is not reused
    members = set(plan.circles[0].member_ids)  # b or c with the newcomers, never b and c together
    assert members in ({b, "n0", "n1"}, {c, "n0", "n1"})


def test_a_continuing_circle_moves_when_its_slot_no_longer_fits_someone_who_stays() -> None:
    prog = cycle(program("peer", min_size=2, max_size=3), FIRST)
    roster = make_cohort(*people(3, availability=HOURS_ALL))
    first = form_circles(roster, prog)
    (circle,) = first.circles
    rows = tuple(FeedbackRow(m, circle.id, True) for m in circle.member_ids)
    old = circle.slot.pattern
    keep = tuple(w for w in HOURS_ALL if w[0] // 1440 != old.weekday)  # b is no longer free that day
    b = circle.member_ids[1]
    roster2 = make_cohort(
        *(dataclasses.replace(p, availability=keep) if p.id == b else p for p in roster.people)
    )
    nxt = cycle(prog, FIRST + timedelta(weeks=8))
    plan = form_circles(
        roster2, nxt, continuity=next_cycle_circles(circle_records(first, prog, SALT), rows, roster2, nxt)
    )
    assert [x.id for x in plan.circles] == [circle.id] and plan.same_slot == ()
    assert plan.circles[0].slot.pattern.weekday != old.weekday
    for m in plan.circles[0].slot.meetings:
        assert all(inside(roster2[p], m.start, m.duration_minutes) for p in plan.circles[0].people)


def test_a_mentor_led_circle_needs_its_mentor_and_a_no_ends_the_mentor_member_relation() -> None:
    prog = cycle(program("mentor-led", min_size=2, max_size=3, per_circle=1), FIRST)
    mentor = make_person(
        "m0", role="mentor", expertise=("writing",), availability=HOURS_ALL, capacity=2, format="circle"
    )
    roster = make_cohort(mentor, *people(3, availability=HOURS_ALL))
    first = form_circles(roster, prog)
    (circle,) = first.circles
    a, b, c = circle.member_ids
    nxt = cycle(prog, FIRST + timedelta(weeks=8))
    silent = tuple(FeedbackRow(m, circle.id, True) for m in circle.member_ids)  # the mentor did not answer
    assert next_cycle_circles(circle_records(first, prog, SALT), silent, roster, nxt).kept == ()
    rows = (
        FeedbackRow("m0", circle.id, True),
        FeedbackRow(a, circle.id, False),
        FeedbackRow(b, circle.id, True),
    )
    continuity = next_cycle_circles(circle_records(first, prog, SALT), rows, roster, nxt)
    assert [(k.id, k.member_ids) for k in continuity.kept] == [(circle.id, (b,))]
    assert continuity.ended == {frozenset((a, x)) for x in ("m0", b, c)}
    plan = form_circles(roster, nxt, continuity=continuity)
    assert [x.id for x in plan.circles] == [circle.id]  # c did not answer: back as a replacement
    assert set(plan.circles[0].member_ids) == {b, c} and a in {u.id for u in plan.unplaced}


def test_a_continuing_circles_mentor_keeps_its_seats_from_the_pairs() -> None:
    prog = cycle(program("mentor-led", min_size=2, max_size=3, per_circle=2), FIRST)
    mentor = make_person(
        "m0", role="mentor", expertise=("writing",), availability=HOURS_ALL, capacity=3, format="either"
    )
    roster = make_cohort(mentor, *people(2, availability=HOURS_ALL))
    first = form_circles(roster, prog)
    (circle,) = first.circles
    rows = tuple(FeedbackRow(p, circle.id, True) for p in circle.people)
    nxt = cycle(prog, FIRST + timedelta(weeks=8))
    continuity = next_cycle_circles(circle_records(first, prog, SALT), rows, roster, nxt)
    held = reserve_seats(
        pair_cohort(roster, {m for k in continuity.kept for m in k.member_ids}), continuity, nxt
    )
    assert [p.id for p in held.people] == ["m0"] and held["m0"].capacity == 1  # 3 seats, 2 for the circle
    assert reserve_seats(roster, CircleContinuity(), nxt) is roster


def test_mid_cycle_circles_go_on_without_who_left_and_stop_without_their_mentor() -> None:
    prog = cycle(program("mentor-led", min_size=2, max_size=3, per_circle=1), FIRST)
    mentor = make_person(
        "m0", role="mentor", expertise=("writing",), availability=HOURS_ALL, capacity=2, format="circle"
    )
    roster = make_cohort(mentor, *people(3, availability=HOURS_ALL))
    (record,) = circle_records(form_circles(roster, prog), prog, SALT)
    a = record.member_ids[0]
    without_a = make_cohort(*(p for p in roster.people if p.id != a))
    (kept,), stopped = mid_cycle_circles((record,), without_a)
    assert stopped == () and kept.member_ids == record.member_ids[1:]
    assert kept.series.member_ids == kept.member_ids and kept.series.uid == record.series.uid
    assert all(e.member_ids == kept.member_ids for e in kept.events)
    assert mid_cycle_circles((record,), roster) == ((record,), ())
    assert mid_cycle_circles((record,), make_cohort(*people(3))) == ((), (record.circle_id,))
