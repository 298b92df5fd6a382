"""Group mentoring circles: who meets in which circle, and when.

Who may join (``circle_pool``): people whose ``format`` is ``circle``, and people with ``either``
who were not matched one-to-one (the simple, sound rule: a pair is decided first, a circle takes
those left; an ``either`` person is never in both). With ``[circles] kind = "mentor-led"`` members
are people with role ``mentee`` or ``both`` and leaders are people with role ``mentor`` whose format
is ``circle`` or ``either``; a leader leads as many circles as their seats left after their pairs
allow (``capacity`` minus pairs, divided by ``mentor_capacity_per_circle``; 0: unlimited). With
``kind = "peer"`` every pool member may join and there is no leader.

Hard rules of a circle (``circle_problems``), the catalogue's pair rules (``cohort.rules``) between
every two people of the circle, leader included: ``forbid``, ``avoid`` (either way),
``reporting_line`` (up to ``reporting_line_depth`` levels), ``department`` (with
``same_department = "forbid"``: nobody shares a department), ``level_gap`` (leader and each member);
``language``: one language common to the whole circle (with ``common_language``); goals: at least one
goal shared by every member (mentor-led: also in the leader's expertise); sizes: ``min_size`` to
``max_size`` members besides a leader; ``schedule``: one recurring slot inside every member's local
availability for every occurrence (``scheduler.circle_slots``), around their pair meetings.

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
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import combinations

import numpy as np
from ortools.sat.python import cp_model

from cohort.model import MINUTES_PER_WEEK, Cohort, Person, PersonId
from cohort.program import Program
from cohort.rules import rule
from cohort.solving import configure
from matcher.candidates import reporting_pairs
from scheduler.circle_slots import Busy, CircleSlot, GroupSlotTest, circle_context, circle_slot_options
from scheduler.model import Schedule
from scheduler.slots import Meeting, SlotContext

EXHAUSTIVE_LIMIT = 200_000  # search nodes up to which every candidate circle is enumerated
PER_SEED = 6  # candidate circles per seed person above the limit
SEED_NODES = 400  # search nodes per seed person above the limit
MAX_ROUNDS = 5  # packing rounds when chosen circles find no slot around their leader's meetings


@dataclass(frozen=True)
class Circle:
    """One formed circle with its slot."""

    id: str
    mentor_id: PersonId | None
    member_ids: tuple[PersonId, ...]
    goals: tuple[str, ...]  # shared by every member (and in the leader's expertise)
    languages: tuple[str, ...]  # common to everyone
    score: int
    reasons: str
    slot: CircleSlot

    @property
    def people(self) -> tuple[PersonId, ...]:
        """Everyone who meets: the leader first, then the members."""
        return ((self.mentor_id,) if self.mentor_id else ()) + self.member_ids


@dataclass(frozen=True)
class Unplaced:
    """A circle person not placed in any circle, and why."""

    id: PersonId
    reason: str


@dataclass(frozen=True)
class CirclePlan:
    circles: tuple[Circle, ...]
    unplaced: tuple[Unplaced, ...]
    pool: int  # people who could join a circle
    placed: int
    bound: float  # most people placed, over the candidate circles
    gap: float
    objective: float
    method: str  # "exact" (complete enumeration) or "seeded" (bounded search per person)
    candidates: int
    seconds: float
    stats: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class _Candidate:
    mentor_id: PersonId | None
    member_ids: tuple[PersonId, ...]
    goals: tuple[str, ...]
    languages: tuple[str, ...]
    score: int


EMPTY = CirclePlan((), (), 0, 0, 0.0, 0.0, 0.0, "none", 0, 0.0)


def wants_circle(person: Person) -> bool:
    return person.format in ("circle", "either")


def uses_circles(cohort: Cohort) -> bool:
    """Whether anyone asked for a circle (else nothing about circles is computed or written)."""
    return any(p.format != "one-to-one" for p in cohort.people)


def pair_cohort(cohort: Cohort) -> Cohort:
    """The people who may be matched one-to-one (everyone but ``format = circle``); the cohort
    itself when nobody chose a circle."""
    if not any(p.format == "circle" for p in cohort.people):
        return cohort
    return Cohort(tuple(p for p in cohort.people if p.format != "circle"), source=cohort.source)


class Rules:
    """The catalogue's pair rules between any two circle people (names from ``cohort.rules``)."""

    def __init__(self, cohort: Cohort, program: Program):
        self.cohort = cohort
        self.program = program
        r = program.rules
        self.reporting: set[frozenset[PersonId]] = set()
        if r.reporting_line == "forbid":
            self.reporting = {frozenset(p) for p in reporting_pairs(cohort, r.reporting_line_depth)}
        self.forbid = {frozenset(p) for p in program.matching.forbid if len(p) == 2}

    def broken(self, a: Person, b: Person, *, leader: Person | None = None) -> str | None:
        """The first pair rule ``a`` and ``b`` break in one circle (``leader``: one of them leads)."""
        r = self.program.rules
        if a.id == b.id:
            return "self"
        if frozenset((a.id, b.id)) in self.forbid:
            return "forbid"
        if b.id in a.avoid or a.id in b.avoid:
            return "avoid"
        if frozenset((a.id, b.id)) in self.reporting:
            return "reporting_line"
        if r.same_department == "forbid" and a.department and a.department == b.department:
            return "department"
        if leader is not None:
            member = b if leader.id == a.id else a
            if (
                leader.level is not None
                and member.level is not None
                and leader.level - member.level < r.min_level_gap
            ):
                return "level_gap"
        return None


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
        name = rules.broken(a, b, leader=leader if leader in (a, b) else None)
        if name:
            out.append(f"{rule(name).words}: {a.id} and {b.id}")
    if program.rules.common_language and not set.intersection(*(set(p.languages) for p in everyone)):
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
        self.seen: set[tuple[PersonId | None, frozenset[PersonId]]] = set()
        self.out: list[_Candidate] = []
        self.nodes = 0
        self.complete = True

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
    ) -> None:
        """Emit every valid circle of ``members`` (with ``leader``), or with ``seeds``: circles
        containing each seed, at most ``per_seed`` of them and ``budget`` nodes per seed."""
        c = self.program.circles
        need_lang = self.program.rules.common_language
        base_goals = frozenset(leader.expertise) if leader else None
        base_langs = frozenset(leader.languages) if leader else None
        base_mask = self.mask(leader) if leader else -1
        if leader is not None:
            members = [m for m in members if self.rules.broken(leader, m, leader=leader) is None]
        index = {m.id: i for i, m in enumerate(members)}
        ok = self.compatible
        state = {"nodes": 0, "emitted": 0, "limit": 0, "per": 0}

        def key_of(chosen: list[Person]) -> tuple[PersonId | None, frozenset[PersonId]]:
            return (leader.id if leader else None, frozenset(m.id for m in chosen))

        def emit(chosen: list[Person], goals: frozenset[str], langs: frozenset[str] | None) -> None:
            key = (leader.id if leader else None, frozenset(m.id for m in chosen))
            if key in self.seen:
                return
            self.seen.add(key)
            everyone = ([leader] if leader else []) + chosen
            if not _exists(self.test, everyone, self.busy, leader, self.fits.get(key)):
                return
            score = c.goal_overlap_weight * len(goals)
            self.out.append(
                _Candidate(
                    leader.id if leader else None,
                    tuple(m.id for m in chosen),
                    tuple(sorted(goals)),
                    tuple(sorted(langs or ())),
                    score,
                )
            )
            state["emitted"] += 1

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
            if state["limit"] and len(chosen) + (leader is not None) >= 2:
                # bounded search only: a group without a common slot is not grown further (a
                # larger group rarely regains one; the complete enumeration never prunes here)
                fits = self.fits.get(key_of(chosen))
                if fits is None:
                    fits = self.test.exists(([leader] if leader else []) + chosen)
                    self.fits[key_of(chosen)] = fits
                if not fits:
                    return
            if len(chosen) >= c.min_size and goals:
                emit(chosen, goals, langs)
            if len(chosen) >= c.max_size:
                return
            for i, p in enumerate(rest):
                if state["limit"] and (state["nodes"] > state["limit"] or state["emitted"] >= state["per"]):
                    self.complete = False  # out of budget: every further child would return at once
                    return
                g = frozenset(p.goals) if goals is None else goals & frozenset(p.goals)
                if not g:
                    continue
                lang = frozenset(p.languages) if langs is None else langs & frozenset(p.languages)
                if need_lang and not lang:
                    continue
                mk = mask & self.mask(p)
                if not mk:
                    continue
                near = ok(p.id)
                nxt = [q for q in rest[i + 1 :] if q.id in near]
                if len(chosen) + 1 + len(nxt) < c.min_size:
                    continue
                grow(chosen + [p], nxt, g, lang, mk)

        if seeds is None:
            grow([], list(members), base_goals, base_langs, base_mask)
            return
        for s in seeds:
            if s.id not in index:
                continue
            state.update(nodes=0, emitted=0, limit=budget, per=per_seed)
            g = frozenset(s.goals) & base_goals if base_goals is not None else frozenset(s.goals)
            lang = frozenset(s.languages) & base_langs if base_langs is not None else frozenset(s.languages)
            mk = base_mask & self.mask(s)
            if not g or (need_lang and not lang) or not mk:
                continue
            # a total order (ids break ties), so building it from the seed's compatible set
            # gives the same list as filtering every member
            rest = sorted(
                (members[index[q]] for q in ok(s.id) if q in index),
                key=lambda q: (-len(g.intersection(q.goals)), -(mk & self.mask(q)).bit_count(), q.id),
            )
            grow([s], rest, g, lang, mk)


