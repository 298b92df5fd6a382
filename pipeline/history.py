"""What a person's feed holds: their history plus the current cycle, and who it names.

Feeds across cycles keep every earlier meeting: closed cycles' schedules and circles (each series
stops at its own cycle's last day) and series cut short by a mid-cycle re-match (stored as
``ENDED_KIND`` run records, since the cycle's schedule holds its current pairs). ``feed_view`` is
the one place that assembles this, for ``run``, ``rematch`` and ``publish`` alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cohort.model import Cohort, Person, PersonId
from scheduler.codec import event_from_dict, event_to_dict, series_from_dict, series_to_dict
from scheduler.model import CircleRecord, Event, Schedule, Series
from store import Workspace, former_people, list_cycles, load_circles, load_run_summaries, load_schedule
from store import serialize as sz

ENDED_KIND = "ended-series"  # run records holding series cut short by a mid-cycle re-match


def ended_record(
    series: Iterable[Series], events: Iterable[Event], left: Iterable[Person], at: str
) -> dict[str, Any]:
    """The ``ENDED_KIND`` run record of a mid-cycle re-match: the cut series and events, and the
    leavers' records (their roster rows are replaced, yet history still names them)."""
    encode = sz.person_encoder()
    people = sorted(left, key=lambda p: p.id)
    return {
        "at": at,
        "left": [p.id for p in people],
        "series": [series_to_dict(s) for s in series],
        "events": [event_to_dict(e) for e in events],
        "people": [list(encode(0, p)) for p in people],
    }


@dataclass(frozen=True)
class History:
    """Earlier meetings, and the records of people who left mid-cycle."""

    schedule: Schedule
    left_mid_cycle: Mapping[PersonId, Person]


def history(ws: Workspace, people: Iterable[PersonId], *, before: int | None = None) -> History:
    """Earlier meetings of ``people``: closed cycles' schedules and series ended mid-cycle.

    ``before``: the current cycle's id, whose own schedule is left out (it is the current one).
    An item is kept when at least one of its two people is in ``people``; a UID seen twice keeps
    its latest form.
    """
    who = set(people)
    series: dict[str, Series] = {}
    events: dict[str, Event] = {}
    for cycle in list_cycles(ws):
        if cycle.status != "closed" or cycle.id == before:
            continue
        sched = load_schedule(ws, cycle.id)
        if sched is None:
            continue
        series.update({s.uid: s for s in sched.series})
        events.update({e.uid: e for e in sched.events})
        for circle in load_circles(ws, cycle.id):
            series[circle.series.uid] = circle.series
            events.update({e.uid: e for e in circle.events})
    decode = sz.person_decoder()
    left: dict[PersonId, Person] = {}
    for run in load_run_summaries(ws, kind=ENDED_KIND):
        series.update({d["uid"]: series_from_dict(d) for d in run.summary.get("series", [])})
        events.update({d["uid"]: event_from_dict(d) for d in run.summary.get("events", [])})
        left.update({row[0]: decode(tuple(row)) for row in run.summary.get("people", [])})
    return History(
        Schedule(
            tuple(s for s in series.values() if set(s.people) & who),
            tuple(e for e in events.values() if set(e.people) & who),
        ),
        left,
    )


def history_schedule(ws: Workspace, people: Iterable[PersonId], *, before: int | None = None) -> Schedule:
    """``history(...).schedule``."""
    return history(ws, people, before=before).schedule


def combined(history: Schedule, current: Schedule) -> Schedule:
    """History plus the current schedule (what feeds hold); the current form of a UID wins."""
    uids = {s.uid for s in current.series} | {e.uid for e in current.events}
    return Schedule(
        tuple(s for s in history.series if s.uid not in uids) + current.series,
        tuple(e for e in history.events if e.uid not in uids) + current.events,
    )


@dataclass(frozen=True)
class FeedView:
    """What the feeds of a cycle hold (history plus ``current``) and the people of history items
    who are no longer in the roster, so those meetings keep naming them."""

    schedule: Schedule
    former: Mapping[PersonId, Person]


def with_circles(schedule: Schedule, circles: Iterable[CircleRecord]) -> Schedule:
    """``schedule`` plus the circles' series and milestones (what feeds hold of a cycle)."""
    records = list(circles)
    if not records:
        return schedule
    return Schedule(
        schedule.series + tuple(c.series for c in records),
        schedule.events + tuple(e for c in records for e in c.events),
        schedule.unplaceable,
        schedule.stats,
    )


def feed_view(ws: Workspace, cohort: Cohort, current: Schedule, cycle_id: int) -> FeedView:
    """The feeds' content for ``cohort`` in cycle ``cycle_id`` with its ``current`` schedule and
    the cycle's stored circles (``store.load_circles``)."""
    past = history(ws, (p.id for p in cohort.people), before=cycle_id)
    items = combined(past.schedule, with_circles(current, load_circles(ws, cycle_id)))
    gone = {pid for s in items.series for pid in s.people if pid not in cohort}
    gone |= {pid for e in items.events for pid in e.people if pid not in cohort}
    # a stored roster's record, or (the latest) one kept when its person left mid-cycle
    former = former_people(ws, gone)
    former.update({pid: p for pid, p in past.left_mid_cycle.items() if pid in gone})
    return FeedView(items, former)
