"""Helpers for the feed tests: schedules built by hand, expanded with zoneinfo only.

The expected occurrences here never go through ``scheduler.calendar`` or dateutil, so the
feed tests compare the writer against an independent expansion.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import recurring_ical_events
from icalendar import Calendar

from cohort.model import Person
from scheduler.codec import parse_rrule
from scheduler.model import Event, Schedule, Series
from tests.factories import make_cohort, make_person

DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def make_series(
    mentor: str,
    mentee: str,
    tz: str,
    first: date,
    at: time,
    *,
    weeks: int = 2,
    until: date,
    skip: tuple[int, ...] = (),
    minutes: int = 45,
    agenda: str = "",
    uid: str | None = None,
) -> Series:
    """A series every ``weeks`` weeks from ``first`` at local ``at`` until ``until`` (inclusive),
    without the instances numbered in ``skip`` (0-based)."""
    zone = ZoneInfo(tz)
    local, instances = first, []
    while local <= until:
        instances.append(datetime.combine(local, at))
        local += timedelta(weeks=weeks)
    kept = [d for i, d in enumerate(instances) if i not in skip]
    last_moment = datetime.combine(until, time(23, 59, 59), zone).astimezone(UTC)
    rule = (
        f"FREQ=WEEKLY;INTERVAL={weeks};BYDAY={DAYS[first.weekday()]};WKST=MO;"
        f"UNTIL={last_moment:%Y%m%dT%H%M%SZ}"
    )
    return Series(
        mentor_id=mentor,
        mentee_id=mentee,
        uid=uid or f"series-{mentor}-{mentee}@test",
        timezone=tz,
        dtstart=instances[0],
        duration_minutes=minutes,
        recurrence=parse_rrule(rule),
        exdates=tuple(instances[i] for i in skip),
        occurrences=tuple(d.replace(tzinfo=zone).astimezone(UTC) for d in kept),
        agenda=agenda,
    )


def make_event(
    mentor: str, mentee: str, kind: str, tz: str, local: datetime, minutes: int = 60, n: int = 0
) -> Event:
    start = local.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)
    return Event(mentor, mentee, f"{kind}{n}-{mentor}-{mentee}@test", kind, start, minutes, timezone=tz)


def sample_people() -> list[Person]:
    return [
        make_person("ana", "mentor", name="Ana Lima", timezone="America/New_York"),
        make_person("sam", "mentee", name="Sam Lee", timezone="Europe/London"),
        make_person("kai", "both", name="Kai Tanaka", timezone="Australia/Sydney"),
        make_person("dev", "mentee", name="Dev Rao", timezone="Asia/Kolkata"),
        make_person("eve", "mentor", name="Eve Stone", timezone="Europe/London"),
        make_person("zed", "mentee", name="Zed Unmatched", timezone="UTC"),
    ]


def sample_schedule() -> Schedule:
    """Four pairs anchored in four zones, a cycle crossing March and November DST changes."""
    until = date(2027, 12, 10)
    series = (
        make_series(
            "ana",
            "sam",
            "America/New_York",
            date(2027, 2, 2),
            time(9, 0),
            until=until,
            skip=(3, 11),
            agenda="Career goals; first steps, then\nreview",
        ),
        make_series(
            "kai",
            "dev",
            "Australia/Sydney",
            date(2027, 2, 4),
            time(17, 30),
            weeks=1,
            until=until,
            skip=(0, 9),
        ),
        make_series("eve", "kai", "Europe/London", date(2027, 3, 1), time(8, 15), until=until),
        make_series(
            "ana", "dev", "Asia/Kolkata", date(2027, 2, 5), time(19, 0), weeks=4, until=until, skip=(2,)
        ),
    )
    events = []
    for s in series:
        events.append(make_event(s.mentor_id, s.mentee_id, "kickoff", s.timezone, datetime(2027, 2, 1, 10)))
        for n, month in enumerate((3, 6, 11)):
            events.append(
                make_event(
                    s.mentor_id, s.mentee_id, "checkin", s.timezone, datetime(2027, month, 15, 11, 0), 30, n
                )
            )
        events.append(make_event(s.mentor_id, s.mentee_id, "closing", s.timezone, datetime(2027, 12, 13, 16)))
    return Schedule(series, tuple(events))


def sample_cohort():
    return make_cohort(*sample_people())


def expected_starts(schedule: Schedule, person_id: str | None) -> list[tuple[datetime, int]]:
    """Every meeting start (UTC) and length of ``person_id`` (None: everyone), sorted."""
    out = []
    for s in schedule.series:
        if person_id is None or person_id in (s.mentor_id, s.mentee_id):
            out += [(o, s.duration_minutes) for o in s.occurrences]
    for e in schedule.events:
        if person_id is None or person_id in (e.mentor_id, e.mentee_id):
            out.append((e.start, e.duration_minutes))
    return sorted(out)


WINDOW = (datetime(2020, 1, 1, tzinfo=UTC), datetime(2035, 1, 1, tzinfo=UTC))


def expand_icalendar(body: bytes) -> list[tuple[datetime, int]]:
    """Starts (UTC) and minutes of every instance, by recurring_ical_events."""
    cal = Calendar.from_ical(body)
    out = []
    for ev in recurring_ical_events.of(cal).between(*WINDOW):
        start, end = ev["DTSTART"].dt, ev["DTEND"].dt
        out.append((start.astimezone(UTC), int((end - start).total_seconds() // 60)))
    return sorted(out)


def expand_ical(body: bytes) -> list[tuple[datetime, int]]:
    """Starts (UTC) and minutes of every instance, by the strict ``ical`` package."""
    from ical.calendar_stream import IcsCalendarStream

    cal = IcsCalendarStream.calendar_from_ics(body.decode("utf-8"))
    out = []
    for ev in cal.timeline_tz(UTC):
        start = ev.dtstart
        if start.tzinfo is None:
            raise AssertionError("floating time in a feed")
        out.append((start.astimezone(UTC), int(ev.computed_duration.total_seconds() // 60)))
    return sorted(out)
