"""Whether one more pair fits around what is placed: exact, and fast enough to ask tens of
thousands of times (the engine of the final augmentation pass, ``planner.augment``).

``next(o for o in iter_slot_options(mentor, mentee, ctx) if calendars.fits(o))`` is the question,
and its answer is the definition; asking it that way scores every pattern of the cycle on the
(day x start) grid and builds every option's meetings, about a millisecond or more a pair.
``PairFit.first_fit`` gives the same answer in four steps, each a superset of the next:

1. per person, anchor zone and cadence (once): for every pattern, how many of its dates the person
   cannot meet on (outside their weekly hours or across their clock change, on a day they do not
   skip) and how many dates they skip. A pattern is valid for a pair only when every date is
   skipped by one of the two or inside both people's hours, so each person's failing dates must
   be dates the other skips: ``bad(mentor) <= skipped(mentee)`` and the reverse keep every valid
   pattern (two comparisons over a few thousand small integers);
2. per pair: the exact validity of those candidates on their own dates (``SlotContext.evaluate``'s
   rule: every date skipped by someone or inside both people's hours and outside a DST gap, at
   least one meeting), and the UTC start of every meeting that takes place;
3. per question (the calendars change as pairs are placed): a meeting of the option's shortest
   length (regular, kickoff or closing) at each of those starts, against both people's placed
   meetings with the buffer (sorted arrays, ``searchsorted``); an option that collides here
   collides in the exact test too;
4. only the options left are scored and materialised, in ``iter_slot_options``' order, and tested
   exactly (``Calendars.fits``: every meeting, milestones and weekly limits included).

A pair found without a fitting option is remembered until someone of the two loses a meeting
(placing pairs only adds meetings, so until then nothing can fit that did not).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from cohort.model import MINUTES_PER_WEEK, Person, PersonId
from scheduler.assign import local_weeks
from scheduler.constraints import Occupancy, over_weekly_limit, overlap_with_placed, week_counts
from scheduler.model import Event, Schedule, Series
from scheduler.slots import SlotContext, SlotOption, iter_slot_options, pair_cadence

PairKey = tuple[PersonId, PersonId]

NEVER = 1 << 40  # a start far after the cycle: the padding of a pattern's missing dates
NEARLY = 4  # patterns failing on up to this many more dates than someone is away stay exact


@dataclass
class _Busy:
    """One person's placed meetings, sorted by start: starts and ends (minutes since the grid
    epoch, UTC), the running maximum of the ends, the pair each belongs to, and meetings per local
    week."""

    starts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    ends: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    latest: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    owner: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    weeks: Counter[int] = field(default_factory=Counter)


def meetings_of(series: Series, events: Iterable[Event]) -> list[tuple[datetime, int]]:
    """A placed pair's meetings: its series' occurrences and its milestone events."""
    return [(t, series.duration_minutes) for t in series.occurrences] + [
        (ev.start, ev.duration_minutes) for ev in events
    ]


class Calendars:
    """Every person's placed meetings, to test one more pair's option against them exactly."""

    def __init__(self, ctx: SlotContext, schedule: Schedule):
        self.ctx = ctx
        self.buffer = ctx.program.cycle.buffer_minutes
        self.busy: dict[PersonId, _Busy] = {}
        self.removals: Counter[PersonId] = Counter()  # how often someone lost meetings
        self.changes: Counter[PersonId] = Counter()  # how often someone's meetings changed
        self._ids: dict[PairKey, int] = {}
        events: dict[PairKey, list[Event]] = {}
        for ev in schedule.events:
            events.setdefault((ev.mentor_id, ev.mentee_id), []).append(ev)
        for s in schedule.series:
            pair = (s.mentor_id, s.mentee_id)
            self.add(pair, self.occupancy(meetings_of(s, events.get(pair, ()))))
        series = {(s.mentor_id, s.mentee_id) for s in schedule.series}
        for pair, evs in events.items():  # milestones of no series (none are written so)
            if pair not in series:
                self.add(pair, self.occupancy((ev.start, ev.duration_minutes) for ev in evs))

    def occupancy(self, items: Iterable[tuple[datetime, int]]) -> Occupancy:
        """Meetings (UTC start, minutes) as minutes since the grid epoch."""
        items = list(items)
        epoch = self.ctx.epoch_utc
        starts = np.array([int((t - epoch).total_seconds() // 60) for t, _ in items], dtype=np.int64)
        lengths = np.array([n for _, n in items], dtype=np.int64)
        return Occupancy(starts, lengths)

    def owner_id(self, pair: PairKey) -> int:
        return self._ids.setdefault(pair, len(self._ids))

    def owner_of(self, owner: int) -> PairKey:
        return next(k for k, v in self._ids.items() if v == owner)

    def _set(self, b: _Busy, starts: np.ndarray, ends: np.ndarray, owner: np.ndarray) -> None:
        order = np.argsort(starts, kind="stable")
        b.starts, b.ends, b.owner = starts[order], ends[order], owner[order]
        b.latest = np.maximum.accumulate(b.ends) if b.ends.size else b.ends

    def add(self, pair: PairKey, occ: Occupancy) -> None:
        """Put a pair's meetings (``occ``) on both people's calendars."""
        oid = self.owner_id(pair)
        for pid in dict.fromkeys(pair):
            b = self.busy.setdefault(pid, _Busy())
            self._set(
                b,
                np.concatenate([b.starts, occ.starts]),
                np.concatenate([b.ends, occ.starts + occ.lengths]),
                np.concatenate([b.owner, np.full(occ.starts.size, oid, dtype=np.int64)]),
            )
            if self.ctx.cohort[pid].max_meetings_per_week is not None:
                b.weeks.update(int(w) for w in local_weeks(self.ctx, pid, occ))
            self.changes[pid] += 1

    def remove(self, pair: PairKey) -> None:
        """Take a placed pair's meetings off both people's calendars."""
        oid = self._ids[pair]
        for pid in dict.fromkeys(pair):
            b = self.busy[pid]
            mine = b.owner == oid
            if self.ctx.cohort[pid].max_meetings_per_week is not None:
                gone = Occupancy(b.starts[mine], b.ends[mine] - b.starts[mine])
                b.weeks.subtract(int(w) for w in local_weeks(self.ctx, pid, gone))
            self._set(b, b.starts[~mine], b.ends[~mine], b.owner[~mine])
            self.removals[pid] += 1
            self.changes[pid] += 1

    def fits(self, option: SlotOption) -> bool:
        """Whether the option's meetings keep the buffer from, and the weekly limits with, every
        placed meeting of both people."""
        occ = self.occupancy((m.start, m.duration_minutes) for m in option.meetings)
        ends = occ.starts + occ.lengths
        for pid in dict.fromkeys((option.mentor_id, option.mentee_id)):
            b = self.busy.get(pid)
            if b is not None and b.starts.size:
                if overlap_with_placed(b.starts, b.latest, self.buffer, occ.starts, ends).any():
                    return False
            limit = self.ctx.cohort[pid].max_meetings_per_week
            if limit is not None:
                placed = b.weeks if b is not None else Counter()
                if over_weekly_limit(week_counts(local_weeks(self.ctx, pid, occ)), placed, limit):
                    return False
        return True

    def collisions(self, pid: PersonId, starts: np.ndarray, minutes: int) -> np.ndarray:
        """Per element of ``starts`` (minutes, ``NEVER`` for none): whether a meeting of
        ``minutes`` from there breaks the buffer with one of ``pid``'s placed meetings."""
        b = self.busy.get(pid)
        if b is None or not b.starts.size:
            return np.zeros(starts.shape, dtype=bool)
        return overlap_with_placed(b.starts, b.latest, self.buffer, starts, starts + minutes)

    def collides(self, pid: PersonId, starts: np.ndarray, minutes: int) -> np.ndarray:
        """Per row of ``starts``: whether one of its meetings collides (``collisions``)."""
        return np.asarray(self.collisions(pid, starts, minutes).any(axis=1))

    def at_limit(self, pid: PersonId, starts: np.ndarray) -> np.ndarray:
        """Per row of ``starts``: whether one of them falls in a local week in which ``pid``
        already has ``max_meetings_per_week`` meetings."""
        limit = self.ctx.cohort[pid].max_meetings_per_week
        b = self.busy.get(pid)
        if limit is None or b is None:
            return np.zeros(starts.shape[0], dtype=bool)
        full = [w for w in b.weeks if over_weekly_limit({w: 1}, b.weeks, limit)]  # one more breaks it
        if not full:
            return np.zeros(starts.shape[0], dtype=bool)
        real = starts < NEVER
        weeks = local_weeks(self.ctx, pid, Occupancy(np.where(real, starts, 0), starts))
        return np.asarray((np.isin(weeks, full) & real).any(axis=1))

    def blockers(self, pid: PersonId, starts: np.ndarray, minutes: int) -> np.ndarray:
        """Per row of ``starts``: the owner id of the one placed pair of ``pid`` whose meetings a
        meeting of ``minutes`` at those starts would collide with, -1 when none, -2 when several."""
        b = self.busy.get(pid)
        n = starts.shape[0]
        if b is None or not b.starts.size:
            return np.full(n, -1, dtype=np.int64)
        hi = np.searchsorted(b.starts, starts + minutes + self.buffer, side="left")
        lo = np.searchsorted(b.latest + self.buffer, starts, side="right")
        # placed meetings are disjoint, so the ones in collision are exactly those in [lo, hi);
        # two meetings of one pair are days apart, so two in collision belong to two pairs
        count = hi - lo
        hit = count >= 1
        last = b.owner[np.clip(hi - 1, 0, b.starts.size - 1)]
        several = (hit & (count >= 2)).any(axis=1)
        top = np.where(hit, last, -1).max(axis=1)
        bottom = np.where(hit, last, NEVER).min(axis=1)
        out = np.where(hit.any(axis=1), top, -1)
        return np.where(several | (hit.any(axis=1) & (top != bottom)), -2, out)