def _count_nodes_estimate(n: int, k: int) -> int:
    """Subsets of up to ``k`` of ``n`` people: the size of a complete search at worst."""
    from math import comb

    return sum(comb(n, j) for j in range(0, k + 1))


def circle_pool(
    cohort: Cohort, program: Program, paired: Iterable[PersonId], pairs_led: Mapping[PersonId, int]
) -> tuple[list[Person], dict[PersonId, int]]:
    """Members who may join a circle, and each leader's number of circles allowed."""
    taken = set(paired)
    kind = program.circles.kind
    people = [p for p in cohort.people if wants_circle(p) and not (p.format == "either" and p.id in taken)]
    if kind == "peer":
        return people, {}
    members = [p for p in people if p.is_mentee and p.role != "mentor"]
    per = program.circles.mentor_capacity_per_circle
    leaders: dict[PersonId, int] = {}
    for p in cohort.people:
        if p.role != "mentor" or not wants_circle(p):
            continue
        seats = (p.capacity if p.capacity is not None else program.rules.default_capacity) - pairs_led.get(
            p.id, 0
        )
        allowed = len(members) if per == 0 else max(0, seats) // per
        if allowed > 0:
            leaders[p.id] = allowed
    return members, leaders


def candidate_circles(
    cohort: Cohort,
    program: Program,
    members: Sequence[Person],
    leaders: Mapping[PersonId, int],
    *,
    ctx: SlotContext,
    busy: Busy,
    exhaustive_limit: int = EXHAUSTIVE_LIMIT,
) -> tuple[list[_Candidate], bool]:
    """Every valid candidate circle (complete enumeration, True) or a bounded search per person."""
    rules = Rules(cohort, program)
    search = _Search(cohort, program, ctx, rules, busy)
    for m in members:
        for g in m.goals:
            search.by_goal.setdefault(g, []).append(m.id)
    c = program.circles
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
        return search.out, search.complete
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


