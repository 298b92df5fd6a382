"""Forming circles: who meets in which circle, and when (who may join: ``planner.circles.pool``).

Hard rules of a circle (``circle_problems``), the catalogue's pair predicates (``cohort.rules``, the
same the pairs' validator runs, chosen by their ``in_circle``) between every two people of the
circle, leader included: ``self``, ``forbid``, ``avoid`` (either way), ``reporting_line`` (up to
``reporting_line_depth`` levels), ``department`` (with ``same_department = "forbid"``: nobody
shares a department, compared by ``department_key`` as for pairs), ``history``; ``level_gap``
between the leader and each member; ``language``: one language common to the whole circle (with
``common_language``, compared by ``language_key``); goals: at least one
goal shared by every member (mentor-led: also in the leader's expertise); sizes: ``min_size`` to
``max_size`` members besides a leader; ``schedule``: one recurring slot inside every member's local
availability for every occurrence (``planner.circles.slots``), around their pair meetings.

Forming circles optimally: candidate circles are the cliques of people compatible under every rule
above (a depth-first search that prunes on the monotone rules: pairwise rules, shared goal, common
language, a common minute of the week; the exact slot test at each circle it emits). Up to
``EXHAUSTIVE_LIMIT`` search nodes the enumeration is complete; above it each person seeds a bounded
search (``PER_SEED`` circles), so every person still has candidates. A CP-SAT set packing then
chooses disjoint circles, a leader within their circles allowed: most people placed first, then the
circle scores (``goal_overlap_weight`` per goal shared by every member). The reported bound is
CP-SAT's over the candidate circles, exact when the enumeration was complete (``method`` says).
Slots are then given circle by circle around everyone's other meetings; a circle whose leader has
no hour left is dropped and the packing solved again without it.

Across cycles (``CircleContinuity``, decided by ``planner.circles.continuity``): each continuing
circle adds candidates of its own, its members who stay plus replacements from the pool (never
someone barred from it), searched from that core; a pair rule ``history`` keeps apart people of a
circle one of them said no to. The packing then puts continuing circles first, their old slot
(``same_slot``: the slot still valid for the group) second, people placed third, scores last; a
continuing circle keeps its id and is slotted first, in its old pattern when that still fits.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import combinations

import numpy as np
from ortools.sat.python import cp_model

from cohort.model import MINUTES_PER_WEEK, Cohort, Person, PersonId
from cohort.program import Program
from cohort.rules import PAIR_CHECKS, languages_of, pair_context, rule
from cohort.solving import configure
from matcher.constraints import PairVars, capacity, one_mentor
from planner.circles.model import (
    EMPTY,
    NO_CONTINUITY,
    Circle,
    CircleContinuity,
    CirclePlan,
    KeptCircle,
    Unplaced,
)
from planner.circles.pool import circle_pool, uses_circles
from planner.circles.slots import Busy, CircleSlot, GroupSlotTest, circle_context, circle_slot_options
from scheduler.model import Schedule
from scheduler.recurrence import Pattern
from scheduler.slots import Meeting, SlotContext

EXHAUSTIVE_LIMIT = 200_000  # search nodes up to which every candidate circle is enumerated
PER_SEED = 6  # candidate circles per seed person above the limit
SEED_NODES = 400  # search nodes per seed person above the limit
MAX_ROUNDS = 5  # packing rounds when chosen circles find no slot around their leader's meetings
_Start = tuple[list[Person], list[Person], frozenset[str], frozenset[str] | None, int]
"""Where a search starts: the people chosen, those who may join (in order), and the goals,
languages and minutes (``_mask``) common to the chosen."""
# the catalogue's predicates a circle applies between every two people, and leader to member
EVERY_TWO = tuple(
    (r.name, r.check) for r in PAIR_CHECKS if r.check is not None and r.in_circle == "every_two"
)
LEADER_MEMBER = tuple(
    (r.name, r.check) for r in PAIR_CHECKS if r.check is not None and r.in_circle == "leader"
)


@dataclass(frozen=True)
class _Candidate:
    mentor_id: PersonId | None
    member_ids: tuple[PersonId, ...]
    goals: tuple[str, ...]
    languages: tuple[str, ...]
    score: int
    keep: str | None = None  # the continuing circle this candidate is a continuation of
    same_slot: bool = False  # the continuing circle's slot is still valid for this group


class Rules:
    """The catalogue's pair rules inside a circle (``cohort.rules``, by their ``in_circle``): the
    "every_two" rules between any two people of the circle, leader included, the "leader" rules
    between the leader (as mentor) and each member; ``ended``: people of a circle one of them said
    no to (rule ``history``). Languages compare by the catalogue's ``language_key``."""

    def __init__(self, cohort: Cohort, program: Program, ended: Iterable[frozenset[PersonId]] = ()):
        self.cohort = cohort
        self.context = pair_context(cohort, program, ended=ended)
        self._languages: dict[PersonId, frozenset[str]] = {}

    def broken(self, a: Person, b: Person, *, leader: Person | None = None) -> str | None:
        """The first pair rule ``a`` and ``b`` break in one circle (``leader``: one of them leads)."""
        ctx = self.context
        for name, check in EVERY_TWO:  # the search's hot path: a plain loop, no generator
            if check(a, b, ctx):
                return name
        if leader is not None:
            member = b if leader.id == a.id else a
            for name, check in LEADER_MEMBER:
                if check(leader, member, ctx):
                    return name
        return None

    def every_broken(self, a: Person, b: Person, *, leader: Person | None = None) -> list[str]:
        """Every pair rule ``a`` and ``b`` break in one circle, in the catalogue's order."""
        out = [name for name, check in EVERY_TWO if check(a, b, self.context)]
        if leader is not None:
            member = b if leader.id == a.id else a
            out += [name for name, check in LEADER_MEMBER if check(leader, member, self.context)]
        return out

    def languages(self, person: Person) -> frozenset[str]:
        """The person's languages as the catalogue compares them (cached)."""
        hit = self._languages.get(person.id)
        if hit is None:
            hit = self._languages[person.id] = languages_of(person)
        return hit


