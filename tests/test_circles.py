"""Forming circles: every hard rule between every two people, sizes, one slot inside everyone's local
hours, no member's meetings overlap, and on small instances the most people placed equals an exact
optimum found independently (all candidate circles enumerated, set packing solved by scipy's MILP)."""

from __future__ import annotations

import dataclasses
import unicodedata
from datetime import date, datetime, timedelta
from itertools import combinations
from zoneinfo import ZoneInfo

import numpy as np
import recurring_ical_events
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from icalendar import Calendar
from scipy.optimize import Bounds, LinearConstraint, milp

from cohort.model import Cohort, Person
from cohort.program import Circles, CycleSettings, Matching, Program, Rules
from planner.circles.forming import form_circles
from planner.circles.outputs import circle_records
from planner.circles.pool import circle_pool, pair_cohort, uses_circles
from planner.circles.slots import circle_context, has_common_slot
from scheduler.calendar import EventState, build_feed, build_feed_icalendar
from scheduler.recurrence import UTC
from scheduler.slots import Meeting
from tests.factories import make_cohort, make_person
from tests.test_circle_slots import HOURS, ZONES, inside

TOPICS = ("writing", "hiring", "design")
CASES = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def program(kind: str = "peer", *, min_size: int = 2, max_size: int = 3, per_circle: int = 2) -> Program:
    return Program(
        cycle=CycleSettings(start=date(2027, 3, 1), weeks=8, granularity_minutes=30, buffer_minutes=15),
        rules=Rules(same_department="forbid"),
        matching=Matching(workers=1, seed=0, time_limit_seconds=20.0),
        circles=Circles(
            kind=kind,
            min_size=min_size,
            max_size=max_size,
            cadence="weekly",
            duration_minutes=60,
            mentor_capacity_per_circle=per_circle,
        ),
    )


@st.composite
def cohorts(draw: st.DrawFn, kind: str = "peer") -> tuple[Cohort, Program]:
    n = draw(st.integers(3, 8))
    ids = [f"c{i}" for i in range(n)]
    people = []
    for i, pid in enumerate(ids):
        others = [x for x in ids if x != pid]
        people.append(
            make_person(
                pid,
                role="mentee",
                timezone=draw(st.sampled_from(ZONES[:3])),
                availability=draw(st.sampled_from(HOURS[:3])),
                goals=tuple(draw(st.sets(st.sampled_from(TOPICS), min_size=1, max_size=2))),
                languages=tuple(draw(st.sets(st.sampled_from(("en", "es")), min_size=1, max_size=2))),
                department=draw(st.sampled_from((None, None, None, "ops", "sales", "Ops", " SALES "))),
                manager_id=draw(st.one_of(st.none(), st.sampled_from(ids[:i]))) if i else None,
                avoid=frozenset(draw(st.sets(st.sampled_from(others), max_size=1))),
                format=draw(st.sampled_from(("circle", "circle", "either"))),
            )
        )
    if kind == "mentor-led":
        for j in range(draw(st.integers(1, 2))):
            people.append(
                make_person(
                    f"m{j}",
                    role="mentor",
                    timezone=draw(st.sampled_from(ZONES[:3])),
                    availability=tuple((d * 1440 + 6 * 60, d * 1440 + 22 * 60) for d in range(7)),
                    expertise=tuple(draw(st.sets(st.sampled_from(TOPICS), min_size=1, max_size=3))),
                    languages=("en", "es"),
                    capacity=2,
                    format="circle",
                )
            )
    max_size = draw(st.integers(2, 4))
    prog = program(kind, min_size=draw(st.integers(2, max_size)), max_size=max_size)
    return make_cohort(*people), prog


def managers(cohort: Cohort, pid: str, depth: int) -> set[str]:
    out, boss = set(), cohort[pid].manager_id
    for _ in range(depth):
        if boss is None or boss in out:
            break
        out.add(boss)
        boss = cohort[boss].manager_id
    return out


def allowed(cohort: Cohort, prog: Program, a: Person, b: Person) -> bool:
    """Independent statement of the pair rules for two circle people."""
    depth = prog.rules.reporting_line_depth
    return not (
        b.id in a.avoid
        or a.id in b.avoid
        or a.id in managers(cohort, b.id, depth)
        or b.id in managers(cohort, a.id, depth)
        or (
            a.department is not None
            and b.department is not None
            and same_department(a.department, b.department)
        )
    )


def same_department(a: str, b: str) -> bool:
    """One department however it is spelled (case, spaces, Unicode forms), stated independently."""

    def norm(d: str) -> str:
        return " ".join(unicodedata.normalize("NFKC", d).casefold().split())

    return norm(a) == norm(b)


