"""A common recurring slot for k people: every occurrence inside every member's local availability
(DST weeks included), holidays and away dates as exdates, around the members' other meetings."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cohort.model import MINUTES_PER_WEEK, Cohort, Person
from cohort.program import Circles, CycleSettings, Program
from planner.circles.slots import GroupSlotTest, circle_context, circle_slot_options, has_common_slot
from scheduler.recurrence import UTC, Pattern, expand
from scheduler.slots import Meeting
from tests.factories import make_cohort, make_person

# US clocks change on 2027-03-14, European ones on 2027-03-28: both inside the cycle.
ZONES = ("Europe/London", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "Australia/Sydney")
HOURS = (
    tuple((d * 1440 + 8 * 60, d * 1440 + 18 * 60) for d in range(5)),
    tuple((d * 1440 + 13 * 60, d * 1440 + 21 * 60) for d in range(5)),
    tuple((d * 1440 + 6 * 60, d * 1440 + 12 * 60) for d in range(7)),
    ((1440 + 14 * 60, 1440 + 17 * 60), (3 * 1440 + 15 * 60, 3 * 1440 + 19 * 60)),
)
SLOW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def program(weeks: int = 8, cadence: str = "weekly", holidays: tuple[date, ...] = ()) -> Program:
    cycle = CycleSettings(
        start=date(2027, 3, 1),
        weeks=weeks,
        granularity_minutes=30,
        holidays=list(holidays),
        buffer_minutes=15,
    )
    return Program(cycle=cycle, circles=Circles(cadence=cadence, duration_minutes=60))


def inside(person: Person, start: datetime, minutes: int) -> bool:
    """The meeting starts and ends inside one of the person's weekly windows, in local time."""
    tz = ZoneInfo(person.timezone)
    local = start.astimezone(tz)
    end = (start + timedelta(minutes=minutes)).astimezone(tz)
    if (end.replace(tzinfo=None) - local.replace(tzinfo=None)) != timedelta(minutes=minutes):
        return False  # straddles a clock change
    wm = local.weekday() * 1440 + local.hour * 60 + local.minute
    windows = [
        (a + k * MINUTES_PER_WEEK, b + k * MINUTES_PER_WEEK) for k in (0, 1) for a, b in person.availability
    ]
    merged: list[list[int]] = []
    for a, b in sorted(windows):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return any(a <= wm and wm + minutes <= b for a, b in merged)


@st.composite
def groups(draw: st.DrawFn) -> tuple[Cohort, Program]:
    k = draw(st.integers(2, 4))
    people = []
    for i in range(k):
        away = ()
        if draw(st.booleans()):
            first = date(2027, 3, 1) + timedelta(days=draw(st.integers(0, 50)))
            away = ((first, first + timedelta(days=draw(st.integers(0, 6)))),)
        people.append(
            make_person(
                f"c{i}",
                timezone=draw(st.sampled_from(ZONES)),
                availability=draw(st.sampled_from(HOURS)),
                unavailable=away,
            )
        )
    holidays = tuple(
        date(2027, 3, 1) + timedelta(days=d) for d in draw(st.sets(st.integers(0, 55), max_size=3))
    )
    return make_cohort(*people), program(
        cadence=draw(st.sampled_from(("weekly", "biweekly"))), holidays=holidays
    )


@SLOW
@given(groups())
def test_every_meeting_of_a_circle_slot_is_inside_every_members_local_hours(
    case: tuple[Cohort, Program],
) -> None:
    cohort, prog = case
    ctx = circle_context(cohort, prog)
    people = list(cohort.people)
    options = circle_slot_options(ctx, people, limit=3)
    assert bool(options) == has_common_slot(ctx, people) == GroupSlotTest(ctx).exists(people)
    for slot in options:
        assert slot.meetings
        for meeting in slot.meetings:
            for p in people:
                assert inside(p, meeting.start, meeting.duration_minutes), (p.id, meeting)
                day = meeting.start.astimezone(ZoneInfo(p.timezone)).date()
                assert day not in prog.cycle.holidays and not p.is_away(day)
        # the series is exactly its RRULE's occurrences minus its exdates
        every = expand(slot.pattern, prog.cycle.start, prog.cycle.last_day)
        tz = ZoneInfo(slot.pattern.timezone)
        ex = {d.replace(tzinfo=tz).astimezone(UTC) for d in slot.exdates}
        assert sorted(set(every) - ex) == sorted(slot.occurrences)
        assert len(slot.events) + len(slot.skipped) == len(ex)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(groups())