def circle_problems(
    people: Sequence[Person], leader: Person | None, program: Program, rules: Rules
) -> list[str]:
    """Every hard rule the circle (without its slot) breaks, in plain words (empty: none)."""
    out: list[str] = []
    c = program.circles
    if not c.min_size <= len(people) <= c.max_size:
        out.append(f"size: {len(people)} members, not {c.min_size} to {c.max_size}")
    everyone = ([leader] if leader else []) + list(people)
    for a, b in combinations(everyone, 2):
        for name in rules.every_broken(a, b, leader=leader if leader in (a, b) else None):
            out.append(f"{rule(name).words}: {a.id} and {b.id}")
    if program.rules.common_language and not frozenset.intersection(*map(rules.languages, everyone)):
        out.append(f"{rule('language').words}: no language common to the whole circle")
    goals = set.intersection(*(set(p.goals) for p in people)) if people else set()
    if leader is not None:
        goals &= set(leader.expertise)
    if not goals:
        out.append("no goal shared by every member" + (" and covered by the mentor" if leader else ""))
    return out


def _mask(ctx: SlotContext, person: Person) -> int:
    """UTC week minutes at which a circle meeting fits the person for some offset of the cycle
    (a bitset; a circle needs a minute common to everyone: a monotone, necessary condition)."""
    covers = ctx.week_covers(person.availability)
    table = ctx.zone_table(person.timezone)
    out = np.zeros(MINUTES_PER_WEEK, dtype=bool)
    u = np.arange(MINUTES_PER_WEEK)
    for off in set(table.offs.tolist()):
        out |= covers[(u + off) % MINUTES_PER_WEEK]
    return int.from_bytes(np.packbits(out).tobytes(), "big")


def _exists(
    test: GroupSlotTest,
    people: Sequence[Person],
    busy: Busy,
    leader: Person | None,
    known: bool | None = None,
) -> bool:
    """The exact slot test (around the leader's pair meetings when they have some); ``known``:
    the result of ``test.exists(people)`` when it was computed already."""
    if not (test.exists(people) if known is None else known):
        return False
    if leader is not None and busy.get(leader.id):
        return bool(circle_slot_options(test.ctx, people, busy=busy, limit=1))
    return True