def valid_circle(cohort: Cohort, prog: Program, leader: Person | None, group: tuple[Person, ...]) -> bool:
    everyone = ((leader,) if leader else ()) + group
    goals = set.intersection(*(set(p.goals) for p in group))
    if leader is not None:
        goals &= set(leader.expertise)
        lvl = prog.rules.min_level_gap
        if any(
            leader.level is not None and p.level is not None and leader.level - p.level < lvl for p in group
        ):
            return False
    return (
        bool(goals)
        and bool(set.intersection(*(set(p.languages) for p in everyone)))
        and all(allowed(cohort, prog, a, b) for a, b in combinations(everyone, 2))
    )


def exact_optimum(cohort: Cohort, prog: Program) -> int:
    """Most people in circles: every valid circle enumerated, set packing by scipy's MILP."""
    c = prog.circles
    members = [p for p in cohort.people if p.format in ("circle", "either") and p.role == "mentee"]
    leaders = [p for p in cohort.people if p.role == "mentor"] if c.kind == "mentor-led" else [None]
    ctx = circle_context(cohort, prog)
    circles = []
    for leader in leaders:
        for k in range(c.min_size, c.max_size + 1):
            for group in combinations(members, k):
                if valid_circle(cohort, prog, leader, group):
                    everyone = ([leader] if leader else []) + list(group)
                    if has_common_slot(ctx, everyone):
                        circles.append((leader, group))
    if not circles:
        return 0
    index = {p.id: i for i, p in enumerate(members)}
    lead_index = {p.id: len(members) + i for i, p in enumerate(x for x in leaders if x is not None)}
    rows = len(members) + len(lead_index)
    a = np.zeros((rows, len(circles)))
    for j, (leader, group) in enumerate(circles):
        for p in group:
            a[index[p.id], j] = 1
        if leader is not None:
            a[lead_index[leader.id], j] = 1
    upper = np.ones(rows)  # each leader leads one circle in these instances (capacity 2, 2 per circle)
    sizes = np.array([len(g) for _, g in circles], dtype=float)
    res = milp(
        -sizes,
        constraints=LinearConstraint(a, -np.inf, upper),
        integrality=np.ones(len(circles)),
        bounds=Bounds(0, 1),
    )
    assert res.success
    return int(round(-res.fun))


