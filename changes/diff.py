"""What changed between two cycles: pairs kept, ended and new, slots moved, people joined and left.

Pure and store-independent: a ``CycleSnapshot`` is built from whatever holds a cycle (the store,
or a fresh match and schedule) and ``diff_cycles`` compares two of them. A pair is identified by
``(mentor_id, mentee_id)``: the same two people with the roles swapped are an ended pair plus a
new one. A *slot* is what a person sees in a calendar: the weekday and local time of the series'
``dtstart`` in its anchor zone, the anchor zone itself, and the recurrence pattern (every RRULE
part except ``UNTIL``, ``COUNT`` and ``WKST``, which bound or frame the series without moving it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time

from cohort.model import DAY_NAMES, Cohort, PersonId
from matcher.model import Pair
from scheduler.codec import rrule_parts
from scheduler.model import Series

PairKey = tuple[PersonId, PersonId]  # (mentor_id, mentee_id)

_IGNORED_RULE_PARTS = frozenset({"UNTIL", "COUNT", "WKST"})
_BYDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_LIST_RULE_PARTS = frozenset({"BYDAY", "BYMONTHDAY", "BYSETPOS", "BYMONTH", "BYWEEKNO"})


@dataclass(frozen=True)
class Slot:
    """A series' place in the week, as compared across cycles (equality means "not moved")."""

    timezone: str
    weekday: int  # 0 = Monday, of ``dtstart`` in the anchor zone
    start: time  # local time of ``dtstart`` in the anchor zone
    rule: tuple[tuple[str, str], ...]  # sorted RRULE parts that shape the recurrence

    @classmethod
    def of(cls, series: Series) -> Slot:
        rule = {
            key: (",".join(sorted(value.split(","))) if key in _LIST_RULE_PARTS else value)
            for key, value in rrule_parts(series.recurrence).items()
            if key not in _IGNORED_RULE_PARTS
        }
        rule.setdefault("INTERVAL", "1")
        return cls(
            timezone=series.timezone,
            weekday=series.dtstart.weekday(),
            start=series.dtstart.time().replace(second=0, microsecond=0),
            rule=tuple(sorted(rule.items())),
        )

    @property
    def freq(self) -> str:
        return dict(self.rule).get("FREQ", "")

    @property
    def interval(self) -> int:
        try:
            return int(dict(self.rule).get("INTERVAL", "1"))
        except ValueError:
            return 1

    @property
    def byday(self) -> str:
        return dict(self.rule).get("BYDAY", "")

    def cadence_text(self) -> str:
        """Short cadence for coordinators: ``weekly``, ``every 2 weeks``, ``monthly (2TU)``."""
        unit = {"DAILY": "day", "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}.get(
            self.freq, self.freq.lower() or "?"
        )
        text = {"day": "daily", "week": "weekly", "month": "monthly", "year": "yearly"}.get(unit, unit)
        if self.interval != 1:
            text = f"every {self.interval} {unit}s"
        if self.freq == "MONTHLY" and self.byday:
            text += f" ({self.byday})"
        return text

    def describe(self) -> str:
        """``Tue 17:00 Europe/London, every 2 weeks``."""
        return f"{DAY_NAMES[self.weekday]} {self.start:%H:%M} {self.timezone}, {self.cadence_text()}"

    def differences(self, other: Slot) -> tuple[str, ...]:
        """Which aspects differ: any of ``weekday``, ``time``, ``timezone``, ``cadence``."""
        out = []
        if self.weekday != other.weekday:
            out.append("weekday")
        if self.start != other.start:
            out.append("time")
        if self.timezone != other.timezone:
            out.append("timezone")
        if self.pattern() != other.pattern():
            out.append("cadence")
        return tuple(out)

    def pattern(self) -> tuple[tuple[str, str], ...]:
        """The rule with ``dtstart``'s own weekday in BYDAY written as ``@``.

        ``BYDAY=TU`` on a Tuesday and ``BYDAY=TH`` on a Thursday are the same pattern on another
        weekday, so a weekday move is reported as a weekday change only, not a cadence change too.
        """
        code = _BYDAY_CODES[self.weekday]
        return tuple(
            (k, ",".join(sorted(d[:-2] + "@" if d.endswith(code) else d for d in v.split(","))))
            if k == "BYDAY"
            else (k, v)
            for k, v in self.rule
        )


