"""An independent checker of ``schedule.json`` (does NOT import the scheduler).

It re-expands every series from its ``dtstart``/``rrule``/``exdates`` with ``dateutil.rrule`` and
``zoneinfo``, adds the events, and reports named violations: occurrences that do not match the
RRULE, overlaps and buffer violations per person, meetings on holidays or blackout dates,
weekly limits exceeded, and meetings outside either person's availability (local time, start
and end).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from cohort.model import Cohort
from cohort.program import Program

UTC = UTC


def _parse_utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def expand_series(item: dict[str, Any]) -> list[datetime]:
    """UTC starts of a series from its RRULE, minus its exdates."""
    tz = ZoneInfo(item["timezone"])
    start = datetime.fromisoformat(item["dtstart"]).replace(tzinfo=tz)
    rule = rrulestr(item["rrule"], dtstart=start)
    ex = {datetime.fromisoformat(x) for x in item["exdates"]}
    return [t.astimezone(UTC) for t in rule if t.replace(tzinfo=None) not in ex]


def _inside(person: Any, start: datetime, minutes: int) -> bool:
    tz = ZoneInfo(person.timezone)
    ls = start.astimezone(tz)
    le = (start + timedelta(minutes=minutes)).astimezone(tz)
    s = ls.weekday() * 1440 + ls.hour * 60 + ls.minute
    span = int((le.replace(tzinfo=None) - ls.replace(tzinfo=None)).total_seconds() // 60)
    if span != minutes:
        return False  # the meeting straddles a clock change
    week = 10080
    for a, b in person.availability:
        for shift in (0, week):
            if a + shift <= s and s + span <= b + shift:
                return True
    # a window continuing past Sunday midnight into Monday
    covered = set()
    for a, b in person.availability:
        covered.update(range(a, b))
    return all(((s + i) % week) in covered for i in range(span))


def check(doc: dict[str, Any], cohort: Cohort, program: Program) -> list[str]:
    """Every violation found in a ``schedule.json`` document (empty when the schedule is sound)."""
    problems: list[str] = []
    cycle = program.cycle
    holidays = set(cycle.holidays)
    meetings: list[tuple[str, str, datetime, int, str]] = []
    for item in doc["series"]:
        m, e = item["mentor_id"], item["mentee_id"]
        expanded = expand_series(item)
        listed = [_parse_utc(t) for t in item["occurrences"]]
        if expanded != listed:
            problems.append(f"rrule_mismatch: {m}/{e} RRULE gives {len(expanded)} meetings, "
                            f"occurrences lists {len(listed)}")
        for t in listed:
            meetings.append((m, e, t, item["duration_minutes"], "series"))
    for ev in doc["events"]:
        meetings.append((ev["mentor_id"], ev["mentee_id"], _parse_utc(ev["start"]), ev["duration_minutes"],
                         ev["kind"]))
    per_person: dict[str, list[tuple[datetime, datetime, str]]] = {}
    for m, e, t, minutes, kind in meetings:
        end = t + timedelta(minutes=minutes)
        if not (cycle.start - timedelta(days=1) <= t.date() <= cycle.last_day + timedelta(days=1)):
            problems.append(f"outside_cycle: {m}/{e} {kind} at {t}")
        for pid in (m, e):
            person = cohort[pid]
            local_day: date = t.astimezone(ZoneInfo(person.timezone)).date()
            if local_day in holidays:
                problems.append(f"holiday: {m}/{e} {kind} on {local_day} ({pid}'s calendar)")
            if any(lo <= local_day <= hi for lo, hi in person.unavailable):
                problems.append(f"blackout: {pid} is away on {local_day} ({m}/{e} {kind})")
            if not _inside(person, t, minutes):
                problems.append(f"outside_availability: {m}/{e} {kind} at {t:%Y-%m-%d %H:%M}Z for {pid}")
            per_person.setdefault(pid, []).append((t, end, f"{m}/{e} {kind}"))
    buffer = timedelta(minutes=cycle.buffer_minutes)
    for pid, items in per_person.items():
        items.sort()
        for (s1, e1, w1), (s2, _e2, w2) in zip(items, items[1:], strict=False):
            if s2 < e1:
                problems.append(f"overlap: {pid} {w1} at {s1} and {w2} at {s2}")
            elif s2 < e1 + buffer:
                problems.append(f"buffer: {pid} only {(s2 - e1)} between {w1} and {w2} at {s2}")
        limit = cohort[pid].max_meetings_per_week
        if limit is not None:
            tz = ZoneInfo(cohort[pid].timezone)
            weeks = Counter(s.astimezone(tz).isocalendar()[:2] for s, _, _ in items)
            for week, n in weeks.items():
                if n > limit:
                    problems.append(f"weekly_limit: {pid} has {n} meetings in week {week} (limit {limit})")
    return problems
