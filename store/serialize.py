"""Conversions between domain values and the column values the store writes.

Built for bulk: a 200,000-person roster is encoded and decoded in about a second, so list fields are
JSON-encoded through memo tables (real cohorts repeat the same languages, goals and availability
many times) and rows are plain tuples in the column order of ``PERSON_COLUMNS``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from cohort.errors import StoreError
from cohort.model import Person

_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_decode = json.JSONDecoder().decode

PERSON_COLUMNS: tuple[str, ...] = (
    "person_id", "ord", "name", "email", "role", "timezone", "availability", "goals", "expertise",
    "interests", "languages", "department", "manager_id", "level", "capacity", "cadence", "avoid",
    "prefer", "unavailable", "max_meetings_per_week", "line", "calendar",
)


def dumps(value: Any) -> str:
    """Compact JSON; values JSON cannot hold (a date, a set) are written as their ``str``."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def loads(text: str) -> Any:
    return _decode(text)


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
            p.id, ord_, p.name, p.email, p.role, p.timezone, enc(p.availability), enc(p.goals),
            enc(p.expertise), enc(p.interests), enc(p.languages), p.department, p.manager_id,
            p.level, p.capacity, p.cadence, enc_set(p.avoid), enc_set(p.prefer),
            enc_ranges(p.unavailable), p.max_meetings_per_week, p.line, p.calendar,
        )

    return row


def person_decoder() -> Callable[[tuple[Any, ...]], Person]:
    """A function ``row -> Person`` (row in ``PERSON_COLUMNS`` order) with its own memo."""
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
            "id": r[0], "name": r[2], "email": r[3], "role": r[4], "timezone": r[5],
            "availability": avail(r[6]), "goals": terms(r[7]), "expertise": terms(r[8]),
            "interests": terms(r[9]), "languages": terms(r[10]), "department": r[11],
            "manager_id": r[12], "level": r[13], "capacity": r[14], "cadence": r[15],
            "avoid": idset(r[16]), "prefer": idset(r[17]), "unavailable": ranges(r[18]),
            "max_meetings_per_week": r[19], "line": r[20], "calendar": r[21],
        }

    if not _FAST_PERSON:
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
_FAST_PERSON = (
    not hasattr(Person, "__post_init__")
    and "__slots__" not in Person.__dict__
    and set(Person.__dataclass_fields__) == {
        "id", "name", "email", "role", "timezone", "availability", "goals", "expertise", "interests",
        "languages", "department", "manager_id", "level", "capacity", "cadence", "avoid", "prefer",
        "unavailable", "max_meetings_per_week", "line", "calendar",
    }
)


# --------------------------------------------------------------------------- date-times

def utc_text(value: datetime, what: str) -> str:
    """An aware instant as ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``; a naive one breaks the convention."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise StoreError(f"{what}: {value.isoformat()} has no time zone; instants must be aware (UTC)")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


def utc_value(text: str) -> datetime:
    return datetime.fromisoformat(text.removesuffix("Z")).replace(tzinfo=UTC)


def local_text(value: datetime, what: str) -> str:
    """A naive local date-time as ISO text; ``fold=1`` (the second 01:30 of a DST fall-back) is
    kept as a ``|1`` suffix, since ISO text cannot say which of the two it is."""
    if value.tzinfo is not None:
        raise StoreError(f"{what}: {value.isoformat()} must be naive local time (no tzinfo)")
    text = value.isoformat()
    return text + "|1" if value.fold else text


def local_value(text: str) -> datetime:
    if text.endswith("|1"):
        return datetime.fromisoformat(text[:-2]).replace(fold=1)
    return datetime.fromisoformat(text)


def components_text(components: Mapping[str, int]) -> str:
    return _encode(dict(components))
