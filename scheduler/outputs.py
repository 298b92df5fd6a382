"""``schedule.json`` (``docs/interface.md`` §4) and per-person plain-words notes about clock changes."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from cohort.model import Cohort, PersonId
from scheduler.codec import event_to_dict, series_to_dict
from scheduler.model import Schedule
from scheduler.recurrence import zone


def schedule_dict(schedule: Schedule) -> dict[str, Any]:
    """The JSON document: series then events, in a deterministic order (``scheduler.codec``):
    the pairs' by mentor and mentee, then circles' (``circle_id`` set) by circle."""
    series = [
        series_to_dict(s, contract=True)
        for s in sorted(
            schedule.series, key=lambda s: (bool(s.circle_id), s.circle_id, s.mentor_id, s.mentee_id)
        )
    ]
    events = [
        event_to_dict(e, contract=True)
        for e in sorted(
            schedule.events,
            key=lambda e: (bool(e.circle_id), e.circle_id, e.mentor_id, e.mentee_id, e.start, e.kind),
        )
    ]
    return {"series": series, "events": events}


def write_schedule_json(schedule: Schedule, path: str | Path) -> None:
    """Write ``schedule.json`` (stable bytes for the same schedule)."""
    Path(path).write_text(
        json.dumps(schedule_dict(schedule), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def _dates(days: list[datetime]) -> str:
    """'10, 17, 24 March and 7 April'."""
    by_month: dict[tuple[int, int], list[int]] = {}
    for d in sorted(days):
        by_month.setdefault((d.year, d.month), []).append(d.day)
    parts = [
        ", ".join(str(x) for x in ds) + " " + datetime(y, m, 1).strftime("%B")
        for (y, m), ds in by_month.items()
    ]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def dst_notes(schedule: Schedule, cohort: Cohort) -> dict[PersonId, list[str]]:
    """Per person, in plain words, the weeks when a regular meeting is at an unusual local time.

    E.g. "Tuesdays with Ana: 12:00 your time, 13:00 on 10, 17, 24 March". People whose meetings
    never move get no entry.
    """
    notes: dict[PersonId, list[str]] = {}
    for s in sorted(schedule.series, key=lambda s: (s.mentor_id, s.mentee_id)):
        for pid, partner in ((s.mentor_id, s.mentee_id), (s.mentee_id, s.mentor_id)):
            person = cohort[pid]
            tz = zone(person.timezone)
            local = [t.astimezone(tz) for t in s.occurrences]
            if not local:
                continue
            key = lambda t: (t.strftime("%A"), t.strftime("%H:%M"))  # noqa: E731
            usual = Counter(key(t) for t in local).most_common(1)[0][0]
            odd: dict[tuple[str, str], list[datetime]] = {}
            for t in local:
                if key(t) != usual:
                    odd.setdefault(key(t), []).append(t)
            if not odd:
                continue
            parts = []
            for (day, hhmm), ts in sorted(odd.items(), key=lambda kv: kv[1][0]):
                at = hhmm if day == usual[0] else f"{day} {hhmm}"
                parts.append(f"{at} on {_dates(ts)}")
            name = cohort[partner].name if partner in cohort else partner
            notes.setdefault(pid, []).append(
                f"{usual[0]}s with {name}: {usual[1]} your time, "
                + "; ".join(parts)
                + " (a clock change in one of your time zones)"
            )
    return notes
