"""What circles add to a run's outputs, written only when circles exist.

* ``circles.csv``: circle_id, mentor_id (empty for peer circles), member_ids (``;``-separated),
  score, reasons.
* ``schedule.json``: each circle's series in ``series`` and its milestones in ``events``, with
  ``circle_id``, ``member_ids``, ``mentor_id`` (null for a peer circle) and ``mentee_id`` null
  (``stored_circle`` builds them; ``scheduler.codec`` writes them; a cohort without circles has
  none, so its ``schedule.json`` is byte-identical).
* ``unmatched.csv``: people who asked for a circle and are in none, with the reason; ``either``
  people placed in a circle leave the one-to-one list.
* Every circle person's feed (``feeds.publish``, from the store): the circle's series and
  milestones, with the circle's members listed by name only (members opt in by choosing a circle).
* The run log's ``circles`` record (``circle_record``), from which ``explain`` later tells a person
  their circle or why they have none (``explain_circle``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from cohort.model import Cohort, PersonId
from cohort.program import Program
from cohort.text import write_csv
from matcher.model import Unmatched
from planner.circles.model import Circle, CirclePlan
from scheduler.model import CircleRecord, Series
from scheduler.model import Event as Milestone
from scheduler.recurrence import UTC, recurrence_of
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


def stored_circle(circle: Circle, program: Program, salt: str) -> CircleRecord:
    """One circle as the store and the feeds keep it (``scheduler.model.CircleRecord``): its
    series and milestones as ``Series``/``Event`` values with ``circle_id`` and ``member_ids``
    (UIDs keyed by the workspace secret, the cycle's start and the circle's people)."""
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


def explain_circle(
    record: Mapping[str, Any], cohort: Cohort, person_id: PersonId
) -> tuple[dict[str, Any] | None, list[str]]:
    """``explain``'s circle part for one person from the stored ``circles`` run record."""
    for c in record.get("formed", []):
        people = ([c["mentor_id"]] if c["mentor_id"] else []) + list(c["member_ids"])
        if person_id not in people:
            continue
        names = [cohort[p].name if p in cohort else p for p in people]
        role = "mentor" if person_id == c["mentor_id"] else "member"
        data = {**c, "as": role, "names": names}
        lines = [
            f"\ncircle {c['circle_id']} as {role}, with "
            + ", ".join(n for p, n in zip(people, names, strict=True) if p != person_id),
            f"  why: {c['reasons']}",
            f"  meets {c['meets']}",
        ]
        return data, lines
    reason = record.get("unplaced", {}).get(person_id)
    if reason:
        return {"unplaced": reason}, [f"\nnot in a circle: {reason}"]
    return None, []