def _indices(mask: np.ndarray) -> np.ndarray:
    """``np.flatnonzero`` in 32 bits (pattern indices), to keep many in memory."""
    return np.flatnonzero(mask).astype(np.int32)


@dataclass(frozen=True)
class _Valid:
    """A pair's valid patterns in one anchor zone: pattern indices and, per pattern, the UTC
    starts (minutes since the grid epoch) of the meetings that take place, padded with ``NEVER``."""

    anchor: str
    index: np.ndarray
    starts: np.ndarray


@dataclass(frozen=True)
class _Dates:
    """Every pattern of one cadence in one anchor zone, row by row (pattern index = row): its
    dates (grid rows) and then, in the last column, the day of its weekday in the cycle's first
    week (an extra kickoff meeting when the first meeting falls later: ``_milestones``)."""

    day: np.ndarray  # (patterns, dates + 1), clipped into the grid
    col: np.ndarray  # (patterns,) grid column
    inside: np.ndarray  # (patterns, dates + 1): a date of the cycle (not padding)
    clear: np.ndarray  # (patterns, dates): inside, and no holiday in anyone's local calendar
    utc: np.ndarray  # (patterns, dates + 1) UTC minutes since the grid epoch
    gap: np.ndarray  # (patterns, dates + 1) the anchor-local time does not exist (DST gap)
    gap_any: np.ndarray  # (patterns,) one of the dates falls in a DST gap
    extra: np.ndarray  # (patterns,) the first date is after the first week, whose day is usable
    none: np.ndarray  # (patterns,) False everywhere
    zero: np.ndarray  # (patterns,) 0 everywhere (uint8)


