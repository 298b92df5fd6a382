"""Cycle diff (pairs kept/ended/new, slots moved, people joined/left) and per-person summaries."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from changes.diff import CycleSnapshot, Slot, diff_cycles, render_diff, to_json
from changes.wording import all_person_changes, person_changes, when_words
from matcher.model import Pair
from scheduler.codec import parse_rrule
from scheduler.model import Series
from tests.factories import make_cohort, make_person

BYDAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def series(
    mentor: str,
    mentee: str,
    start: str,
    tz: str = "Europe/London",
    interval: int = 2,
    count: int = 6,
    until: str = "20271231T235959Z",
    byday: str | None = None,
) -> Series:
    """A weekly series with its real UTC occurrences (the same wall time in the anchor zone)."""
    dtstart = datetime.fromisoformat(start)
    zone = ZoneInfo(tz)
    occurrences = tuple(
        (dtstart + timedelta(weeks=interval * k)).replace(tzinfo=zone).astimezone(UTC) for k in range(count)
    )
    rrule = f"FREQ=WEEKLY;INTERVAL={interval};BYDAY={byday or BYDAY[dtstart.weekday()]};WKST=MO;UNTIL={until}"
    return Series(
        mentor, mentee, f"{mentor}-{mentee}-{start}", tz, dtstart, 45, parse_rrule(rrule), (), occurrences
    )


def pair(mentor: str, mentee: str) -> Pair:
    return Pair(mentor, mentee, 10)


def snapshot(ids, pairs, all_series, label="", names=None) -> CycleSnapshot:
    return CycleSnapshot(
        frozenset(ids), tuple(pair(*p) for p in pairs), tuple(all_series), label, names or {}
    )


# --------------------------------------------------------------------------- diff

A = snapshot(
    {"m1", "m2", "m3", "m4", "m5", "e1", "e2", "e3", "e4", "e5", "x"},
    [("m1", "e1"), ("m2", "e2"), ("m3", "e3"), ("m4", "e4"), ("m5", "e5"), ("m1", "x")],
    [
        series("m1", "e1", "2027-02-02T17:00"),
        series("m2", "e2", "2027-02-02T17:00"),
        series("m3", "e3", "2027-02-03T09:30"),
        series("m4", "e4", "2027-02-04T12:00"),
        series("m5", "e5", "2027-02-05T08:00", byday="FR,MO"),
        series("m1", "x", "2027-02-03T10:00", count=3),
    ],
    label="2027-H1",
)
B = snapshot(
    {"m1", "m2", "m3", "m4", "m5", "e1", "e2", "e3", "e4", "e5", "n1"},
    [("m1", "e1"), ("m2", "e2"), ("m3", "e3"), ("m4", "e4"), ("m5", "e5"), ("m2", "n1"), ("e1", "m1")],
    [
        # same weekday, time, zone and pattern; a new date, UID and UNTIL: not a move
        series("m1", "e1", "2027-08-03T17:00", until="20280131T235959Z"),
        series("m2", "e2", "2027-08-05T17:00"),  # Tue -> Thu
        series("m3", "e3", "2027-08-04T09:30", interval=1),  # every 2 weeks -> weekly
        series("m4", "e4", "2027-08-05T12:00", tz="Europe/Lisbon"),  # anchor zone changed
        series("m5", "e5", "2027-08-06T08:00", byday="MO,FR"),  # BYDAY order only: not a move
        series("m2", "n1", "2027-08-03T10:00"),
        series("e1", "m1", "2027-08-03T11:00"),
    ],
    label="2027-H2",
)


def test_diff_lists_exactly_what_changed():
    d = diff_cycles(A, B)
    assert d.kept == (("m1", "e1"), ("m2", "e2"), ("m3", "e3"), ("m4", "e4"), ("m5", "e5"))
    assert d.ended == (("m1", "x"),)
    assert d.new == (("e1", "m1"), ("m2", "n1"))  # roles swapped is a new pair
    assert [(m.mentor_id, m.mentee_id, m.changed) for m in d.moved] == [
        ("m2", "e2", ("weekday",)),
        ("m3", "e3", ("cadence",)),
        ("m4", "e4", ("timezone",)),
    ]
    assert d.joined == ("n1",)
    assert d.left == ("x",)
    assert d.last_meeting_a[("m1", "x")] == datetime(2027, 3, 3, 10, 0, tzinfo=UTC)
    assert not d.is_empty


def test_diff_of_a_cycle_with_itself_is_empty():
    d = diff_cycles(A, A)
    assert d.is_empty and d.kept == tuple(sorted((p.mentor_id, p.mentee_id) for p in A.pairs))


def test_time_change_and_scheduling_changes_are_moves():
    a = snapshot({"m", "e", "f"}, [("m", "e"), ("m", "f")], [series("m", "e", "2027-02-02T17:00")])
    b = snapshot({"m", "e", "f"}, [("m", "e"), ("m", "f")], [series("m", "f", "2027-08-03T18:15")])
    d = diff_cycles(a, b)
    assert [(m.mentee_id, m.changed) for m in d.moved] == [("e", ("unscheduled",)), ("f", ("scheduled",))]
    b2 = snapshot({"m", "e", "f"}, [("m", "e"), ("m", "f")], [series("m", "e", "2027-08-03T17:30")])
    assert [m.changed for m in diff_cycles(a, b2).moved] == [("time",)]


def test_series_of_pairs_not_formed_are_ignored():
    a = snapshot({"m", "e"}, [], [series("m", "e", "2027-02-02T17:00")])
    d = diff_cycles(a, a)
    assert d.kept == d.ended == d.new == d.moved == ()


def test_slot_reads_dtstart_and_rule():
    s = Slot.of(series("m", "e", "2027-02-02T17:00:30", interval=2))
    assert (s.weekday, f"{s.start:%H:%M:%S}", s.timezone, s.freq, s.interval, s.byday) == (
        1,
        "17:00:00",
        "Europe/London",
        "WEEKLY",
        2,
        "TU",
    )
    assert s.describe() == "Tue 17:00 Europe/London, every 2 weeks"
    assert "UNTIL" not in dict(s.rule) and "WKST" not in dict(s.rule)


def test_render_and_json():
    d = diff_cycles(A, B)
    text = render_diff(d)
    assert text.startswith("Changes from 2027-H1 to 2027-H2\n")
    assert "People: 1 joined, 1 left" in text
    assert "Pairs: 5 kept, 1 ended, 2 new" in text
    assert "  ended   m1 -> x  (x left; last meeting 2027-03-03 10:00 UTC)" in text
    assert (
        "  moved   m2 -> e2: Tue 17:00 Europe/London, every 2 weeks -> "
        "Thu 17:00 Europe/London, every 2 weeks (weekday)"
    ) in text
    assert "Slots moved: 3" in text
    data = json.loads(json.dumps(to_json(d)))
    assert data["joined"] == ["n1"] and data["left"] == ["x"]
    assert [(p["mentor_id"], p["mentee_id"]) for p in data["new"]] == [("e1", "m1"), ("m2", "n1")]
    assert data["ended"] == [{"mentor_id": "m1", "mentee_id": "x", "last_meeting": "2027-03-03T10:00:00Z"}]
    moved = {m["mentee_id"]: m for m in data["moved"]}
    assert moved["e2"]["before"]["weekday"] == "Tue" and moved["e2"]["after"]["weekday"] == "Thu"
    assert moved["e3"]["after"]["rrule"] == "BYDAY=WE;FREQ=WEEKLY;INTERVAL=1"


IDS = st.sampled_from(["a", "b", "c", "d", "e"])
PAIRS = st.sets(st.tuples(IDS, IDS).filter(lambda p: p[0] != p[1]), max_size=8)


@settings(max_examples=50, deadline=None)
@given(PAIRS, PAIRS, st.sets(IDS), st.sets(IDS))
def test_diff_partitions_pairs_and_people(pairs_a, pairs_b, ids_a, ids_b):
    d = diff_cycles(snapshot(ids_a, pairs_a, []), snapshot(ids_b, pairs_b, []))
    assert set(d.kept) | set(d.ended) == pairs_a
    assert set(d.kept) | set(d.new) == pairs_b
    assert not (set(d.kept) & set(d.ended)) and not (set(d.kept) & set(d.new))
    assert set(d.joined) == ids_b - ids_a and set(d.left) == ids_a - ids_b
    assert d.moved == ()


# --------------------------------------------------------------------------- person_changes

ANA = make_person("ana", "mentor", name="Ana Lima", timezone="Europe/London")
SAM = make_person("sam", "mentor", name="Sam Lee", timezone="Europe/London")
BEA = make_person("bea", "mentor", name="Bea Costa", timezone="Europe/London")
NICK = make_person("nick", "mentee", name="Nick Ode", timezone="America/New_York")
TOMO = make_person("tomo", "mentee", name="Tomo Ito", timezone="Asia/Tokyo")
LENA = make_person("lena", "mentee", name="Lena Berg", timezone="Europe/London")


def _cycle_pair():
    a = snapshot(
        {"ana", "sam", "bea", "nick", "tomo", "lena"},
        [("sam", "lena"), ("bea", "lena"), ("bea", "nick")],
        [
            series("sam", "lena", "2027-02-02T18:00", count=13),  # last: Tue 20 July 2027
            series("bea", "lena", "2027-02-04T09:00"),
            series("bea", "nick", "2027-02-04T15:00"),
        ],
        names={"sam": "Sam Lee"},
    )
    cohort_b = make_cohort(ANA, BEA, NICK, TOMO, LENA)
    series_b = (
        series("ana", "lena", "2027-08-03T17:00"),
        series("bea", "lena", "2027-08-05T09:30"),  # moved Thu 09:00 -> Thu 09:30
        series("bea", "nick", "2027-08-05T15:00"),  # unchanged
        series("ana", "nick", "2027-08-03T17:00"),
        series("ana", "tomo", "2027-08-03T23:00", interval=1),
    )
    b = CycleSnapshot.of(
        cohort_b,
        [
            pair("ana", "lena"),
            pair("bea", "lena"),
            pair("bea", "nick"),
            pair("ana", "nick"),
            pair("ana", "tomo"),
        ],
        series_b,
    )
    return diff_cycles(a, b), cohort_b, series_b


def test_person_changes_wording():
    d, cohort_b, series_b = _cycle_pair()
    assert person_changes("lena", cohort_b, d, series_b).splitlines() == [
        "mentoring ends: your pair with Sam Lee finished on 20 July",
        "new mentor: Ana Lima, Tuesdays 17:00 your time, every two weeks from 3 August",
        "same mentor (Bea Costa), moved to Thursdays 09:30 your time, every two weeks from 5 August",
    ]
    assert person_changes("bea", cohort_b, d, series_b).splitlines() == [
        "same mentee (Lena Berg), moved to Thursdays 09:30 your time, every two weeks from 5 August",
        "same mentee (Nick Ode), unchanged: Thursdays 15:00 your time, every two weeks from 5 August",
    ]
    ana = person_changes("ana", cohort_b, d, series_b).splitlines()
    assert ana[0] == "new mentee: Lena Berg, Tuesdays 17:00 your time, every two weeks from 3 August"
    assert len(ana) == 3 and all(line.startswith("new mentee: ") for line in ana)
    assert set(all_person_changes(cohort_b, d, series_b)) == {p.id for p in cohort_b.people}
    with pytest.raises(KeyError):
        person_changes("sam", cohort_b, d, series_b)


def test_local_time_in_another_zone_summer():
    d, cohort_b, series_b = _cycle_pair()
    # London 17:00 BST is 16:00 UTC, 12:00 EDT; London 15:00 is 10:00 in New York.
    assert person_changes("nick", cohort_b, d, series_b).splitlines() == [
        "new mentor: Ana Lima, Tuesdays 12:00 your time, every two weeks from 3 August",
        "same mentor (Bea Costa), unchanged: Thursdays 10:00 your time, every two weeks from 5 August",
    ]
    # London 23:00 BST on a Tuesday is 07:00 on Wednesday in Tokyo.
    assert person_changes("tomo", cohort_b, d, series_b) == (
        "new mentor: Ana Lima, Wednesdays 07:00 your time, every week from 4 August"
    )


def test_local_time_when_zones_change_clocks_on_different_dates():
    # 2027: the US springs forward on 14 March, the UK on 28 March. A London 17:00 slot first met on
    # 16 March is 17:00 UTC = 13:00 in New York; from 30 March it is 16:00 UTC = 12:00 again.
    s = series("ana", "nick", "2027-03-16T17:00", interval=2, count=4)
    assert when_words(s, "America/New_York") == (
        "Tuesdays 13:00 your time, every two weeks from 16 March "
        "(at 12:00 your time on some dates, when clocks change)"
    )
    winter = series("ana", "nick", "2027-01-05T17:00", interval=2, count=4)
    assert when_words(winter, "America/New_York") == (
        "Tuesdays 12:00 your time, every two weeks from 5 January"
    )
    assert when_words(winter, "Europe/London").startswith("Tuesdays 17:00 your time")


def test_when_words_monthly_and_without_occurrences():
    s = Series(
        "a",
        "b",
        "u",
        "Europe/London",
        datetime(2027, 8, 10, 17, 0),
        45,
        parse_rrule("FREQ=MONTHLY;BYDAY=2TU"),
        (),
        (),
    )
    assert when_words(s, "Europe/London") == (
        "the second Tuesday of each month, 17:00 your time, from 10 August"
    )
    assert when_words(s, "Asia/Tokyo") == "01:00 your time, every month from Wednesday 11 August"


ZONES = st.sampled_from(
    [
        "Europe/London",
        "America/New_York",
        "Asia/Tokyo",
        "Australia/Sydney",
        "America/Sao_Paulo",
        "Asia/Kolkata",
        "UTC",
    ]
)


@settings(max_examples=40, deadline=None)
@given(ZONES, ZONES, st.datetimes(min_value=datetime(2027, 1, 1), max_value=datetime(2028, 12, 1)))
def test_stated_time_is_the_first_occurrence_in_the_persons_zone(anchor, person_zone, start):
    start = start.replace(second=0, microsecond=0)
    s = series("a", "b", start.isoformat(), tz=anchor, interval=1, count=3)
    local = s.occurrences[0].astimezone(ZoneInfo(person_zone))
    words = when_words(s, person_zone)
    day = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
    assert words.startswith(f"{day[local.weekday()]}s {local:%H:%M} your time, every week from {local.day} ")


def test_weekday_move_is_not_a_cadence_change_but_a_new_pattern_is():
    tue = Slot.of(series("m", "e", "2027-02-02T17:00"))
    thu = Slot.of(series("m", "e", "2027-02-04T17:00"))
    assert tue.differences(thu) == ("weekday",)
    monthly = Series(
        "m",
        "e",
        "u",
        "Europe/London",
        datetime(2027, 2, 9, 17),
        45,
        parse_rrule("FREQ=MONTHLY;BYDAY=2TU"),
        (),
        (),
    )
    monthly_thu = Series(
        "m",
        "e",
        "u",
        "Europe/London",
        datetime(2027, 2, 11, 17),
        45,
        parse_rrule("FREQ=MONTHLY;BYDAY=2TH"),
        (),
        (),
    )
    monthly_third = Series(
        "m",
        "e",
        "u",
        "Europe/London",
        datetime(2027, 2, 16, 17),
        45,
        parse_rrule("FREQ=MONTHLY;BYDAY=3TU"),
        (),
        (),
    )
    assert Slot.of(monthly).differences(Slot.of(monthly_thu)) == ("weekday",)
    assert Slot.of(monthly).differences(Slot.of(monthly_third)) == ("cadence",)
    two_days = Slot.of(series("m", "e", "2027-02-02T17:00", byday="TU,FR"))
    assert tue.differences(two_days) == ("cadence",)


def test_person_changes_cadence_only_and_unscheduled():
    cohort = make_cohort(ANA, LENA, NICK)
    a = snapshot(
        {"ana", "lena", "nick"},
        [("ana", "lena"), ("ana", "nick")],
        [series("ana", "lena", "2027-02-02T17:00"), series("ana", "nick", "2027-02-03T17:00")],
    )
    series_b = (series("ana", "lena", "2027-08-03T17:00", interval=1),)
    b = CycleSnapshot.of(cohort, [pair("ana", "lena"), pair("ana", "nick")], series_b)
    d = diff_cycles(a, b)
    assert person_changes("lena", cohort, d, series_b) == (
        "same mentor (Ana Lima), same time, now Tuesdays 17:00 your time, every week from 3 August"
    )
    assert person_changes("nick", cohort, d, series_b) == (
        "same mentor (Ana Lima), but no meeting time could be found this cycle"
    )
    lonely = make_cohort(ANA, LENA, NICK, make_person("zoe", "mentee", name="Zoe"))
    assert person_changes("zoe", lonely, d, series_b) == "no partner this cycle"
