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

Every "does this pair fit, and with which option" is ``planner.fit.PairFit.first_fit``: the same
answer as trying ``iter_slot_options`` in order against the calendars, without scoring every
pattern of every pair. A chain only tries the placed pairs whose meetings alone stand in the
way of one of the waiting pair's options (``PairFit.blockers``; any pair of the mentor when an
option collides with nobody, as a seat or a weekly limit may be what is missing), and a pair
whose mentee has nowhere else to go frees no seat.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import replace

from cohort.model import Cohort, PersonId
from cohort.program import Program
from matcher.candidates import CandidateSet
from planner.fit import Calendars, PairFit, meetings_of
from scheduler.assign import build_series
from scheduler.model import Event, Schedule, Series
from scheduler.slots import SlotContext, SlotOption

PairKey = tuple[PersonId, PersonId]


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
    fit = PairFit(ctx, calendars)
    enc = cs.encoder
    by_mentor: dict[PersonId, set[PairKey]] = {}
    for k in placed:
        by_mentor.setdefault(k[0], set()).add(k)
    ranked: dict[PersonId, list[PersonId]] = {}

    def free(m: PersonId) -> bool:
        return used[m] < capacity.get(m, 0)

    def mentors_of(e: PersonId) -> list[PersonId]:
        """``e``'s candidate mentors allowed now, best score first."""
        if e not in ranked:
            ks = cs.of_mentee(e).tolist()
            ks.sort(key=lambda k: (-int(cs.score[k]), enc.mentor_ids[cs.mentor[k]]))
            ranked[e] = [
                m
                for k in ks
                if (m := enc.mentor_ids[cs.mentor[k]]) != e and (m, e) not in banned and (e, m) not in banned
            ]
        return [m for m in ranked[e] if (e, m) not in placed]

    def first_fit_of(pair: PairKey) -> SlotOption | None:
        return fit.first_fit(cohort[pair[0]], cohort[pair[1]])

    def put(option: SlotOption) -> None:
        pair = (option.mentor_id, option.mentee_id)
        s, evs = build_series(ctx, option, uid_salt)
        placed[pair] = (s, list(evs))
        by_mentor.setdefault(pair[0], set()).add(pair)
        calendars.add(pair, calendars.occupancy((m.start, m.duration_minutes) for m in option.meetings))
        used[pair[0]] += 1

    def take(pair: PairKey) -> tuple[Series, list[Event]]:
        item = placed.pop(pair)
        by_mentor[pair[0]].discard(pair)
        calendars.remove(pair)
        used[pair[0]] -= 1
        return item

    def restore(pair: PairKey, item: tuple[Series, list[Event]]) -> None:
        placed[pair] = item
        by_mentor[pair[0]].add(pair)
        calendars.add(pair, calendars.occupancy(meetings_of(*item)))
        used[pair[0]] += 1

    def first_fit(e: PersonId) -> bool:
        for m in mentors_of(e):
            if free(m):
                option = first_fit_of((m, e))
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
                found = next((o for m2 in others if (o := first_fit_of((m2, x)))), None)
                if old is not None:
                    restore(pair, old)
            moves[pair] = found
        return moves[pair]

    def chain(e: PersonId) -> bool:
        for m in mentors_of(e):
            mine = sorted(k for k in by_mentor.get(m, ()) if k not in protected)
            full = not free(m)
            if full:  # a seat must be freed: the mentee of one of the pairs moves
                mine = [k for k in mine if move_of(k) is not None]
            if not mine:
                continue
            # only a pair whose meetings alone stand in the way of an option of (m, e) can make
            # room by moving (any pair, when an option collides with nothing: seat or limit)
            blocking = fit.blockers(cohort[m], cohort[e])
            if blocking is not None:
                mine = [k for k in mine if calendars.owner_id(k) in blocking]
            for pair in mine:
                old = take(pair)
                new = first_fit_of((m, e))
                if new is not None:
                    moved = move_of(pair) if full else None
                    put(new)
                    if moved is not None and not (calendars.fits(moved) and free(moved.mentor_id)):
                        moves.pop(pair)  # a chain took that seat or hour: look again
                        moved = move_of(pair)
                    if moved is not None:
                        put(moved)
                        moves.pop(pair)
                        chained.append(pair)
                        return True
                    if free(m):  # a free seat: the pair may keep its mentor with another slot
                        again = first_fit_of(pair)
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