def test_a_slot_exists_exactly_when_brute_force_finds_one(case: tuple[Cohort, Program]) -> None:
    """Independent check on an hourly grid: try every weekday and hour, expand with zoneinfo."""
    cohort, prog = case
    prog = dataclasses.replace(prog, cycle=dataclasses.replace(prog.cycle, granularity_minutes=60))
    people = list(cohort.people)
    cadence = prog.circles.cadence
    found = False
    for anchor in dict.fromkeys(p.timezone for p in people):
        for wd in range(7):
            for hour in range(24):
                for parity in (0, 1) if cadence == "biweekly" else (0,):
                    pat = Pattern(anchor, wd, hour * 60, 60, cadence, parity=parity)
                    try:
                        starts = expand(pat, prog.cycle.start, prog.cycle.last_day)
                    except ValueError:
                        continue
                    taking_place = [
                        s
                        for s in starts
                        if not any(
                            s.astimezone(ZoneInfo(p.timezone)).date() in prog.cycle.holidays
                            or p.is_away(s.astimezone(ZoneInfo(p.timezone)).date())
                            for p in people
                        )
                    ]
                    if taking_place and all(inside(p, s, 60) for s in taking_place for p in people):
                        found = True
                        break
                if found:
                    break
            if found:
                break
    assert has_common_slot(circle_context(cohort, prog), people) == found


def test_a_circle_across_three_zones_keeps_its_hour_through_both_dst_changes() -> None:
    hours = tuple((d * 1440 + 9 * 60, d * 1440 + 18 * 60) for d in range(5))
    people = [
        make_person("ny", timezone="America/New_York", availability=hours),
        make_person("ldn", timezone="Europe/London", availability=hours),
        make_person("ber", timezone="Europe/Berlin", availability=hours),
    ]
    cohort = make_cohort(*people)
    prog = program()
    (slot,) = circle_slot_options(circle_context(cohort, prog), people, limit=1)
    for meeting in slot.meetings:
        assert all(inside(p, meeting.start, meeting.duration_minutes) for p in people)
    # New York 09:00-18:00 and Berlin 09:00-18:00 overlap by 3 hours, 2 in the US-only DST weeks
    assert len(slot.occurrences) + len(slot.events) == 8


def test_a_circle_goes_around_its_members_other_meetings_with_buffers_and_weekly_limits() -> None:
    hours = ((9 * 60, 11 * 60),)  # Mondays 09:00-11:00 only: one hour-long slot a week, two starts
    people = [make_person(f"m{i}", availability=hours) for i in range(3)]
    prog = program(weeks=4)
    ctx = circle_context(make_cohort(*people), prog)
    free = circle_slot_options(ctx, people, limit=0)
    assert {s.pattern.start_minute for s in free} == {540, 570, 600}
    # m0 has a pair meeting every Monday 10:30-11:00 UTC (London is UTC in March before the 28th)
    pair = [Meeting(datetime(2027, 3, 1, 10, 30, tzinfo=UTC) + timedelta(weeks=w), 30) for w in range(4)]
    around = circle_slot_options(ctx, people, busy={"m0": pair}, limit=0)
    # 09:00-10:00 ends 30 minutes before the pair's meeting (buffer 15): the only fitting start
    assert {s.pattern.start_minute for s in around} == {540}
    limited = dataclasses.replace(people[1], max_meetings_per_week=1)
    other = [Meeting(datetime(2027, 3, 3, 9, 0, tzinfo=UTC), 30)]  # a Wednesday meeting in week 1
    cohort = make_cohort(people[0], limited, people[2])
    ctx = circle_context(cohort, prog)
    assert circle_slot_options(ctx, list(cohort.people), busy={"m1": other}, limit=0) == []
