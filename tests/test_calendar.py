"""The iCalendar writer: exact occurrences across DST, structure, determinism, privacy."""

from __future__ import annotations

import dataclasses
import inspect
import random
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from cohort.program import FeedSettings, Program, ProgramInfo
from scheduler.calendar import EventState, build_feed, expand_series, vtimezone
from scheduler.codec import parse_rrule
from tests.factories import make_person
from tests.feeds_support import (
    expand_ical,
    expand_icalendar,
    expected_starts,
    make_series,
    sample_cohort,
    sample_schedule,
)

STAMP = datetime(2027, 1, 10, 8, 30, tzinfo=UTC)


def states(schedule, stamp=STAMP, sequence=0):
    return {i.uid: EventState(i.uid, "fp", sequence, stamp) for i in [*schedule.series, *schedule.events]}


def feed(owner_id, schedule=None, program=None, **kw):
    schedule = schedule or sample_schedule()
    cohort = sample_cohort()
    owner = cohort[owner_id] if owner_id else None
    return build_feed(
        owner, schedule.series, schedule.events, cohort.by_id, program or Program(), states(schedule, **kw)
    )


def unfolded(body: bytes) -> list[str]:
    return body.decode().replace("\r\n ", "").split("\r\n")


@pytest.mark.parametrize("owner", ["ana", "sam", "kai", "dev", "eve", "zed", None])
def test_feed_expands_to_exactly_the_scheduled_meetings(owner):
    schedule = sample_schedule()
    body = feed(owner, schedule)
    expected = expected_starts(schedule, owner)
    assert expand_icalendar(body) == expected
    assert expand_ical(body) == expected


def test_series_keep_local_time_across_dst_changes():
    schedule = sample_schedule()
    cal = Calendar.from_ical(feed(None, schedule))
    import recurring_ical_events

    by_uid: dict[str, set] = {}
    for ev in recurring_ical_events.of(cal).between(
        datetime(2027, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC)
    ):
        if ev["UID"].startswith("series-"):
            start = ev["DTSTART"].dt
            by_uid.setdefault(str(ev["UID"]), set()).add((start.time(), str(start.tzinfo)))
    assert len(by_uid) == 4
    for uid, seen in by_uid.items():
        assert len(seen) == 1, (uid, seen)  # one local wall time in one zone all year
    ny = sorted(o for s in schedule.series if s.timezone == "America/New_York" for o in s.occurrences)
    assert {o.hour for o in ny} == {13, 14}  # 09:00 local is 14:00Z in winter, 13:00Z in summer


