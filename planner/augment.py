"""The final augmentation pass of a plan: add every pair that still fits around what is placed.

After the match, the schedule and the repairs, an unmatched mentee may still have a candidate
mentor with a free seat and a recurring slot that fits both calendars as they now stand (the
repairs match first and schedule after, so they can miss it). ``augment`` then, until a round
adds nobody:

1. *first fit*: walks the unmatched mentees in cohort order and, for each, the candidate mentors
   with a free seat from the best score down; the first mentor with a slot option (best option
   first) that keeps ``no_overlap_with_buffer`` and ``weekly_limit`` against both people's placed
   meetings (milestones included) is taken, and the pair is placed with the scheduler's own
   series builder. Placed pairs do not move here, so a pair that does not fit when its mentee is
   tried never fits later in the pass.
2. *chains of length one*: a mentee still unmatched takes the seat or the hour of one placed pair
   of a candidate mentor, and that pair moves to another slot, or its mentee to another mentor
   with a free seat; only when both fit (the matched count grows by one).

Protected pairs (kept, pinned, continuing with their earlier slot) never move.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np

from cohort.model import Cohort, PersonId
from cohort.program import Program
from matcher.candidates import CandidateSet
from scheduler.assign import _Occupancy, build_series, local_weeks
from scheduler.model import Event, Schedule, Series
from scheduler.slots import SlotContext, SlotOption, iter_slot_options

PairKey = tuple[PersonId, PersonId]


@dataclass
class _Busy:
    """One person's placed meetings: sorted starts and ends (minutes since the grid epoch, UTC)
    and meetings per local week."""

    starts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    ends: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    weeks: Counter[int] = field(default_factory=Counter)


class Calendars:
    """Every person's placed meetings, to test one more pair's option against them exactly."""

    def __init__(self, ctx: SlotContext, schedule: Schedule):
        self.ctx = ctx
        self.buffer = ctx.program.cycle.buffer_minutes
        self.busy: dict[PersonId, _Busy] = {}
        per_person: dict[PersonId, list[tuple[datetime, int]]] = {}
        for s in schedule.series:
            for pid in dict.fromkeys((s.mentor_id, s.mentee_id)):
                per_person.setdefault(pid, []).extend((t, s.duration_minutes) for t in s.occurrences)
        for ev in schedule.events:
            for pid in dict.fromkeys((ev.mentor_id, ev.mentee_id)):
                per_person.setdefault(pid, []).append((ev.start, ev.duration_minutes))
        for pid, items in per_person.items():
            self._add(pid, self.occupancy(items))

    def occupancy(self, items: Iterable[tuple[datetime, int]]) -> _Occupancy:
        """Meetings (UTC start, minutes) as minutes since the grid epoch."""
        items = list(items)
        epoch = self.ctx.epoch_utc
        starts = np.array([int((t - epoch).total_seconds() // 60) for t, _ in items], dtype=np.int64)
        lengths = np.array([n for _, n in items], dtype=np.int64)
        return _Occupancy(starts, lengths)

    def _add(self, pid: PersonId, occ: _Occupancy) -> None:
        b = self.busy.setdefault(pid, _Busy())
        starts = np.concatenate([b.starts, occ.starts])
        ends = np.concatenate([b.ends, occ.starts + occ.lengths])
        order = np.argsort(starts, kind="stable")
        b.starts, b.ends = starts[order], ends[order]
        if self.ctx.cohort[pid].max_meetings_per_week is not None:
            b.weeks.update(int(w) for w in local_weeks(self.ctx, pid, occ))

    def add(self, pair: PairKey, occ: _Occupancy) -> None:
        for pid in dict.fromkeys(pair):
            self._add(pid, occ)

    def remove(self, pair: PairKey, occ: _Occupancy) -> None:
        """Take a placed pair's meetings (``occ``) off both people's calendars."""
        for pid in dict.fromkeys(pair):
            b = self.busy[pid]
            keep = np.ones(b.starts.size, dtype=bool)
            for start, length in zip(occ.starts.tolist(), occ.lengths.tolist(), strict=True):
                hit = np.flatnonzero(keep & (b.starts == start) & (b.ends == start + length))
                keep[hit[0]] = False
            b.starts, b.ends = b.starts[keep], b.ends[keep]
            if self.ctx.cohort[pid].max_meetings_per_week is not None:
                b.weeks.subtract(int(w) for w in local_weeks(self.ctx, pid, occ))

    def fits(self, option: SlotOption) -> bool:
        """Whether the option's meetings keep the buffer from, and the weekly limits with, every
        placed meeting of both people."""
        occ = self.occupancy((m.start, m.duration_minutes) for m in option.meetings)
        ends = occ.starts + occ.lengths
        for pid in dict.fromkeys((option.mentor_id, option.mentee_id)):
            b = self.busy.get(pid)
            if b is not None and b.starts.size:
                # placed meetings are disjoint, so among those starting before a new meeting's end
                # (plus buffer) the last one ends latest
                idx = np.searchsorted(b.starts, ends + self.buffer, side="left")
                has = idx > 0
                if np.any(b.ends[np.maximum(idx - 1, 0)][has] + self.buffer > occ.starts[has]):
                    return False
            limit = self.ctx.cohort[pid].max_meetings_per_week
            if limit is not None:
                own = Counter(int(w) for w in local_weeks(self.ctx, pid, occ))
                placed = b.weeks if b is not None else Counter()
                if any(n + placed[w] > limit for w, n in own.items()):
                    return False
        return True


def _first_fit(options: Iterable[SlotOption], calendars: Calendars) -> SlotOption | None:
    return next((o for o in options if calendars.fits(o)), None)


def _key(s: Series | Event) -> PairKey:
    return (s.mentor_id, s.mentee_id)


def augment(
    cohort: Cohort,
    program: Program,
    ctx: SlotContext,
    cs: CandidateSet,
    schedule: Schedule,
    *,
    capacity: Mapping[PersonId, int],
    banned: Iterable[PairKey],
    uid_salt: str,
    protected: Iterable[PairKey] = (),
) -> tuple[Schedule, list[PairKey]]:
    """``schedule`` with every pair the first fit and the chains can add (see the module doc), and
    the pairs placed now that were not before (sorted).

    Long on purpose: the first fit, the moves and the chains share one set of calendars, seats
    and placed pairs, kept consistent by ``put``, ``take`` and ``restore``.
    """
    banned = set(banned)
    protected = set(protected)
    placed: dict[PairKey, tuple[Series, list[Event]]] = {_key(s): (s, []) for s in schedule.series}
    for ev in schedule.events:
        placed[_key(ev)][1].append(ev)
    used = Counter(m for m, _ in placed)
    matched = {e for _, e in placed}
    waiting = [p.id for p in cohort.mentees if p.id not in matched]
    if not waiting or not any(used[p.id] < capacity.get(p.id, 0) for p in cohort.mentors):
        return schedule, []
    calendars = Calendars(ctx, schedule)
    enc = cs.encoder
    by_mentor: dict[PersonId, set[PairKey]] = {}
    for k in placed:
        by_mentor.setdefault(k[0], set()).add(k)

    def free(m: PersonId) -> bool:
        return used[m] < capacity.get(m, 0)

    def mentors_of(e: PersonId) -> list[PersonId]:
        """``e``'s candidate mentors allowed now, best score first."""
        ks = cs.of_mentee(e).tolist()
        ks.sort(key=lambda k: (-int(cs.score[k]), enc.mentor_ids[cs.mentor[k]]))
        out = []
        for k in ks:
            m = enc.mentor_ids[cs.mentor[k]]
            if m != e and (m, e) not in banned and (e, m) not in banned and (e, m) not in placed:
                out.append(m)
        return out

    def options(pair: PairKey) -> Iterator[SlotOption]:
        return iter_slot_options(cohort[pair[0]], cohort[pair[1]], ctx)

    def put(option: SlotOption) -> None:
        pair = (option.mentor_id, option.mentee_id)
        s, evs = build_series(ctx, option, uid_salt)
        placed[pair] = (s, list(evs))
        by_mentor.setdefault(pair[0], set()).add(pair)
        calendars.add(pair, calendars.occupancy((m.start, m.duration_minutes) for m in option.meetings))
        used[pair[0]] += 1

    def take(pair: PairKey) -> tuple[Series, list[Event]]:
        s, evs = placed.pop(pair)
        by_mentor[pair[0]].discard(pair)
        items = [(t, s.duration_minutes) for t in s.occurrences]
        calendars.remove(pair, calendars.occupancy(items + [(ev.start, ev.duration_minutes) for ev in evs]))
        used[pair[0]] -= 1
        return s, evs

    def restore(pair: PairKey, item: tuple[Series, list[Event]]) -> None:
        s, evs = item
        placed[pair] = item
        by_mentor[pair[0]].add(pair)
        items = [(t, s.duration_minutes) for t in s.occurrences]
        calendars.add(pair, calendars.occupancy(items + [(ev.start, ev.duration_minutes) for ev in evs]))
        used[pair[0]] += 1

    def first_fit(e: PersonId) -> bool:
        for m in mentors_of(e):
            if free(m):
                option = _first_fit(options((m, e)), calendars)
                if option is not None:
                    put(option)
                    return True
        return False

    # where the mentee of a placed pair could move (another mentor's free seat, the pair's own
    # slot given up); independent of the chained pair (other people), remembered until a chain
    # changes the calendars
    moves: dict[PairKey, SlotOption | None] = {}
    chained: list[PairKey] = []  # the placed pairs a chain moved

    def move_of(pair: PairKey) -> SlotOption | None:
        if pair not in moves:
            m, x = pair
            others = [m2 for m2 in mentors_of(x) if m2 != m and free(m2)]
            found = None
            if others:
                old = take(pair) if pair in placed else None
                found = next((o for m2 in others if (o := _first_fit(options((m2, x)), calendars))), None)
                if old is not None:
                    restore(pair, old)
            moves[pair] = found
        return moves[pair]

    def chain(e: PersonId) -> bool:
        for m in mentors_of(e):
            mine = sorted(k for k in by_mentor.get(m, ()) if k not in protected)
            if not free(m):  # a seat must be freed: the mentee of one of the pairs moves
                mine = [k for k in mine if move_of(k) is not None]
            if not mine:
                continue
            new_options = list(options((m, e)))
            for pair in mine:
                old = take(pair)
                new = _first_fit(new_options, calendars)
                if new is not None:
                    put(new)
                    moved = move_of(pair) if not free(m) else None
                    if moved is not None and not (calendars.fits(moved) and free(moved.mentor_id)):
                        moves.pop(pair)  # a chain took that seat or hour: look again
                        moved = move_of(pair)
                    if moved is not None:
                        put(moved)
                        moves.pop(pair)
                        chained.append(pair)
                        return True
                    if free(m):  # a free seat: the pair may keep its mentor with another slot
                        again = _first_fit(options(pair), calendars)
                        if again is not None:
                            put(again)
                            moves.pop(pair, None)
                            chained.append(pair)
                            return True
                    take((m, e))
                restore(pair, old)  # the chain fails: the pair keeps its slot
        return False

    # a chain takes one seat of ``m2`` and swaps meetings at ``m`` (full) and of ``x`` (matched):
    # no first fit that failed before can succeed after it, and no move that failed becomes
    # possible, so one pass of each, then a last first fit, leave nothing either can add
    waiting = [e for e in waiting if not first_fit(e)]
    waiting = [e for e in waiting if not chain(e)]
    waiting = [e for e in waiting if not first_fit(e)]

    old_keys = {_key(s) for s in schedule.series}
    if set(placed) == old_keys and all(placed[_key(s)][0] is s for s in schedule.series):
        return schedule, []
    series = sorted((s for s, _ in placed.values()), key=_key)
    events = sorted(
        (ev for _, evs in placed.values() for ev in evs),
        key=lambda ev: (ev.mentor_id, ev.mentee_id, ev.start, ev.kind),
    )
    stats = dict(schedule.stats)
    stats.update(placed=len(series), augmented=len(series) - len(schedule.series), moved=len(chained))
    added = sorted(set(placed) - old_keys)
    return replace(schedule, series=tuple(series), events=tuple(events), stats=stats), added
