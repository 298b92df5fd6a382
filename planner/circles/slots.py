"""A common recurring slot for a group: the pair slot test of ``scheduler.slots`` for k people.

A circle's pattern is valid when every occurrence of the cycle that takes place starts and ends
inside *every* member's weekly availability in that member's own time zone (DST weeks included:
an occurrence straddling anyone's clock change, or in a DST gap of the anchor zone, makes the
pattern invalid), exactly as for pairs. An occurrence on a program holiday or on a date any member
is away (in that member's local calendar) is skipped and becomes an exdate. A pattern needs at
least one meeting that takes place.

Anchors: the pattern is tried anchored in each distinct member zone (the anchor member's local
time never moves), so a slot that is only DST-robust from one member's side is found.

Circles are scheduled after pairs, around them: ``busy`` holds each member's other mentoring
meetings (pairs, circles placed earlier) and an option is kept only when none of its meetings
(regular and milestones) comes within ``cycle.buffer_minutes`` of a busy meeting of any member,
and no member exceeds ``max_meetings_per_week`` in their local Mon-Sun week.

Milestones (``[milestones]``): the kickoff replaces the first regular meeting, a check-in the first
regular meeting of every later calendar month (weekly and biweekly circles), the closing the last
regular meeting; kickoff and closing take their own length when it fits every member's window.

The soft cost (lower is better) is the pairs' mixed-radix slot cost over all members: too many
dates skipped, DST exception weeks summed over members, room to the nearest edge of anyone's
window, and the worst member's minutes outside the working day.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from cohort.model import Cohort, Person, PersonId
from cohort.program import Program
from scheduler.recurrence import Pattern, zone
from scheduler.slots import (
    DST_CAP,
    DST_RADIX,
    EDGE_BUCKET,
    EDGE_CAP,
    EDGE_RADIX,
    EDGE_STEPS,
    INCONVENIENT_BUCKET,
    INCONVENIENT_CAP,
    INCONVENIENT_RADIX,
    Meeting,
    SlotContext,
    select_diverse,
)

Busy = Mapping[PersonId, Sequence[Meeting]]


@dataclass(frozen=True)
class CircleSlot:
    """One valid recurring pattern for a group, with every meeting it implies."""

    member_ids: tuple[PersonId, ...]  # everyone who meets (a mentor first, when there is one)
    pattern: Pattern
    cost: int
    occurrences: tuple[datetime, ...]  # regular meetings that take place (UTC)
    exdates: tuple[datetime, ...]  # naive anchor-local starts skipped or replaced by a milestone
    skipped: tuple[datetime, ...]  # the subset of exdates skipped for holidays/blackouts
    events: tuple[Meeting, ...] = ()  # milestones

    @property
    def meetings(self) -> tuple[Meeting, ...]:
        regular = tuple(Meeting(t, self.pattern.duration_minutes) for t in self.occurrences)
        return tuple(sorted(regular + self.events, key=lambda m: m.start))


def circle_program(program: Program) -> Program:
    """The program with the circles' meeting length as the cycle's (for a circles ``SlotContext``)."""
    cycle = dataclasses.replace(program.cycle, duration_minutes=program.circles.duration_minutes)
    return dataclasses.replace(program, cycle=cycle)


def circle_context(cohort: Cohort, program: Program) -> SlotContext:
    """A ``SlotContext`` whose meeting length is ``[circles] duration_minutes``."""
    return SlotContext(cohort, circle_program(program))


def _anchors(ctx: SlotContext, people: Sequence[Person]) -> list[str]:
    return list(dict.fromkeys(p.timezone for p in people))


def _valid_patterns(ctx: SlotContext, people: Sequence[Person], cadence: str, anchor: str) -> list[tuple]:
    grid = ctx.grid(anchor, people)
    skip = np.zeros_like(grid.gap)
    good = ~grid.gap
    for p in people:
        skip = skip | grid.skip[p.id]
        good = good & grid.ok[p.id]
    occ_ok = (skip | good) & ~grid.gap
    valid = ctx._reduce(occ_ok, cadence, "all", True)
    meets = ctx._reduce(~skip, cadence, "sum", False).astype(np.int64)
    total = ctx._reduce(np.ones_like(skip), cadence, "sum", False).astype(np.int64)
    valid &= meets >= 1
    idx = np.flatnonzero(valid)
    if idx.size == 0:
        return []
    dst = np.zeros_like(meets)
    for p in people:
        values = ctx.zone_derived(anchor, p.timezone)[4]
        if values.size == 1:
            continue
        delta = grid.delta[p.id]
        counts = [ctx._reduce((delta == v) & ~skip, cadence, "sum", False) for v in values]
        dst += meets - np.max(np.stack(counts), axis=0)
    room = np.full(skip.shape, EDGE_CAP, dtype=np.int64)
    inc = np.zeros_like(meets)
    for p in people:
        room = np.minimum(room, grid.room[p.id])
        tot = ctx._reduce(np.where(skip, 0, grid.outside[p.id]), cadence, "sum", 0)
        inc = np.maximum(inc, tot // np.maximum(meets, 1))
    room = np.where(skip, EDGE_CAP, room)
    edge = ctx._reduce(room, cadence, "min", EDGE_CAP)
    too_many = (total - meets) > total * ctx.max_skip_fraction
    dst = np.minimum(dst, DST_CAP)
    edge_b = np.minimum(edge, EDGE_CAP) // EDGE_BUCKET
    inc_b = np.minimum(inc, INCONVENIENT_CAP) // INCONVENIENT_BUCKET
    cost = (
        (too_many.astype(np.int64) * DST_RADIX + dst) * EDGE_RADIX + (EDGE_STEPS - edge_b)
    ) * INCONVENIENT_RADIX + inc_b
    return [(int(cost[i]), int(i), anchor, grid, skip) for i in idx]


def _materialise(ctx: SlotContext, people: Sequence[Person], cadence: str, item: tuple) -> CircleSlot:
    cost, index, anchor, grid, skip = item
    pattern = ctx.pattern_of(index, cadence, anchor)
    label, col = divmod(index, ctx.cols)
    days = [int(d) for d in ctx.day_matrix[cadence][label] if d < ctx.days]
    regular = [d for d in days if not skip[d, col]]
    skipped = [d for d in days if skip[d, col]]
    ms = ctx.program.milestones
    events: list[Meeting] = []
    replaced: set[int] = set()

    def add(kind: str, d: int, minutes: int) -> None:
        u = int(grid.utc[d, col])
        if minutes != pattern.duration_minutes and not all(ctx.fits(p.id, u, minutes) for p in people):
            minutes = pattern.duration_minutes
        events.append(Meeting(ctx.utc_datetime(u), minutes, kind))
        replaced.add(d)

    if ms.kickoff and regular:
        add("kickoff", regular[0], ms.kickoff_minutes)
    free = [d for d in regular if d not in replaced]
    if ms.closing and free:
        add("closing", free[-1], ms.closing_minutes)
    if ms.checkins and cadence != "monthly":
        busy_months = {ctx.month_of_day[d] for d in replaced}
        for d in regular:
            month = ctx.month_of_day[d]
            if d in replaced or month in busy_months:
                continue
            busy_months.add(month)
            add("checkin", d, pattern.duration_minutes)
    events.sort(key=lambda m: m.start)
    occurrences = tuple(ctx.utc_datetime(grid.utc[d, col]) for d in regular if d not in replaced)
    local = lambda d: datetime.combine(ctx.start + timedelta(days=d), pattern.local_time)  # noqa: E731
    exdates = tuple(sorted(local(d) for d in skipped + sorted(replaced)))
    return CircleSlot(
        tuple(p.id for p in people),
        pattern,
        cost,
        occurrences,
        exdates,
        tuple(local(d) for d in skipped),
        tuple(events),
    )


def _week(person: Person, start: datetime) -> tuple[int, int]:
    iso = start.astimezone(zone(person.timezone)).isocalendar()
    return (iso[0], iso[1])


def clashes(slot: CircleSlot, people: Sequence[Person], busy: Busy, buffer: int) -> str | None:
    """Why ``slot`` cannot go around the members' other meetings (None: it can).

    Hard rules ``no_overlap_with_buffer`` and ``weekly_limit`` against ``busy``.
    """
    mine = slot.meetings
    for p in people:
        others = busy.get(p.id, ())
        for m in mine:
            a, b = m.start, m.start + timedelta(minutes=m.duration_minutes)
            for o in others:
                c, d = o.start, o.start + timedelta(minutes=o.duration_minutes)
                if a < d + timedelta(minutes=buffer) and c < b + timedelta(minutes=buffer):
                    return f"overlaps another meeting of {p.id}"
        if p.max_meetings_per_week is not None:
            weeks: dict[tuple[int, int], int] = {}
            for m in (*mine, *others):
                w = _week(p, m.start)
                weeks[w] = weeks.get(w, 0) + 1
                if weeks[w] > p.max_meetings_per_week:
                    return f"more than {p.max_meetings_per_week} meetings in a week for {p.id}"
    return None


def circle_cadence(people: Sequence[Person], program: Program) -> str:
    """A circle meets at ``[circles] cadence`` (members' own cadence cells concern their pairs)."""
    return program.circles.cadence


def circle_slot_options(
    ctx: SlotContext,
    people: Sequence[Person],
    *,
    busy: Busy | None = None,
    limit: int = 1,
    cadence: str | None = None,
    only: Pattern | None = None,
) -> list[CircleSlot]:
    """The best ``limit`` diverse valid slots for the group (best first) that fit around ``busy``.

    ``ctx`` must be built with the circles' meeting length (``circle_context``). ``only``: just
    that pattern (weekday, local time, anchor zone, rhythm; its length is the circles'), when it is
    still valid for the group (a continuing circle keeps its slot).
    """
    cadence = cadence or circle_cadence(people, ctx.program)
    found: list[tuple] = []
    if only is not None:
        if only.cadence != cadence:
            return []
        want = dataclasses.replace(only, duration_minutes=ctx.duration)
        found = [
            t
            for t in _valid_patterns(ctx, people, cadence, only.timezone)
            if ctx.pattern_of(t[1], cadence, only.timezone) == want
        ]
    else:
        for anchor in _anchors(ctx, people):
            found.extend(_valid_patterns(ctx, people, cadence, anchor))
    if not found:
        return []
    first = people[0].timezone
    found.sort(key=lambda t: (t[0], t[2] != first, t[2], t[1]))
    buffer = ctx.program.cycle.buffer_minutes
    order = np.arange(len(found))
    labels = np.array([t[1] // ctx.cols for t in found])
    wanted = limit if limit > 0 else len(found)
    out: list[CircleSlot] = []
    for k in select_diverse(order, labels, len(found)):
        slot = _materialise(ctx, people, cadence, found[k])
        if busy and clashes(slot, people, busy, buffer):
            continue
        out.append(slot)
        if len(out) >= wanted:
            break
    return out


def has_common_slot(ctx: SlotContext, people: Sequence[Person], cadence: str | None = None) -> bool:
    """Whether the group has any valid recurring slot (ignoring other meetings)."""
    cadence = cadence or circle_cadence(people, ctx.program)
    return any(_valid_patterns(ctx, people, cadence, anchor) for anchor in _anchors(ctx, people))


class GroupSlotTest:
    """``has_common_slot`` for many groups of one cohort: each person's per-anchor grid arrays are
    computed once, and a group's test is an AND/OR over them and one reduction per anchor."""

    def __init__(self, ctx: SlotContext):
        self.ctx = ctx
        self._arrays: dict[tuple[str, PersonId], tuple[np.ndarray, np.ndarray]] = {}
        self._distinct: dict[tuple[tuple[int, ...], str, bytes], np.ndarray] = {}

    def _intern(self, arr: np.ndarray) -> np.ndarray:
        """One shared read-only copy per distinct array (people with the same hours and zone, and
        everyone's all-false skip days, share theirs: thousands of people stay small)."""
        key = (arr.shape, arr.dtype.str, arr.tobytes())
        hit = self._distinct.get(key)
        if hit is None:
            arr.flags.writeable = False
            self._distinct[key] = hit = arr
        return hit

    def _person(self, anchor: str, person: Person) -> tuple[np.ndarray, np.ndarray]:
        """``ctx.grid(anchor, (person,))``'s ``ok`` and ``skip`` arrays, without the rest."""
        key = (anchor, person.id)
        hit = self._arrays.get(key)
        if hit is None:
            ctx = self.ctx
            _, straddle = ctx.zone_view(anchor, person.timezone)
            wm, day_idx, *_ = ctx.zone_derived(anchor, person.timezone)
            data = ctx.person(person.id)
            hit = (self._intern(data.covers[wm] & ~straddle), self._intern(data.skip_days[day_idx]))
            self._arrays[key] = hit
        return hit

    def exists(self, people: Sequence[Person], cadence: str | None = None) -> bool:
        ctx = self.ctx
        cadence = cadence or circle_cadence(people, ctx.program)
        for anchor in _anchors(ctx, people):
            _, gap = ctx.anchor_grid(anchor)
            good = ~gap
            skip = np.zeros_like(gap)
            for p in people:
                ok, sk = self._person(anchor, p)
                good = good & ok
                skip = skip | sk
            valid = ctx._reduce((skip | good) & ~gap, cadence, "all", True)
            if not valid.any():
                continue
            meets = ctx._reduce(~skip, cadence, "any", False)
            if (valid & meets).any():
                return True
        return False