class _Search:
    """Candidate circles by depth-first search over compatible people (see the module doc)."""

    def __init__(self, cohort: Cohort, program: Program, ctx: SlotContext, rules: Rules, busy: Busy):
        self.cohort, self.program, self.ctx, self.rules, self.busy = cohort, program, ctx, rules, busy
        self.test = GroupSlotTest(ctx)
        self._ok: dict[PersonId, set[PersonId]] = {}
        self.fits: dict[tuple[PersonId | None, frozenset[PersonId]], bool] = {}
        self.by_goal: dict[str, list[PersonId]] = {}
        self.masks: dict[PersonId, int] = {}
        self.seen: set[tuple[str | None, PersonId | None, frozenset[PersonId]]] = set()
        self.out: list[_Candidate] = []
        self.nodes = 0
        self.complete = True
        self.keep: KeptCircle | None = None  # set while searching a continuing circle's continuations

    def compatible(self, pid: PersonId) -> set[PersonId]:
        """Pool members who share a goal with ``pid`` and break no pair rule with them (cached)."""
        hit = self._ok.get(pid)
        if hit is None:
            me = self.cohort[pid]
            near = {q for g in me.goals for q in self.by_goal.get(g, ())}
            hit = {q for q in near if q != pid and self.rules.broken(me, self.cohort[q]) is None}
            self._ok[pid] = hit
        return hit

    def mask(self, p: Person) -> int:
        if p.id not in self.masks:
            self.masks[p.id] = _mask(self.ctx, p)
        return self.masks[p.id]

    def run(
        self,
        leader: Person | None,
        members: Sequence[Person],
        *,
        seeds: Sequence[Person] | None = None,
        budget: int = 0,
        per_seed: int = 0,
        core: Sequence[Person] = (),
    ) -> None:
        """Emit every valid circle of ``members`` (with ``leader``), or with ``seeds``: circles
        containing each seed, at most ``per_seed`` of them and ``budget`` nodes per seed, or with
        ``core``: circles containing all of ``core`` (a continuing circle: its members who stay,
        plus replacements), at most ``per_seed`` of them in ``budget`` nodes (0: every one)."""
        c = self.program.circles
        need_lang = self.program.rules.common_language
        base_goals = frozenset(leader.expertise) if leader else None
        base_langs = self.rules.languages(leader) if leader else None
        base_mask = self.mask(leader) if leader else -1
        if leader is not None:
            members = [m for m in members if self.rules.broken(leader, m, leader=leader) is None]
        index = {m.id: i for i, m in enumerate(members)}
        state = {"nodes": 0, "emitted": 0, "limit": 0, "per": 0}

        def grow(
            chosen: list[Person],
            rest: list[Person],
            goals: frozenset[str] | None,
            langs: frozenset[str] | None,
            mask: int,
        ) -> None:
            state["nodes"] += 1
            self.nodes += 1
            if state["limit"] and (state["nodes"] > state["limit"] or state["emitted"] >= state["per"]):
                self.complete = False
                return
            # bounded search only: a group without a common slot is not grown further (a larger
            # group rarely regains one; the complete enumeration never prunes here)
            if state["limit"] and len(chosen) + (leader is not None) >= 2 and not self._fits(leader, chosen):
                return
            if len(chosen) >= c.min_size and goals and self._emit(leader, chosen, goals, langs):
                state["emitted"] += 1
            if len(chosen) >= c.max_size:
                return
            for i, p in enumerate(rest):
                if state["limit"] and (state["nodes"] > state["limit"] or state["emitted"] >= state["per"]):
                    self.complete = False  # out of budget: every further child would return at once
                    return
                g = frozenset(p.goals) if goals is None else goals & frozenset(p.goals)
                if not g:
                    continue
                lang = self.rules.languages(p) if langs is None else langs & self.rules.languages(p)
                if need_lang and not lang:
                    continue
                mk = mask & self.mask(p)
                if not mk:
                    continue
                near = self.compatible(p.id)
                nxt = [q for q in rest[i + 1 :] if q.id in near]
                if len(chosen) + 1 + len(nxt) < c.min_size:
                    continue
                grow(chosen + [p], nxt, g, lang, mk)

        if core:
            starts: Iterable[_Start | None] = [
                self._from_core(core, members, base_goals, base_langs, base_mask)
            ]
        elif seeds is None:
            grow([], list(members), base_goals, base_langs, base_mask)
            return
        else:
            starts = (
                self._from_seed(s, members, index, base_goals, base_langs, base_mask)
                for s in seeds
                if s.id in index
            )
        for start in starts:
            if start is not None:
                state.update(nodes=0, emitted=0, limit=budget, per=per_seed)
                grow(*start)

    def _fits(self, leader: Person | None, chosen: list[Person]) -> bool:
        """Whether the group (with its leader) has a common slot (``GroupSlotTest``, cached)."""
        key = (leader.id if leader else None, frozenset(m.id for m in chosen))
        fits = self.fits.get(key)
        if fits is None:
            fits = self.fits[key] = self.test.exists(([leader] if leader else []) + chosen)
        return fits

    def _from_seed(
        self,
        seed: Person,
        members: Sequence[Person],
        index: Mapping[PersonId, int],
        goals: frozenset[str] | None,
        langs: frozenset[str] | None,
        mask: int,
    ) -> _Start | None:
        """Where a search from ``seed`` starts: the seed, the members compatible with it (best
        first), and the goals, languages and minutes left with it (None: no circle holds it)."""
        g = frozenset(seed.goals) & goals if goals is not None else frozenset(seed.goals)
        lang = self.rules.languages(seed) & langs if langs is not None else self.rules.languages(seed)
        mk = mask & self.mask(seed)
        if not g or (self.program.rules.common_language and not lang) or not mk:
            return None
        # a total order (ids break ties), so building it from the seed's compatible set gives the
        # same list as filtering every member
        rest = sorted(
            (members[index[q]] for q in self.compatible(seed.id) if q in index),
            key=lambda q: (-len(g.intersection(q.goals)), -(mk & self.mask(q)).bit_count(), q.id),
        )
        return [seed], rest, g, lang, mk

    def _emit(
        self, leader: Person | None, chosen: list[Person], goals: frozenset[str], langs: frozenset[str] | None
    ) -> bool:
        """Record a candidate circle (once, and once more per continuing circle it may continue)
        when it has a common slot; whether it was recorded."""
        keep = self.keep
        key = (leader.id if leader else None, frozenset(m.id for m in chosen))
        tagged = (keep.id if keep else None, *key)
        if tagged in self.seen:
            return False
        self.seen.add(tagged)
        everyone = ([leader] if leader else []) + chosen
        if not _exists(self.test, everyone, self.busy, leader, self.fits.get(key)):
            return False
        same = bool(
            keep is not None
            and keep.pattern is not None
            and circle_slot_options(self.ctx, everyone, busy=self.busy, only=keep.pattern)
        )
        self.out.append(
            _Candidate(
                key[0],
                tuple(m.id for m in chosen),
                tuple(sorted(goals)),
                tuple(sorted(langs or ())),
                self.program.circles.goal_overlap_weight * len(goals),
                keep.id if keep else None,
                same,
            )
        )
        return True

    def _from_core(
        self,
        core: Sequence[Person],
        members: Sequence[Person],
        goals: frozenset[str] | None,
        langs: frozenset[str] | None,
        mask: int,
    ) -> _Start | None:
        """Where a search from ``core`` starts: the core, the people who may join all of it (best
        first), and the goals, languages and minutes common to the core (None: no circle holds it)."""
        for p in core:
            goals = frozenset(p.goals) if goals is None else goals & frozenset(p.goals)
            langs = self.rules.languages(p) if langs is None else langs & self.rules.languages(p)
            mask &= self.mask(p)
        if not goals or (self.program.rules.common_language and not langs) or not mask:
            return None
        mine = {p.id for p in core}
        shared, common = goals, mask
        rest = sorted(
            (m for m in members if m.id not in mine and all(m.id in self.compatible(p.id) for p in core)),
            key=lambda q: (-len(set(q.goals) & shared), -(common & self.mask(q)).bit_count(), q.id),
        )
        return list(core), rest, goals, langs, mask


