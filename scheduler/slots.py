"""Valid recurring slots for a pair, computed on a vectorised (day x start-time) grid.

The grid: one row per day of the cycle (in the anchor's local calendar), one column per start time
on ``cycle.granularity_minutes``. For each anchor zone we turn every local wall time into a UTC
minute through a per-zone offset table (exact ``zoneinfo`` offsets, transitions found to the
minute), then into each person's own local week-minute. Availability, holidays, blackouts and DST
gaps become boolean masks; a recurring pattern is a set of grid rows (its dates) in one column, so
its validity is an ``all`` over those rows.

Rules (hard): every occurrence that takes place starts and ends inside both people's weekly
availability in their own local time; an occurrence whose local date (for either person) is a
program holiday or in either person's ``unavailable`` ranges is skipped and becomes an exdate;
an occurrence that straddles either person's clock change, or whose anchor-local time falls in a
DST gap, makes the pattern invalid; a pattern needs at least one meeting that takes place.

Anchor rule: patterns are anchored in the mentee's zone; when the mentor's zone has different
clock changes over the cycle, patterns anchored in the mentor's zone are tried as well (that is how
a slot that is only DST-robust from the mentor's side is found). The anchor person's local time
never moves.

Cadence rule: the mentee's ``cadence`` cell if only the mentee set one, the mentor's if only the
mentor did, the more frequent of the two if both did and they differ (weekly > biweekly >
monthly: rhythm builds trust, and both agreed to at least that), else ``cycle.cadence``.

Soft quality of an option, compared lexicographically (lower is better):

1. more than a third of the occurrences skipped (holidays, blackouts) -> worse;
2. DST exception weeks: occurrences where the non-anchor person's local time differs from usual;
3. distance from the edges of both people's windows (more is better, in 15-minute steps up to 2 h);
4. inconvenient minutes outside ``[schedule] workday`` hours, taking the worse of the two sides so
   that the burden is shared rather than falling on one person (30-minute steps);

and, across pairs in ``scheduler.assign``, 5. a mentor's meetings spread over different weekdays.
"""

from __future__ import annotations

import copy
import threading
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TypedDict

import numpy as np

from cohort.model import MINUTES_PER_WEEK, Cohort, Person, PersonId
from cohort.program import Program
from scheduler.recurrence import UTC, Pattern, occurrence_dates, zone

PAD_DAYS = 2  # the grid's epoch is local midnight two days before the cycle starts
CADENCE_RANK = {"weekly": 0, "biweekly": 1, "monthly": 2}
EDGE_CAP = 120

# The slot cost: the soft quality of a pattern folded into one integer (CP-SAT minimises it) in
# mixed radix, most significant level first. Each level's value is capped and bucketed, and its
# radix is one more than its largest bucket, so any step of a higher level outweighs every
# combination of the lower ones (the order is exactly lexicographic):
#   1. too many of the cycle's dates skipped (more than ``max_skip_fraction``): 0 or 1;
#   2. meetings at an unusual local time for someone (daylight-saving moves): 0..DST_CAP;
#   3. little room to the nearer edge of someone's availability: (EDGE_CAP - room) in
#      EDGE_BUCKET-minute steps, 0..EDGE_CAP // EDGE_BUCKET;
#   4. minutes outside someone's working day per meeting, in INCONVENIENT_BUCKET-minute steps,
#      0..INCONVENIENT_CAP // INCONVENIENT_BUCKET.
DST_CAP = 60
DST_RADIX = DST_CAP + 1  # 61
EDGE_BUCKET = 15
EDGE_STEPS = EDGE_CAP // EDGE_BUCKET  # 8
EDGE_RADIX = EDGE_STEPS + 1  # 9
INCONVENIENT_CAP = 480
INCONVENIENT_BUCKET = 30
INCONVENIENT_RADIX = INCONVENIENT_CAP // INCONVENIENT_BUCKET + 1  # 17
# ``slot_signatures`` codes: (zone, hours) signature x cadence cell (a CADENCE_RANK, or none)
NO_CADENCE = 3
SIGNATURE_CADENCES = NO_CADENCE + 1


def pair_cadence(mentor: Person, mentee: Person, program: Program) -> str:
    """The pair's cadence by the documented rule (mentee, mentor, the more frequent, program)."""
    if mentee.cadence and mentor.cadence:
        return min(mentee.cadence, mentor.cadence, key=CADENCE_RANK.__getitem__)
    return mentee.cadence or mentor.cadence or program.cycle.cadence


@dataclass(frozen=True)
class Meeting:
    """One meeting an option implies: UTC start, length, and kind ('regular' or a milestone)."""

    start: datetime
    duration_minutes: int
    kind: str = "regular"


@dataclass(frozen=True)
class SlotOption:
    """One valid recurring pattern for a pair, with what it implies and its soft quality.

    ``quality`` = (too_many_skipped, dst_exception_weeks, -edge_minutes, inconvenient_minutes);
    ``cost`` folds it into one integer with the same lexicographic order (for CP-SAT).
    """

    mentor_id: PersonId
    mentee_id: PersonId
    pattern: Pattern
    cost: int
    quality: tuple[int, int, int, int]
    occurrences: tuple[datetime, ...]  # regular meetings that take place (UTC)
    exdates: tuple[datetime, ...]  # naive anchor-local starts skipped or replaced by a milestone
    skipped: tuple[datetime, ...]  # the subset of exdates skipped for holidays/blackouts
    events: tuple[Meeting, ...] = ()  # milestones
    mentor_weekday: int = 0  # mentor-local weekday of the usual meeting (for spreading)

    @property
    def meetings(self) -> tuple[Meeting, ...]:
        regular = tuple(Meeting(t, self.pattern.duration_minutes) for t in self.occurrences)
        return tuple(sorted(regular + self.events, key=lambda m: m.start))