@dataclass(frozen=True)
class CycleSnapshot:
    """One cycle as the diff needs it: who took part, who was paired, and their series.

    ``names`` (optional) maps ids to display names so that texts can name people who have left.
    """

    cohort_ids: frozenset[PersonId]
    pairs: tuple[Pair, ...]
    series: tuple[Series, ...]
    label: str = ""
    names: Mapping[PersonId, str] = field(default_factory=dict, compare=False)

    @classmethod
    def of(
        cls, cohort: Cohort, pairs: Iterable[Pair], series: Iterable[Series], label: str = ""
    ) -> CycleSnapshot:
        """A snapshot from a loaded cohort, keeping display names."""
        return cls(
            frozenset(p.id for p in cohort.people),
            tuple(pairs),
            tuple(series),
            label,
            {p.id: p.name for p in cohort.people},
        )

    def series_by_pair(self) -> dict[PairKey, Series]:
        """Each pair's series; with several for one pair (not expected), the first one wins."""
        out: dict[PairKey, Series] = {}
        for s in self.series:
            out.setdefault((s.mentor_id, s.mentee_id), s)
        return out


@dataclass(frozen=True)
class SlotMove:
    """A kept pair whose slot changed; ``before``/``after`` is ``None`` when unscheduled."""

    mentor_id: PersonId
    mentee_id: PersonId
    before: Slot | None
    after: Slot | None
    changed: tuple[str, ...]  # weekday/time/timezone/cadence, or scheduled/unscheduled


@dataclass(frozen=True)
class CycleDiff:
    """Everything that changed from cycle ``a`` to cycle ``b``; every tuple is sorted."""

    label_a: str
    label_b: str
    kept: tuple[PairKey, ...]
    ended: tuple[PairKey, ...]
    new: tuple[PairKey, ...]
    moved: tuple[SlotMove, ...]
    joined: tuple[PersonId, ...]
    left: tuple[PersonId, ...]
    slots_a: Mapping[PairKey, Slot] = field(default_factory=dict, compare=False)
    slots_b: Mapping[PairKey, Slot] = field(default_factory=dict, compare=False)
    last_meeting_a: Mapping[PairKey, datetime] = field(default_factory=dict, compare=False)
    names: Mapping[PersonId, str] = field(default_factory=dict, compare=False)

    @property
    def is_empty(self) -> bool:
        return not (self.ended or self.new or self.moved or self.joined or self.left)


def diff_cycles(a: CycleSnapshot, b: CycleSnapshot) -> CycleDiff:
    """Compare two cycles: pairs kept/ended/new, kept pairs whose slot moved, people joined/left."""
    pairs_a = {(p.mentor_id, p.mentee_id) for p in a.pairs}
    pairs_b = {(p.mentor_id, p.mentee_id) for p in b.pairs}
    series_a = a.series_by_pair()
    series_b = b.series_by_pair()
    slots_a = {k: Slot.of(s) for k, s in series_a.items() if k in pairs_a}
    slots_b = {k: Slot.of(s) for k, s in series_b.items() if k in pairs_b}
    kept = sorted(pairs_a & pairs_b)

    moved = []
    for key in kept:
        before, after = slots_a.get(key), slots_b.get(key)
        if before is None and after is None:
            continue
        if before is None:
            changed: tuple[str, ...] = ("scheduled",)
        elif after is None:
            changed = ("unscheduled",)
        else:
            changed = before.differences(after)
        if changed:
            moved.append(SlotMove(key[0], key[1], before, after, changed))

    last_meeting = {
        k: max(s.occurrences).astimezone(UTC) for k, s in series_a.items() if k in pairs_a and s.occurrences
    }
    return CycleDiff(
        label_a=a.label,
        label_b=b.label,
        kept=tuple(kept),
        ended=tuple(sorted(pairs_a - pairs_b)),
        new=tuple(sorted(pairs_b - pairs_a)),
        moved=tuple(moved),
        joined=tuple(sorted(b.cohort_ids - a.cohort_ids)),
        left=tuple(sorted(a.cohort_ids - b.cohort_ids)),
        slots_a=slots_a,
        slots_b=slots_b,
        last_meeting_a=last_meeting,
        names={**a.names, **b.names},
    )


