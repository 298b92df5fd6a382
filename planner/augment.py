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

Protected pairs (the instance's: kept, pinned, continuing with their earlier slot) never move;
only the instance's bans exclude a pair, and mentors take up to their seats.

Every "does this pair fit, and with which option" is ``planner.fit.PairFit.first_fit``: the same
answer as trying ``iter_slot_options`` in order against the calendars, without scoring every
pattern of every pair. A chain only tries the placed pairs whose meetings alone stand in the
way of one of the waiting pair's options (``PairFit.blockers``; any pair of the mentor when an
option collides with nobody, as a seat or a weekly limit may be what is missing), and a pair
whose mentee has nowhere else to go frees no seat.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from cohort.model import PersonId
from planner.fit import Calendars, PairFit, meetings_of
from planner.instance import PlanInstance
from scheduler.assign import build_series
from scheduler.model import Event, Schedule, Series
from scheduler.slots import SlotOption

PairKey = tuple[PersonId, PersonId]


def _key(s: Series | Event) -> PairKey:
    return (s.mentor_id, s.mentee_id)


def augment(inst: PlanInstance, schedule: Schedule) -> tuple[Schedule, list[PairKey]]:
    """``schedule`` with every pair the first fit and the chains can add (see the module doc), and
    the pairs placed now that were not before (sorted)."""
    used = Counter(s.mentor_id for s in schedule.series)
    matched = {s.mentee_id for s in schedule.series}
    if all(p.id in matched for p in inst.cohort.mentees) or not any(
        used[p.id] < inst.seats.get(p.id, 0) for p in inst.cohort.mentors
    ):
        return schedule, []
    state = _Pass(inst, schedule)
    # a chain takes one seat of ``m2`` and swaps meetings at ``m`` (full) and of ``x`` (matched):
    # no first fit that failed before can succeed after it, and no move that failed becomes
    # possible, so one pass of each, then a last first fit, leave nothing either can add
    waiting = [e for e in state.waiting if not state.first_fit(e)]
    waiting = [e for e in waiting if not state.chain(e)]
    waiting = [e for e in waiting if not state.first_fit(e)]
    return state.result(schedule)


