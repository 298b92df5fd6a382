"""Small factory helpers for building cohorts in tests (no big fixtures)."""

from __future__ import annotations

import itertools
from typing import Any

from cohort.model import Cohort, Person

_counter = itertools.count(1)

WEEKDAYS_9_TO_17 = tuple((d * 1440 + 9 * 60, d * 1440 + 17 * 60) for d in range(5))


def make_person(id: str | None = None, role: str = "mentee", **kw: Any) -> Person:
    """A valid person with sensible defaults; override any field by keyword."""
    pid = id or f"p{next(_counter)}"
    defaults: dict[str, Any] = dict(
        id=pid,
        name=kw.pop("name", pid.title()),
        email=kw.pop("email", f"{pid}@example.org"),
        role=role,
        timezone="Europe/London",
        availability=WEEKDAYS_9_TO_17,
        languages=("en",),
    )
    defaults.update(kw)
    return Person(**defaults)


def make_cohort(*people: Person) -> Cohort:
    return Cohort(tuple(people), source="test")
