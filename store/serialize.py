"""Conversions between domain values and the column values the store writes.

Built for bulk: a 200,000-person roster is encoded and decoded in about a second, so list fields are
JSON-encoded through memo tables (real cohorts repeat the same languages, goals and availability
many times) and rows are plain tuples in the column order of ``PERSON_COLUMNS``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from cohort.model import Person

# the date-time text conventions live in the one codec of schedule values
from scheduler.codec import local_text, local_value, utc_text, utc_value

_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_decode = json.JSONDecoder().decode

PERSON_COLUMNS: tuple[str, ...] = (
    "person_id",
    "ord",
    "name",
    "email",
    "role",
    "timezone",
    "availability",
    "goals",
    "expertise",
    "interests",
    "languages",
    "department",
    "manager_id",
    "level",
    "capacity",
    "cadence",
    "avoid",
    "prefer",
    "unavailable",
    "max_meetings_per_week",
    "line",
    "ranks",
    "calendar",
    "format",
    "introductions",
)


def dumps(value: Any) -> str:
    """Compact JSON; values JSON cannot hold (a date, a set) are written as their ``str``."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def loads(text: str) -> Any:
    return _decode(text)


def series_columns(d: Mapping[str, Any]) -> tuple[Any, ...]:
    """A series' stored columns after its owner's (``series_to_dict``'s form): timezone, dtstart,
    duration_minutes, rrule, exdates, occurrences, cadence, agenda, sequence."""
    return (
        d["timezone"],
        d["dtstart"],
        d["duration_minutes"],
        d["rrule"],
        dumps(d["exdates"]),
        dumps(d["occurrences"]),
        d["cadence"],
        d["agenda"],
        d["sequence"],
    )


def event_columns(d: Mapping[str, Any]) -> tuple[Any, ...]:
    """An event's stored columns after its owner's (``event_to_dict``'s form): kind, start,
    duration_minutes, timezone, agenda, sequence."""
    return (d["kind"], d["start"], d["duration_minutes"], d["timezone"], d["agenda"], d["sequence"])


def person_encoder() -> Callable[[int, Person], tuple[Any, ...]]:
    """A function ``(ord, person) -> row`` with its own memo of encoded list fields."""
    memo: dict[Any, str] = {(): "[]", frozenset(): "[]"}

    def enc(value: Any) -> str:
        text = memo.get(value)
        if text is None:
            text = memo[value] = _encode(value)
        return text

    def enc_set(value: frozenset[str]) -> str:
        text = memo.get(value)
        if text is None:
            text = memo[value] = _encode(sorted(value))
        return text

    def enc_ranges(value: tuple[tuple[date, date], ...]) -> str:
        text = memo.get(value)
        if text is None:
            text = memo[value] = _encode([[lo.isoformat(), hi.isoformat()] for lo, hi in value])
        return text

    def row(ord_: int, p: Person) -> tuple[Any, ...]:
        return (
            p.id,
            ord_,
            p.name,
            p.email,
            p.role,
            p.timezone,
            enc(p.availability),
            enc(p.goals),
            enc(p.expertise),
            enc(p.interests),
            enc(p.languages),
            p.department,
            p.manager_id,
            p.level,
            p.capacity,
            p.cadence,
            enc_set(p.avoid),
            enc_set(p.prefer),
            enc_ranges(p.unavailable),
            p.max_meetings_per_week,
            p.line,
            enc(p.ranks),
            p.calendar,
            p.format,
            int(p.introductions),
        )

    return row


def person_decoder(*, fast: bool | None = None) -> Callable[[tuple[Any, ...]], Person]:
    """A function ``row -> Person`` (row in ``PERSON_COLUMNS`` order) with its own memo.

    ``fast`` (default: ``FAST_PERSON``, whether it is safe) fills each frozen instance directly
    instead of calling the constructor; both give equal people."""
    memo_terms: dict[str, tuple[str, ...]] = {"[]": ()}
    memo_sets: dict[str, frozenset[str]] = {"[]": frozenset()}
    memo_avail: dict[str, tuple[tuple[int, int], ...]] = {"[]": ()}
    memo_ranges: dict[str, tuple[tuple[date, date], ...]] = {"[]": ()}

    def terms(text: str) -> tuple[str, ...]:
        value = memo_terms.get(text)
        if value is None:
            value = memo_terms[text] = tuple(_decode(text))
        return value

    def idset(text: str) -> frozenset[str]:
        value = memo_sets.get(text)
        if value is None:
            value = memo_sets[text] = frozenset(_decode(text))
        return value

    def avail(text: str) -> tuple[tuple[int, int], ...]:
        value = memo_avail.get(text)
        if value is None:
            value = memo_avail[text] = tuple((a, b) for a, b in _decode(text))
        return value

    def ranges(text: str) -> tuple[tuple[date, date], ...]:
        value = memo_ranges.get(text)
        if value is None:
            value = memo_ranges[text] = tuple(
                (date.fromisoformat(a), date.fromisoformat(b)) for a, b in _decode(text)
            )
        return value

    def fields(r: tuple[Any, ...]) -> dict[str, Any]:
        return {
            "id": r[0],
            "name": r[2],
            "email": r[3],
            "role": r[4],
            "timezone": r[5],
            "availability": avail(r[6]),
            "goals": terms(r[7]),
            "expertise": terms(r[8]),
            "interests": terms(r[9]),
            "languages": terms(r[10]),
            "department": r[11],
            "manager_id": r[12],
            "level": r[13],
            "capacity": r[14],
            "cadence": r[15],
            "avoid": idset(r[16]),
            "prefer": idset(r[17]),
            "unavailable": ranges(r[18]),
            "max_meetings_per_week": r[19],
            "line": r[20],
            # rows stored before the columns existed
            "ranks": terms(r[21]) if len(r) > 21 else (),
            "calendar": r[22] if len(r) > 22 else "feed",
            "format": r[23] if len(r) > 23 else "one-to-one",
            "introductions": bool(r[24]) if len(r) > 24 else False,
        }

    if not (FAST_PERSON if fast is None else fast):
        return lambda r: Person(**fields(r))

    new = object.__new__

    def person(r: tuple[Any, ...]) -> Person:
        # Rows we wrote ourselves from valid Persons: fill the frozen instance's __dict__ directly,
        # which is 8x faster than the generated __init__ (one object.__setattr__ per field).
        obj = new(Person)
        obj.__dict__.update(fields(r))
        return obj

    return person


# The fast path is only equivalent while Person is a plain frozen dataclass with no __post_init__
# and no __slots__; should that change, loading falls back to the constructor.
FAST_PERSON = (
    not hasattr(Person, "__post_init__")
    and "__slots__" not in Person.__dict__
    # every stored column is a field (``person_id`` is ``id``; ``ord`` is the row's position)
    and set(Person.__dataclass_fields__) == {"id", *PERSON_COLUMNS} - {"person_id", "ord"}
)


def components_text(components: Mapping[str, int]) -> str:
    return _encode(dict(components))


__all__ = [
    "PERSON_COLUMNS",
    "components_text",
    "dumps",
    "loads",
    "local_text",
    "local_value",
    "person_decoder",
    "person_encoder",
    "utc_text",
    "utc_value",
]