def _count_nodes_estimate(n: int, k: int) -> int:
    """Subsets of up to ``k`` of ``n`` people: the size of a complete search at worst."""
    from math import comb

    return sum(comb(n, j) for j in range(0, k + 1))


def candidate_circles(
    cohort: Cohort,
    program: Program,
    members: Sequence[Person],
    leaders: Mapping[PersonId, int],
    *,
    ctx: SlotContext,
    busy: Busy,
    exhaustive_limit: int = EXHAUSTIVE_LIMIT,
    continuity: CircleContinuity = NO_CONTINUITY,
) -> tuple[list[_Candidate], bool]:
    """Every valid candidate circle (complete enumeration, True) or a bounded search per person;
    first the continuations of the continuing circles (``continuity.kept``)."""
    rules = Rules(cohort, program, continuity.ended)
    search = _Search(cohort, program, ctx, rules, busy)
    for m in members:
        for g in m.goals:
            search.by_goal.setdefault(g, []).append(m.id)
    c = program.circles
    complete = True
    for kept in continuity.kept:
        complete &= _continuations(search, kept, members, leaders, continuity, exhaustive_limit)
    if program.circles.kind == "peer":
        groups: list[tuple[Person | None, list[Person]]] = [(None, list(members))]
    else:
        groups = []
        for lid in leaders:
            expertise = set(cohort[lid].expertise)
            groups.append((cohort[lid], [m for m in members if expertise & set(m.goals)]))
    estimate = sum(_count_nodes_estimate(len(g), c.max_size) for _, g in groups)
    if estimate <= exhaustive_limit:
        for head, group in groups:
            search.run(head, group)
        return search.out, search.complete and complete
    if program.circles.kind == "peer":
        search.run(None, members, seeds=members, budget=SEED_NODES, per_seed=PER_SEED)
        return search.out, False
    by_member: dict[PersonId, list[Person]] = {}
    for head, group in groups:
        for member in group:
            if head is not None:
                by_member.setdefault(member.id, []).append(head)
    seeds_of: dict[PersonId, list[Person]] = {}
    for member in members:

        def order(lead: Person, member: Person = member) -> tuple[int, int, str]:
            return (-len(set(lead.expertise) & set(member.goals)), -leaders[lead.id], lead.id)

        for lead in sorted(by_member.get(member.id, []), key=order)[:3]:
            seeds_of.setdefault(lead.id, []).append(member)
    for head, group in groups:
        if head is not None and seeds_of.get(head.id):
            search.run(head, group, seeds=seeds_of[head.id], budget=SEED_NODES, per_seed=PER_SEED)
    return search.out, False


