"""Hypothesis strategies shared by the property tests: generated people, cohorts and schedules.

``cohorts``: small matching instances (people of every role, zones with and without DST,
availability across the week's end, boundaries, capacities) with a program drawn around them.
``feed_cohorts``: a cohort, a hand-built schedule, event states and a program, with hostile text
and zones whose rules are unusual, for the calendar writers. The settings follow the profile
chosen in ``tests/conftest.py`` (``HYPOTHESIS_PROFILE=ci`` or ``CI=true``: deterministic).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from cohort.model import Cohort
from cohort.program import FeedSettings, Program, ProgramInfo
from scheduler.calendar import EventState
from scheduler.codec import parse_rrule, rrule_text
from scheduler.model import Schedule
from tests.factories import make_cohort, make_person
from tests.feeds_support import make_event, make_series

# --- matching instances -------------------------------------------------------------------------

MATCH_ZONES = ("Europe/London", "America/New_York", "Asia/Kolkata", "UTC", "Asia/Kathmandu")
WINDOWS = (
    ((9 * 60, 12 * 60),),
    ((13 * 60, 17 * 60),),
    ((9 * 60, 17 * 60), (1440 + 9 * 60, 1440 + 11 * 60)),
    ((7 * 60, 8 * 60 + 30), (1440 + 18 * 60, 1440 + 20 * 60)),
    ((17 * 60, 18 * 60),),
    ((6 * 1440 + 22 * 60, 7 * 1440), (0, 60)),
)
TOPICS = ("negotiation", "hiring", "writing", "design")

# the matching property tests' settings, on top of the profile loaded by tests/conftest.py
settings.register_profile(
    "match",
    parent=settings.default,
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@st.composite
def cohorts(draw: st.DrawFn) -> tuple[Cohort, Program]:
    """A small matching instance: 3-11 people of every role and a program drawn around them."""
    n = draw(st.integers(3, 11))
    ids = [f"p{i}" for i in range(n)]
    people = []
    for pid in ids:
        role = draw(st.sampled_from(("mentor", "mentee", "mentee", "both")))
        others = [q for q in ids if q != pid]
        people.append(
            make_person(
                pid,
                role,
                timezone=draw(st.sampled_from(MATCH_ZONES)),
                availability=draw(st.sampled_from(WINDOWS)),
                languages=tuple(
                    draw(st.lists(st.sampled_from(("en", "es", "hi")), min_size=1, max_size=2, unique=True))
                ),
                goals=tuple(draw(st.lists(st.sampled_from(TOPICS), max_size=3, unique=True))),
                expertise=tuple(draw(st.lists(st.sampled_from(TOPICS), max_size=3, unique=True))),
                interests=tuple(
                    draw(st.lists(st.sampled_from(("chess", "running")), max_size=2, unique=True))
                ),
                level=draw(st.one_of(st.none(), st.integers(1, 6))),
                department=draw(st.sampled_from((None, "Sales", "Data"))),
                capacity=draw(st.one_of(st.none(), st.integers(0, 3))),
                manager_id=draw(st.one_of(st.none(), st.sampled_from(others))),
                avoid=frozenset(draw(st.lists(st.sampled_from(others), max_size=1))),
                prefer=frozenset(draw(st.lists(st.sampled_from(others), max_size=2))),
            )
        )
    base = Program()
    prog = dataclasses.replace(
        base,
        cycle=dataclasses.replace(
            base.cycle,
            start=draw(st.sampled_from((date(2027, 1, 4), date(2027, 3, 1)))),
            weeks=draw(st.sampled_from((4, 10))),
            duration_minutes=draw(st.sampled_from((30, 45, 60))),
        ),
        rules=dataclasses.replace(
            base.rules,
            same_department=draw(st.sampled_from(("allow", "forbid"))),
            min_level_gap=draw(st.sampled_from((-10, 0, 1))),
            reporting_line=draw(st.sampled_from(("forbid", "allow"))),
        ),
        matching=dataclasses.replace(
            base.matching,
            objective=draw(st.sampled_from(("total", "fairness"))),
            time_limit_seconds=10.0,
            workers=1,
        ),
    )
    return make_cohort(*people), prog


# --- calendar feeds ------------------------------------------------------------------------------

ZONES_WITH_ODD_RULES = [
    "Europe/London",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Europe/Dublin",
    "Africa/Casablanca",
    "America/Sao_Paulo",
    "UTC",
    "Etc/UTC",
    "GMT",
    "Pacific/Chatham",
    "America/St_Johns",
    "Asia/Tehran",
    "Pacific/Apia",
]
NASTY = [
    "\n",
    "\r\n",
    "\r",
    ";",
    ",",
    "\\",
    ":",
    "^",
    "\\N",
    '"',
    "END:VCALENDAR",
    "\u2028",
    "\x85",
    "\x00",
    "\t",
    "é",
    "你好",
    "👩🏽‍💻",
    "\ud800",
]
TEXT = st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=20)), max_size=8).map("".join)
LONG = st.builds(
    lambda s, n: s * n,
    st.sampled_from(["ab,c;", "é", "👩🏽‍💻", "x\\", "^^", "a" * 73 + "\\"]),
    st.integers(1, 60),
)
UID_BITS = ["a,b", "c;d", "e\\f", "g h"]
FEED_SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def feed_cohorts(draw: st.DrawFn) -> tuple[Cohort, Schedule, dict[str, EventState], Program]:
    """A cohort, its schedule, event states and program: everything ``build_feed`` takes."""
    ids = [f"p{i}" for i in range(draw(st.integers(2, 6)))]
    people = [
        make_person(pid, "both", name=draw(st.one_of(TEXT, LONG)), email=f"{pid}@example.org") for pid in ids
    ]
    series, events = [], []
    for n in range(draw(st.integers(1, 4))):
        mentor, mentee = draw(st.permutations([*ids, "ghost"]))[:2]  # "ghost": not in the roster
        tz = draw(st.sampled_from(ZONES_WITH_ODD_RULES))
        first = date(2026, 1, 1) + timedelta(days=draw(st.integers(0, 900)))
        weeks = draw(st.sampled_from([1, 2, 4]))
        count = draw(st.integers(1, 30))
        at = time(draw(st.integers(0, 23)), draw(st.sampled_from([0, 15, 30, 45])))
        end = first + timedelta(weeks=weeks * count)
        s = make_series(
            mentor,
            mentee,
            tz,
            first,
            at,
            weeks=weeks,
            until=end,
            skip=tuple(draw(st.sets(st.integers(1, count), max_size=4))),
            minutes=draw(st.sampled_from([30, 45, 60, 90])),
            agenda=draw(st.one_of(TEXT, LONG)),
            uid=f"s{n}-" + draw(st.sampled_from(UID_BITS)) + "@test",
        )
        if not s.occurrences:
            continue
        rule = rrule_text(s.recurrence).split(";UNTIL=")[0]
        variant = draw(st.sampled_from(["utc", "local", "date", "none", "count"]))
        rrule = {
            "utc": rrule_text(s.recurrence),
            "local": f"{rule};UNTIL={end:%Y%m%d}T235959",
            "date": f"{rule};UNTIL={end:%Y%m%d}",
            "none": rule,
            "count": f"{rule};COUNT={count}",
        }[variant]
        occurrences = set(s.occurrences)
        if draw(st.booleans()):  # a date the rule does not produce (an RDATE)
            occurrences.add(s.occurrences[0] + timedelta(days=3, hours=1))
        series.append(
            dataclasses.replace(s, recurrence=parse_rrule(rrule), occurrences=tuple(sorted(occurrences)))
        )
        for k in range(draw(st.integers(0, 3))):
            kind = draw(st.sampled_from(["kickoff", "checkin", "review", "closing", "other"]))
            local = datetime.combine(first + timedelta(days=draw(st.integers(-10, 200))), at)
            ev = make_event(
                mentor,
                mentee,
                kind,
                draw(st.sampled_from([*ZONES_WITH_ODD_RULES, "Asia/Kathmandu"])),
                local,
                draw(st.sampled_from([15, 60])),
                n=10 * n + k,
            )
            events.append(ev if draw(st.booleans()) else dataclasses.replace(ev, timezone=""))
    stamp = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=draw(st.integers(0, 10**8)))
    state = {i.uid: EventState(i.uid, "fp", draw(st.integers(0, 12)), stamp) for i in [*series, *events]}
    program = Program(
        program=ProgramInfo(name=draw(st.one_of(TEXT, LONG))),
        feeds=FeedSettings(refresh_minutes=draw(st.sampled_from([15, 60, 720, 1441]))),
    )
    return make_cohort(*people), Schedule(tuple(series), tuple(events)), state, program
