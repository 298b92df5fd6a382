"""IANA time zone checks and suggestions for what spreadsheets really contain."""

from __future__ import annotations

import zoneinfo
from functools import lru_cache


@lru_cache(maxsize=1)
def available_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def is_valid_zone(name: str) -> bool:
    """Whether ``name`` is an IANA zone known to this machine's tz database."""
    return name in available_zones()