def _continuations(
    search: _Search,
    kept: KeptCircle,
    members: Sequence[Person],
    leaders: Mapping[PersonId, int],
    continuity: CircleContinuity,
    exhaustive_limit: int,
) -> bool:
    """Candidate continuations of one continuing circle: the members who stay, plus replacements
    from the pool (never someone who said no to it), within the sizes. Nothing when its mentor has
    no seat left or the members who stay no longer keep every rule together (it dissolves).
    Returns whether the search was complete."""
    cohort, c = search.cohort, search.program.circles
    pool = {m.id: m for m in members}
    core = [pool[m] for m in kept.member_ids if m in pool]
    if (
        not core
        or len(core) > c.max_size
        or (kept.mentor_id is not None and leaders.get(kept.mentor_id, 0) < 1)
    ):
        return True
    leader = cohort[kept.mentor_id] if kept.mentor_id is not None else None
    everyone = ([leader] if leader else []) + core
    for a, b in combinations(everyone, 2):
        if search.rules.broken(a, b, leader=leader if leader in (a, b) else None):
            return True
    others = [
        m
        for m in members
        if (kept.id, m.id) not in continuity.barred
        and (leader is None or set(leader.expertise) & set(m.goals))
    ]
    room = c.max_size - len(core)
    exhaustive = room <= 0 or _count_nodes_estimate(len(others), room) <= exhaustive_limit
    search.keep = kept
    try:
        search.run(
            leader,
            others,
            core=core,
            budget=0 if exhaustive else SEED_NODES * 4,
            per_seed=0 if exhaustive else PER_SEED * 4,
        )
    finally:
        search.keep = None
    return exhaustive


