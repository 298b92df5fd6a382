"""Domain results of matching: candidates, pairs and non-matches (immutable, id-based).

Scores are integers (CP-SAT needs integer coefficients): each component is an integer already
multiplied by its weight from ``[weights]``; ``score`` is their sum and is what the objective sums.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cohort.model import PersonId

COMPONENTS: tuple[str, ...] = (
    "goals",
    "availability",
    "interests",
    "language",
    "level",
    "prefer",
    "timezone",
)


@dataclass(frozen=True)
class Candidate:
    """A mentor/mentee pair that passed every hard rule, with its score broken down."""

    mentor_id: PersonId
    mentee_id: PersonId
    score: int
    components: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Pair:
    """A formed pair, with the plain-words reasons shown to the coordinator."""

    mentor_id: PersonId
    mentee_id: PersonId
    score: int
    components: Mapping[str, int] = field(default_factory=dict)
    reasons: str = ""


@dataclass(frozen=True)
class Unmatched:
    """A person left without a partner, with the binding constraint in plain words."""

    id: PersonId
    role: str  # "mentor" or "mentee": the side on which this person is unmatched
    reason: str


@dataclass(frozen=True)
class MatchResult:
    """Everything ``matcher.solve`` decides; ``objective``/``bound``/``gap`` go to summary.json."""

    pairs: tuple[Pair, ...]
    unmatched: tuple[Unmatched, ...]
    candidates: tuple[Candidate, ...]
    matched: int
    objective: float
    bound: float
    gap: float
    method: str
    solve_seconds: float
    stats: Mapping[str, object] = field(default_factory=dict)
