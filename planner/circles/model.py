"""The circle plan's types: a formed circle, the plan of a cycle's circles, and what forming them
must respect from earlier cycles (``planner.circles.continuity`` builds ``CircleContinuity``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cohort.model import PersonId
from planner.circles.slots import CircleSlot
from scheduler.recurrence import Pattern


@dataclass(frozen=True)
class Circle:
    """One formed circle with its slot."""

    id: str
    mentor_id: PersonId | None
    member_ids: tuple[PersonId, ...]
    goals: tuple[str, ...]  # shared by every member (and in the leader's expertise)
    languages: tuple[str, ...]  # common to everyone
    score: int
    reasons: str
    slot: CircleSlot

    @property
    def people(self) -> tuple[PersonId, ...]:
        """Everyone who meets: the leader first, then the members."""
        return ((self.mentor_id,) if self.mentor_id else ()) + self.member_ids


@dataclass(frozen=True)
class Unplaced:
    """A circle person not placed in any circle, and why."""

    id: PersonId
    reason: str


@dataclass(frozen=True)
class CirclePlan:
    circles: tuple[Circle, ...]
    unplaced: tuple[Unplaced, ...]
    pool: int  # people who could join a circle
    placed: int
    bound: float  # most people placed, over the candidate circles
    gap: float
    objective: float
    method: str  # "exact" (complete enumeration) or "seeded" (bounded search per person)
    candidates: int
    seconds: float
    stats: Mapping[str, object] = field(default_factory=dict)
    continued: tuple[str, ...] = ()  # continuing circles that continue (their ids)
    same_slot: tuple[str, ...] = ()  # ... of them in their old slot
    dissolved: tuple[str, ...] = ()  # continuing circles that could not continue


@dataclass(frozen=True)
class KeptCircle:
    """A circle of the previous cycle that continues (``planner.circles.continuity`` decides which)."""

    id: str
    mentor_id: PersonId | None
    member_ids: tuple[PersonId, ...]  # the members who stay (said yes, still in the roster)
    pattern: Pattern | None = None  # its slot placed in this cycle, kept when still valid


@dataclass(frozen=True)
class CircleContinuity:
    """What forming circles must respect from earlier cycles; empty for a first cycle."""

    kept: tuple[KeptCircle, ...] = ()
    """Continuing circles: each keeps its id, gets free places filled or shrinks (above
    ``min_size``), or dissolves when neither is possible."""
    barred: frozenset[tuple[str, PersonId]] = frozenset()
    """(circle id, person): the person said no to that circle and never rejoins it."""
    ended: frozenset[frozenset[PersonId]] = frozenset()
    """{person, other}: someone said no to a circle they were both in: never in one circle again."""
    used_ids: frozenset[str] = frozenset()
    """Circle ids of earlier cycles: a new circle never takes one."""


NO_CONTINUITY = CircleContinuity()


EMPTY = CirclePlan((), (), 0, 0, 0.0, 0.0, 0.0, "none", 0, 0.0)