# --------------------------------------------------------------------------- rendering


def _who(diff: CycleDiff, pid: PersonId) -> str:
    name = diff.names.get(pid)
    return f"{pid} ({name})" if name and name != pid else pid


def _pair(diff: CycleDiff, key: PairKey) -> str:
    return f"{_who(diff, key[0])} -> {_who(diff, key[1])}"


def render_diff(diff: CycleDiff) -> str:
    """Plain text for the CLI: a count line per section, then one line per item."""
    a, b = diff.label_a or "cycle A", diff.label_b or "cycle B"
    lines = [f"Changes from {a} to {b}"]
    lines.append(f"People: {len(diff.joined)} joined, {len(diff.left)} left")
    lines += [f"  joined  {_who(diff, pid)}" for pid in diff.joined]
    lines += [f"  left    {_who(diff, pid)}" for pid in diff.left]
    lines.append(f"Pairs: {len(diff.kept)} kept, {len(diff.ended)} ended, {len(diff.new)} new")
    left = set(diff.left)
    for key in diff.kept:
        slot = diff.slots_b.get(key)
        lines.append(f"  kept    {_pair(diff, key)}" + (f"  [{slot.describe()}]" if slot else ""))
    for key in diff.ended:
        notes = [f"{pid} left" for pid in key if pid in left]
        last = diff.last_meeting_a.get(key)
        if last is not None:
            notes.append(f"last meeting {last:%Y-%m-%d %H:%M} UTC")
        lines.append(f"  ended   {_pair(diff, key)}" + (f"  ({'; '.join(notes)})" if notes else ""))
    for key in diff.new:
        slot = diff.slots_b.get(key)
        lines.append(
            f"  new     {_pair(diff, key)}" + (f"  [{slot.describe()}]" if slot else "  [not scheduled]")
        )
    lines.append(f"Slots moved: {len(diff.moved)}")
    for move in diff.moved:
        before = move.before.describe() if move.before else "not scheduled"
        after = move.after.describe() if move.after else "not scheduled"
        lines.append(
            f"  moved   {_pair(diff, (move.mentor_id, move.mentee_id))}: "
            f"{before} -> {after} ({', '.join(move.changed)})"
        )
    return "\n".join(lines) + "\n"


def _slot_json(slot: Slot | None) -> dict[str, object] | None:
    if slot is None:
        return None
    return {
        "timezone": slot.timezone,
        "weekday": DAY_NAMES[slot.weekday],
        "time": f"{slot.start:%H:%M}",
        "rrule": ";".join(f"{k}={v}" for k, v in slot.rule),
    }


def to_json(diff: CycleDiff) -> dict[str, object]:
    """A JSON-ready dict (plain str/int/list/dict values) for ``--json``."""

    def pair(key: PairKey) -> dict[str, object]:
        return {"mentor_id": key[0], "mentee_id": key[1]}

    return {
        "from": diff.label_a,
        "to": diff.label_b,
        "joined": list(diff.joined),
        "left": list(diff.left),
        "kept": [{**pair(k), "slot": _slot_json(diff.slots_b.get(k))} for k in diff.kept],
        "ended": [
            {
                **pair(k),
                "last_meeting": (
                    diff.last_meeting_a[k].strftime("%Y-%m-%dT%H:%M:%SZ")
                    if k in diff.last_meeting_a
                    else None
                ),
            }
            for k in diff.ended
        ],
        "new": [{**pair(k), "slot": _slot_json(diff.slots_b.get(k))} for k in diff.new],
        "moved": [
            {
                **pair((m.mentor_id, m.mentee_id)),
                "before": _slot_json(m.before),
                "after": _slot_json(m.after),
                "changed": list(m.changed),
            }
            for m in diff.moved
        ],
    }
