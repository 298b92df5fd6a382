"""Domain results of scheduling: recurring series and one-off milestone events.

Conventions: ``Series.dtstart`` and ``Series.exdates`` are naive local date-times in the series'
anchor ``timezone``; ``occurrences`` and ``Event.start`` are aware UTC datetimes. Series
occurrences plus events are every meeting a pair has; calendar feeds hold exactly these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from cohort.model import PersonId

WEEKDAY_CODES: tuple[str, ...] = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class Recurrence:
    """A recurrence rule (RFC 5545 RRULE) as typed fields. Only writers render it as RRULE text
    (``scheduler.codec.rrule_text``); nothing reads RRULE text back but the codec of stored
    records (``scheduler.codec.parse_rrule``)."""

    freq: str  # "WEEKLY" | "MONTHLY" (RFC 5545 FREQ)
    interval: int = 1
    byday: tuple[tuple[int, int], ...] = ()  # (ordinal, weekday 0 = Monday); ordinal 0: every such day
    wkst: int | None = None  # the weekday weeks start on, when the rule says
    count: int | None = None
    until: datetime | date | None = None  # aware (UTC), naive (local to the series' zone) or a date

    @property
    def is_open(self) -> bool:
        """Neither UNTIL nor COUNT bounds the rule."""
        return self.until is None and self.count is None


@dataclass(frozen=True)
class Series:
    """One pair's regular meeting: a single RRULE in one anchor time zone."""

    mentor_id: PersonId
    mentee_id: PersonId
    uid: str
    timezone: str
    dtstart: datetime  # naive, local to ``timezone``
    duration_minutes: int
    recurrence: Recurrence  # e.g. every other Tuesday until the cycle's last day (UNTIL in UTC)
    exdates: tuple[datetime, ...]  # naive local starts of skipped instances (holidays, blackouts)
    occurrences: tuple[datetime, ...]  # aware UTC starts of every meeting that takes place
    cadence: str = "biweekly"
    agenda: str = ""
    sequence: int = 0
    # A circle's series (``CircleRecord``): its id and members besides the mentor; ``mentor_id``
    # is the circle's mentor ("" for a peer circle) and ``mentee_id`` is "".
    circle_id: str = ""
    member_ids: tuple[PersonId, ...] = ()

    @property
    def people(self) -> tuple[PersonId, ...]:
        """Everyone who meets: mentor and mentee, or a circle's mentor (if any) and members."""
        return tuple(p for p in (self.mentor_id, self.mentee_id, *self.member_ids) if p)


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
    circle_id: str = ""  # a circle's milestone: as in ``Series``
    member_ids: tuple[PersonId, ...] = ()

    @property
    def people(self) -> tuple[PersonId, ...]:
        return tuple(p for p in (self.mentor_id, self.mentee_id, *self.member_ids) if p)


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


@dataclass(frozen=True)
class CircleRecord:
    """A formed circle as the store keeps it (``store.repo.save_circles``): who meets, why, and
    every meeting. ``series`` and ``events`` carry ``circle_id`` and ``member_ids``; their
    ``mentor_id`` is the circle's mentor ("" for a peer circle) and ``mentee_id`` is ""."""

    circle_id: str
    kind: str  # "mentor-led" | "peer"
    mentor_id: PersonId | None
    member_ids: tuple[PersonId, ...]  # besides the mentor, in the circle's order
    score: int
    reasons: str
    goals: tuple[str, ...]
    languages: tuple[str, ...]
    series: Series
    events: tuple[Event, ...] = ()

    @property
    def people(self) -> tuple[PersonId, ...]:
        """Everyone who meets: the mentor first (when there is one), then the members."""
        return ((self.mentor_id,) if self.mentor_id else ()) + self.member_ids