def pack_model(
    candidates: Sequence[_Candidate], leaders: Mapping[PersonId, int]
) -> tuple[PairVars, tuple[int, int, int, int]]:
    """The set-packing model of ``pack``: a Boolean per candidate circle (``c{i}``), one circle
    per member (``one_mentor``), a leader's seats (``capacity``), and the lexicographic objective;
    with the objective's weights ``(keep, slot, person)`` and the members counted."""
    model = cp_model.CpModel()
    v = PairVars(model, [model.new_bool_var(f"c{i}") for i in range(len(candidates))])
    x = v.x
    by_member: dict[PersonId, list[int]] = {}
    by_leader: dict[PersonId, list[int]] = {}
    for i, cand in enumerate(candidates):
        for m in cand.member_ids:
            by_member.setdefault(m, []).append(i)
        if cand.mentor_id:
            by_leader.setdefault(cand.mentor_id, []).append(i)
    one_mentor(v, ([x[i] for i in idx] for idx in by_member.values()))  # one circle per member
    # a leader's seats, where they could be exceeded at all
    seats = [([x[i] for i in idx], leaders.get(lid, 0)) for lid, idx in by_leader.items()]
    capacity(v, ((vs, n) for vs, n in seats if n < len(vs)))
    kept_ids = {cand.keep for cand in candidates if cand.keep is not None}
    big = sum(cand.score for cand in candidates) + 1  # one person placed outweighs every score
    slot_w = big * (len(by_member) + 1)  # one old slot kept outweighs everyone placed
    keep_w = slot_w * (len(kept_ids) + 1)  # one circle continued outweighs every slot kept
    placed = sum(len(cand.member_ids) * x[i] for i, cand in enumerate(candidates))
    model.maximize(
        keep_w * sum(x[i] for i, cand in enumerate(candidates) if cand.keep is not None)
        + big * placed
        + slot_w * sum(x[i] for i, cand in enumerate(candidates) if cand.same_slot)
        + sum(cand.score * x[i] for i, cand in enumerate(candidates))
    )
    return v, (keep_w, slot_w, big, len(by_member))


