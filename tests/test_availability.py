"""Availability cells -> sorted, merged, half-open week-minute intervals."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cohort.availability import (
    AvailabilityError,
    excel_value_error,
    format_availability,
    merge_intervals,
    parse_availability,
)

D = 1440


def test_contract_example():
    cell = "Mon 09:00-12:00; Tue,Thu 16:00-18:30; Fri 22:00-24:00"
    assert parse_availability(cell) == (
        (540, 720),
        (D + 960, D + 1110),
        (3 * D + 960, 3 * D + 1110),
        (4 * D + 1320, 5 * D),
    )


def test_friday_late_window_ends_at_midnight():
    assert parse_availability("Fri 22:00-24:00") == ((4 * D + 1320, 5 * D),)


def test_sunday_to_midnight_is_end_of_week():
    assert parse_availability("Sun 23:00-24:00") == ((6 * D + 1380, 7 * D),)


@pytest.mark.parametrize(
    "cell",
    [
        "Mon-Fri 9:00-17:00",
        "Mon–Fri 09:00–17:00",
        "Monday-Friday 9am-5pm",
        "weekdays 09:00 to 17:00",
        "Mon,Tue,Wed,Thu,Fri 09:00-17:00",
    ],
)
def test_weekday_spellings_agree(cell):
    assert parse_availability(cell) == tuple((d * D + 540, d * D + 1020) for d in range(5))


def test_overlaps_and_touching_windows_merge():
    assert parse_availability("Mon 09:00-10:00; Mon 09:30-11:00; Mon 11:00-12:00") == ((540, 720),)
    assert parse_availability("Fri 22:00-24:00; Sat 00:00-02:00") == ((4 * D + 1320, 5 * D + 120),)


def test_several_ranges_after_one_day_list():
    assert parse_availability("Tue 09:00-12:00, 14:00-16:00") == ((D + 540, D + 720), (D + 840, D + 960))


def test_am_pm_forms():
    assert parse_availability("Mon 9-11am") == ((540, 660),)
    assert parse_availability("Mon 11-2pm") == ((660, 840),)
    assert parse_availability("Mon 10pm-12am") == ((1320, 1440),)


@pytest.mark.parametrize(
    "cell, words",
    [
        ("Mon 25:00-26:00", "not a time of day"),
        ("Mon 17:00-09:00", "not after start"),
        ("Mon 09:00-09:00", "not after start"),
        ("Mon 9-5", "ambiguous"),
        ("Mon 24:00-24:00", "only allowed as an end"),
        ("Mon 9:75-10:00", "more than 59 minutes"),
        ("Funday 09:00-10:00", "not a day"),
        ("09:00-17:00", "no day"),
        ("Mon", "no time range"),
        ("11-Sep", "looks like a date"),
        ("Sep-11", "looks like a date"),
        ("2026-09-11", "looks like a date"),
        ("2026-09-11 00:00:00", "looks like a date"),
    ],
)
def test_rejections(cell, words):
    with pytest.raises(AvailabilityError) as info:
        parse_availability(cell)
    assert words in info.value.message
    assert info.value.hint


def test_bare_hours_hint_gives_24_hour_form():
    with pytest.raises(AvailabilityError) as info:
        parse_availability("Mon 9-5")
    assert "09:00-17:00" in info.value.hint


def test_excel_cell_types():
    assert "Excel" in excel_value_error(datetime(2026, 9, 11)).hint
    assert "Excel" in excel_value_error(date(2026, 9, 11)).hint
    assert "Excel" in excel_value_error(time(9, 0)).hint
    assert excel_value_error("Mon 09:00-10:00") is None


intervals = st.lists(
    st.tuples(st.integers(0, 7 * 96 - 1), st.integers(1, 16)).map(
        lambda t: (t[0] * 15, min(7 * D, (t[0] + t[1]) * 15))
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=50, deadline=None)
@given(intervals)
def test_format_round_trips_and_merge_invariants(raw):
    merged = merge_intervals(raw)
    assert all(a < b for a, b in merged)
    assert all(merged[i][1] < merged[i + 1][0] for i in range(len(merged) - 1))
    covered = {m for a, b in raw for m in range(a, b)}
    assert covered == {m for a, b in merged for m in range(a, b)}
    assert parse_availability(format_availability(merged)) == merged
