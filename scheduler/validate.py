"""An independent check of a schedule against the cohort and the program's hard rules.

Written without the scheduler's code paths (no slot grids, no solver, no recurrence builder): it
re-expands every series from its ``dtstart``/``rrule``/``exdates`` text with ``dateutil.rrule``
and ``zoneinfo``, adds the milestone events, and returns violations named by the rule catalogue
(``cohort.rules``, scope "schedule"): occurrences that do not match the RRULE, meetings outside
the cycle, on holidays or blackout dates, outside either person's availability (local time,
start and end), overlaps and buffers per person, and weekly limits. A circle's meetings
(``circle_id``) are checked for its mentor and every member alike.

It reads the ``schedule.json`` document (interface section 4, ``docs/interface.md``), so it
checks what users receive; a ``Schedule`` is first rendered by ``scheduler.outputs``.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

from cohort.model import MINUTES_PER_WEEK, Cohort, Person
from cohort.program import Program
from cohort.rules import Violation
from scheduler.model import Schedule
from scheduler.outputs import schedule_dict


def _parse_utc(text: str) -> datetime:
    if not text.endswith("Z"):
        raise ValueError(f"not a UTC time: {text!r}")
    return datetime.fromisoformat(text)


@lru_cache(maxsize=1024)
def _rule(text: str, tz: str) -> rrule:
    """The RRULE ``text`` parsed once per text and zone (parsing UNTIL dominates the check's time);
    each series takes a copy with its own ``dtstart`` (``rrule.replace`` re-derives every default
    from it), so the result is that of parsing the text with the series' ``dtstart``."""
    parsed = rrulestr(text, dtstart=datetime(2000, 1, 3, tzinfo=ZoneInfo(tz)))
    assert isinstance(parsed, rrule)
    return parsed


def expand_series(item: dict[str, Any]) -> list[datetime]:
    """UTC starts of a series of ``schedule.json`` from its RRULE, minus its exdates."""
    tz = ZoneInfo(item["timezone"])
    start = datetime.fromisoformat(item["dtstart"]).replace(tzinfo=tz)
    rule = _rule(item["rrule"], item["timezone"]).replace(dtstart=start)
    ex = {datetime.fromisoformat(x) for x in item["exdates"]}
    return [t.astimezone(UTC) for t in rule if t.replace(tzinfo=None) not in ex]


def inside_availability(person: Person, start: datetime, minutes: int) -> bool:
    """Whether a meeting of ``minutes`` from the UTC ``start`` lies inside the person's weekly
    availability in their local time (a meeting that straddles a clock change does not)."""
    tz = ZoneInfo(person.timezone)
    ls = start.astimezone(tz)
    le = (start + timedelta(minutes=minutes)).astimezone(tz)
    s = ls.weekday() * 1440 + ls.hour * 60 + ls.minute
    span = int((le.replace(tzinfo=None) - ls.replace(tzinfo=None)).total_seconds() // 60)
    if span != minutes:
        return False  # the meeting straddles a clock change
    for a, b in person.availability:
        for shift in (0, MINUTES_PER_WEEK):
            if a + shift <= s and s + span <= b + shift:
                return True
    # a window continuing past Sunday midnight into Monday
    covered: set[int] = set()
    for a, b in person.availability:
        covered.update(range(a, b))
    return all(((s + i) % MINUTES_PER_WEEK) in covered for i in range(span))


# mentor, mentee (a circle: its mentor or "", and its id), UTC start, minutes, kind, who meets
Meeting = tuple[str, str, datetime, int, str, tuple[str, ...]]


def _who(item: dict[str, Any]) -> tuple[str, str, tuple[str, ...]]:
    """``(mentor, mentee, people)`` of a series or event; a circle's is ``(mentor or "",
    circle_id, mentor and members)``."""
    if item.get("circle_id"):
        people = tuple(p for p in (item.get("mentor_id"), *item.get("member_ids", ())) if p)
        return item.get("mentor_id") or "", item["circle_id"], people
    return item["mentor_id"], item["mentee_id"], (item["mentor_id"], item["mentee_id"])


def _meetings(doc: dict[str, Any], out: list[Violation]) -> list[Meeting]:
    """Every meeting of the document; a series whose occurrences differ from its RRULE is flagged."""
    meetings: list[Meeting] = []
    for item in doc["series"]:
        m, e, people = _who(item)
        expanded = expand_series(item)
        listed = [_parse_utc(t) for t in item["occurrences"]]
        if expanded != listed:
            out.append(
                Violation(
                    "one_slot_per_pair",
                    m,
                    e,
                    f"{m}/{e} RRULE gives {len(expanded)} meetings, occurrences lists {len(listed)}",
                )
            )
        for t in listed:
            meetings.append((m, e, t, item["duration_minutes"], "series", people))
    for ev in doc["events"]:
        m, e, people = _who(ev)
        meetings.append((m, e, _parse_utc(ev["start"]), ev["duration_minutes"], ev["kind"], people))
    return meetings


def _check_meeting(meeting: Meeting, cohort: Cohort, program: Program, out: list[Violation]) -> None:
    """The rules of one meeting on its own: cycle dates, holidays, blackouts, availability."""
    m, e, t, minutes, kind, people = meeting
    cycle = program.cycle
    if not (cycle.start - timedelta(days=1) <= t.date() <= cycle.last_day + timedelta(days=1)):
        out.append(Violation("inside_cycle", m, e, f"{m}/{e} {kind} at {t}"))
    for pid in people:
        person = cohort[pid]
        local_day: date = t.astimezone(ZoneInfo(person.timezone)).date()
        if local_day in cycle.holidays:
            out.append(Violation("no_holiday", m, e, f"{m}/{e} {kind} on {local_day} ({pid}'s calendar)"))
        if any(lo <= local_day <= hi for lo, hi in person.unavailable):
            out.append(Violation("no_blackout", m, e, f"{pid} is away on {local_day} ({m}/{e} {kind})"))
        if not inside_availability(person, t, minutes):
            out.append(
                Violation("inside_availability", m, e, f"{m}/{e} {kind} at {t:%Y-%m-%d %H:%M}Z for {pid}")
            )


def check_schedule(schedule: Schedule | dict[str, Any], cohort: Cohort, program: Program) -> list[Violation]:
    """Every violation in a schedule or a ``schedule.json`` document (empty when it is sound)."""
    doc = schedule_dict(schedule) if isinstance(schedule, Schedule) else schedule
    out: list[Violation] = []
    meetings = _meetings(doc, out)
    per_person: dict[str, list[tuple[datetime, datetime, str, str, str]]] = {}
    for meeting in meetings:
        _check_meeting(meeting, cohort, program, out)
        m, e, t, minutes, kind, people = meeting
        for pid in people:
            per_person.setdefault(pid, []).append(
                (t, t + timedelta(minutes=minutes), f"{m}/{e} {kind}", m, e)
            )
    buffer = timedelta(minutes=program.cycle.buffer_minutes)
    for pid, items in per_person.items():
        items.sort()
        for (s1, e1, w1, _, _), (s2, _e2, w2, m, e) in zip(items, items[1:], strict=False):
            if s2 < e1:
                out.append(
                    Violation("no_overlap_with_buffer", m, e, f"overlap: {pid} {w1} at {s1} and {w2} at {s2}")
                )
            elif s2 < e1 + buffer:
                out.append(
                    Violation(
                        "no_overlap_with_buffer",
                        m,
                        e,
                        f"buffer: {pid} only {(s2 - e1)} between {w1} and {w2} at {s2}",
                    )
                )
        limit = cohort[pid].max_meetings_per_week
        if limit is not None:
            tz = ZoneInfo(cohort[pid].timezone)
            weeks = Counter(s.astimezone(tz).isocalendar()[:2] for s, *_ in items)
            for week, n in weeks.items():
                if n > limit:
                    out.append(
                        Violation(
                            "weekly_limit", "", "", f"{pid} has {n} meetings in week {week} (limit {limit})"
                        )
                    )
    return out
