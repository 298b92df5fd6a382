"""Recurrence patterns: exact expansion equals dateutil's RRULE expansion and recurring_ical_events."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
from dateutil.rrule import rrulestr
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.recurrence import Pattern, dtstart, expand, is_valid, occurrence_dates, rrule, week_parity

ZONES = ["America/New_York", "Europe/London", "Australia/Sydney", "Asia/Kolkata", "Australia/Lord_Howe"]
START, LAST = date(2027, 2, 1), date(2027, 2, 1) + timedelta(days=7 * 45 - 1)


def _dateutil(p: Pattern, start: date, last: date) -> list[datetime]:
    tz = ZoneInfo(p.timezone)
    rule = rrulestr(rrule(p, start, last), dtstart=dtstart(p, start, last).replace(tzinfo=tz))
    return [t.astimezone(UTC) for t in rule]


patterns = st.builds(
    lambda z, wd, minute, cad, par, nth: Pattern(
        z, wd, minute, 45, cad, parity=par if cad == "biweekly" else 0, nth=nth if cad == "monthly" else 0
    ),
    st.sampled_from(ZONES),
    st.integers(0, 6),
    st.integers(0, 95).map(lambda q: q * 15),
    st.sampled_from(["weekly", "biweekly", "monthly"]),
    st.integers(0, 1),
    st.integers(1, 4),
)


@settings(max_examples=50, deadline=None)
@given(patterns, st.integers(0, 6))
def test_expansion_equals_dateutil(p: Pattern, shift: int) -> None:
    start = START + timedelta(days=shift)
    if not is_valid(p, start, LAST):
        return
    assert expand(p, start, LAST) == _dateutil(p, start, LAST)


def test_expansion_equals_recurring_ical_events() -> None:
    p = Pattern("Australia/Sydney", 1, 9 * 60 + 30, 45, "biweekly", parity=1)
    cal = icalendar.Calendar()
    ev = icalendar.Event()
    ev.add("uid", "x@test")
    ev.add("dtstart", dtstart(p, START, LAST).replace(tzinfo=ZoneInfo(p.timezone)))
    ev.add("duration", timedelta(minutes=45))
    ev.add("rrule", icalendar.vRecur.from_ical(rrule(p, START, LAST)))
    cal.add_component(ev)
    got = [
        e["DTSTART"].dt.astimezone(UTC)
        for e in recurring_ical_events.of(cal).between(datetime(2027, 1, 1), datetime(2028, 2, 1))
    ]
    assert sorted(got) == expand(p, START, LAST)
    assert len(got) == 22  # weeks 1, 3, ..., 43 of 45


def test_biweekly_parity_counts_from_the_cycles_first_monday() -> None:
    start = date(2027, 2, 3)  # a Wednesday; week 0 starts Monday 1 February
    p0 = Pattern("Europe/London", 0, 600, 45, "biweekly", parity=0)
    p1 = Pattern("Europe/London", 0, 600, 45, "biweekly", parity=1)
    assert occurrence_dates(p0, start, date(2027, 3, 1))[0] == date(2027, 2, 15)  # 1 Feb is before start
    assert occurrence_dates(p1, start, date(2027, 3, 1))[0] == date(2027, 2, 8)
    assert week_parity(date(2027, 2, 7), start) == 0 and week_parity(date(2027, 2, 8), start) == 1


def test_monthly_is_the_nth_weekday_and_rrule_says_so() -> None:
    p = Pattern("Asia/Kolkata", 1, 600, 45, "monthly", nth=2)
    days = occurrence_dates(p, START, date(2027, 5, 31))
    assert days == [date(2027, 2, 9), date(2027, 3, 9), date(2027, 4, 13), date(2027, 5, 11)]
    assert rrule(p, START, date(2027, 5, 31)).startswith("FREQ=MONTHLY;BYDAY=2TU;UNTIL=20270531T182959Z")


def test_until_is_the_last_days_end_in_utc() -> None:
    p = Pattern("America/New_York", 4, 600, 45, "biweekly")
    assert rrule(p, START, date(2027, 7, 30)) == (
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR;WKST=MO;UNTIL=20270731T035959Z"
    )


def test_local_time_in_a_dst_gap_makes_the_pattern_invalid() -> None:
    gap = Pattern("America/New_York", 6, 150, 45, "weekly")  # Sunday 02:30; 14 March 2027 has none
    assert not is_valid(gap, START, LAST)
    with pytest.raises(ValueError, match="does not exist"):
        expand(gap, START, LAST)
    # ambiguous 01:30 on 7 November resolves to the first instant (EDT)
    amb = Pattern("America/New_York", 6, 90, 45, "weekly")
    nov7 = [t for t in expand(amb, START, LAST) if t.date() == date(2027, 11, 7)]
    assert nov7 == [datetime(2027, 11, 7, 5, 30, tzinfo=UTC)]


def test_local_time_is_constant_in_the_anchor_zone_across_changes() -> None:
    p = Pattern("Europe/London", 2, 12 * 60, 45, "weekly")
    local = {t.astimezone(ZoneInfo("Europe/London")).strftime("%a %H:%M") for t in expand(p, START, LAST)}
    assert local == {"Wed 12:00"}
    utc = {t.strftime("%H:%M") for t in expand(p, START, LAST)}
    assert utc == {"12:00", "11:00"}