@dataclass(frozen=True)
class _ZoneDates:
    """``_Dates`` seen from one time zone: per pattern and date, the week-minute, the clock
    change straddle and the local day index; and per pattern, the week-minute of its time without
    any offset difference (``base``), and how many of its clear dates have each offset difference
    (``count``, one row per value in ``deltas``) or straddle a clock change (``straddles``)."""

    weekminute: np.ndarray
    straddle: np.ndarray
    day_index: np.ndarray
    week: np.ndarray  # (patterns, dates + 1): the local Mon-Sun week number (``local_weeks``)
    base: np.ndarray
    deltas: tuple[int, ...]
    count: np.ndarray
    straddles: np.ndarray


@dataclass(frozen=True)
class _Fails:
    """One person's side of step 1 in one anchor zone and cadence, per pattern: on how many clear
    dates they cannot meet (outside their hours, across their clock change, or in collision with
    their placed meetings), on how many clear dates they are away, the patterns on which they
    fail no more than they are away (``open``), whether they could meet on the day of the first
    week, and whether a meeting then would collide."""

    bad: np.ndarray
    away: np.ndarray
    any_away: bool
    open: np.ndarray
    kick: np.ndarray
    kick_busy: np.ndarray


class PairFit:
    """``first_fit`` and ``blockers`` of pairs against ``calendars`` (see the module doc).

    The superset of step 1 counts *clear* dates only: dates more than two days from every program
    holiday, so that nobody's local calendar (offsets differ by less than 27 hours) skips them for
    a holiday, only for their own ``unavailable`` days. On a clear date, each person fails
    (outside their hours, across a clock change, or, with ``busy``, in collision with their placed
    meetings) at most on the dates one of the two is away, so ``failing(p) <= away(p) + away(other)``
    for both people keeps every usable pattern.
    """

    def __init__(self, ctx: SlotContext, calendars: Calendars):
        self.ctx = ctx
        self.calendars = calendars
        ms = ctx.program.milestones
        lengths = [ctx.duration]
        lengths += [ms.kickoff_minutes] if ms.kickoff else []
        lengths += [ms.closing_minutes] if ms.closing else []
        self.shortest = min(lengths)  # every meeting that takes place is at least this long
        self._dates: dict[tuple[str, str], _Dates] = {}
        self._zones: dict[tuple[str, str, str], _ZoneDates] = {}
        self._rejected: dict[PairKey, tuple[int, int]] = {}
        self._blocked: dict[tuple[PersonId, str, str], tuple[int, _Fails]] = {}
        self._counts: dict[tuple[PersonId, str, str], _Fails] = {}
        self._data: dict[PersonId, tuple[np.ndarray, np.ndarray]] = {}

    def _patterns(self, anchor: str, cadence: str) -> _Dates:
        key = (anchor, cadence)
        if key not in self._dates:
            ctx = self.ctx
            matrix = ctx.day_matrix[cadence]
            weekday = np.array([wd for wd, _ in ctx.labels[cadence]], dtype=np.int64)
            week_one = (weekday - ctx.start.weekday()) % 7
            rows = np.concatenate([matrix, week_one[:, None]], axis=1)
            rows = np.repeat(rows, ctx.cols, axis=0)
            col = np.tile(np.arange(ctx.cols), matrix.shape[0])
            inside = rows < ctx.days
            day = np.minimum(rows, ctx.days - 1).astype(np.int16)
            near = np.zeros(ctx.days + 5, dtype=bool)  # [day + 2]: within two days of a holiday
            for h in ctx.holidays:
                k = (h - ctx.start).days
                near[max(0, k) : max(0, k + 5)] = True
            clear = inside[:, :-1] & ~near[day[:, :-1] + 2]
            utc, gap = ctx.anchor_grid(anchor)
            g = gap[day, col[:, None]] & inside
            extra = (rows[:, 0] >= 7) & inside[:, -1] & ~g[:, -1]
            self._dates[key] = _Dates(
                day,
                col,
                inside,
                clear,
                utc[day, col[:, None]],
                g,
                g[:, :-1].any(axis=1),
                extra,
                np.zeros(col.size, dtype=bool),
                np.zeros(col.size, dtype=np.uint8),
            )
        return self._dates[key]

    def _zone(self, anchor: str, zone_name: str, cadence: str) -> _ZoneDates:
        key = (anchor, zone_name, cadence)
        if key not in self._zones:
            ctx = self.ctx
            dates = self._patterns(anchor, cadence)
            _, straddle = ctx.zone_view(anchor, zone_name)
            wm, day_idx, delta, *_ = ctx.zone_derived(anchor, zone_name)
            at = (dates.day, dates.col[:, None])
            weekminute, strad, day_index = wm[at], straddle[at] & dates.inside, day_idx[at]
            d = delta[at].astype(np.int64)
            # every date of a pattern has the same anchor-local weekday and time, so its
            # week-minute is (base + offset difference) modulo the week
            base = (weekminute[:, 0].astype(np.int64) - d[:, 0]) % MINUTES_PER_WEEK
            main = dates.clear & ~strad[:, :-1]
            values = tuple(int(v) for v in np.unique(d[:, :-1][main]))
            count = np.zeros((len(values), base.size), dtype=np.int64)
            for k, v in enumerate(values):
                count[k] = ((d[:, :-1] == v) & main).sum(axis=1)
            straddles = (strad[:, :-1] & dates.clear).sum(axis=1).astype(np.int16)
            count = count.astype(np.int16)
            local = dates.utc + ctx.zone_table(zone_name).offset(dates.utc)
            week = ((local + ctx.epoch_wd * 1440) // MINUTES_PER_WEEK).astype(np.int16)
            self._zones[key] = _ZoneDates(weekminute, strad, day_index, week, base, values, count, straddles)
        return self._zones[key]

    def _hours(self, pid: PersonId) -> tuple[np.ndarray, np.ndarray]:
        """``pid``'s week-minutes a regular meeting fits from, and days skipped."""
        hit = self._data.get(pid)
        if hit is None:
            data = self.ctx.person(pid)
            hit = self._data[pid] = (data.covers, data.skip_days)
        return hit

    def _person(self, p: Person, anchor: str, cadence: str, *, busy: bool = False) -> _Fails:
        """``p``'s ``_Fails`` in one anchor zone and cadence; with ``busy``, counting their placed
        meetings and weekly limit too (remembered until their meetings change)."""
        key = (p.id, anchor, cadence)
        hit = self._counts.get(key)
        if hit is None:
            z = self._zone(anchor, p.timezone, cadence)
            covers, skip_days = self._hours(p.id)
            bad = z.straddles.copy()
            for k, v in enumerate(z.deltas):
                bad += z.count[k] * ~covers[(z.base + v) % MINUTES_PER_WEEK]
            away = self._patterns(anchor, cadence).zero
            if p.unavailable:
                away = (skip_days[z.day_index[:, :-1]] & self._patterns(anchor, cadence).clear).sum(axis=1)
            kick = covers[z.weekminute[:, -1]] & ~z.straddle[:, -1] & ~skip_days[z.day_index[:, -1]]
            none = self._patterns(anchor, cadence).none
            bad, away = bad.astype(np.uint8), away.astype(np.uint8)  # at most 27 dates a pattern
            hit = _Fails(bad, away, bool(away.any()), _indices(bad <= away), kick, none)
            self._counts[key] = hit
        placed = self.calendars.busy.get(p.id)
        if not busy or placed is None or not placed.starts.size:
            return hit
        now = self.calendars.changes[p.id]
        seen = self._blocked.get(key)
        if seen is None or seen[0] != now:
            # only patterns nearly open without the placed meetings can be closed by them (the
            # others keep their count: a lower bound, so the superset stays a superset)
            rows = np.flatnonzero(hit.bad <= hit.away + NEARLY)
            dates = self._patterns(anchor, cadence)
            blocked = self.calendars.collisions(p.id, dates.utc[rows], self.shortest)
            limit = p.max_meetings_per_week
            full = [w for w in placed.weeks if over_weekly_limit({w: 1}, placed.weeks, limit)]
            if full:
                blocked |= np.isin(self._zone(anchor, p.timezone, cadence).week[rows], full)
            bad = hit.bad.copy()
            bad[rows] = np.maximum(bad[rows], (blocked[:, :-1] & dates.clear[rows]).sum(axis=1))
            kick_busy = hit.kick_busy.copy()
            kick_busy[rows] = blocked[:, -1]
            fails = _Fails(bad, hit.away, hit.any_away, _indices(bad <= hit.away), hit.kick, kick_busy)
            seen = self._blocked[key] = (now, fails)
        return seen[1]

    def valid(
        self, mentor: Person, mentee: Person, *, busy: tuple[bool, bool] = (False, False)
    ) -> list[_Valid]:
        """The pair's valid patterns per anchor zone, with the starts of their meetings; with
        ``busy`` (mentor, mentee), only among the patterns with at most as many dates in
        collision with that person's placed meetings as the two skip (the others collide)."""
        ctx = self.ctx
        cadence = pair_cadence(mentor, mentee, ctx.program)
        out = []
        for anchor in ctx.anchors(mentor, mentee):
            dates = self._patterns(anchor, cadence)
            fm = self._person(mentor, anchor, cadence, busy=busy[0])
            fe = self._person(mentee, anchor, cadence, busy=busy[1])
            # a clear date on which one person fails must be a date one of the two is away
            if fm.any_away or fe.any_away:
                either = fm.away + fe.away
                cand = np.flatnonzero((fm.bad <= either) & (fe.bad <= either))
            elif fm.open.size and fe.open.size:
                cand = np.intersect1d(fm.open, fe.open, assume_unique=True)
            else:
                continue
            # no DST gap; an extra kickoff in the first week must not collide
            ok = ~dates.gap_any[cand]
            if ctx.program.milestones.kickoff:
                ok &= ~(
                    dates.extra[cand]
                    & fm.kick[cand]
                    & fe.kick[cand]
                    & (fm.kick_busy[cand] | fe.kick_busy[cand])
                )
            cand = cand[ok]
            if not cand.size:
                continue
            good = np.ones((cand.size, dates.day.shape[1]), dtype=bool)
            skip = np.zeros_like(good)
            for p in (mentor, mentee):
                z = self._zone(anchor, p.timezone, cadence)
                covers, skip_days = self._hours(p.id)
                good &= covers[z.weekminute[cand]] & ~z.straddle[cand]
                skip |= skip_days[z.day_index[cand]]
            inside, gap = dates.inside[cand], dates.gap[cand]
            takes_place = ~skip & inside
            main = takes_place[:, :-1]
            ok = (((skip | good) & ~gap) | ~inside)[:, :-1].all(axis=1) & main.any(axis=1)
            if not ok.any():
                continue
            starts = np.where(takes_place, dates.utc[cand], NEVER)
            if ctx.program.milestones.kickoff:
                day = dates.day[cand]
                late = np.where(main, day[:, :-1], ctx.days).min(axis=1) >= 7
                extra = good[:, -1] & takes_place[:, -1] & ~gap[:, -1] & late
                starts[:, -1] = np.where(extra, starts[:, -1], NEVER)
            else:
                starts[:, -1] = NEVER
            out.append(_Valid(anchor, cand[ok], starts[ok]))
        return out

    def first_fit(self, mentor: Person, mentee: Person) -> SlotOption | None:
        """The pair's best option that fits both calendars as they stand, or None: exactly
        ``next(o for o in iter_slot_options(mentor, mentee, ctx) if calendars.fits(o))``."""
        pair = (mentor.id, mentee.id)
        cal = self.calendars
        now = (cal.removals[mentor.id], cal.removals[mentee.id])
        if self._rejected.get(pair) == now:
            return None
        among = {}
        for v in self.valid(mentor, mentee, busy=(True, True)):
            free = ~(
                cal.collides(mentor.id, v.starts, self.shortest)
                | cal.collides(mentee.id, v.starts, self.shortest)
                | cal.at_limit(mentor.id, v.starts)
                | cal.at_limit(mentee.id, v.starts)
            )
            if free.any():
                among[v.anchor] = v.index[free]
        if among:
            for option in iter_slot_options(mentor, mentee, self.ctx, among=among):
                if cal.fits(option):
                    return option
        self._rejected[pair] = now
        return None

    def blockers(self, mentor: Person, mentee: Person) -> set[int] | None:
        """The placed pairs of ``mentor`` that alone stand in the way of some option of the pair
        (owner ids), or None when some option collides with nobody's meetings (any pair of the
        mentor may then be what stands in the way: a seat or a weekly limit)."""
        cal = self.calendars
        out: set[int] = set()
        for v in self.valid(mentor, mentee, busy=(False, True)):
            free = ~cal.collides(mentee.id, v.starts, self.shortest)
            if not free.any():
                continue
            who = cal.blockers(mentor.id, v.starts[free], self.shortest)
            if (who == -1).any():
                return None
            out.update(int(k) for k in who[who >= 0])
        return out