def test_one_rrule_based_vtimezone_per_tzid_used():
    body = feed(None)
    cal = Calendar.from_ical(body)
    tzids = [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")]
    assert tzids == sorted(["America/New_York", "Australia/Sydney", "Europe/London", "Asia/Kolkata"])
    used = set(re.findall(r"TZID=([^:;]+)", body.decode()))
    assert used == set(tzids)
    for tz in cal.walk("VTIMEZONE"):
        observances = tz.subcomponents
        if str(tz["TZID"]) == "Asia/Kolkata":
            assert [o.name for o in observances] == ["STANDARD"]
            assert observances[0]["TZOFFSETTO"].td == timedelta(hours=5, minutes=30)
        else:
            assert sorted(o.name for o in observances) == ["DAYLIGHT", "STANDARD"]
            for o in observances:
                rule = o["RRULE"]
                assert rule["FREQ"] == ["YEARLY"] and len(rule["BYMONTH"]) == 1
                assert re.fullmatch(r"-?[1-5](SU|MO|TU|WE|TH|FR|SA)", rule["BYDAY"][0])
                assert "RDATE" not in o


@pytest.mark.parametrize(
    "tzid",
    [
        "America/New_York",
        "Europe/London",
        "Australia/Sydney",
        "Asia/Kolkata",
        "America/Sao_Paulo",
        "Australia/Lord_Howe",
        "Asia/Jerusalem",
    ],
)
def test_vtimezone_agrees_with_the_tz_database(tzid):
    """Read back as a time zone, the VTIMEZONE gives zoneinfo's offset every 6 hours and one
    minute either side of every transition, in the years it covers for meetings."""
    mine = vtimezone(tzid, 2026, 2028).to_tz(lookup_tzid=False)
    zone = ZoneInfo(tzid)
    moments, moment = [], datetime(2027, 1, 1, tzinfo=UTC)
    while moment < datetime(2029, 1, 1, tzinfo=UTC):
        moments.append(moment)
        after = moment + timedelta(hours=6)
        if after.astimezone(zone).utcoffset() != moment.astimezone(zone).utcoffset():
            lo, hi = moment, after
            while hi - lo > timedelta(minutes=1):
                mid = lo + (hi - lo) / 2
                lo, hi = (
                    (mid, hi)
                    if mid.astimezone(zone).utcoffset() == lo.astimezone(zone).utcoffset()
                    else (lo, mid)
                )
            moments += [lo - timedelta(minutes=1), lo, hi, hi + timedelta(minutes=1)]
        moment = after
    for moment in moments:
        assert moment.astimezone(mine).utcoffset() == moment.astimezone(zone).utcoffset(), moment


def test_event_properties():
    body = feed("sam")
    cal = Calendar.from_ical(body)
    assert "METHOD" not in cal
    lines = unfolded(body)
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT12H" in lines
    assert "X-PUBLISHED-TTL:PT12H" in lines
    assert "VERSION:2.0" in lines and any(line.startswith("PRODID:") for line in lines)
    assert cal["X-WR-CALNAME"] and cal["NAME"]
    events = cal.walk("VEVENT")
    assert events
    for ev in events:
        assert str(ev["CLASS"]) == "PRIVATE" and str(ev["TRANSP"]) == "OPAQUE"
        assert str(ev["STATUS"]) == "CONFIRMED"
        assert ev["DTSTAMP"].dt == STAMP and ev["LAST-MODIFIED"].dt == STAMP
        assert ev["SEQUENCE"] == 0
        assert ev["DTSTART"].params.get("TZID") and ev["DTEND"].params.get("TZID")
        assert "Ana Lima" in ev["SUMMARY"] and ev["SUMMARY"].startswith("Mentoring")
        assert "ana@example.org" in ev["DESCRIPTION"]
    series = [ev for ev in events if "RRULE" in ev]
    assert len(series) == 1
    assert str(series[0]["SUMMARY"]) == "Mentoring with Ana Lima"
    assert "Career goals; first steps" in series[0]["DESCRIPTION"]
    rule = [line for line in lines if line.startswith("RRULE:FREQ=WEEKLY")][0]
    assert re.search(r"UNTIL=\d{8}T\d{6}Z", rule) and "WKST=MO" in rule and "INTERVAL=2" in rule


def test_coordinator_summary_names_both():
    cal = Calendar.from_ical(feed(None))
    summaries = {str(ev["SUMMARY"]) for ev in cal.walk("VEVENT")}
    assert "Mentoring: Ana Lima & Sam Lee" in summaries
    assert "Mentoring kickoff: Ana Lima & Sam Lee" in summaries


def test_exdates_are_real_instances():
    """Each EXDATE is an instance of the rule: without EXDATEs the feed has exactly those extra."""
    schedule = sample_schedule()
    body = feed(None, schedule)
    exdates = set()
    for ev in Calendar.from_ical(body).walk("VEVENT"):
        for prop in ev.get("EXDATE", []) if isinstance(ev.get("EXDATE"), list) else [ev.get("EXDATE")]:
            if prop is not None:
                exdates |= {(d.dt.astimezone(UTC)) for d in prop.dts}
    assert len(exdates) == 5
    stripped = re.sub(rb"EXDATE[^\r\n]*\r\n( [^\r\n]*\r\n)*", b"", body)
    with_all = {s for s, _ in expand_icalendar(stripped)}
    assert with_all == {s for s, _ in expected_starts(schedule, None)} | exdates


def test_identical_bytes_and_input_order_does_not_matter():
    schedule = sample_schedule()
    first = feed("kai", schedule)
    shuffled_series = list(schedule.series)
    shuffled_events = list(schedule.events)
    random.Random(3).shuffle(shuffled_series)
    random.Random(4).shuffle(shuffled_events)
    again = dataclasses.replace(schedule, series=tuple(shuffled_series), events=tuple(shuffled_events))
    assert feed("kai", again) == first == feed("kai", schedule)


def test_refresh_interval_follows_the_program():
    program = Program(feeds=FeedSettings(refresh_minutes=90), program=ProgramInfo(name="Spring; cohort"))
    lines = unfolded(feed("ana", program=program))
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H30M" in lines and "X-PUBLISHED-TTL:PT1H30M" in lines
    assert "X-WR-CALNAME:Spring\\; cohort: Ana Lima" in lines


def test_feed_carries_only_name_and_email_of_the_partner():
    """No path exists for feedback, and no other personal field reaches a feed."""
    params = set(inspect.signature(build_feed).parameters)
    assert params == {"owner", "series", "events", "people", "program", "state"}
    secret = make_person(
        "ana",
        "mentor",
        name="Ana Lima",
        department="Secret Dept",
        goals=("confidential goal",),
        expertise=("hidden expertise",),
        interests=("private hobby",),
        manager_id="boss-7",
        level=9,
    )
    schedule = sample_schedule()
    cohort = sample_cohort()
    people = dict(cohort.by_id) | {"ana": secret}
    for owner in (cohort["sam"], None):
        text = (
            build_feed(owner, schedule.series, schedule.events, people, Program(), states(schedule))
            .decode()
            .lower()
        )
        for word in (
            "secret dept",
            "confidential",
            "hidden expertise",
            "private hobby",
            "boss-7",
            "rating",
            "comment",
        ):
            assert word not in text


def test_scheduler_inconsistencies_still_give_exact_occurrences():
    """Stale exdates, an unbounded rule, a local UNTIL and an extra date are all reconciled."""
    base = make_series(
        "ana", "sam", "Europe/London", date(2027, 3, 2), time(9, 0), until=date(2027, 6, 1), skip=(1,)
    )
    zone = ZoneInfo("Europe/London")
    extra = datetime(2027, 3, 20, 12, 0, tzinfo=zone).astimezone(UTC)
    variants = [
        dataclasses.replace(base, recurrence=parse_rrule("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU")),
        dataclasses.replace(
            base, recurrence=parse_rrule("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;UNTIL=20270601T235959")
        ),
        dataclasses.replace(base, exdates=(datetime(2027, 3, 3, 9, 0),)),
        dataclasses.replace(base, occurrences=tuple(sorted((*base.occurrences, extra)))),
    ]
    for series in variants:
        exp = expand_series(series)
        assert exp.rrule["WKST"] == ["MO"]
        until = exp.rrule.get("UNTIL")
        assert until is None or until[0].utcoffset() == timedelta(0)
        schedule = dataclasses.replace(sample_schedule(), series=(series,), events=())
        body = feed("sam", schedule)
        want = sorted((o, 45) for o in series.occurrences)
        assert expand_icalendar(body) == want
        assert expand_ical(body) == want
