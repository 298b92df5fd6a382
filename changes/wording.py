"""Per-person summaries of what changed between two cycles, in plain words and local time.

Times are shown in the person's own zone, converted from the series' anchor zone at the first
occurrence of the new cycle (so a London-anchored 17:00 reads 12:00 to a New Yorker in winter and
13:00 in the March weeks when only the US has moved its clocks). When the local time drifts later
in the series because the two zones change clocks on different dates, the summary says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from changes.diff import CycleDiff, PairKey, SlotMove
from cohort.model import Cohort, PersonId
from cohort.text import MONTH_NAMES
from cohort.text import WEEKDAY_NAMES as _DAY
from scheduler.model import Recurrence, Series

_NUMBERS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}
_ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", -1: "last"}


def _day(d: datetime) -> str:
    """``3 August`` (no year: a summary is read during the cycle it describes)."""
    return f"{d.day} {MONTH_NAMES[d.month - 1]}"


def _cadence_words(freq: str, interval: int) -> str:
    unit = {"WEEKLY": "week", "MONTHLY": "month", "DAILY": "day", "YEARLY": "year"}.get(freq, "week")
    if interval == 1:
        return f"every {unit}"
    return f"every {_NUMBERS.get(interval, str(interval))} {unit}s"


def _monthly_ordinal(rule: Recurrence) -> tuple[int, int] | None:
    """``(ordinal, weekday)`` of a "second Tuesday"-style monthly rule, else ``None``."""
    if len(rule.byday) != 1:
        return None
    n, weekday = rule.byday[0]
    return (n, weekday) if n in _ORDINALS else None


def first_meeting(series: Series) -> datetime:
    """The first meeting as an aware UTC instant (``dtstart`` if no occurrence is listed)."""
    if series.occurrences:
        return min(series.occurrences).astimezone(UTC)
    return series.dtstart.replace(tzinfo=ZoneInfo(series.timezone)).astimezone(UTC)


def when_words(series: Series, tz_name: str) -> str:
    """When a series meets, as one person sees it: ``Tuesdays 17:00 your time, every two weeks
    from 3 August``.
    """
    tz = ZoneInfo(tz_name)
    first = first_meeting(series).astimezone(tz)
    rule = series.recurrence
    freq, interval = rule.freq, rule.interval
    clock = f"{first:%H:%M} your time"
    anchor_first = first_meeting(series).astimezone(ZoneInfo(series.timezone))
    ordinal = _monthly_ordinal(rule) if freq == "MONTHLY" else None
    if freq == "WEEKLY":
        text = f"{_DAY[first.weekday()]}s {clock}, {_cadence_words(freq, interval)} from {_day(first)}"
    elif ordinal and interval == 1 and first.date() == anchor_first.date():
        text = f"the {_ORDINALS[ordinal[0]]} {_DAY[ordinal[1]]} of each month, {clock}, from {_day(first)}"
    else:
        text = f"{clock}, {_cadence_words(freq, interval)} from {_DAY[first.weekday()]} {_day(first)}"

    # Zones that change clocks on different dates shift the local time for a few weeks.
    seen = {(first.weekday(), f"{first:%H:%M}")}
    others: list[str] = []
    for occ in sorted(series.occurrences):
        local = occ.astimezone(tz)
        key = (local.weekday(), f"{local:%H:%M}")
        if key not in seen:
            seen.add(key)
            same_day = local.weekday() == first.weekday() or freq != "WEEKLY"
            others.append(key[1] if same_day else f"{_DAY[key[0]]}s {key[1]}")
    if others:
        text += f" (at {' or '.join(others)} your time on some dates, when clocks change)"
    return text


def _name(pid: PersonId, cohort: Cohort, diff: CycleDiff) -> str:
    if pid in cohort:
        return cohort[pid].name
    return diff.names.get(pid, pid)


@dataclass(frozen=True)
class ChangeIndex:
    """What ``person_changes`` looks up, built once for a whole cohort (not once per person)."""

    series: Mapping[PairKey, Series]
    moved: Mapping[PairKey, SlotMove]
    pairs: Mapping[PersonId, Mapping[str, tuple[PairKey, ...]]]  # person -> ended/new/kept -> keys

    @classmethod
    def of(cls, diff: CycleDiff, series_b: Iterable[Series]) -> ChangeIndex:
        series: dict[PairKey, Series] = {}
        for s in series_b:
            series.setdefault((s.mentor_id, s.mentee_id), s)
        pairs: dict[PersonId, dict[str, list[PairKey]]] = {}
        for kind, keys in (("ended", diff.ended), ("new", diff.new), ("kept", diff.kept)):
            for key in keys:
                for pid in dict.fromkeys(key):
                    pairs.setdefault(pid, {}).setdefault(kind, []).append(key)
        return cls(
            series,
            {(m.mentor_id, m.mentee_id): m for m in diff.moved},
            {pid: {k: tuple(v) for k, v in kinds.items()} for pid, kinds in pairs.items()},
        )


def person_changes(
    person_id: PersonId,
    cohort_b: Cohort,
    diff: CycleDiff,
    series_b: Iterable[Series],
    *,
    index: ChangeIndex | None = None,
) -> str:
    """What changed for one person of cycle ``b``, one plain sentence per line.

    Lines come in this order: pairs that ended, new partners, kept partners whose meeting moved,
    kept partners with an unchanged meeting. Raises ``KeyError`` if the person is not in cycle b.
    ``index``: ``ChangeIndex.of(diff, series_b)``, when asking for many people.
    """
    if person_id not in cohort_b:
        raise KeyError(f"'{person_id}' is not a participant of the new cycle")
    tz_name = cohort_b[person_id].timezone
    index = index or ChangeIndex.of(diff, series_b)
    series, moved = index.series, index.moved
    my_pairs = index.pairs.get(person_id, {})

    def mine(kind: str) -> list[tuple[str, str, PairKey]]:
        """(partner name, partner's role for me, key) for my pairs, by partner name."""
        out = []
        for key in my_pairs.get(kind, ()):
            mentor, mentee = key
            if person_id == mentor:
                out.append((_name(mentee, cohort_b, diff), "mentee", key))
            elif person_id == mentee:
                out.append((_name(mentor, cohort_b, diff), "mentor", key))
        return sorted(out)

    def when(key: PairKey) -> str | None:
        s = series.get(key)
        return when_words(s, tz_name) if s is not None else None

    lines: list[str] = []
    for name, _role, key in mine("ended"):
        last = diff.last_meeting_a.get(key)
        if last is not None:
            local = last.astimezone(ZoneInfo(tz_name))
            lines.append(f"mentoring ends: your pair with {name} finished on {_day(local)}")
        else:
            lines.append(f"mentoring ends: your pair with {name} has finished")
    for name, role, key in mine("new"):
        w = when(key)
        lines.append(
            f"new {role}: {name}, {w}" if w else f"new {role}: {name} (no meeting time could be found yet)"
        )
    kept = mine("kept")
    for name, role, key in kept:
        if key not in moved:
            continue
        w = when(key)
        if w is None:
            lines.append(f"same {role} ({name}), but no meeting time could be found this cycle")
        elif moved[key].changed == ("cadence",):
            lines.append(f"same {role} ({name}), same time, now {w}")
        else:
            lines.append(f"same {role} ({name}), moved to {w}")
    for name, role, key in kept:
        if key in moved:
            continue
        w = when(key)
        lines.append(f"same {role} ({name}), unchanged: {w}" if w else f"same {role} ({name})")
    if not lines:
        lines.append("no partner this cycle")
    return "\n".join(lines)


def all_person_changes(cohort_b: Cohort, diff: CycleDiff, series_b: Iterable[Series]) -> dict[PersonId, str]:
    """``person_changes`` for everyone in cycle ``b``, in cohort order."""
    index = ChangeIndex.of(diff, series_b)
    return {p.id: person_changes(p.id, cohort_b, diff, (), index=index) for p in cohort_b.people}
