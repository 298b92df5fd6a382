"""Participant text can never add or break a property (property-based, two parsers)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from cohort.program import Program, ProgramInfo
from scheduler.calendar import EventState, build_feed
from scheduler.model import Schedule
from tests.factories import make_cohort, make_person
from tests.feeds_support import make_event, make_series

NASTY = [
    "\n",
    "\r\n",
    "\r",
    ";",
    ",",
    "\\",
    ":",
    "\\N",
    "\\n",
    '"',
    "BEGIN:VEVENT",
    "END:VCALENDAR",
    "\u2028",
    "\x85",
    "\x00",
    "\x1b",
    "\t",
    "é",
    "你好",
    "👩🏽‍💻",
    "\u200b",
    "=",
    "X-INJECT:1",
]
text = st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=30)), max_size=12).map("".join)
long_text = st.builds(
    lambda s, n: s * n, st.sampled_from(["ab,c;", "é", "👩🏽‍💻", "x\\"]), st.integers(1, 120)
)


def expected_text(value: str) -> str:
    """What a reader should get back: line breaks unified, other control characters dropped."""
    for old in ("\r\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"):
        value = value.replace(old, "\n")
    return "".join(c for c in value if c in "\t\n" or not (ord(c) < 32 or 127 <= ord(c) < 160))


EVENT_PROPS = {
    "UID",
    "DTSTAMP",
    "LAST-MODIFIED",
    "SEQUENCE",
    "DTSTART",
    "DTEND",
    "SUMMARY",
    "DESCRIPTION",
    "CLASS",
    "TRANSP",
    "STATUS",
    "CATEGORIES",
}


@settings(max_examples=40, deadline=None)
@given(
    mentor_name=st.one_of(text, long_text),
    mentee_name=text,
    agenda=st.one_of(text, long_text),
    program_name=text,
)
def test_text_round_trips_and_adds_nothing(mentor_name, mentee_name, agenda, program_name):
    mentor = make_person("m1", "mentor", name=mentor_name, email="m1@example.org")
    mentee = make_person("e1", "mentee", name=mentee_name, email="e1@example.org")
    cohort = make_cohort(mentor, mentee)
    series = make_series(
        "m1",
        "e1",
        "Europe/London",
        date(2027, 3, 2),
        time(9),
        until=date(2027, 5, 1),
        skip=(1,),
        agenda=agenda,
    )
    event = make_event("m1", "e1", "kickoff", "Asia/Kolkata", datetime(2027, 2, 26, 10))
    schedule = Schedule((series,), (event,))
    state = {u: EventState(u, "f", 1, datetime(2027, 1, 1, tzinfo=UTC)) for u in (series.uid, event.uid)}
    program = Program(program=ProgramInfo(name=program_name))
    body = build_feed(mentee, schedule.series, schedule.events, cohort.by_id, program, state)

    assert b"\r\n" in body and body.count(b"\r") == body.count(b"\r\n")  # no bare CR
    for line in body.split(b"\r\n"):
        assert len(line) <= 75
        assert not set(line) & (set(range(0, 9)) | set(range(10, 32)))

    cal = Calendar.from_ical(body)
    assert [c.name for c in cal.subcomponents] == ["VTIMEZONE", "VTIMEZONE", "VEVENT", "VEVENT"]
    assert set(cal.keys()) == {
        "PRODID",
        "VERSION",
        "CALSCALE",
        "NAME",
        "X-WR-CALNAME",
        "DESCRIPTION",
        "X-WR-CALDESC",
        "REFRESH-INTERVAL",
        "X-PUBLISHED-TTL",
    }
    name = expected_text(mentor_name)
    events = cal.walk("VEVENT")
    for ev in events:
        assert not ev.subcomponents
        extra = {"RRULE", "EXDATE"} if "RRULE" in ev else set()
        assert set(ev.keys()) == EVENT_PROPS | extra
    series_ev = next(ev for ev in events if "RRULE" in ev)
    assert str(series_ev["SUMMARY"]) == f"Mentoring with {name}"
    description = str(series_ev["DESCRIPTION"])
    if expected_text(agenda).strip():
        assert description.startswith(expected_text(agenda) + "\n\n")
    assert f"Your mentor: {name} <m1@example.org>" in description

    from ical.calendar_stream import IcsCalendarStream

    strict = IcsCalendarStream.calendar_from_ics(body.decode("utf-8"))
    assert len(strict.events) == 2 and len(strict.timezones) == 2
    by_uid = {e.uid: e for e in strict.events}
    assert by_uid[series.uid].summary == f"Mentoring with {name}"
    assert by_uid[series.uid].description == description
    assert by_uid[event.uid].summary == f"Mentoring kickoff with {name}"
