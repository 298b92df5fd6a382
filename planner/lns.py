"""A large-neighbourhood search over the (pair, slot) assignment, above the exact joint model's size.

The exact joint model (``planner.joint``) chooses pairs and slots together, but only up to
``Limits.joint_limit`` candidates. Above ``Limits.search_above`` (the same size by default),
``improve`` starts from the finished plan (matched, scheduled, repaired, augmented) and, until
its budget is spent or a whole round of neighbourhoods finds nothing:

1. picks a neighbourhood around one mentee, in turn an unmatched one with eligible mentors (more
   matched) and a matched one with a better-scoring eligible mentor (more score, the largest
   difference first): some of the mentee's (better) mentors -- the best, and more drawn by an RNG
   seeded with ``[matching] seed`` --, their mentees, one more mentor of each of those mentees and
   that mentor's mentees, up to ``MAX_MENTORS`` and ``MAX_MENTEES``, and a few unmatched mentees
   of those mentors;
2. models the neighbourhood alone in CP-SAT, as ``planner.joint`` does the whole cohort: each
   mentee's best few candidate mentors there with each pair's best diverse slot options
   (``scheduler.slots.pair_slot_options``) and, for a placed pair, its current slot; everything
   else is fixed and is busy time and taken seats for the people involved (an option that
   collides with it exactly -- buffer and weekly limit included -- is dropped). Per person,
   options whose meetings (with the buffer) share a cell of the cycle exclude each other (exact:
   starts, lengths and buffers are multiples of the cell), and weekly limits count the fixed
   meetings;
3. solves it warm-started from the current plan (``AddHint``) with a short limit, objective
   lexicographic: matched, then score, then slots kept where they are;
4. accepts the answer when the neighbourhood has more matched mentees, or as many with a higher
   score (a placed mentee may then give way to one who scores higher). The changed pairs' series
   come from the scheduler's own builder (``scheduler.assign.build_series``), and the
   independent ``scheduler.validate`` checks every meeting of the people involved before they
   replace the old ones.

Protected pairs (kept, pinned, continuing with an earlier slot) never move. Deterministic: sets
are visited in sorted order, CP-SAT runs one worker as ``cohort.solving`` configures it, and with
``deterministic = true`` the budget (``[matching] lns_seconds``) counts CP-SAT's deterministic time
plus a fixed charge per pair modelled (about the CPU seconds it takes), so machine load does not
change the answer; a wall-clock cap of ``WALL_CLOCK_FACTOR`` times the budget guards against
runaway. After a search that changed the plan, the final pass's first fit runs again on what it
changed (``_Search.refill``), so no unmatched mentee can still be added by a first fit.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from cohort.model import PersonId
from cohort.program import Program
from cohort.progress import ProgressEvent
from cohort.solving import WALL_CLOCK_FACTOR, configure
from matcher.constraints import PairVars, capacity, mutual_mentoring, one_mentor
from planner.fit import Calendars
from planner.instance import PlanInstance
from planner.repair import SearchFigures
from scheduler.assign import build_series, cell_size, local_weeks
from scheduler.constraints import (
    Occupancy,
    SlotVars,
    no_overlap_with_buffer,
    occupied_cells,
    one_slot_per_pair,
    weekly_limit,
)
from scheduler.model import Event, Schedule, Series
from scheduler.slots import SlotOption, iter_slot_options, pair_slot_options
from scheduler.validate import check_schedule

PairKey = tuple[PersonId, PersonId]
Placed = tuple[Series, tuple[Event, ...]]

MAX_MENTORS = 8  # mentors in one neighbourhood
MAX_MENTEES = 20  # mentees in one neighbourhood
SEED_MENTORS = 3  # of the seed mentee's eligible mentors: the best half, then at random
MORE_MENTORS = 1  # other candidate mentors drawn per mentee of the neighbourhood
GUESTS = 6  # other unmatched mentees of the neighbourhood's mentors, drawn at random
PAIRS_PER_MENTEE = 4  # of a mentee's mentors in the neighbourhood, the best (and the current one)
OPTIONS_PER_PAIR = 6  # best diverse slot options per pair (as ``planner.joint``)
NEIGHBOURHOOD_SECONDS = 0.2  # CP-SAT limit per neighbourhood
CHARGE_PER_PAIR = 0.003  # budget charged per candidate pair modelled (slot options, checks)


@dataclass(frozen=True)
class _Choice:
    """One way to place a pair: a new slot option, or (``option`` None) the slot it has now, with
    its meetings as minutes since the grid epoch and the cells they cover with the buffer."""

    option: SlotOption | None
    occ: Occupancy
    cells: np.ndarray
    weeks: dict[PersonId, tuple[list[int], list[int]]] = field(default_factory=dict)  # local weeks, counts


@dataclass
class _Budget:
    """What the search may still spend: deterministic work, or wall-clock seconds."""

    seconds: float
    deterministic: bool
    spent: float = 0.0
    started: float = 0.0

    def charge(self, solver_work: float, wall: float, pairs: int) -> None:
        self.spent += solver_work + CHARGE_PER_PAIR * pairs if self.deterministic else wall

    def exhausted(self) -> bool:
        wall = time.perf_counter() - self.started
        return self.spent >= self.seconds or wall >= self.seconds * WALL_CLOCK_FACTOR


def applies(inst: PlanInstance) -> bool:
    """Whether the search runs: a budget, an instance above ``Limits.search_above`` candidates,
    and the score objective (rank levels and the fairness objective are not what it improves)."""
    m = inst.program.matching
    return (
        m.lns_seconds > 0
        and len(inst.candidates) > inst.limits.search_above
        and not inst.ranked
        and m.objective == "total"
    )


def improve(
    inst: PlanInstance, schedule: Schedule, *, seconds: float | None = None
) -> tuple[Schedule, SearchFigures]:
    """``schedule`` improved by the search (see the module doc), and its figures.

    The objective's score is ``inst.scores`` (ties folded in); the reported score gain is in the
    candidates' own scores. ``seconds``: the budget (default ``[matching] lns_seconds``).
    """
    program, progress = inst.program, inst.progress
    budget = _Budget(
        program.matching.lns_seconds if seconds is None else seconds, program.matching.deterministic
    )
    search = _Search(inst, schedule)
    progress(ProgressEvent("lns", "start", f"searching neighbourhoods for up to {budget.seconds:g} s"))
    budget.started = time.perf_counter()
    search.run(budget)
    added = search.refill(schedule) if search.improved else []
    result = search.schedule(schedule)
    figures = SearchFigures(
        neighbourhoods=search.tried,
        improved=search.improved,
        matched_gained=len(result.series) - len(schedule.series),
        score_gained=search.total(result) - search.total(schedule),
        augmented=len(added),
        moved=_moved(schedule, result),
        dropped=len({s.mentee_id for s in schedule.series} - {s.mentee_id for s in result.series}),
        rejected_by_check=search.rejected,
        seconds=round(budget.spent, 2),
    )
    progress(
        ProgressEvent(
            "lns",
            "done",
            f"{search.improved} of {search.tried} neighbourhoods improved: "
            f"{figures.matched_gained} more matched, score +{figures.score_gained}",
        )
    )
    return result, figures


def neighbourhood_model(
    inst: PlanInstance, schedule: Schedule, mentors: Iterable[PersonId], mentees: Iterable[PersonId]
) -> tuple[SlotVars, PairVars]:
    """The CP-SAT model the search solves for the neighbourhood of ``mentors`` and ``mentees`` in
    ``schedule`` (everything else fixed)."""
    return _Neighbourhood(_Search(inst, schedule), sorted(mentors), sorted(mentees)).model()


def _moved(before: Schedule, after: Schedule) -> int:
    """Mentees placed before whose partner or slot the search changed."""
    old = {s.mentee_id: s for s in before.series}
    new = {s.mentee_id: s for s in after.series}
    return sum(1 for e, s in old.items() if e in new and new[e] != s)


class _Search:
    """The search's state: the placed pairs, who is in which, and the cached slot options."""

    def __init__(self, inst: PlanInstance, schedule: Schedule):
        self.inst = inst
        self.cohort, self.program, self.ctx, self.cs = inst.cohort, inst.program, inst.ctx, inst.candidates
        self.capacity = inst.seats
        self.protected = inst.protected
        self.scores = inst.scores
        self.uid_salt = inst.uid_salt
        program = inst.program
        self.rng = random.Random(program.matching.seed)
        self.buffer = program.cycle.buffer_minutes
        self.cell = cell_size(program)
        events: dict[PairKey, list[Event]] = {}
        for ev in schedule.events:
            events.setdefault((ev.mentor_id, ev.mentee_id), []).append(ev)
        self.placed: dict[PairKey, Placed] = {}
        self.by_person: dict[PersonId, set[PairKey]] = {}
        for s in schedule.series:
            self._put((s.mentor_id, s.mentee_id), (s, tuple(events.get((s.mentor_id, s.mentee_id), ()))))
        self._mentors: dict[PersonId, list[PersonId]] = {}
        self._scores: dict[PairKey, int] = {}
        self._options: dict[PairKey, list[_Choice]] = {}
        self._current: dict[PairKey, tuple[Series, _Choice]] = {}
        self._waiting_of: dict[PersonId, list[PersonId]] | None = None
        self.tried = self.improved = self.rejected = 0

    # ----- state -------------------------------------------------------------------------------

    def _put(self, pair: PairKey, item: Placed) -> None:
        self.placed[pair] = item
        for pid in dict.fromkeys(pair):
            self.by_person.setdefault(pid, set()).add(pair)

    def _take(self, pair: PairKey) -> Placed:
        for pid in dict.fromkeys(pair):
            self.by_person[pid].discard(pair)
        return self.placed.pop(pair)

    def schedule(self, base: Schedule) -> Schedule:
        """The placed pairs as a schedule (``base`` itself when nothing changed)."""
        if not self.improved:
            return base
        items = [self.placed[k] for k in sorted(self.placed)]
        events = sorted(
            (ev for _, evs in items for ev in evs),
            key=lambda ev: (ev.mentor_id, ev.mentee_id, ev.start, ev.kind),
        )
        return replace(base, series=tuple(s for s, _ in items), events=tuple(events))

    def total(self, schedule: Schedule) -> int:
        """The total score of a schedule's pairs."""
        return sum(self.real_score((s.mentor_id, s.mentee_id)) for s in schedule.series)

    def refill(self, before: Schedule) -> list[PairKey]:
        """The final pass's first fit again where the search changed something, so that the plan
        stays maximal: every unmatched mentee, in cohort order, takes the first eligible mentor
        (best score first) with a free seat and the first slot option (best first) that fits
        both calendars -- only pairs with a person whose meetings or seat the search changed (or
        dropped), as nothing else changed since ``planner.augment`` found no such pair. Adding
        a pair only takes time and seats, so one pass leaves nothing addable; returns the pairs
        added.
        """
        old = {(s.mentor_id, s.mentee_id): s for s in before.series}
        changed = {pid for k in old.keys() ^ self.placed.keys() for pid in k}
        changed |= {pid for k in old.keys() & self.placed.keys() if old[k] != self.placed[k][0] for pid in k}
        tries = [
            (
                e,
                [
                    m
                    for m in self.mentors_of(e)
                    if (m in changed or e in changed) and (e, m) not in self.placed
                ],
            )
            for e in self.waiting()
        ]
        tries = [(e, ms) for e, ms in tries if ms]
        people = {pid for e, ms in tries for pid in (e, *ms)}
        near = sorted({k for pid in people for k in self.by_person.get(pid, ())})
        items = [self.placed[k] for k in near]
        calendars = Calendars(
            self.ctx, Schedule(tuple(s for s, _ in items), tuple(ev for _, evs in items for ev in evs))
        )
        used = Counter(m for m, _ in self.placed)
        added: list[PairKey] = []
        for e, ms in tries:
            for m in ms:
                if used[m] >= self.capacity.get(m, 0):
                    continue
                option = next(
                    (
                        o
                        for o in iter_slot_options(self.cohort[m], self.cohort[e], self.ctx)
                        if calendars.fits(o)
                    ),
                    None,
                )
                if option is not None:
                    s, evs = build_series(self.ctx, option, self.uid_salt)
                    self._put((m, e), (s, tuple(evs)))
                    calendars.add(
                        (m, e), self.occupancy((mt.start, mt.duration_minutes) for mt in option.meetings)
                    )
                    used[m] += 1
                    added.append((m, e))
                    break
        return added

    def real_score(self, pair: PairKey) -> int:
        k = self.cs.index_of(*pair)
        return 0 if k is None else int(self.cs.score[k])

    def _score(self, pair: PairKey) -> int:
        """The pair's score in the objective (ties folded in)."""
        if pair not in self._scores:
            k = self.cs.index_of(*pair)
            self._scores[pair] = 0 if k is None else int(self.scores[k])
        return self._scores[pair]

    def mentors_of(self, e: PersonId) -> list[PersonId]:
        """``e``'s candidate mentors that no ban excludes, best score first."""
        if e not in self._mentors:
            ranked = self.inst.ranked_mentors(e, self.scores)
            self._scores.update(((m, e), score) for score, m in ranked)
            self._mentors[e] = [m for _, m in ranked]
        return self._mentors[e]

    def matched(self, e: PersonId) -> bool:
        return any(k[1] == e for k in self.by_person.get(e, ()))

    def waiting(self) -> list[PersonId]:
        """Unmatched mentees with at least one eligible mentor, in cohort order."""
        return [p.id for p in self.cohort.mentees if not self.matched(p.id) and self.mentors_of(p.id)]

    def waiting_of(self, m: PersonId) -> list[PersonId]:
        """The unmatched mentees (when the round began) who have ``m`` as an eligible mentor."""
        if self._waiting_of is None:
            self._waiting_of = {}
            for e in self.waiting():
                for mentor in self.mentors_of(e):
                    self._waiting_of.setdefault(mentor, []).append(e)
        return self._waiting_of.get(m, [])

    def mentees_of(self, m: PersonId) -> list[PersonId]:
        """``m``'s placed mentees whose pair may move."""
        return sorted(k[1] for k in self.by_person.get(m, ()) if k[0] == m and k not in self.protected)

    # ----- the search --------------------------------------------------------------------------

    def run(self, budget: _Budget) -> None:
        """Rounds of neighbourhoods until one round finds nothing or the budget is spent: around
        each unmatched mentee with eligible mentors (more matched) in turn with one around a
        matched mentee who has a better-scoring eligible mentor (more score)."""
        while not budget.exhausted():
            found = False
            self._waiting_of = None
            waiting = self.waiting()
            self.rng.shuffle(waiting)
            regrets = self.regrets()
            turns = [e for pair in zip(waiting, regrets, strict=False) for e in pair]
            turns += waiting[len(turns) // 2 :] + regrets[len(turns) // 2 :]
            for e in turns:
                if budget.exhausted():
                    return
                found |= self.step(budget, e)
            if not found:
                return

    def partner(self, e: PersonId) -> PersonId | None:
        """``e``'s mentor now (None: unmatched)."""
        return next((k[0] for k in self.by_person.get(e, ()) if k[1] == e), None)

    def regrets(self) -> list[PersonId]:
        """Matched mentees whose pair may move and who have an eligible mentor with a higher
        score, the largest difference first."""
        out = []
        for pair in sorted(self.placed):
            if pair in self.protected:
                continue
            m, e = pair
            best = max((self._score((m2, e)) for m2 in self.mentors_of(e)), default=0)
            if best > self._score(pair):
                out.append((self._score(pair) - best, e))
        return [e for _, e in sorted(out)]

    def _draw(self, pool: list[PersonId], n: int) -> list[PersonId]:
        """Up to ``n`` of ``pool`` (best first): the better half from the top, the rest at random."""
        top = pool[: (n + 1) // 2]
        rest = pool[len(top) :]
        return top + self.rng.sample(rest, min(n - len(top), len(rest)))

    def better(self, e: PersonId) -> list[PersonId]:
        """``e``'s eligible mentors (best first), only those scoring above the current one when
        ``e`` is matched."""
        now = self.partner(e)
        if now is None:
            return self.mentors_of(e)
        floor = self._score((now, e))
        return [m for m in self.mentors_of(e) if m != now and self._score((m, e)) > floor]

    def neighbourhood(self, seed: PersonId) -> tuple[list[PersonId], list[PersonId]]:
        """A neighbourhood grown from one mentee (module doc): mentors and mentees, sorted."""
        now = self.partner(seed)
        ms = dict.fromkeys([now] if now is not None else [])
        ms.update(dict.fromkeys(self._draw(self.better(seed), SEED_MENTORS)))
        es = dict.fromkeys([seed])
        for depth in range(2):
            for m in list(ms):
                for x in self.mentees_of(m):
                    if len(es) < MAX_MENTEES:
                        es.setdefault(x)
            if depth == 1:
                break
            for x in list(es):
                # more matched: any other mentor may take a mentee over; more score: a better one
                others = [m for m in (self.mentors_of(x) if now is None else self.better(x)) if m not in ms]
                for m in self._draw(others, MORE_MENTORS):
                    if len(ms) < MAX_MENTORS:
                        ms.setdefault(m)
        guests = sorted({e for m in ms for e in self.waiting_of(m) if e not in es and not self.matched(e)})
        es.update(dict.fromkeys(self.rng.sample(guests, min(GUESTS, len(guests)))))
        return sorted(ms), sorted(es)

    def step(self, budget: _Budget, seed: PersonId) -> bool:
        """Search the neighbourhood of one mentee; True when it improved the plan."""
        t = time.perf_counter()
        ms, es = self.neighbourhood(seed)
        model = _Neighbourhood(self, ms, es)
        work, changes = model.solve(self.program)
        self.tried += 1
        improved = changes is not None and self.apply(model, changes)
        budget.charge(work, time.perf_counter() - t, len(model.pairs))
        return improved

    def apply(self, model: _Neighbourhood, chosen: Sequence[int | None]) -> bool:
        """Replace the neighbourhood's placed pairs by ``chosen`` (an option index per modelled
        pair), unless the independent validator objects; True when applied."""
        old = {k: self.placed[k] for k in model.free}
        new: dict[PairKey, Placed] = {}
        for pair, choices, j in zip(model.pairs, model.choices, chosen, strict=True):
            if j is None:
                continue
            option = choices[j].option
            if option is None:
                new[pair] = old[pair]
            else:
                s, evs = build_series(self.ctx, option, self.uid_salt)
                new[pair] = (s, tuple(evs))
        changed = {k for k in old if new.get(k) is not old[k]} | {k for k in new if k not in old}
        for k in old:
            self._take(k)
        for k, item in new.items():
            self._put(k, item)
        people = {pid for k in changed for pid in k}
        touched = sorted({k for pid in people for k in self.by_person.get(pid, ())})
        items = [self.placed[k] for k in touched]
        check = Schedule(tuple(s for s, _ in items), tuple(ev for _, evs in items for ev in evs))
        if check_schedule(check, self.cohort, self.program):  # never expected: keep the old plan
            for k in new:
                self._take(k)
            for k, item in old.items():
                self._put(k, item)
            self.rejected += 1
            return False
        self.improved += 1
        return True

    def options(self, pair: PairKey) -> list[_Choice]:
        """The pair's best diverse slot options (``OPTIONS_PER_PAIR``), computed once."""
        if pair not in self._options:
            m, e = self.cohort[pair[0]], self.cohort[pair[1]]
            found = pair_slot_options(m, e, self.program, ctx=self.ctx, limit=OPTIONS_PER_PAIR)
            self._options[pair] = [
                self.choice(o, self.occupancy((mt.start, mt.duration_minutes) for mt in o.meetings))
                for o in found
            ]
        return self._options[pair]

    def current(self, pair: PairKey) -> _Choice:
        """The placed pair's slot as it is now."""
        item = self.placed[pair]
        if pair not in self._current or self._current[pair][0] is not item[0]:
            self._current[pair] = (item[0], self.choice(None, self.occupancy_of(item)))
        return self._current[pair][1]

    def choice(self, option: SlotOption | None, occ: Occupancy) -> _Choice:
        return _Choice(option, occ, occupied_cells(occ, self.buffer, self.cell))

    def weeks(self, choice: _Choice, pid: PersonId) -> tuple[list[int], list[int]]:
        """``pid``'s local weeks of a choice's meetings and the meetings in each."""
        if pid not in choice.weeks:
            weeks, counts = np.unique(local_weeks(self.ctx, pid, choice.occ), return_counts=True)
            choice.weeks[pid] = (weeks.tolist(), counts.tolist())
        return choice.weeks[pid]

    def occupancy(self, items: Iterable[tuple[Any, int]]) -> Occupancy:
        """Meetings (UTC start, minutes) as minutes since the grid epoch."""
        items = list(items)
        epoch = self.ctx.epoch_utc
        starts = np.array([int((t - epoch).total_seconds() // 60) for t, _ in items], dtype=np.int64)
        return Occupancy(starts, np.array([n for _, n in items], dtype=np.int64))

    def occupancy_of(self, item: Placed) -> Occupancy:
        s, evs = item
        return self.occupancy(
            [
                *((t, s.duration_minutes) for t in s.occurrences),
                *((ev.start, ev.duration_minutes) for ev in evs),
            ]
        )


class _Neighbourhood:
    """One neighbourhood's pairs and their choices, with everything outside it fixed."""

    def __init__(self, search: _Search, mentors: list[PersonId], mentees: list[PersonId]):
        self.search = search
        ms, es = set(mentors), set(mentees)
        people = sorted(ms | es)
        near = sorted({k for pid in people for k in search.by_person.get(pid, ())})
        self.free = [
            k
            for k in near
            if k[0] in ms and k[1] in es and k not in search.protected and k[0] in search.mentors_of(k[1])
        ]
        fixed = [k for k in near if k not in set(self.free)]
        items = [search.placed[k] for k in fixed]
        self.calendars = Calendars(
            search.ctx, Schedule(tuple(s for s, _ in items), tuple(ev for _, evs in items for ev in evs))
        )
        self.fixed_pairs = set(fixed)
        self.seats = Counter(m for m, _ in fixed)
        self.fixed_weeks: dict[PersonId, Counter[int]] = {}
        for pid in people:
            if search.cohort[pid].max_meetings_per_week is not None:
                weeks: Counter[int] = Counter()
                for k in fixed:
                    if pid in k:
                        ws, counts = search.weeks(search.current(k), pid)
                        weeks.update(dict(zip(ws, counts, strict=True)))
                self.fixed_weeks[pid] = weeks
        taken = {e for _, e in fixed}
        self.pairs: list[PairKey] = []
        self.choices: list[list[_Choice]] = []
        self.penalties: list[list[int]] = []
        for e in sorted(es - taken):
            now = search.partner(e)
            mine = [
                m
                for m in search.mentors_of(e)
                if m in ms and (e, m) not in self.fixed_pairs and self.seats[m] < search.capacity.get(m, 0)
            ]
            # the mentee's best few mentors here (and the current one): the others rarely pay
            for m in [m for n, m in enumerate(mine) if n < PAIRS_PER_MENTEE or m == now]:
                choices, penalties = self._choices((m, e))
                if choices:
                    self.pairs.append((m, e))
                    self.choices.append(choices)
                    self.penalties.append(penalties)

    def _choices(self, pair: PairKey) -> tuple[list[_Choice], list[int]]:
        """The pair's current slot (if placed) and its options that fit around the fixed
        meetings, with their penalties (0: the current slot, else 1 + the option's rank)."""
        search = self.search
        out: list[_Choice] = []
        current = None
        if pair in search.placed:
            current = search.current(pair)
            out.append(current)
        for choice in search.options(pair):
            assert choice.option is not None
            if current is not None and np.array_equal(choice.cells, current.cells):
                continue  # the slot it has now
            if self.calendars.fits(choice.option):
                out.append(choice)
        start = 0 if current is not None else 1
        return out, list(range(start, start + len(out)))

    def model(self) -> tuple[SlotVars, PairVars]:
        """The neighbourhood's CP-SAT model: a Boolean per pair and choice, the rules with the
        fixed pairs' seats and meetings counted, and the lexicographic objective (module doc)."""
        search, pairs, choices = self.search, self.pairs, self.choices
        model = cp_model.CpModel()
        v = SlotVars(
            model,
            [
                [model.new_bool_var(f"slot[{m},{e},{j}]") for j in range(len(cs))]
                for (m, e), cs in zip(pairs, choices, strict=True)
            ],
        )
        x, pv = v.x, PairVars(model)
        by_mentee: dict[PersonId, list[Any]] = {}
        by_mentor: dict[PersonId, list[Any]] = {}
        refs: dict[PersonId, list[tuple[int, int]]] = {}
        index = {k: i for i, k in enumerate(pairs)}
        for i, (m, e) in enumerate(pairs):
            one_slot_per_pair(v, i)
            by_mentee.setdefault(e, []).extend(x[i])
            by_mentor.setdefault(m, []).extend(x[i])
            for pid in dict.fromkeys((m, e)):  # in pair order, never by string hash
                refs.setdefault(pid, []).extend((i, j) for j in range(len(x[i])))
            if (e, m) in index and m < e:
                mutual_mentoring(pv, [(x[i], x[index[(e, m)]])])
        one_mentor(pv, by_mentee.values())
        capacity(pv, ((vs, search.capacity.get(m, 0) - self.seats[m]) for m, vs in by_mentor.items()))
        for pid, rs in refs.items():
            if len({i for i, _ in rs}) >= 2:  # exact on the cell grid
                no_overlap_with_buffer(v, rs, [choices[i][j].cells for i, j in rs])
            limit = search.cohort[pid].max_meetings_per_week
            if limit is not None:  # the fixed meetings counted
                fixed = self.fixed_weeks.get(pid, Counter())
                per_week: dict[int, list[tuple[int, Any]]] = {}
                for i, j in rs:
                    weeks, counts = search.weeks(choices[i][j], pid)
                    for w, c in zip(weeks, counts, strict=True):
                        per_week.setdefault(w, []).append((c, x[i][j]))
                weekly_limit(v, ((terms, limit - fixed[w]) for w, terms in sorted(per_week.items())))
        # Lexicographic weights sized to this model: matched >> score >> slots kept where they are.
        score = [search._score(k) for k in pairs]
        w2 = sum(max(ps) for ps in self.penalties) + 1
        w1 = w2 * (sum(abs(s) for s in score) + 1)
        model.maximize(
            sum((w1 + w2 * s) * b for s, xs in zip(score, x, strict=True) for b in xs)
            - sum(
                p * b for ps, xs in zip(self.penalties, x, strict=True) for p, b in zip(ps, xs, strict=True)
            )
        )
        for i, k in enumerate(pairs):
            for j, b in enumerate(x[i]):
                model.add_hint(b, int(k in search.placed and choices[i][j].option is None))
        return v, pv

    def solve(self, program: Program) -> tuple[float, list[int | None] | None]:
        """CP-SAT on the neighbourhood; returns the work done and the chosen option per pair, or
        None when the answer is not better (more matched, or as many with a higher score)."""
        search, pairs = self.search, self.pairs
        if not pairs:
            return 0.0, None
        v, _ = self.model()
        solver = cp_model.CpSolver()
        configure(
            solver.parameters,
            deterministic=program.matching.deterministic,
            time_limit=NEIGHBOURHOOD_SECONDS,
            workers=1,
            seed=program.matching.seed,
        )
        status = solver.solve(v.model)
        work = solver.deterministic_time if program.matching.deterministic else solver.wall_time
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return work, None
        chosen: list[int | None] = [None] * len(pairs)
        for i, xs in enumerate(v.x):
            for j, b in enumerate(xs):
                if solver.boolean_value(b):
                    chosen[i] = j
        score = [search._score(k) for k in pairs]
        old = (len(self.free), sum(search._score(k) for k in self.free))
        new = (
            sum(j is not None for j in chosen),
            sum(s for s, j in zip(score, chosen, strict=True) if j is not None),
        )
        return work, (chosen if new > old else None)
