"""Domain results of scheduling: recurring series and one-off milestone events.

Conventions: ``Series.dtstart`` and ``Series.exdates`` are naive local date-times in the series'
anchor ``timezone``; ``occurrences`` and ``Event.start`` are aware UTC datetimes. Series
occurrences plus events are every meeting a pair has; calendar feeds hold exactly these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from cohort.model import PersonId


@dataclass(frozen=True)
class Series:
    """One pair's regular meeting: a single RRULE in one anchor time zone."""

    mentor_id: PersonId
    mentee_id: PersonId
    uid: str
    timezone: str
    dtstart: datetime  # naive, local to ``timezone``
    duration_minutes: int
    rrule: str  # RFC 5545 RRULE value, e.g. "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;WKST=MO;UNTIL=20270730T235959Z"
    exdates: tuple[datetime, ...]  # naive local starts of skipped instances (holidays, blackouts)
    occurrences: tuple[datetime, ...]  # aware UTC starts of every meeting that takes place
    cadence: str = "biweekly"
    agenda: str = ""
    sequence: int = 0


@dataclass(frozen=True)
class Event:
    """A milestone meeting outside the series (kickoff, check-in, review, closing)."""

    mentor_id: PersonId
    mentee_id: PersonId
    uid: str
    kind: str
    start: datetime  # aware UTC
    duration_minutes: int
    timezone: str = "UTC"  # the zone to show it in (the series' anchor)
    agenda: str = ""
    sequence: int = 0


@dataclass(frozen=True)
class Unplaceable:
    """A matched pair for which no valid recurring slot exists, and why."""

    mentor_id: PersonId
    mentee_id: PersonId
    reason: str


@dataclass(frozen=True)
class Schedule:
    series: tuple[Series, ...]
    events: tuple[Event, ...]
    unplaceable: tuple[Unplaceable, ...] = ()
    stats: dict[str, object] = field(default_factory=dict)
