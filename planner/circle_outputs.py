"""What circles add to a run's outputs, written only when circles exist.

* ``circles.csv``: circle_id, mentor_id (empty for peer circles), member_ids (``;``-separated),
  score, reasons.
* ``schedule.json`` gains a ``circles`` list (never present without circles, so other cohorts'
  ``schedule.json`` is byte-identical): one series per circle with ``circle_id``, ``mentor_id``,
  ``member_ids``, the RRULE in the anchor zone, exdates, occurrences (UTC) and its milestones.
* ``unmatched.csv``: people who asked for a circle and are in none, with the reason; ``either``
  people placed in a circle leave the one-to-one list.
* Every circle person's calendar (``circle_calendar``): the circle's series and milestones, with
  the circle's members listed by name only (members opt in by choosing a circle).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from icalendar import Calendar, Event, vRecur

from cohort.model import Cohort, PersonId
from cohort.program import Program
from cohort.text import write_csv
from matcher.model import Unmatched
from planner.circles import Circle, CirclePlan
from scheduler.calendar import vtimezone
from scheduler.codec import rrule_parts, rrule_text
from scheduler.model import CircleRecord, Series
from scheduler.model import Event as Milestone
from scheduler.recurrence import UTC, recurrence_of, zone
from scheduler.recurrence import dtstart as recurrence_dtstart

CIRCLE_AGENDA = {
    "regular": "Circle meeting on {goals}",
    "kickoff": "Circle kickoff: goals ({goals}), how the circle works, introductions",
    "checkin": "Circle check-in on {goals}: progress, challenges, next steps",
    "closing": "Circle closing: what was achieved on {goals}, next steps after the cycle",
}


def circle_uid(salt: str, circle: Circle, program: Program, what: str) -> str:
    msg = "|".join((program.cycle.start.isoformat(), "circle", *circle.people, what)).encode()
    return hmac.new(salt.encode(), msg, hashlib.sha256).hexdigest()[:32] + "@mentorsync"


def _utc(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def circle_series(circle: Circle, program: Program, salt: str) -> dict[str, Any]:
    """One circle as ``schedule.json`` holds it."""
    slot = circle.slot
    rule = recurrence_of(slot.pattern, program.cycle.start, program.cycle.last_day)
    first = min(slot.exdates + tuple(_local(t, slot.pattern.timezone) for t in slot.occurrences))
    goals = ", ".join(circle.goals)
    return {
        "circle_id": circle.id,
        "mentor_id": circle.mentor_id,
        "member_ids": list(circle.member_ids),
        "uid": circle_uid(salt, circle, program, "series"),
        "timezone": slot.pattern.timezone,
        "dtstart": first.isoformat(timespec="seconds"),
        "duration_minutes": slot.pattern.duration_minutes,
        "rrule": rrule_text(rule),
        "exdates": [x.isoformat(timespec="seconds") for x in sorted(slot.exdates)],
        "occurrences": [_utc(t) for t in sorted(slot.occurrences)],
        "cadence": slot.pattern.cadence,
        "agenda": CIRCLE_AGENDA["regular"].format(goals=goals),
        "milestones": [
            {
                "kind": m.kind,
                "uid": circle_uid(salt, circle, program, f"{m.kind}|{n}"),
                "start": _utc(m.start),
                "duration_minutes": m.duration_minutes,
                "agenda": CIRCLE_AGENDA.get(m.kind, CIRCLE_AGENDA["checkin"]).format(goals=goals),
            }
            for n, m in enumerate(slot.events)
        ],
    }


def stored_circle(circle: Circle, program: Program, salt: str) -> CircleRecord:
    """One circle as the store and the feeds keep it (``scheduler.model.CircleRecord``): its
    series and milestones as ``Series``/``Event`` values with ``circle_id`` and ``member_ids``
    (same UIDs and texts as ``circle_series``)."""
    slot, start, last = circle.slot, program.cycle.start, program.cycle.last_day
    pattern = slot.pattern
    goals = ", ".join(circle.goals)
    mentor = circle.mentor_id or ""
    series = Series(
        mentor_id=mentor,
        mentee_id="",
        uid=circle_uid(salt, circle, program, "series"),
        timezone=pattern.timezone,
        dtstart=recurrence_dtstart(pattern, start, last),
        duration_minutes=pattern.duration_minutes,
        recurrence=recurrence_of(pattern, start, last),
        exdates=tuple(sorted(slot.exdates)),
        occurrences=tuple(sorted(t.astimezone(UTC) for t in slot.occurrences)),
        cadence=pattern.cadence,
        agenda=CIRCLE_AGENDA["regular"].format(goals=goals),
        circle_id=circle.id,
        member_ids=circle.member_ids,
    )
    events = tuple(
        Milestone(
            mentor,
            "",
            circle_uid(salt, circle, program, f"{m.kind}|{n}"),
            m.kind,
            m.start.astimezone(UTC),
            m.duration_minutes,
            timezone=pattern.timezone,
            agenda=CIRCLE_AGENDA.get(m.kind, CIRCLE_AGENDA["checkin"]).format(goals=goals),
            circle_id=circle.id,
            member_ids=circle.member_ids,
        )
        for n, m in enumerate(slot.events)
    )
    kind = "mentor-led" if circle.mentor_id else "peer"
    return CircleRecord(
        circle.id,
        kind,
        circle.mentor_id,
        circle.member_ids,
        circle.score,
        circle.reasons,
        circle.goals,
        circle.languages,
        series,
        events,
    )


def circle_records(plan: CirclePlan, program: Program, salt: str) -> tuple[CircleRecord, ...]:
    """Every circle of the plan as ``stored_circle`` gives it, in the plan's order."""
    return tuple(stored_circle(c, program, salt) for c in plan.circles)


