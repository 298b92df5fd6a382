"""The cohort: immutable domain types shared by the matcher, the scheduler and the store.

Conventions used everywhere in mentorsync:

* Intervals are half-open ``[start, end)``.
* A *week minute* is minutes since Monday 00:00 in the person's own local time, in
  ``[0, 10080]``; availability is a tuple of sorted, merged, non-empty week-minute intervals.
* Instants are timezone-aware ``datetime`` objects in UTC; local calendar dates are ``date``.
* Topic, language and interest strings are normalised (trimmed, case-folded, inner spaces single)
  so that set intersections are meaningful; ``display`` forms are kept for explanations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

PersonId = str
Role = Literal["mentor", "mentee", "both"]
Cadence = Literal["weekly", "biweekly", "monthly"]
CalendarMode = Literal["feed", "invite"]
Format = Literal["one-to-one", "circle", "either"]
WeekInterval = tuple[int, int]
DateRange = tuple[date, date]  # inclusive on both ends, in the person's local calendar

ROLES: tuple[str, ...] = ("mentor", "mentee", "both")
CADENCES: tuple[str, ...] = ("weekly", "biweekly", "monthly")
CALENDAR_MODES: tuple[str, ...] = ("feed", "invite")  # subscribe to a feed, or get email invitations
FORMATS: tuple[str, ...] = ("one-to-one", "circle", "either")  # how a person wants to be mentored
DAY_NAMES: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MINUTES_PER_DAY = 1440
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY


def normalise_term(text: str) -> str:
    """The comparable form of a topic, language or interest: trimmed, case-folded, one space."""
    return " ".join(text.split()).casefold()


@dataclass(frozen=True)
class Person:
    """One participant as loaded and validated from the participants file.

    ``line`` is the source line (or JSON object index + 1) kept for error messages.
    ``goals``/``expertise``/``interests``/``languages`` hold normalised terms in file order with
    duplicates removed. ``languages`` is never empty after loading: the program language fills it.
    ``ranks``: a mentee's mentors (or a mentor's mentees) in order of preference, see ``matcher.ranks``.
    """

    id: PersonId
    name: str
    email: str
    role: Role
    timezone: str
    availability: tuple[WeekInterval, ...]
    goals: tuple[str, ...] = ()
    expertise: tuple[str, ...] = ()
    interests: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    department: str | None = None
    manager_id: PersonId | None = None
    level: int | None = None
    capacity: int | None = None
    cadence: Cadence | None = None
    avoid: frozenset[PersonId] = frozenset()
    prefer: frozenset[PersonId] = frozenset()
    unavailable: tuple[DateRange, ...] = ()
    max_meetings_per_week: int | None = None
    line: int = 0
    ranks: tuple[PersonId, ...] = ()  # ids in order of preference (first = first choice)
    calendar: CalendarMode = "feed"  # "invite": meetings come as email invitations, not in the feed
    format: Format = "one-to-one"  # "circle": group mentoring only; "either": a pair, else a circle
    introductions: bool = False  # opted in to introductions to people of their partners' networks

    @property
    def is_mentor(self) -> bool:
        return self.role in ("mentor", "both")

    @property
    def is_mentee(self) -> bool:
        return self.role in ("mentee", "both")

    @property
    def weekly_available_minutes(self) -> int:
        return sum(end - start for start, end in self.availability)

    def is_away(self, day: date) -> bool:
        """Whether ``day`` (in this person's local calendar) falls in an ``unavailable`` range."""
        return any(lo <= day <= hi for lo, hi in self.unavailable)


@dataclass(frozen=True)
class Cohort:
    """All participants of one import, in file order, with the file they came from."""

    people: tuple[Person, ...]
    source: str = ""
    by_id: Mapping[PersonId, Person] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_id", {p.id: p for p in self.people})

    @property
    def mentors(self) -> tuple[Person, ...]:
        return tuple(p for p in self.people if p.is_mentor)

    @property
    def mentees(self) -> tuple[Person, ...]:
        return tuple(p for p in self.people if p.is_mentee)

    def __len__(self) -> int:
        return len(self.people)

    def __getitem__(self, person_id: PersonId) -> Person:
        return self.by_id[person_id]

    def __contains__(self, person_id: object) -> bool:
        return person_id in self.by_id