def pack(
    candidates: Sequence[_Candidate],
    leaders: Mapping[PersonId, int],
    program: Program,
    *,
    time_limit: float | None = None,
) -> tuple[list[int], float, float, float]:
    """CP-SAT set packing: chosen candidate indices, people placed, bound on people placed, objective.

    Lexicographic: most continuing circles continued (candidates with ``keep``), then most of them
    in their old slot (the members who stay keep their hour; a replacement joins it), then most
    people placed, then the circle scores. Without continuing circles only the last two remain.
    """
    if not candidates:
        return [], 0.0, 0.0, 0.0
    v, (keep_w, slot_w, big, members) = pack_model(candidates, leaders)
    x = v.x
    solver = cp_model.CpSolver()
    settings = program.matching
    configure(
        solver.parameters,
        deterministic=settings.deterministic,
        time_limit=time_limit if time_limit is not None else settings.time_limit_seconds,
        workers=settings.workers,
        seed=settings.seed,
    )
    status = solver.solve(v.model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return [], 0.0, float(members), 0.0
    chosen = [i for i in range(len(candidates)) if solver.boolean_value(x[i])]
    got = float(sum(len(candidates[i].member_ids) for i in chosen))
    continued = sum(1 for i in chosen if candidates[i].keep is not None)
    same = sum(1 for i in chosen if candidates[i].same_slot)
    bound = (
        got
        if status == cp_model.OPTIMAL
        else min(float(members), (solver.best_objective_bound - keep_w * continued - slot_w * same) // big)
    )
    return chosen, got, float(bound), float(solver.objective_value)


def _reason(
    person: Person,
    candidates: Sequence[_Candidate],
    members: Sequence[Person],
    leaders: Mapping[PersonId, int],
    program: Program,
    rules: Rules,
    dropped: set[PersonId],
) -> str:
    c = program.circles
    if person.id in dropped:
        return "no circle slot left around the mentor's other meetings"
    if any(person.id in cand.member_ids for cand in candidates):
        return (
            f"every circle they could join ({c.min_size} to {c.max_size} members) was given to others "
            "so that the most people meet in circles"
        )
    if c.kind == "mentor-led" and not any(
        set(rules.cohort[lid].expertise) & set(person.goals) for lid in leaders
    ):
        return "no circle mentor with seats left covers their goals"
    others = [
        m.id
        for m in members
        if m.id != person.id and set(m.goals) & set(person.goals) and rules.broken(person, m) is None
    ]
    if len(others) < c.min_size - 1:
        return f"fewer than {c.min_size - 1} other circle members share a goal with them under the rules"
    return (
        f"no circle of {c.min_size} to {c.max_size} sharing a goal, a language and a "
        f"{c.duration_minutes}-minute recurring slot free for everyone"
    )


def form_circles(
    cohort: Cohort,
    program: Program,
    *,
    paired: Iterable[PersonId] = (),
    pairs_led: Mapping[PersonId, int] | None = None,
    busy: Busy | None = None,
    exhaustive_limit: int = EXHAUSTIVE_LIMIT,
    time_limit: float | None = None,
    continuity: CircleContinuity = NO_CONTINUITY,
) -> CirclePlan:
    """Form and schedule circles for ``cohort`` after its pairs (``paired``: people in a pair,
    ``pairs_led``: each mentor's pairs, ``busy``: everyone's pair meetings, ``continuity``: the
    previous cycle's continuing circles and the boundaries from feedback); see the module doc."""
    if not uses_circles(cohort):
        return EMPTY
    t0 = time.perf_counter()
    busy_now: dict[PersonId, list[Meeting]] = {k: list(v) for k, v in (busy or {}).items()}
    members, leaders = circle_pool(cohort, program, paired, pairs_led or {})
    ctx = circle_context(cohort, program)
    rules = Rules(cohort, program, continuity.ended)
    cands, complete = candidate_circles(
        cohort,
        program,
        members,
        leaders,
        ctx=ctx,
        busy=busy_now,
        exhaustive_limit=exhaustive_limit,
        continuity=continuity,
    )
    kept_by_id = {k.id: k for k in continuity.kept}
    t_cand = time.perf_counter() - t0
    active = list(cands)
    dropped_people: set[PersonId] = set()
    circles: list[Circle] = []
    bound = got = objective = 0.0
    first_bound: float | None = None
    for _ in range(MAX_ROUNDS):
        chosen, got, bound, objective = pack(active, leaders, program, time_limit=time_limit)
        if first_bound is None:
            first_bound = bound
        circles, failed = _slot_chosen(active, chosen, cohort, ctx, busy_now, kept_by_id)
        if not failed:
            break
        for i in failed:
            dropped_people.update(active[i].member_ids)
        active = [cand for k, cand in enumerate(active) if k not in set(failed)]
    placed_ids = {m for circle in circles for m in circle.member_ids}
    dropped_people -= placed_ids
    circles = _numbered(circles, continuity)
    unplaced = tuple(
        Unplaced(p.id, _reason(p, cands, members, leaders, program, rules, dropped_people))
        for p in members
        if p.id not in placed_ids
    )
    placed = float(len(placed_ids))
    bound = max(placed, first_bound or 0.0)
    return CirclePlan(
        tuple(circles),
        unplaced,
        len(members),
        int(placed),
        bound,
        0.0 if bound == 0 else (bound - placed) / bound,
        objective,
        "exact" if complete else "seeded",
        len(cands),
        time.perf_counter() - t0,
        {"candidate_seconds": t_cand},
        continued=tuple(sorted(c.id for c in circles if c.id in kept_by_id)),
        same_slot=tuple(
            sorted(
                c.id
                for c in circles
                if c.id in kept_by_id and _same_pattern(c.slot.pattern, kept_by_id[c.id].pattern)
            )
        ),
        dissolved=tuple(sorted(set(kept_by_id) - {c.id for c in circles})),
    )


def _slot_chosen(
    active: Sequence[_Candidate],
    chosen: Iterable[int],
    cohort: Cohort,
    ctx: SlotContext,
    busy: Busy,
    kept_by_id: Mapping[str, KeptCircle],
) -> tuple[list[Circle], list[int]]:
    """A slot for each chosen candidate, continuing circles first (in their old pattern when it
    still fits), each around everyone's other meetings and the circles slotted before it: the
    circles, and the indices of the candidates left without a slot."""
    circles: list[Circle] = []
    failed: list[int] = []
    trial = {k: list(v) for k, v in busy.items()}
    for i in sorted(
        chosen, key=lambda i: (active[i].keep is None, active[i].mentor_id or "", active[i].member_ids)
    ):
        cand = active[i]
        everyone = [cohort[p] for p in ((cand.mentor_id,) if cand.mentor_id else ()) + cand.member_ids]
        kept = kept_by_id.get(cand.keep) if cand.keep else None
        options = []
        if kept is not None and kept.pattern is not None:  # a continuing circle keeps its slot
            options = circle_slot_options(ctx, everyone, busy=trial, limit=1, only=kept.pattern)
        options = options or circle_slot_options(ctx, everyone, busy=trial, limit=1)
        if not options:
            failed.append(i)
            continue
        slot = options[0]
        for p in everyone:
            trial.setdefault(p.id, []).extend(slot.meetings)
        circles.append(_circle(cand, slot, cohort, kept))
    return circles, failed


def _same_pattern(a: Pattern, b: Pattern | None) -> bool:
    return b is not None and a == replace(b, duration_minutes=a.duration_minutes)


def _numbered(circles: Sequence[Circle], continuity: CircleContinuity) -> list[Circle]:
    """Continuing circles keep their id; new ones take ``C001``, ``C002``, ... skipping every id
    of an earlier cycle (a circle id names one circle across cycles). Sorted by id."""
    taken = set(continuity.used_ids) | {c.id for c in circles if c.id}
    out = [c for c in circles if c.id]
    n = 0
    for circle in circles:
        if circle.id:
            continue
        n += 1
        while f"C{n:03d}" in taken:
            n += 1
        out.append(replace(circle, id=f"C{n:03d}"))
    return sorted(out, key=lambda c: (len(c.id), c.id))


def _circle(cand: _Candidate, slot: CircleSlot, cohort: Cohort, kept: KeptCircle | None = None) -> Circle:
    reasons = "shared goals: " + ", ".join(cand.goals)
    if cand.languages:
        reasons += "; common language: " + ", ".join(cand.languages)
    reasons += f"; meets {slot.pattern.describe()}"
    if kept is not None:
        new = [m for m in cand.member_ids if m not in kept.member_ids]
        reasons += "; continues from the last cycle" + (f" (joined: {', '.join(new)})" if new else "")
        if _same_pattern(slot.pattern, kept.pattern):
            reasons += ", same slot"
    return Circle(
        kept.id if kept else "",
        cand.mentor_id,
        cand.member_ids,
        cand.goals,
        cand.languages,
        cand.score,
        reasons,
        slot,
    )


def busy_of(schedule: Schedule) -> dict[PersonId, list[Meeting]]:
    """Every person's meetings in a pair schedule (series occurrences and milestone events)."""
    out: dict[PersonId, list[Meeting]] = {}
    for s in schedule.series:
        for t in s.occurrences:
            for pid in (s.mentor_id, s.mentee_id):
                out.setdefault(pid, []).append(Meeting(t, s.duration_minutes))
    for e in schedule.events:
        for pid in (e.mentor_id, e.mentee_id):
            out.setdefault(pid, []).append(Meeting(e.start, e.duration_minutes, e.kind))
    return out


def plan_circles(
    cohort: Cohort,
    program: Program,
    pairs: Sequence[tuple[PersonId, PersonId]],
    schedule: Schedule,
    continuity: CircleContinuity = NO_CONTINUITY,
) -> CirclePlan:
    """Circles for ``cohort`` after its pairs (``pairs``: (mentor, mentee), ``schedule``: theirs;
    ``continuity``: from the previous cycle, ``planner.circles.continuity.next_cycle_circles``)."""
    if not uses_circles(cohort):
        return EMPTY
    paired = {p for pair in pairs for p in pair}
    led: dict[PersonId, int] = {}
    for mentor, _ in pairs:
        led[mentor] = led.get(mentor, 0) + 1
    return form_circles(
        cohort, program, paired=paired, pairs_led=led, busy=busy_of(schedule), continuity=continuity
    )