def _local(t: datetime, tzid: str) -> datetime:
    return t.astimezone(zone(tzid)).replace(tzinfo=None)


def schedule_with_circles(document: dict[str, Any], plan: CirclePlan, program: Program, salt: str) -> dict:
    """``schedule.json``'s document with the ``circles`` list added (only when circles exist)."""
    if not plan.circles:
        return document
    return {**document, "circles": [circle_series(c, program, salt) for c in plan.circles]}


def write_circles_csv(path: Any, circles: Iterable[Circle]) -> None:
    rows = ([c.id, c.mentor_id or "", ";".join(c.member_ids), c.score, c.reasons] for c in circles)
    write_csv(path, ["circle_id", "mentor_id", "member_ids", "score", "reasons"], rows)


def unmatched_with_circles(unmatched: Sequence[Unmatched], plan: CirclePlan) -> list[Unmatched]:
    """The one-to-one list without people placed in circles, then circle people not placed."""
    placed = {m for c in plan.circles for m in c.member_ids}
    rows = [u for u in unmatched if u.id not in placed]
    listed = {u.id for u in rows}
    for u in plan.unplaced:
        if u.id in listed:
            rows = [
                r if r.id != u.id else Unmatched(r.id, r.role, f"{r.reason}; circle: {u.reason}")
                for r in rows
            ]
        else:
            rows.append(Unmatched(u.id, "circle", u.reason))
    return rows


def circle_of(plan: CirclePlan, person_id: PersonId) -> Circle | None:
    return next((c for c in plan.circles if person_id in c.people), None)


def circle_calendar(
    person_id: PersonId, plan: CirclePlan, cohort: Cohort, program: Program, salt: str
) -> Calendar:
    """The circle meetings of one person as iCalendar VEVENTs (series with RRULE/EXDATE in the
    anchor zone, and milestones); attendees by name only."""
    cal = Calendar()
    cal.add("prodid", "-//mentorsync//circles//EN")
    cal.add("version", "2.0")
    zones: set[str] = set()
    for circle in plan.circles:
        if person_id not in circle.people:
            continue
        data = circle_series(circle, program, salt)
        tzid = data["timezone"]
        zones.add(tzid)
        names = ", ".join(cohort[p].name for p in circle.people)
        lead = f" (led by {cohort[circle.mentor_id].name})" if circle.mentor_id else ""
        about = f"{data['agenda']}\nCircle {circle.id}{lead}: {names}"
        tz = zone(tzid)
        series = Event()
        series.add("uid", data["uid"])
        series.add("summary", f"Mentoring circle {circle.id}")
        series.add("description", about)
        start = datetime.fromisoformat(data["dtstart"]).replace(tzinfo=tz)
        series.add("dtstart", start)
        series.add("duration", timedelta(minutes=data["duration_minutes"]))
        series.add("dtstamp", datetime(2000, 1, 1, tzinfo=UTC))
        rule = recurrence_of(circle.slot.pattern, program.cycle.start, program.cycle.last_day)
        series.add("rrule", vRecur.from_ical(";".join(f"{k}={v}" for k, v in rrule_parts(rule).items())))
        for x in sorted(circle.slot.exdates):
            series.add("exdate", x.replace(tzinfo=tz))
        cal.add_component(series)
        for m, item in zip(circle.slot.events, data["milestones"], strict=True):
            ev = Event()
            ev.add("uid", item["uid"])
            ev.add("summary", f"Mentoring circle {circle.id}: {m.kind}")
            ev.add("description", f"{item['agenda']}\nCircle {circle.id}{lead}: {names}")
            ev.add("dtstart", m.start.astimezone(tz))
            ev.add("duration", timedelta(minutes=m.duration_minutes))
            ev.add("dtstamp", datetime(2000, 1, 1, tzinfo=UTC))
            cal.add_component(ev)
    years = (program.cycle.start.year, program.cycle.last_day.year)
    for tzid in sorted(zones):
        if tzid != "UTC":
            cal.add_component(vtimezone(tzid, years[0] - 1, years[1] + 1))
    return cal


def circle_rows(plan: CirclePlan) -> list[dict[str, Any]]:
    """Summary figures for ``summary.json``."""
    return [{"circle_id": c.id, "size": len(c.member_ids)} for c in plan.circles]


def circle_summary(plan: CirclePlan) -> dict[str, Any]:
    """``summary.json``'s circle figures; after a cycle with circles, which of them continued (in
    their old slot) and which dissolved."""
    across = (
        {
            "continued": list(plan.continued),
            "same_slot": list(plan.same_slot),
            "dissolved": list(plan.dissolved),
        }
        if plan.continued or plan.dissolved
        else {}
    )
    return {
        "circles": {
            "count": len(plan.circles),
            "pool": plan.pool,
            "placed": plan.placed,
            "bound": plan.bound,
            "gap": round(plan.gap, 4),
            "method": plan.method,
            "candidates": plan.candidates,
            "seconds": round(plan.seconds, 3),
        }
        | across
    }


def circle_record(plan: CirclePlan) -> dict[str, Any]:
    """What ``explain`` needs later, kept in the store's run log (kind ``circles``)."""
    return {
        **circle_summary(plan),
        "formed": [
            {
                "circle_id": c.id,
                "mentor_id": c.mentor_id,
                "member_ids": list(c.member_ids),
                "score": c.score,
                "reasons": c.reasons,
                "meets": c.slot.pattern.describe(),
            }
            for c in plan.circles
        ],
        "unplaced": {u.id: u.reason for u in plan.unplaced},
    }