class _Pass:
    """The final pass's state: the placed pairs with their meetings, seats and calendars, kept
    consistent by ``put``, ``take`` and ``restore``; the moves found and the pairs a chain moved."""

    def __init__(self, inst: PlanInstance, schedule: Schedule):
        self.inst = inst
        self.cohort = inst.cohort
        self.placed: dict[PairKey, tuple[Series, list[Event]]] = {_key(s): (s, []) for s in schedule.series}
        for ev in schedule.events:
            self.placed[_key(ev)][1].append(ev)
        self.used = Counter(m for m, _ in self.placed)
        matched = {e for _, e in self.placed}
        self.waiting = [p.id for p in inst.cohort.mentees if p.id not in matched]
        self.calendars = Calendars(inst.ctx, schedule)
        self.fit = PairFit(inst.ctx, self.calendars)
        self.by_mentor: dict[PersonId, set[PairKey]] = {}
        for k in self.placed:
            self.by_mentor.setdefault(k[0], set()).add(k)
        self.ranked: dict[PersonId, list[PersonId]] = {}
        # where the mentee of a placed pair could move (another mentor's free seat, the pair's own
        # slot given up); independent of the chained pair (other people), remembered until a chain
        # changes the calendars
        self.moves: dict[PairKey, SlotOption | None] = {}
        self.chained: list[PairKey] = []  # the placed pairs a chain moved

    def free(self, m: PersonId) -> bool:
        return self.used[m] < self.inst.seats.get(m, 0)

    def mentors_of(self, e: PersonId) -> list[PersonId]:
        """``e``'s candidate mentors allowed now, best score first."""
        if e not in self.ranked:
            self.ranked[e] = [m for _, m in self.inst.ranked_mentors(e)]
        return [m for m in self.ranked[e] if (e, m) not in self.placed]

    def first_fit_of(self, pair: PairKey) -> SlotOption | None:
        return self.fit.first_fit(self.cohort[pair[0]], self.cohort[pair[1]])

    def put(self, option: SlotOption) -> None:
        pair = (option.mentor_id, option.mentee_id)
        s, evs = build_series(self.inst.ctx, option, self.inst.uid_salt)
        self.placed[pair] = (s, list(evs))
        self.by_mentor.setdefault(pair[0], set()).add(pair)
        cal = self.calendars
        cal.add(pair, cal.occupancy((m.start, m.duration_minutes) for m in option.meetings))
        self.used[pair[0]] += 1

    def take(self, pair: PairKey) -> tuple[Series, list[Event]]:
        item = self.placed.pop(pair)
        self.by_mentor[pair[0]].discard(pair)
        self.calendars.remove(pair)
        self.used[pair[0]] -= 1
        return item

    def restore(self, pair: PairKey, item: tuple[Series, list[Event]]) -> None:
        self.placed[pair] = item
        self.by_mentor[pair[0]].add(pair)
        self.calendars.add(pair, self.calendars.occupancy(meetings_of(*item)))
        self.used[pair[0]] += 1

    def first_fit(self, e: PersonId) -> bool:
        """Place ``e`` with the first free-seat mentor (best score first) whose option fits."""
        for m in self.mentors_of(e):
            if self.free(m):
                option = self.first_fit_of((m, e))
                if option is not None:
                    self.put(option)
                    return True
        return False

    def move_of(self, pair: PairKey) -> SlotOption | None:
        """Where the placed pair's mentee could go instead (module doc), remembered."""
        if pair not in self.moves:
            m, x = pair
            others = [m2 for m2 in self.mentors_of(x) if m2 != m and self.free(m2)]
            found = None
            if others:
                old = self.take(pair) if pair in self.placed else None
                found = next((o for m2 in others if (o := self.first_fit_of((m2, x)))), None)
                if old is not None:
                    self.restore(pair, old)
            self.moves[pair] = found
        return self.moves[pair]

    def chain(self, e: PersonId) -> bool:
        """Place ``e`` by moving one placed pair of a candidate mentor (module doc)."""
        for m in self.mentors_of(e):
            mine = sorted(k for k in self.by_mentor.get(m, ()) if k not in self.inst.protected)
            full = not self.free(m)
            if full:  # a seat must be freed: the mentee of one of the pairs moves
                mine = [k for k in mine if self.move_of(k) is not None]
            if not mine:
                continue
            # only a pair whose meetings alone stand in the way of an option of (m, e) can make
            # room by moving (any pair, when an option collides with nothing: seat or limit)
            blocking = self.fit.blockers(self.cohort[m], self.cohort[e])
            if blocking is not None:
                mine = [k for k in mine if self.calendars.owner_id(k) in blocking]
            if any(self._swap(pair, (m, e), full) for pair in mine):
                return True
        return False

    def _swap(self, pair: PairKey, new_pair: PairKey, full: bool) -> bool:
        """``new_pair`` placed where ``pair`` was, and ``pair`` moved (its mentee to another
        mentor, or the pair to another slot of its mentor's free seat); else nothing changes."""
        old = self.take(pair)
        new = self.first_fit_of(new_pair)
        if new is not None:
            moved = self.move_of(pair) if full else None
            self.put(new)
            if moved is not None and not (self.calendars.fits(moved) and self.free(moved.mentor_id)):
                self.moves.pop(pair)  # a chain took that seat or hour: look again
                moved = self.move_of(pair)
            if moved is not None:
                self.put(moved)
                self.moves.pop(pair)
                self.chained.append(pair)
                return True
            if self.free(new_pair[0]):  # a free seat: the pair may keep its mentor with another slot
                again = self.first_fit_of(pair)
                if again is not None:
                    self.put(again)
                    self.moves.pop(pair, None)
                    self.chained.append(pair)
                    return True
            self.take(new_pair)
        self.restore(pair, old)  # the chain fails: the pair keeps its slot
        return False

    def result(self, schedule: Schedule) -> tuple[Schedule, list[PairKey]]:
        """The schedule with the pass's pairs, and the pairs it added (``schedule`` itself when
        nothing changed)."""
        placed = self.placed
        old_keys = {_key(s) for s in schedule.series}
        if set(placed) == old_keys and all(placed[_key(s)][0] is s for s in schedule.series):
            return schedule, []
        series = sorted((s for s, _ in placed.values()), key=_key)
        events = sorted(
            (ev for _, evs in placed.values() for ev in evs),
            key=lambda ev: (ev.mentor_id, ev.mentee_id, ev.start, ev.kind),
        )
        stats = dict(schedule.stats)
        stats.update(
            placed=len(series), augmented=len(series) - len(schedule.series), moved=len(self.chained)
        )
        added = sorted(set(placed) - old_keys)
        return replace(schedule, series=tuple(series), events=tuple(events), stats=stats), added
