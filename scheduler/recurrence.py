"""Recurring meeting patterns and their exact, DST-safe expansion.

A :class:`Pattern` is "this weekday, at this local wall-clock time, in this anchor time zone".
Every occurrence is built as a *local wall time* on its date and only then converted to UTC with
``zoneinfo``: we never step by a fixed number of UTC minutes, so the anchor person's local time is
the same all cycle long and the other person's may move by an hour around clock changes.

Anchor rule (see ``scheduler.slots``): a pair's patterns are tried anchored in the mentee's zone
and, when the two zones do not share the same clock changes, also in the mentor's zone; the pattern
keeps the zone it is anchored in, and that person's local time never moves.

Cadences:

* ``weekly``: every week on ``weekday``.
* ``biweekly``: every other week; ``parity`` is the week parity counted from the Monday on or
  before the cycle's first day (week 0 of the cycle has parity 0).
* ``monthly``: the ``nth`` (1..4) ``weekday`` of every month.

Local times that do not exist on a date (inside a spring-forward gap) make the pattern invalid.
Ambiguous local times (inside a fall-back overlap) are resolved to the first of the two instants,
as RFC 5545 and ``zoneinfo`` (``fold=0``) do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from cohort.model import CADENCES
from scheduler.model import Recurrence

UTC = UTC
BYDAY: tuple[str, ...] = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@cache
def zone(name: str) -> ZoneInfo:
    """A cached ``ZoneInfo``."""
    return ZoneInfo(name)


@dataclass(frozen=True, order=True)
class Pattern:
    """One recurring slot: weekday and local start minute in the anchor zone, cadence, length."""

    timezone: str
    weekday: int  # 0 = Monday
    start_minute: int  # minutes since local midnight in ``timezone``
    duration_minutes: int
    cadence: str = "weekly"
    parity: int = 0  # biweekly only: week parity relative to the cycle's first Monday
    nth: int = 0  # monthly only: 1..4

    def __post_init__(self) -> None:
        if self.cadence not in CADENCES:
            raise ValueError(f"unknown cadence {self.cadence!r}")
        if not 0 <= self.weekday <= 6 or not 0 <= self.start_minute < 1440:
            raise ValueError("weekday must be 0..6 and start_minute 0..1439")
        if self.cadence == "monthly" and not 1 <= self.nth <= 4:
            raise ValueError("a monthly pattern needs nth in 1..4")
        if self.cadence == "biweekly" and self.parity not in (0, 1):
            raise ValueError("a biweekly pattern needs parity 0 or 1")

    @property
    def local_time(self) -> time:
        return time(self.start_minute // 60, self.start_minute % 60)

    def describe(self) -> str:
        """Plain words: 'every other Tuesday at 09:30 (Europe/London)'."""
        day = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")[self.weekday]
        at = f"{self.start_minute // 60:02d}:{self.start_minute % 60:02d}"
        if self.cadence == "weekly":
            head = f"every {day}"
        elif self.cadence == "biweekly":
            head = f"every other {day}"
        else:
            head = f"the {('first', 'second', 'third', 'fourth')[self.nth - 1]} {day} of each month"
        return f"{head} at {at} ({self.timezone})"


def cycle_monday(start: date) -> date:
    """The Monday on or before the cycle's first day: week 0 of the cycle."""
    return start - timedelta(days=start.weekday())


def week_parity(day: date, start: date) -> int:
    """Parity of ``day``'s week counted from the cycle's first Monday."""
    return ((day - cycle_monday(start)).days // 7) % 2


def nth_weekday(year: int, month: int, weekday: int, nth: int) -> date:
    """The ``nth`` (1-based) ``weekday`` of a month."""
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))


def occurrence_dates(pattern: Pattern, start: date, last_day: date) -> list[date]:
    """Every local date (in the anchor zone) on which the pattern meets inside [start, last_day]."""
    if pattern.cadence == "monthly":
        out = []
        year, month = start.year, start.month
        while date(year, month, 1) <= last_day:
            day = nth_weekday(year, month, pattern.weekday, pattern.nth)
            if start <= day <= last_day:
                out.append(day)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return out
    first = start + timedelta(days=(pattern.weekday - start.weekday()) % 7)
    step = 7
    if pattern.cadence == "biweekly":
        if week_parity(first, start) != pattern.parity:
            first += timedelta(days=7)
        step = 14
    out = []
    day = first
    while day <= last_day:
        out.append(day)
        day += timedelta(days=step)
    return out


def local_to_utc(local: datetime, zone_name: str) -> datetime | None:
    """The UTC instant of a naive local wall time, or ``None`` if it does not exist (DST gap).

    Ambiguous times resolve to the first instant (``fold=0``), as RFC 5545 requires.
    """
    tz = zone(zone_name)
    aware = local.replace(tzinfo=tz, fold=0)
    utc = aware.astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) != local:
        return None  # a nonexistent wall time does not round-trip
    return utc


def expand(pattern: Pattern, start: date, last_day: date) -> list[datetime]:
    """Every occurrence as an aware UTC datetime; ``ValueError`` if one falls in a DST gap."""
    out = []
    for day in occurrence_dates(pattern, start, last_day):
        local = datetime.combine(day, pattern.local_time)
        utc = local_to_utc(local, pattern.timezone)
        if utc is None:
            raise ValueError(f"{local:%Y-%m-%d %H:%M} does not exist in {pattern.timezone} (clock change)")
        out.append(utc)
    return out


def is_valid(pattern: Pattern, start: date, last_day: date) -> bool:
    """Whether every occurrence's local time exists (no DST gap) and there is at least one."""
    try:
        return bool(expand(pattern, start, last_day))
    except ValueError:
        return False


def until_utc(last_day: date, zone_name: str) -> datetime:
    """The end of the cycle's last day in the anchor zone, as UTC (the RRULE's UNTIL)."""
    nxt = datetime.combine(last_day + timedelta(days=1), time(0))
    utc = local_to_utc(nxt, zone_name)
    if utc is None:  # midnight skipped by a clock change: the day ends at the gap's UTC instant
        utc = nxt.replace(tzinfo=zone(zone_name)).astimezone(UTC)
    return utc - timedelta(seconds=1)


def dtstart(pattern: Pattern, start: date, last_day: date) -> datetime:
    """The naive local start of the first occurrence (the series' DTSTART)."""
    days = occurrence_dates(pattern, start, last_day)
    if not days:
        raise ValueError("the pattern has no occurrence in the cycle")
    return datetime.combine(days[0], pattern.local_time)


def recurrence_of(pattern: Pattern, start: date, last_day: date) -> Recurrence:
    """The recurrence rule of the pattern over the cycle (UNTIL: the last day's end, in UTC)."""
    until = until_utc(last_day, pattern.timezone).replace(microsecond=0)
    if pattern.cadence == "weekly":
        return Recurrence("WEEKLY", 1, ((0, pattern.weekday),), wkst=0, until=until)
    if pattern.cadence == "biweekly":
        return Recurrence("WEEKLY", 2, ((0, pattern.weekday),), wkst=0, until=until)
    return Recurrence("MONTHLY", 1, ((pattern.nth, pattern.weekday),), until=until)


def rrule(pattern: Pattern, start: date, last_day: date) -> str:
    """The RFC 5545 RRULE value for the pattern over the cycle (UNTIL in UTC)."""
    from scheduler.codec import rrule_text

    return rrule_text(recurrence_of(pattern, start, last_day))