class ZoneTable:
    """A zone's UTC offset (minutes) as a step function of grid minutes (UTC since the epoch)."""

    def __init__(self, name: str, epoch: datetime, days: int):
        tz = zone(name)
        base = epoch.replace(tzinfo=UTC)

        def off(minute: int) -> int:
            delta = (base + timedelta(minutes=minute)).astimezone(tz).utcoffset()
            return int(delta.total_seconds() // 60) if delta is not None else 0

        lo, hi = -2 * 1440, (days + 4) * 1440
        starts, offs = [-(1 << 40)], [off(lo)]
        prev = offs[0]
        for t in range(lo + 60, hi + 60, 60):
            cur = off(t)
            if cur != prev:  # binary search the exact transition minute inside the hour
                a, b = t - 60, t
                while b - a > 1:
                    mid = (a + b) // 2
                    if off(mid) == prev:
                        a = mid
                    else:
                        b = mid
                starts.append(b)
                offs.append(cur)
                prev = cur
        self.name = name
        self.starts = np.array(starts, dtype=np.int64)
        self.offs = np.array(offs, dtype=np.int64)
        self._starts_list, self._offs_list = starts, offs

    def offset_at(self, utc_minute: int) -> int:
        """``offset`` of one minute (scalar, no numpy overhead)."""
        return self._offs_list[bisect_right(self._starts_list, utc_minute) - 1]

    def offset(self, utc_minutes: np.ndarray) -> np.ndarray:
        return self.offs[np.searchsorted(self.starts, utc_minutes, side="right") - 1]

    def to_utc(self, local_minutes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """UTC minutes of local wall minutes, and a mask of nonexistent (gap) local times.

        Ambiguous times take the larger offset, i.e. the first instant (``fold=0``).
        """
        best = np.full(local_minutes.shape, -(1 << 40), dtype=np.int64)
        found = np.zeros(local_minutes.shape, dtype=bool)
        for o in sorted(set(self.offs.tolist())):  # ascending: the last match is the largest offset
            utc = local_minutes - o
            ok = self.offset(utc) == o
            best = np.where(ok, utc, best)
            found |= ok
        return best, ~found


@dataclass
class _PersonData:
    spans: tuple[tuple[int, int], ...]  # availability over three weeks, merged (wrap-safe)
    covers: np.ndarray  # [week-minute] -> the regular meeting fits from here
    room: np.ndarray  # [week-minute] -> minutes to the nearer edge of the window
    skip_days: np.ndarray  # [local day index + 3] -> holiday or away


@dataclass
class _Signatures:
    """Per-person codes for ``has_slot``: signature = (time zone, weekly hours)."""

    index: dict[PersonId, int]
    sig: np.ndarray  # person index -> signature id
    cadence: np.ndarray  # person index -> CADENCE_RANK, or 9 when the cell is empty
    reps: list[tuple[str, tuple]]  # signature id -> (zone, availability)
    zones: list[str]
    sig_zone: np.ndarray  # signature id -> index into ``zones``


@dataclass
class _Grid:
    """Per-pair, per-anchor grid arrays (rows: cycle days, columns: start times)."""

    anchor: str
    utc: np.ndarray
    gap: np.ndarray
    ok: dict[str, np.ndarray] = field(default_factory=dict)
    skip: dict[str, np.ndarray] = field(default_factory=dict)
    delta: dict[str, np.ndarray] = field(default_factory=dict)
    room: dict[str, np.ndarray] = field(default_factory=dict)
    outside: dict[str, np.ndarray] = field(default_factory=dict)
    weekminute: dict[str, np.ndarray] = field(default_factory=dict)


class Evaluation(TypedDict):
    """``SlotContext.evaluate``'s answer: flat per-pattern arrays plus the pair's grid arrays."""

    valid: np.ndarray
    cost: np.ndarray
    too_many: np.ndarray
    dst: np.ndarray
    edge: np.ndarray
    inc: np.ndarray
    meets: np.ndarray
    grid: _Grid
    skip: np.ndarray
    good: np.ndarray


class SlotContext:
    """Everything about one cohort and program that slot search reuses: tables, grids, caches."""

    def __init__(self, cohort: Cohort, program: Program, *, workday: tuple[int, int] | None = None):
        cycle = program.cycle
        self.cohort = cohort
        self.program = program
        self.start: date = cycle.start
        self.last_day: date = cycle.last_day
        self.days = (self.last_day - self.start).days + 1
        self.gran = cycle.granularity_minutes
        self.cols = 1440 // self.gran
        self.duration = cycle.duration_minutes
        self.epoch = datetime.combine(self.start - timedelta(days=PAD_DAYS), datetime.min.time())
        self.epoch_utc = self.epoch.replace(tzinfo=UTC)
        self.epoch_wd = self.epoch.weekday()
        self.holidays = frozenset(cycle.holidays)
        self.month_of_day = [
            (day.year, day.month) for day in (self.start + timedelta(days=d) for d in range(self.days))
        ]
        settings = getattr(program, "schedule", None)
        if workday is None:
            workday = (settings.workday_start_hour, settings.workday_end_hour) if settings else (9, 17)
        self.workday = workday
        self.max_skip_fraction = settings.max_skipped_fraction if settings else 1 / 3
        self._zones: dict[str, ZoneTable] = {}
        self._anchor: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._zone_pair: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        self._covers: dict[tuple, np.ndarray] = {}
        self._avail: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        self._skips: dict[tuple, np.ndarray] = {}
        self._span_cache: dict[tuple, tuple[tuple[int, int], ...]] = {}
        self._anchors: dict[tuple[str, str], list[str]] = {}
        self._derived: dict[tuple[str, str], tuple[np.ndarray, ...]] = {}
        self._strict: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        self._sig: _Signatures | None = None
        self._memo: tuple[np.ndarray, np.ndarray] = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool))
        self._hits: dict[tuple[str, str, str], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._lock = threading.Lock()
        local_minute = np.arange(1440)
        dur = np.arange(self.duration)
        lo, hi = workday[0] * 60, workday[1] * 60
        mins = (local_minute[:, None] + dur[None, :]) % 1440
        self.outside_by_minute = ((mins < lo) | (mins >= hi)).sum(axis=1)
        self.labels: dict[str, list[tuple[int, int]]] = {}
        self.day_matrix: dict[str, np.ndarray] = {}
        for cadence in ("weekly", "biweekly", "monthly"):
            labels, rows = [], []
            groups = {"weekly": [0], "biweekly": [0, 1], "monthly": [1, 2, 3, 4]}[cadence]
            for grp in groups:
                for wd in range(7):
                    pat = Pattern(
                        "UTC",
                        wd,
                        0,
                        self.duration,
                        cadence,
                        parity=grp if cadence == "biweekly" else 0,
                        nth=grp if cadence == "monthly" else 0,
                    )
                    dates = occurrence_dates(pat, self.start, self.last_day)
                    rows.append([(d - self.start).days for d in dates])
                    labels.append((wd, grp))
            width = max(1, max(len(r) for r in rows))
            mat = np.full((len(rows), width), self.days, dtype=np.int64)  # padding -> neutral row
            for i, r in enumerate(rows):
                mat[i, : len(r)] = r
            self.labels[cadence] = labels
            self.day_matrix[cadence] = mat

    def with_people(self, people: Sequence[Person]) -> SlotContext:
        """This context for ``people`` alone (one of them with other hours, say), sharing every
        table: they are keyed by content (zones, weekly hours, away days), never by person."""
        view = copy.copy(self)
        view.cohort = Cohort(tuple(people))
        view._sig = None
        view._memo = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool))
        view._strict = {}
        return view

    # ----- tables --------------------------------------------------------------------------
    def zone_table(self, name: str) -> ZoneTable:
        if name not in self._zones:
            self._zones[name] = ZoneTable(name, self.epoch, self.days)
        return self._zones[name]

    def anchor_grid(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """UTC minutes and DST-gap mask of every (day, start) in the anchor zone's wall time."""
        if name not in self._anchor:
            d = np.arange(self.days, dtype=np.int64)[:, None]
            g = np.arange(self.cols, dtype=np.int64)[None, :]
            local = (d + PAD_DAYS) * 1440 + g * self.gran
            self._anchor[name] = self.zone_table(name).to_utc(local)
        return self._anchor[name]

    def zone_view(self, anchor: str, name: str) -> tuple[np.ndarray, np.ndarray]:
        """For people in zone ``name``: local minutes since the epoch and a clock-change-straddle mask."""
        key = (anchor, name)
        if key not in self._zone_pair:
            utc, _ = self.anchor_grid(anchor)
            table = self.zone_table(name)
            off = table.offset(utc)
            straddle = table.offset(utc + self.duration) != off
            self._zone_pair[key] = ((utc + off).astype(np.int32), straddle)
        return self._zone_pair[key]

    def zone_derived(self, anchor: str, name: str) -> tuple[np.ndarray, ...]:
        """Person-independent arrays for zone ``name`` under ``anchor``: week-minute, local day
        index (+3), offset delta to the anchor, minutes outside the workday, and the delta values."""
        key = (anchor, name)
        if key not in self._derived:
            local, _ = self.zone_view(anchor, name)
            d = np.arange(self.days, dtype=np.int64)[:, None]
            g = np.arange(self.cols, dtype=np.int64)[None, :]
            delta = local - ((d + PAD_DAYS) * 1440 + g * self.gran)
            wm = (local + self.epoch_wd * 1440) % MINUTES_PER_WEEK
            day_idx = np.clip(local // 1440 - PAD_DAYS + 3, 0, self.days + 7)
            small = lambda a: a.astype(np.int16)  # noqa: E731 -- all fit: week-minutes, days, offsets
            self._derived[key] = (
                small(wm),
                small(day_idx),
                small(delta),
                small(self.outside_by_minute[local % 1440]),
                np.unique(delta),
            )
        return self._derived[key]

    def week_covers(self, availability: tuple[tuple[int, int], ...]) -> np.ndarray:
        """[week-minute] -> a regular meeting fits from here (shared by everyone with these hours)."""
        hit = self._covers.get(availability)
        if hit is None:
            hit = self._week_arrays(availability)[1]
            self._covers[availability] = hit
        return hit

    def _week_arrays(self, availability: tuple[tuple[int, int], ...]) -> tuple[np.ndarray, np.ndarray]:
        """Wrap-safe prefix sums (three weeks, int32; transient) and the ``covers`` mask of a set of hours."""
        week = np.zeros(MINUTES_PER_WEEK, dtype=bool)
        for a, b in availability:
            week[a:b] = True
        three = np.concatenate([week, week, week])
        prefix = np.concatenate([[0], np.cumsum(three, dtype=np.int32)]).astype(np.int32)
        s = np.arange(MINUTES_PER_WEEK) + MINUTES_PER_WEEK
        covers = prefix[s + self.duration] - prefix[s] == self.duration
        return prefix, covers

    def _availability_data(self, availability: tuple[tuple[int, int], ...]) -> tuple[np.ndarray, np.ndarray]:
        """(covers, room) of a set of hours, computed once per distinct set (memory: people with
        the same hours share arrays; ``room`` is uint8, capped at ``EDGE_CAP``)."""
        hit = self._avail.get(availability)
        if hit is None:
            prefix, covers = self._week_arrays(availability)
            three = np.diff(prefix).astype(bool)
            s = np.arange(MINUTES_PER_WEEK) + MINUTES_PER_WEEK
            pos = np.arange(three.size)
            last_false = np.maximum.accumulate(np.where(~three, pos, -1))
            nxt = np.where(~three, pos, three.size)
            next_false = np.minimum.accumulate(nxt[::-1])[::-1]
            left = (s - 1) - last_false[s - 1]
            right = next_false[s + self.duration] - (s + self.duration)
            room = np.minimum(np.where(covers, np.minimum(left, right), 0), EDGE_CAP).astype(np.uint8)
            hit = (self._covers.setdefault(availability, covers), room)
            self._avail[availability] = hit
        return hit

    def _skip_days(self, unavailable: tuple) -> np.ndarray:
        """[local day index + 3] -> a program holiday or inside one of these ``unavailable`` ranges."""
        hit = self._skips.get(unavailable)
        if hit is None:
            first = self.start - timedelta(days=3)
            hit = np.zeros(self.days + 8, dtype=bool)
            for d in self.holidays:
                if 0 <= (d - first).days < hit.size:
                    hit[(d - first).days] = True
            for lo, hi in unavailable:
                a, b = max(0, (lo - first).days), min(hit.size - 1, (hi - first).days)
                if a <= b:
                    hit[a : b + 1] = True
            self._skips[unavailable] = hit
        return hit

    def person(self, pid: PersonId) -> _PersonData:
        """A person's weekly-hours arrays and skipped days (shared between people where equal)."""
        p = self.cohort[pid]
        covers, room = self._availability_data(p.availability)
        return _PersonData(self._spans(p.availability), covers, room, self._skip_days(p.unavailable))

    def _spans(self, availability: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
        """The hours repeated over three weeks with touching intervals merged (wrap-safe)."""
        hit = self._span_cache.get(availability)
        if hit is None:
            merged: list[list[int]] = []
            for k in range(3):
                for a, b in availability:
                    a, b = a + k * MINUTES_PER_WEEK, b + k * MINUTES_PER_WEEK
                    if merged and a <= merged[-1][1]:
                        merged[-1][1] = max(merged[-1][1], b)
                    else:
                        merged.append([a, b])
            hit = tuple((a, b) for a, b in merged)
            self._span_cache[availability] = hit
        return hit

    def utc_datetime(self, minute: int) -> datetime:
        return self.epoch_utc + timedelta(minutes=int(minute))

    def fits(self, pid: PersonId, utc_minute: int, minutes: int) -> bool:
        """Whether one meeting of ``minutes`` from ``utc_minute`` fits the person's week (scalar)."""
        p = self.cohort[pid]
        table = self.zone_table(p.timezone)
        off = table.offset_at(utc_minute)
        if table.offset_at(utc_minute + minutes) != off:
            return False
        wm = (utc_minute + off + self.epoch_wd * 1440) % MINUTES_PER_WEEK + MINUTES_PER_WEEK
        return any(a <= wm and wm + minutes <= b for a, b in self._spans(p.availability))

    # ----- per pair ------------------------------------------------------------------------
    def anchors(self, mentor: Person, mentee: Person) -> list[str]:
        """The mentee's zone, plus the mentor's when its clock changes differ over the cycle."""
        return self.anchor_zones(mentor.timezone, mentee.timezone)

    def anchor_zones(self, mentor_zone: str, mentee_zone: str) -> list[str]:
        """``anchors`` by zone names."""
        key = (mentee_zone, mentor_zone)
        if key not in self._anchors:
            out = [mentee_zone]
            if mentor_zone != mentee_zone:
                utc, _ = self.anchor_grid(mentee_zone)
                a = self.zone_table(mentee_zone).offset(utc)
                b = self.zone_table(mentor_zone).offset(utc)
                if np.unique(b - a).size > 1:
                    out.append(mentor_zone)
            self._anchors[key] = out
        return self._anchors[key]

    def grid(self, anchor: str, people: Sequence[Person]) -> _Grid:
        utc, gap = self.anchor_grid(anchor)
        out = _Grid(anchor, utc, gap)
        for p in people:
            _, straddle = self.zone_view(anchor, p.timezone)
            wm, day_idx, delta, outside, _ = self.zone_derived(anchor, p.timezone)
            data = self.person(p.id)
            out.weekminute[p.id] = wm
            out.ok[p.id] = data.covers[wm] & ~straddle
            out.skip[p.id] = data.skip_days[day_idx]
            out.delta[p.id] = delta
            out.room[p.id] = data.room[wm]
            out.outside[p.id] = outside
        return out

    def _reduce(self, arr: np.ndarray, cadence: str, how: str, neutral: object) -> np.ndarray:
        """Reduce a (day, start) array over each pattern's dates -> a flat array over patterns."""
        pad = np.full((1, arr.shape[1]), neutral, dtype=arr.dtype)
        full = np.concatenate([arr, pad])[self.day_matrix[cadence]]  # (labels, dates, starts)
        reducers: dict[str, Callable[..., np.ndarray]] = {
            "all": np.all,
            "any": np.any,
            "sum": np.sum,
            "min": np.min,
        }
        red = reducers[how](full, axis=1)
        return red.reshape(-1)

    def pattern_of(self, index: int, cadence: str, anchor: str) -> Pattern:
        label, col = divmod(index, self.cols)
        wd, grp = self.labels[cadence][label]
        return Pattern(
            anchor,
            wd,
            col * self.gran,
            self.duration,
            cadence,
            parity=grp if cadence == "biweekly" else 0,
            nth=grp if cadence == "monthly" else 0,
        )

    def evaluate(self, mentor: Person, mentee: Person, cadence: str, anchor: str) -> Evaluation:
        """Validity and soft scores of every pattern for the pair in one anchor zone (flat arrays)."""
        grid = self.grid(anchor, (mentor, mentee))
        m, e = mentor.id, mentee.id
        skip = grid.skip[m] | grid.skip[e]
        good = grid.ok[m] & grid.ok[e]
        occ_ok = (skip | good) & ~grid.gap
        valid = self._reduce(occ_ok, cadence, "all", True)
        meets = self._reduce(~skip, cadence, "sum", False).astype(np.int64)
        total = self._reduce(np.ones_like(skip), cadence, "sum", False).astype(np.int64)
        valid &= meets >= 1
        dst = np.zeros_like(meets)
        for p in (mentor, mentee):
            values = self.zone_derived(anchor, p.timezone)[4]
            if values.size == 1:
                continue  # this person's local time never moves against the anchor
            delta = grid.delta[p.id]
            counts = [self._reduce((delta == v) & ~skip, cadence, "sum", False) for v in values]
            dst += meets - np.max(np.stack(counts), axis=0)
        room = np.where(skip, EDGE_CAP, np.minimum(grid.room[m], grid.room[e]))
        edge = self._reduce(room, cadence, "min", EDGE_CAP)
        inc = np.zeros_like(meets)
        for pid in (m, e):
            tot = self._reduce(np.where(skip, 0, grid.outside[pid]), cadence, "sum", 0)
            inc = np.maximum(inc, tot // np.maximum(meets, 1))
        too_many = (total - meets) > total * self.max_skip_fraction
        dst = np.minimum(dst, DST_CAP)
        edge_b = np.minimum(edge, EDGE_CAP) // EDGE_BUCKET
        inc_b = np.minimum(inc, INCONVENIENT_CAP) // INCONVENIENT_BUCKET
        # the mixed-radix slot cost (see DST_RADIX above)
        cost = (
            (too_many.astype(np.int64) * DST_RADIX + dst) * EDGE_RADIX + (EDGE_STEPS - edge_b)
        ) * INCONVENIENT_RADIX + inc_b
        return {
            "valid": valid,
            "cost": cost,
            "too_many": too_many,
            "dst": dst,
            "edge": edge,
            "inc": inc,
            "meets": meets,
            "grid": grid,
            "skip": skip,
            "good": good,
        }

    def _signatures(self) -> _Signatures:
        """Per person: a signature id for (time zone, weekly hours) and a cadence code (once)."""
        if self._sig is None:
            people = self.cohort.people
            ids: dict[tuple[str, tuple], int] = {}
            sig = np.empty(len(people), dtype=np.int64)
            for i, p in enumerate(people):
                sig[i] = ids.setdefault((p.timezone, p.availability), len(ids))
            reps = list(ids)
            zones = sorted({z for z, _ in reps})
            zpos = {z: k for k, z in enumerate(zones)}
            self._sig = _Signatures(
                index={p.id: i for i, p in enumerate(people)},
                sig=sig,
                cadence=np.array(
                    [CADENCE_RANK[p.cadence] if p.cadence else 9 for p in people], dtype=np.int64
                ),
                reps=reps,
                zones=zones,
                sig_zone=np.array([zpos[z] for z, _ in reps], dtype=np.int64),
            )
        return self._sig

    @property
    def has_slot(self) -> SlotTest:
        """The recurring-slot test: call it per pair (``ctx.has_slot(mentor_ids, mentee_ids)``) or
        by signatures for whole blocks of pairs (``SlotTest``)."""
        return SlotTest(self)

    def _has_slot(
        self, mentor_ids: Sequence[PersonId], mentee_ids: Sequence[PersonId], *, memo: bool = True
    ) -> np.ndarray:
        """``SlotTest.__call__``."""
        n = len(mentor_ids)
        out = np.zeros(n, dtype=bool)
        if n == 0:
            return out
        sg = self._signatures()
        mi = np.fromiter(map(sg.index.__getitem__, mentor_ids), dtype=np.int64, count=n)
        ei = np.fromiter(map(sg.index.__getitem__, mentee_ids), dtype=np.int64, count=n)
        cm, ce = sg.cadence[mi], sg.cadence[ei]
        default = CADENCE_RANK[self.program.cycle.cadence]
        cad = np.where((cm == 9) & (ce == 9), default, np.minimum(cm, ce))  # the documented rule
        sm, se = sg.sig[mi], sg.sig[ei]
        if not memo:
            return self._slot_by_signature(sm, se, cad)
        n_sig = len(sg.reps)
        code = (cad * n_sig + sm) * n_sig + se
        keys, vals = self._memo
        if keys.size:
            pos = np.minimum(np.searchsorted(keys, code), keys.size - 1)
            hit = keys[pos] == code
            out[hit] = vals[pos[hit]]
        else:
            hit = np.zeros(n, dtype=bool)
        miss = np.flatnonzero(~hit)
        if miss.size:
            todo, first, inverse = np.unique(code[miss], return_index=True, return_inverse=True)
            k = miss[first]
            res = self._slot_by_signature(sm[k], se[k], cad[k])
            out[miss] = res[inverse.reshape(-1)]
            merged = np.concatenate([keys, todo])
            order = np.argsort(merged, kind="stable")
            self._memo = (merged[order], np.concatenate([vals, res])[order])
        return out

    def slot_signatures(self, ids: Sequence[PersonId]) -> np.ndarray:
        """Per person a code of what ``has_slot`` depends on (time zone, weekly hours, cadence
        cell): people with equal codes get the same answer with every partner."""
        sg = self._signatures()
        index = np.fromiter(map(sg.index.__getitem__, ids), dtype=np.int64, count=len(ids))
        return sg.sig[index] * SIGNATURE_CADENCES + np.minimum(sg.cadence[index], NO_CADENCE)

    def slot_pairs(self, mentor_codes: np.ndarray, mentee_codes: np.ndarray) -> np.ndarray:
        """``has_slot`` per pair of ``slot_signatures`` codes (element by element): for few pairs
        among many codes, where a whole ``slot_table`` would answer pairs nobody asks about."""
        ms, es = np.asarray(mentor_codes, np.int64), np.asarray(mentee_codes, np.int64)
        cad = np.minimum(ms % SIGNATURE_CADENCES, es % SIGNATURE_CADENCES)
        cad[cad == NO_CADENCE] = CADENCE_RANK[self.program.cycle.cadence]
        with self._lock:  # fills the shared row cache
            return self._slot_by_signature(ms // SIGNATURE_CADENCES, es // SIGNATURE_CADENCES, cad)

    def slot_table(self, mentor_codes: np.ndarray, mentee_codes: np.ndarray) -> np.ndarray:
        """``has_slot`` for every (mentor code, mentee code) pair of ``slot_signatures`` codes: a
        bool matrix (len(mentor_codes), len(mentee_codes)), the same answers pair by pair.

        Weekly first: a biweekly or monthly pattern's dates are some of the weekly pattern's
        dates (same weekday and start), so a pattern valid on every weekly date is valid at every
        cadence. Per anchor zone, the packed weekly rows (``_strict_rows``) of the codes anchored
        there are unpacked on the patterns some row of each side has, and one 0/1 matrix product
        (BLAS) tells which pairs share one; only the pairs without a weekly pattern are then
        tested at their own cadence, pair by pair on packed rows. The work grows with the
        distinct (zone, hours) codes, never with the people pairs.
        """
        ms, es = np.asarray(mentor_codes, np.int64), np.asarray(mentee_codes, np.int64)
        out = np.zeros((ms.size, es.size), dtype=bool)
        if out.size == 0:
            return out
        sg = self._signatures()
        hm, he = ms // SIGNATURE_CADENCES, es // SIGNATURE_CADENCES
        zm_of, ze_of = sg.sig_zone[hm], sg.sig_zone[he]
        nz = len(sg.zones)
        second = np.zeros((nz, nz), dtype=bool)  # [mentor zone, mentee zone]: also anchored at the mentor's
        for zm in np.unique(zm_of).tolist():
            for ze in np.unique(ze_of).tolist():
                second[zm, ze] = len(self.anchor_zones(sg.zones[zm], sg.zones[ze])) > 1
        blocks = [(z, np.arange(ms.size), np.flatnonzero(ze_of == z)) for z in np.unique(ze_of).tolist()]
        blocks += [
            (z, np.flatnonzero(zm_of == z), np.flatnonzero(second[z, ze_of]))
            for z in np.unique(zm_of).tolist()
        ]
        for z, rows, cols in blocks:
            if rows.size and cols.size:
                with self._lock:  # the rows are filled into a shared cache on demand
                    table = self._strict_rows("weekly", sg.zones[z], np.concatenate([hm[rows], he[cols]]))
                out[np.ix_(rows, cols)] |= _share_a_bit(table[hm[rows]], table[he[cols]])
        # the rest at the pair's own cadence (the documented rule; NO_CADENCE exceeds every rank)
        ri, ci = np.nonzero(~out)
        cad = np.minimum(ms[ri] % SIGNATURE_CADENCES, es[ci] % SIGNATURE_CADENCES)
        cad[cad == NO_CADENCE] = CADENCE_RANK[self.program.cycle.cadence]
        todo = cad != CADENCE_RANK["weekly"]
        ri, ci, cad = ri[todo], ci[todo], cad[todo]
        names = ("weekly", "biweekly", "monthly")
        for anchor_side in ("mentee", "mentor"):
            az = ze_of[ci] if anchor_side == "mentee" else zm_of[ri]
            use = np.ones(ri.size, bool) if anchor_side == "mentee" else second[zm_of[ri], ze_of[ci]]
            for c in np.unique(cad).tolist():
                for z in np.unique(az[use & (cad == c)]).tolist():
                    sel = np.flatnonzero(use & (cad == c) & (az == z))
                    pm, pe = hm[ri[sel]], he[ci[sel]]
                    with self._lock:
                        table = self._strict_rows(names[c], sg.zones[z], np.concatenate([pm, pe]))
                    for lo in range(0, sel.size, 16384):
                        hit = (table[pm[lo : lo + 16384]] & table[pe[lo : lo + 16384]]).any(axis=1)
                        out[ri[sel[lo : lo + 16384]], ci[sel[lo : lo + 16384]]] |= hit
        return out

    def _slot_by_signature(self, sm: np.ndarray, se: np.ndarray, cad: np.ndarray) -> np.ndarray:
        """``has_slot`` on signature ids (mentor, mentee) and cadence codes, without memo."""
        sg = self._signatures()
        n = sm.size
        out = np.zeros(n, dtype=bool)
        zm, ze = sg.sig_zone[sm], sg.sig_zone[se]
        names = ("weekly", "biweekly", "monthly")
        nz = len(sg.zones)
        second = np.zeros((nz, nz), dtype=bool)  # [mentee zone, mentor zone]
        for a, b in set(zip(ze.tolist(), zm.tolist(), strict=True)):
            second[a, b] = len(self.anchor_zones(sg.zones[b], sg.zones[a])) > 1
        for anchor_side in ("mentee", "mentor"):
            az = ze if anchor_side == "mentee" else zm
            use = np.ones(n, dtype=bool) if anchor_side == "mentee" else second[ze, zm]
            for c in range(3):
                for z in range(nz):
                    sel = np.flatnonzero(use & (cad == c) & (az == z))
                    if sel.size == 0:
                        continue
                    table = self._strict_rows(names[c], sg.zones[z], np.concatenate([sm[sel], se[sel]]))
                    pm, pe = sm[sel], se[sel]
                    for lo in range(0, sel.size, 16384):
                        a = table[pm[lo : lo + 16384]]
                        a &= table[pe[lo : lo + 16384]]
                        out[sel[lo : lo + 16384]] |= a.any(axis=1)
        return out

    def _strict_rows(self, cadence: str, anchor: str, sigs: np.ndarray) -> np.ndarray:
        """The table [signature id] -> bits over patterns valid on every date for anyone with that
        zone and those hours, packed into uint64 words; rows for ``sigs`` are filled on demand."""
        sg = self._signatures()
        key2 = (cadence, anchor)
        if key2 not in self._strict:
            words = -(-(len(self.labels[cadence]) * self.cols) // 64)
            self._strict[key2] = (
                np.zeros((len(sg.reps), words), dtype=np.uint64),
                np.zeros(len(sg.reps), dtype=bool),
            )
        table, done = self._strict[key2]
        missing = np.unique(sigs[~done[sigs]]).tolist()
        by_zone: dict[str, list[int]] = {}
        for x in missing:
            by_zone.setdefault(sg.reps[x][0], []).append(x)
        for zname, group in by_zone.items():
            key = (cadence, anchor, zname)
            if key not in self._hits:
                local, straddle = self.zone_view(anchor, zname)
                utc, gap = self.anchor_grid(anchor)
                d = np.arange(self.days, dtype=np.int64)[:, None]
                g = np.arange(self.cols, dtype=np.int64)[None, :]
                delta = local - ((d + PAD_DAYS) * 1440 + g * self.gran)
                values = np.unique(delta)
                hits = np.stack([self._reduce(delta == v, cadence, "any", False) for v in values])
                invalid = self._reduce(gap | straddle, cadence, "any", False)
                self._hits[key] = (values, hits, invalid)
            values, hits, invalid = self._hits[key]
            npat = hits.shape[1]
            label = np.arange(npat) // self.cols
            col = np.arange(npat) % self.cols
            wd = np.array([self.labels[cadence][lb][0] for lb in range(len(self.labels[cadence]))])[label]
            base = wd * 1440 + col * self.gran
            words = -(-npat // 64)
            for lo in range(0, len(group), 512):
                part = group[lo : lo + 512]
                covers = np.stack([self.week_covers(sg.reps[x][1]) for x in part])  # (sigs, week-minutes)
                ok = np.ones((len(part), npat), dtype=bool)
                for k, v in enumerate(values):
                    idx = (base + v) % MINUTES_PER_WEEK
                    ok &= covers[:, idx] | ~hits[k][None, :]
                ok &= ~invalid[None, :]
                packed = np.zeros((len(part), words * 8), dtype=np.uint8)
                packed[:, : -(-npat // 8)] = np.packbits(ok, axis=1)
                table[part] = packed.view(np.uint64)
                done[part] = True
        return table


def _share_a_bit(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For packed bit rows ``a`` (r, words) and ``b`` (s, words): whether rows i and j have a set
    bit in common, as an (r, s) bool matrix. Only bits set in some row of each side take part; on
    those, one float32 0/1 matrix product counts the common bits (exact far below 2**24)."""
    common = np.bitwise_or.reduce(a, axis=0) & np.bitwise_or.reduce(b, axis=0)
    if not common.any():
        return np.zeros((len(a), len(b)), dtype=bool)
    bits = np.flatnonzero(np.unpackbits(common.view(np.uint8)))
    ua = np.unpackbits(a.view(np.uint8), axis=1)[:, bits].astype(np.float32)
    ub = np.unpackbits(b.view(np.uint8), axis=1)[:, bits].astype(np.float32)
    return (ua @ ub.T) > 0.5


class SlotTest:
    """``SlotContext.has_slot``: the recurring-slot test, per pair of ids or per signature.

    Called with (mentor ids, mentee ids) it answers pair by pair (the matcher's ``slot_filter``);
    ``signatures`` with ``table`` (every pair of codes) or ``pairs`` (given pairs of codes) answer
    for whole blocks of pairs at once (people with equal signatures get equal answers), which is
    how the matcher applies it to tens of millions of pairs without a call per pair.
    """

    def __init__(self, ctx: SlotContext):
        self.ctx = ctx

    def __call__(
        self, mentor_ids: Sequence[PersonId], mentee_ids: Sequence[PersonId], *, memo: bool = True
    ) -> np.ndarray:
        """For each (mentor, mentee) pair: whether a valid recurring slot exists (fast, vectorised).

        A sufficient test: a pattern counts when every one of its dates works for both people,
        including dates a holiday or blackout would skip; so True always means
        ``pair_slot_options`` finds an option. (It can only differ from the exact test when a
        clock-change week happens to be skipped.)

        The answer depends only on (mentor zone and hours, mentee zone and hours, pair cadence),
        so it is computed once per distinct such signature and remembered (``memo``) across calls.
        """
        return self.ctx._has_slot(mentor_ids, mentee_ids, memo=memo)

    def signatures(self, ids: Sequence[PersonId]) -> np.ndarray:
        """``SlotContext.slot_signatures``."""
        return self.ctx.slot_signatures(ids)

    def table(self, mentor_signatures: np.ndarray, mentee_signatures: np.ndarray) -> np.ndarray:
        """``SlotContext.slot_table``."""
        return self.ctx.slot_table(mentor_signatures, mentee_signatures)

    def pairs(self, mentor_signatures: np.ndarray, mentee_signatures: np.ndarray) -> np.ndarray:
        """``SlotContext.slot_pairs``."""
        return self.ctx.slot_pairs(mentor_signatures, mentee_signatures)


def select_diverse(order: np.ndarray, labels: np.ndarray, limit: int) -> list[int]:
    """Up to ``limit`` pattern indices from ``order`` (best first), round-robin over labels."""
    if limit <= 0 or order.size <= limit:
        return order.tolist()
    chosen: list[int] = []
    taken = np.zeros(order.size, dtype=bool)
    while len(chosen) < limit:
        seen: set[int] = set()
        progress = False
        for i, p in enumerate(order):
            if taken[i] or int(labels[i]) in seen:
                continue
            seen.add(int(labels[i]))
            taken[i] = True
            chosen.append(int(p))
            progress = True
            if len(chosen) >= limit:
                break
        if not progress:
            break
    return chosen


def pair_slot_options(
    mentor: Person,
    mentee: Person,
    program: Program,
    cadence: str | None = None,
    *,
    ctx: SlotContext | None = None,
    limit: int = 0,
    only: Pattern | None = None,
) -> list[SlotOption]:
    """Every valid recurring pattern for the pair (best first), or the best ``limit`` diverse ones.

    ``ctx`` shares tables between calls (build one ``SlotContext`` per cohort and program).
    ``only`` restricts the search to one pattern (to re-validate a previous cycle's series).
    """
    if ctx is None:
        from cohort.model import Cohort as _Cohort

        ctx = SlotContext(_Cohort((mentor, mentee) if mentor.id != mentee.id else (mentor,)), program)
    cadence = cadence or pair_cadence(mentor, mentee, program)
    found: list[tuple[int, int, str, Evaluation]] = []
    for anchor in ctx.anchors(mentor, mentee):
        if only is not None and only.timezone != anchor:
            continue
        ev = ctx.evaluate(mentor, mentee, cadence, anchor)
        idx = np.flatnonzero(ev["valid"])
        if only is not None:
            idx = np.array(
                [i for i in idx if ctx.pattern_of(int(i), cadence, anchor) == only], dtype=np.int64
            )
        for i in idx:
            found.append((int(ev["cost"][i]), int(i), anchor, ev))
    found.sort(key=lambda t: (t[0], t[2] != mentee.timezone, t[1]))
    if not found:
        return []
    order = np.arange(len(found))
    labels = np.array([t[1] // ctx.cols for t in found])
    chosen = select_diverse(order, labels, limit)
    return [_materialise(ctx, mentor, mentee, cadence, found[k]) for k in chosen]


def iter_slot_options(
    mentor: Person,
    mentee: Person,
    ctx: SlotContext,
    *,
    cadence: str | None = None,
    besides: Mapping[str, np.ndarray] | None = None,
    among: Mapping[str, np.ndarray] | None = None,
) -> Iterator[SlotOption]:
    """Every valid recurring pattern for the pair at its cadence (or ``cadence``), best first,
    materialised one at a time (a caller that stops at the first usable option pays for no more).

    ``besides``: per anchor zone, the patterns already known valid (``evaluate(...)["valid"]``
    where these people have other hours, ``SlotContext.with_people``): only the others.
    ``among``: only these pattern indices (per anchor zone), in the same order."""
    cadence = cadence or pair_cadence(mentor, mentee, ctx.program)
    found: list[tuple[int, int, str, Evaluation]] = []
    for anchor in ctx.anchors(mentor, mentee):
        if among is not None and anchor not in among:
            continue
        ev = ctx.evaluate(mentor, mentee, cadence, anchor)
        valid = ev["valid"]
        if besides is not None and anchor in besides:
            valid = valid & ~besides[anchor]
        idx = np.flatnonzero(valid) if among is None else among[anchor][valid[among[anchor]]]
        for i in idx:
            found.append((int(ev["cost"][i]), int(i), anchor, ev))
    found.sort(key=lambda t: (t[0], t[2] != mentee.timezone, t[1]))
    for item in found:
        yield _materialise(ctx, mentor, mentee, cadence, item)


def _materialise(
    ctx: SlotContext, mentor: Person, mentee: Person, cadence: str, item: tuple[int, int, str, Evaluation]
) -> SlotOption:
    """Turn a pattern index into a SlotOption: its meetings, exdates and milestones."""
    cost, index, anchor, ev = item
    pattern = ctx.pattern_of(index, cadence, anchor)
    label, col = divmod(index, ctx.cols)
    grid = ev["grid"]
    skip: np.ndarray = ev["skip"]
    good: np.ndarray = ev["good"]
    days = [int(d) for d in ctx.day_matrix[cadence][label] if d < ctx.days]
    regular = [d for d in days if not skip[d, col]]
    skipped = [d for d in days if skip[d, col]]
    events, replaced = _milestones(ctx, mentor, mentee, pattern, grid, good, skip, col, regular)
    occurrences = tuple(ctx.utc_datetime(grid.utc[d, col]) for d in regular if d not in replaced)
    local = lambda d: datetime.combine(ctx.start + timedelta(days=d), pattern.local_time)  # noqa: E731
    exdates = tuple(sorted(local(d) for d in skipped + sorted(replaced)))
    usual = int(np.bincount(grid.weekminute[mentor.id][regular, col] // 1440, minlength=7).argmax())
    quality = (
        int(ev["too_many"][index]),
        int(ev["dst"][index]),
        -int(ev["edge"][index]),
        int(ev["inc"][index]),
    )
    return SlotOption(
        mentor.id,
        mentee.id,
        pattern,
        cost,
        quality,
        occurrences,
        exdates,
        tuple(local(d) for d in skipped),
        tuple(events),
        usual,
    )


MILESTONE_AGENDA = {
    "kickoff": "Kickoff: goals ({goals}), boundaries, communication preferences, how often to meet",
    "checkin": "Monthly check-in on {goals}: recent challenges, accomplishments, next steps",
    "review": "Mid-cycle review of {goals}: progress so far, what to change, next steps",
    "closing": "Closing celebration: what was achieved on {goals}, next steps after the cycle",
}


def _milestones(
    ctx: SlotContext,
    mentor: Person,
    mentee: Person,
    pattern: Pattern,
    grid: _Grid,
    good: np.ndarray,
    skip: np.ndarray,
    col: int,
    regular: list[int],
) -> tuple[list[Meeting], set[int]]:
    """Milestone meetings for one option, and the regular dates they replace.

    Policy: a milestone takes the place of that week's regular meeting (same slot; the series gets
    an exdate), so nobody meets a partner twice in a week. The kickoff is in the cycle's first
    week: the regular meeting if there is one, else an extra meeting in the same weekly slot in
    week 1 when that slot is valid then, else the first regular meeting. Check-ins: the first
    regular meeting of every later calendar month (weekly and biweekly series only: in a monthly
    series every meeting already is a check-in); the review: the regular meeting nearest the
    cycle's middle; the closing: the last regular meeting. Kickoff and closing get their own
    length when it still fits both windows, else the regular length.
    """
    ms = ctx.program.milestones
    events: list[Meeting] = []
    replaced: set[int] = set()
    if not regular:
        return events, replaced

    def add(kind: str, d: int, minutes: int, replace: bool) -> None:
        u = int(grid.utc[d, col])
        if minutes != pattern.duration_minutes and not (
            ctx.fits(mentor.id, u, minutes) and ctx.fits(mentee.id, u, minutes)
        ):
            minutes = pattern.duration_minutes
        events.append(Meeting(ctx.utc_datetime(u), minutes, kind))
        if replace:
            replaced.add(d)

    used: set[int] = set()
    if ms.kickoff:
        first_week = (pattern.weekday - ctx.start.weekday()) % 7
        if regular[0] < 7:
            add("kickoff", regular[0], ms.kickoff_minutes, True)
            used.add(regular[0])
        elif (
            first_week < ctx.days
            and good[first_week, col]
            and not skip[first_week, col]
            and not grid.gap[first_week, col]
        ):
            add("kickoff", first_week, ms.kickoff_minutes, False)
            used.add(first_week)
        else:
            add("kickoff", regular[0], ms.kickoff_minutes, True)
            used.add(regular[0])
    free = [d for d in regular if d not in used]
    if ms.closing and len(free) >= 1 and (len(regular) >= 2 or not ms.kickoff):
        add("closing", free[-1], ms.closing_minutes, True)
        used.add(free[-1])
    free = [d for d in regular if d not in used]
    if ms.review and free:
        middle = ctx.days // 2
        best = min(free, key=lambda d: (abs(d - middle), d))
        add("review", best, pattern.duration_minutes, True)
        used.add(best)
    if ms.checkins and pattern.cadence != "monthly":
        month_of = ctx.month_of_day.__getitem__
        busy = {month_of(d) for d in used}
        for d in regular:
            if d in used or month_of(d) in busy:
                continue
            busy.add(month_of(d))
            add("checkin", d, pattern.duration_minutes, True)
            used.add(d)
    events.sort(key=lambda m: m.start)
    return events, replaced


# ----- plain-words explanations ---------------------------------------------------------------


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def describe_availability(person: Person) -> str:
    """'Mon-Fri 09:00-12:00; Sat 10:00-11:00' from week-minute intervals."""
    per_day: dict[int, list[str]] = {d: [] for d in range(7)}
    for a, b in person.availability:
        while a < b:
            day, lo = divmod(a, 1440)
            hi = min(b, (day + 1) * 1440)
            per_day[day % 7].append(f"{_hhmm(lo)}-{_hhmm(hi - day * 1440)}")
            a = hi
    names = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    groups: list[tuple[list[int], str]] = []
    for d in range(7):
        text = ", ".join(per_day[d])
        if not text:
            continue
        if groups and groups[-1][1] == text and groups[-1][0][-1] == d - 1:
            groups[-1][0].append(d)
        else:
            groups.append(([d], text))
    parts = [(names[g[0]] if len(g) == 1 else f"{names[g[0]]}-{names[g[-1]]}") + f" {t}" for g, t in groups]
    return "; ".join(parts) or "never"


def _fmt_day(day: date) -> str:
    return f"{day.day} {day:%B}"


def explain_no_slot(ctx: SlotContext, mentor: Person, mentee: Person, cadence: str | None = None) -> str:
    """Why a pair has no valid recurring slot, naming the people, their hours and any clock change."""
    cadence = cadence or pair_cadence(mentor, mentee, ctx.program)
    who = (
        f"{mentor.name} ({mentor.timezone}) is free {describe_availability(mentor)}, "
        f"{mentee.name} ({mentee.timezone}) {describe_availability(mentee)}"
    )
    best: tuple[int, int, str, Evaluation] | None = None
    for anchor in ctx.anchors(mentor, mentee):
        ev = ctx.evaluate(mentor, mentee, cadence, anchor)
        skip, good, grid = ev["skip"], ev["good"], ev["grid"]
        ok = (good | skip) & ~grid.gap
        score = ctx._reduce(ok & ~skip, cadence, "sum", False)
        i = int(np.argmax(score))
        if best is None or score[i] > best[0]:
            best = (int(score[i]), i, anchor, ev)
    dur = f"{ctx.duration}-minute"
    if best is None or best[0] == 0:
        return (
            f"no start time inside both availabilities for a {dur} {cadence} meeting: {who}; "
            f"their windows never overlap long enough"
        )
    _, index, anchor, ev = best
    grid, skip, good = ev["grid"], ev["skip"], ev["good"]
    pattern = ctx.pattern_of(index, cadence, anchor)
    label, col = divmod(index, ctx.cols)
    days = [int(d) for d in ctx.day_matrix[cadence][label] if d < ctx.days and not skip[d, col]]
    bad = [d for d in days if not good[d, col] or grid.gap[d, col]]
    okd = [d for d in days if d not in bad]
    first_bad = bad[0]
    slot = f"{pattern.describe()}"
    blame = []
    for p in (mentor, mentee):
        if not grid.ok[p.id][first_bad, col]:
            blame.append(f"{p.name}'s hours")
    failing = " and ".join(blame) or "the clock change itself"
    ref = max([d for d in okd if d < first_bad], default=None)
    if ref is None:
        ref = min(okd)
    changed = None
    for p in (mentor, mentee):
        if grid.delta[p.id][ref, col] != grid.delta[p.id][first_bad, col] or grid.gap[first_bad, col]:
            changed = p
    # the zone whose clocks changed between the working date and the failing one
    zones = {mentor.timezone, mentee.timezone}
    change_day = None
    change_zone = None
    lo, hi = sorted((ref, first_bad))
    for zname in sorted(zones):
        table = ctx.zone_table(zname)
        u0, u1 = int(grid.utc[lo, col]), int(grid.utc[hi, col])
        inside = (table.starts > u0) & (table.starts <= u1)
        if inside.any():
            t = int(table.starts[inside][0])
            local = ctx.epoch + timedelta(minutes=t + int(table.offset(np.array([t]))[0]))
            change_day, change_zone = local.date(), zname
            break
    when_bad = _fmt_day(ctx.start + timedelta(days=first_bad))
    if changed is not None and change_day is not None:
        if ref < first_bad:
            until = _fmt_day(ctx.start + timedelta(days=ref))
            return (
                f"no recurring slot survives the clock change: a slot exists until {until} "
                f"({slot}) but the change on {_fmt_day(change_day)} ({change_zone}) moves it "
                f"outside {failing} from {when_bad}; {who}"
            )
        start_ok = _fmt_day(ctx.start + timedelta(days=ref))
        return (
            f"no recurring slot survives the clock change: a slot ({slot}) only works from "
            f"{start_ok}, after the change on {_fmt_day(change_day)} ({change_zone}); "
            f"before that it falls outside {failing}; {who}"
        )
    return (
        f"no start time works on every date of the cycle: the best slot ({slot}) falls outside "
        f"{failing} on {when_bad}; {who}"
    )