def pack(
    candidates: Sequence[_Candidate],
    leaders: Mapping[PersonId, int],
    program: Program,
    *,
    time_limit: float | None = None,
) -> tuple[list[int], float, float, float]:
    """CP-SAT set packing: chosen candidate indices, people placed, bound on people placed, objective."""
    if not candidates:
        return [], 0.0, 0.0, 0.0
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"c{i}") for i in range(len(candidates))]
    by_member: dict[PersonId, list[int]] = {}
    by_leader: dict[PersonId, list[int]] = {}
    for i, cand in enumerate(candidates):
        for m in cand.member_ids:
            by_member.setdefault(m, []).append(i)
        if cand.mentor_id:
            by_leader.setdefault(cand.mentor_id, []).append(i)
    for idx in by_member.values():
        model.add_at_most_one(x[i] for i in idx)
    for lid, idx in by_leader.items():
        if leaders.get(lid, 0) < len(idx):
            model.add(sum(x[i] for i in idx) <= leaders.get(lid, 0))
    big = sum(cand.score for cand in candidates) + 1
    placed = sum(len(cand.member_ids) * x[i] for i, cand in enumerate(candidates))
    model.maximize(big * placed + sum(cand.score * x[i] for i, cand in enumerate(candidates)))
    solver = cp_model.CpSolver()
    settings = program.matching
    configure(
        solver.parameters,
        deterministic=settings.deterministic,
        time_limit=time_limit if time_limit is not None else settings.time_limit_seconds,
        workers=settings.workers,
        seed=settings.seed,
    )
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return [], 0.0, float(len(by_member)), 0.0
    chosen = [i for i in range(len(candidates)) if solver.boolean_value(x[i])]
    got = float(sum(len(candidates[i].member_ids) for i in chosen))
    bound = (
        got if status == cp_model.OPTIMAL else min(float(len(by_member)), solver.best_objective_bound // big)
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
) -> CirclePlan:
    """Form and schedule circles for ``cohort`` after its pairs (``paired``: people in a pair,
    ``pairs_led``: each mentor's pairs, ``busy``: everyone's pair meetings); see the module doc."""
    if not uses_circles(cohort):
        return EMPTY
    t0 = time.perf_counter()
    busy_now: dict[PersonId, list[Meeting]] = {k: list(v) for k, v in (busy or {}).items()}
    members, leaders = circle_pool(cohort, program, paired, pairs_led or {})
    ctx = circle_context(cohort, program)
    rules = Rules(cohort, program)
    cands, complete = candidate_circles(
        cohort, program, members, leaders, ctx=ctx, busy=busy_now, exhaustive_limit=exhaustive_limit
    )
    t_cand = time.perf_counter() - t0
    allowed = dict(leaders)
    active = list(cands)
    dropped_people: set[PersonId] = set()
    circles: list[Circle] = []
    bound = got = objective = 0.0
    first_bound: float | None = None
    for _ in range(MAX_ROUNDS):
        chosen, got, bound, objective = pack(active, allowed, program, time_limit=time_limit)
        if first_bound is None:
            first_bound = bound
        circles, failed = [], []
        trial = {k: list(v) for k, v in busy_now.items()}
        for i in sorted(chosen, key=lambda i: (active[i].mentor_id or "", active[i].member_ids)):
            cand = active[i]
            everyone = [cohort[p] for p in ((cand.mentor_id,) if cand.mentor_id else ()) + cand.member_ids]
            options = circle_slot_options(ctx, everyone, busy=trial, limit=1)
            if not options:
                failed.append(i)
                continue
            slot = options[0]
            for p in everyone:
                trial.setdefault(p.id, []).extend(slot.meetings)
            circles.append(_circle(cand, slot, cohort))
        if not failed:
            break
        for i in failed:
            dropped_people.update(active[i].member_ids)
        active = [cand for k, cand in enumerate(active) if k not in set(failed)]
    placed_ids = {m for circle in circles for m in circle.member_ids}
    dropped_people -= placed_ids
    circles = [replace(circle, id=f"C{n:03d}") for n, circle in enumerate(circles, start=1)]
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
    )


def _circle(cand: _Candidate, slot: CircleSlot, cohort: Cohort) -> Circle:
    reasons = "shared goals: " + ", ".join(cand.goals)
    if cand.languages:
        reasons += "; common language: " + ", ".join(cand.languages)
    reasons += f"; meets {slot.pattern.describe()}"
    return Circle("", cand.mentor_id, cand.member_ids, cand.goals, cand.languages, cand.score, reasons, slot)


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
    cohort: Cohort, program: Program, pairs: Sequence[tuple[PersonId, PersonId]], schedule: Schedule
) -> CirclePlan:
    """Circles for ``cohort`` after its pairs (``pairs``: (mentor, mentee), ``schedule``: theirs)."""
    if not uses_circles(cohort):
        return EMPTY
    paired = {p for pair in pairs for p in pair}
    led: dict[PersonId, int] = {}
    for mentor, _ in pairs:
        led[mentor] = led.get(mentor, 0) + 1
    return form_circles(cohort, program, paired=paired, pairs_led=led, busy=busy_of(schedule))