def expanded(cal: object) -> list[tuple[datetime, int]]:
    """(UTC start, minutes) of every instance in an iCalendar, by recurring_ical_events."""
    window = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2029, 1, 1, tzinfo=UTC))
    out = []
    for ev in recurring_ical_events.of(cal).between(*window):
        start = ev.decoded("dtstart")
        minutes = (
            int((ev.decoded("dtend") - start).total_seconds() // 60)
            if "DTEND" in ev
            else int(ev.decoded("duration").total_seconds() // 60)
        )
        out.append((start.astimezone(UTC), minutes))
    return sorted(out)


def check_plan(cohort: Cohort, prog: Program, busy: dict[str, list[Meeting]] | None = None) -> int:
    plan = form_circles(cohort, prog, busy=busy)
    c = prog.circles
    seen: set[str] = set()
    meetings: dict[str, list[Meeting]] = {k: list(v) for k, v in (busy or {}).items()}
    for circle in plan.circles:
        assert c.min_size <= len(circle.member_ids) <= c.max_size
        assert not seen & set(circle.member_ids), "a person in two circles"
        seen |= set(circle.member_ids)
        leader = cohort[circle.mentor_id] if circle.mentor_id else None
        assert (leader is None) == (c.kind == "peer")
        group = tuple(cohort[m] for m in circle.member_ids)
        assert valid_circle(cohort, prog, leader, group)
        assert circle.slot.meetings
        for meeting in circle.slot.meetings:
            for pid in circle.people:
                p = cohort[pid]
                assert inside(p, meeting.start, meeting.duration_minutes)
                assert not p.is_away(meeting.start.astimezone(UTC).date()) or p.unavailable
                meetings.setdefault(pid, []).append(meeting)
    # every member's feed expands to exactly the circle's meetings (fast writer == icalendar's)
    records = circle_records(plan, prog, "salt")
    series = [r.series for r in records]
    events = [e for r in records for e in r.events]
    state = {
        it.uid: EventState(it.uid, "-", 0, datetime(2027, 1, 1, tzinfo=UTC)) for it in [*series, *events]
    }
    for circle in plan.circles:
        for pid in circle.people:
            body = build_feed(cohort[pid], series, events, cohort.by_id, prog, state)
            assert body == build_feed_icalendar(cohort[pid], series, events, cohort.by_id, prog, state)
            assert expanded(Calendar.from_ical(body)) == sorted(
                (m.start, m.duration_minutes) for m in circle.slot.meetings
            )
    buffer = timedelta(minutes=prog.cycle.buffer_minutes)
    for pid, ms in meetings.items():
        ms = sorted(ms, key=lambda m: m.start)
        for x, y in zip(ms, ms[1:], strict=False):
            assert x.start + timedelta(minutes=x.duration_minutes) + buffer <= y.start, (pid, x, y)
    unplaced = {u.id for u in plan.unplaced}
    pool = {p.id for p in circle_pool(cohort, prog, (), {})[0]}
    assert unplaced == pool - seen and all(u.reason for u in plan.unplaced)
    assert plan.placed == len(seen) and plan.bound >= plan.placed
    return plan.placed


@CASES
@given(cohorts("peer"))
def test_peer_circles_keep_every_rule_and_place_the_exact_optimum(case: tuple[Cohort, Program]) -> None:
    cohort, prog = case
    placed = check_plan(cohort, prog)
    assert placed == exact_optimum(cohort, prog)


@CASES
@given(cohorts("mentor-led"))
def test_mentor_led_circles_keep_every_rule_and_place_the_exact_optimum(case: tuple[Cohort, Program]) -> None:
    cohort, prog = case
    placed = check_plan(cohort, prog)
    assert placed == exact_optimum(cohort, prog)


def test_a_mentor_leads_circles_around_their_pair_meetings() -> None:
    hours = ((9 * 60, 12 * 60),)  # Mondays 09:00-12:00 London
    members = [
        make_person(f"c{i}", goals=("writing",), availability=hours, format="circle") for i in range(4)
    ]
    mentor = make_person(
        "m0", role="mentor", expertise=("writing",), availability=hours, capacity=4, format="either"
    )
    cohort = make_cohort(mentor, *members)
    prog = program("mentor-led", min_size=2, max_size=2, per_circle=1)
    london = ZoneInfo("Europe/London")  # the pair meets at 10:00 London time, before and after DST
    pair = [
        Meeting(
            datetime(2027, 3, 1 + 7 * w, 10, 0, tzinfo=london)
            if w < 5
            else datetime(2027, 4, 5 + 7 * (w - 5), 10, 0, tzinfo=london),
            30,
        )
        for w in range(8)
    ]
    plan = form_circles(cohort, prog, busy={"m0": pair}, pairs_led={"m0": 1})
    # capacity 4 - 1 pair = 3 circles allowed, but the pair at 10:00 leaves only 11:00-12:00 free
    # (09:00-10:00 ends at the pair's start, inside the 15-minute buffer)
    assert len(plan.circles) == 1 and plan.placed == 2
    check_plan(cohort, prog, busy={"m0": pair})
    reasons = {u.reason for u in plan.unplaced}
    assert reasons and all("mentor" in r or "given to others" in r for r in reasons)


def test_nobody_asked_for_a_circle_means_nothing_changes() -> None:
    cohort = make_cohort(make_person("a"), make_person("m", role="mentor", expertise=("x",)))
    assert not uses_circles(cohort) and pair_cohort(cohort) is cohort
    assert form_circles(cohort, Program()).circles == ()


def test_either_people_matched_one_to_one_stay_out_of_circles() -> None:
    people = [make_person(f"c{i}", goals=("writing",), format="either") for i in range(3)]
    cohort = make_cohort(*people)
    members, _ = circle_pool(cohort, program(), {"c0"}, {})
    assert [p.id for p in members] == ["c1", "c2"]
    assert [p.id for p in pair_cohort(dataclasses.replace(cohort)).people] == ["c0", "c1", "c2"]


DEPARTMENT_SPELLINGS = ("Sales", "sales", " SALES ", "Ｓａｌｅｓ", "Data", "data", "Café", "Cafe\u0301")


@CASES
@given(st.sampled_from(("peer", "mentor-led")).flatmap(cohorts), st.randoms(use_true_random=False))
def test_a_circle_never_joins_one_department_spelled_two_ways(case: tuple[Cohort, Program], rnd) -> None:
    """With ``same_department = "forbid"``, "Sales" and "sales" are one department in circles as
    for pairs (issue 22: circles compared the raw strings)."""
    cohort, prog = case
    assert prog.rules.same_department == "forbid"
    cohort = Cohort(
        tuple(dataclasses.replace(p, department=rnd.choice(DEPARTMENT_SPELLINGS)) for p in cohort.people),
        source=cohort.source,
    )
    plan = form_circles(cohort, prog)
    for circle in plan.circles:
        for a, b in combinations(circle.people, 2):
            assert not same_department(cohort[a].department, cohort[b].department), (circle.id, a, b)


def test_three_people_of_two_departments_make_a_circle_of_two() -> None:
    """Everyone fits everyone else but "Sales" and " sales" are one department: the circle of three
    that comparing raw strings would form breaks the rule, so only two people meet."""
    prog = program(min_size=2, max_size=3)
    people = [
        make_person(pid, role="mentee", department=dept, goals=("writing",), format="circle")
        for pid, dept in (("a", "Sales"), ("b", " sales"), ("c", "Data"))
    ]
    plan = form_circles(make_cohort(*people), prog)
    assert plan.placed == 2 and len(plan.circles) == 1
    assert {"a", "b"} - set(plan.circles[0].member_ids)
    allowed = dataclasses.replace(prog, rules=dataclasses.replace(prog.rules, same_department="allow"))
    assert form_circles(make_cohort(*people), allowed).placed == 3
