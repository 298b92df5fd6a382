"""The final augmentation pass of a plan: add every pair that still fits around what is placed.

After the match, the schedule and the repairs, an unmatched mentee may still have a candidate
mentor with a free seat and a recurring slot that fits both calendars as they now stand (the
repairs match first and schedule after, so they can miss it). ``augment`` walks the unmatched
mentees in a deterministic order (cohort order) and, for each, the candidate mentors with a free
seat from the best score down; the first mentor with a slot option (best option first) that
keeps ``no_overlap_with_buffer`` and ``weekly_limit`` against both people's placed meetings
(milestones included) is taken, and that pair is placed with the scheduler's own series builder.

Placed pairs never move (kept pairs, pins and continuing pairs' schedules stay as they are), so a
pair that does not fit when its mentee is tried never fits later: one pass leaves no pair that a
first-fit could still add.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np

from cohort.model import Cohort, PersonId
from cohort.program import Program
from matcher.candidates import CandidateSet
from scheduler.assign import _Occupancy, build_series, local_weeks
from scheduler.model import Schedule
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
            self._add(pid, self._minutes(items))

    def _minutes(self, items: Iterable[tuple[datetime, int]]) -> _Occupancy:
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

    def fits(self, option: SlotOption) -> bool:
        """Whether the option's meetings keep the buffer from, and the weekly limits with, every
        placed meeting of both people."""
        meetings = option.meetings
        occ = self._minutes((m.start, m.duration_minutes) for m in meetings)
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

    def place(self, option: SlotOption) -> None:
        occ = self._minutes((m.start, m.duration_minutes) for m in option.meetings)
        for pid in dict.fromkeys((option.mentor_id, option.mentee_id)):
            self._add(pid, occ)


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
) -> tuple[Schedule, list[PairKey]]:
    """``schedule`` with every pair a first-fit can still add (see the module doc), and those pairs."""
    banned = set(banned)
    placed = {(s.mentor_id, s.mentee_id) for s in schedule.series}
    used = Counter(m for m, _ in placed)
    matched = {e for _, e in placed}
    waiting = [p.id for p in cohort.mentees if p.id not in matched]
    if not waiting or not any(used[m] < capacity.get(m, 0) for m in {p.id for p in cohort.mentors}):
        return schedule, []
    calendars = Calendars(ctx, schedule)
    enc = cs.encoder
    series, events, added = list(schedule.series), list(schedule.events), []
    for e in waiting:
        ks = cs.of_mentee(e)
        for k in sorted(ks.tolist(), key=lambda k: (-int(cs.score[k]), enc.mentor_ids[cs.mentor[k]])):
            m = enc.mentor_ids[cs.mentor[k]]
            if used[m] >= capacity.get(m, 0) or m == e or (m, e) in banned or (e, m) in banned:
                continue
            if (e, m) in placed:  # they would mentor each other
                continue
            option = next(
                (o for o in iter_slot_options(cohort[m], cohort[e], ctx) if calendars.fits(o)), None
            )
            if option is None:
                continue
            s, evs = build_series(ctx, option, uid_salt)
            series.append(s)
            events.extend(evs)
            calendars.place(option)
            placed.add((m, e))
            used[m] += 1
            added.append((m, e))
            break
    if not added:
        return schedule, []
    series.sort(key=lambda s: (s.mentor_id, s.mentee_id))
    events.sort(key=lambda ev: (ev.mentor_id, ev.mentee_id, ev.start, ev.kind))
    stats = dict(schedule.stats)
    stats.update(placed=len(series), augmented=len(added))
    return replace(schedule, series=tuple(series), events=tuple(events), stats=stats), added
