"""One plan instance: everything a plan is solved from, built once per solve and never changed.

Every planning step (``planner.plan``'s steps, ``planner.augment``, ``planner.lns``,
``planner.reasons``, ``planner.bound``, ``planner.joint``) takes a ``PlanInstance`` and the
current ``Schedule``: the cohort and program, the slot context, the slot-aware candidates (their
pins included: the program's and the kept pairs), each mentor's seats, the pairs never formed
(``banned``), the pairs that never move (``protected``), the earlier series kept where valid
(``fixed``), the UID salt, the tie-break below the total score, and the strategy ``Limits``.

A re-plan around decisions already taken is a new instance made from this one with
``dataclasses.replace`` through a ``with_...`` method (``with_pins`` gives up pins; a lock would add
a pin with its series to ``fixed`` and ``protected``, a decline a pair to ``banned``); the steps
then keep what the instance protects and change as little as they must around it.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from cohort.model import Cohort, PersonId
from cohort.program import Program
from cohort.progress import Progress, ProgressEvent, null_progress
from matcher import ranks as rank_choices
from matcher.candidates import CandidateSet, build_candidates
from planner.continuity import Continuity, Repair
from planner.tiebreak import TieBreak
from scheduler.model import Series
from scheduler.slots import SlotContext

PairKey = tuple[PersonId, PersonId]


@dataclass(frozen=True)
class Limits:
    """The plan's strategy limits (the defaults are the measured ones; tests pass others here).

    ``joint_limit``: candidates up to which pairs the first schedule cannot place trigger the
    exact joint model (``planner.joint``); ``search_above``: candidates above which the
    large-neighbourhood search runs (``planner.lns``); ``repair_rounds``: the most
    forbid-and-rematch rounds (None: rounds go on while each places more pairs; 0 leaves the
    repair to the final pass); ``joint_options``: slot options per pair in the joint model.
    """

    joint_limit: int = 3000
    search_above: int = 3000
    repair_rounds: int | None = None
    joint_options: int = 6


def capacities(cohort: Cohort, program: Program) -> dict[PersonId, int]:
    """Every mentor's capacity this cycle (their cell, or the program default)."""
    default = program.rules.default_capacity
    return {p.id: (p.capacity if p.capacity is not None else default) for p in cohort.mentors}


def slot_aware_candidates(
    cohort: Cohort,
    program: Program,
    progress: Progress = null_progress,
    *,
    protect: Iterable[PairKey] = (),
    message: str = "",
) -> tuple[SlotContext, CandidateSet]:
    """The one candidate build of a plan: every hard rule, and a valid recurring slot for the
    whole cycle (the scheduler's exact test as the matcher's ``slot_filter``)."""
    progress(ProgressEvent("candidates", "start", message))
    ctx = SlotContext(cohort, program)
    # ranked pairs (issue 16) survive the best-K limit like pairs that may continue
    cs = build_candidates(
        cohort, program, slot_filter=ctx.has_slot, protect=[*protect, *rank_choices.ranked_pairs(cohort)]
    )
    if program.matching.preferences == "score":  # ranks as one more score component
        cs = rank_choices.with_rank_scores(cohort, program, cs)
    progress(ProgressEvent("candidates", "done", f"{len(cs):,} possible pairs pass every rule"))
    return ctx, cs


@dataclass(frozen=True, eq=False)
class PlanInstance:
    """What one plan is solved from (module doc). ``candidates.pins`` are the pins in force (the
    program's, ``program_pins``, and the kept pairs); ``hints`` are pairs the matcher starts from;
    ``repair`` is the repair strategy (``planner.continuity.Repair``); ``build_seconds`` what
    building it took (the plan's ``candidates`` timing)."""

    cohort: Cohort
    program: Program
    ctx: SlotContext
    candidates: CandidateSet
    seats: Mapping[PersonId, int]
    banned: frozenset[PairKey] = frozenset()
    protected: frozenset[PairKey] = frozenset()
    fixed: Mapping[PairKey, Series] = field(default_factory=dict)
    program_pins: tuple[PairKey, ...] = ()
    hints: tuple[PairKey, ...] = ()
    uid_salt: str = ""
    tie: TieBreak = field(default_factory=TieBreak)
    repair: Repair = "joint"
    limits: Limits = field(default_factory=Limits)
    progress: Progress = null_progress
    build_seconds: float = 0.0

    @classmethod
    def build(
        cls,
        cohort: Cohort,
        program: Program,
        continuity: Continuity | None = None,
        *,
        uid_salt: str = "",
        limits: Limits | None = None,
        progress: Progress | None = None,
    ) -> PlanInstance:
        """The instance of planning ``cohort`` under ``program`` around ``continuity``: the
        slot-aware candidates (pairs that may continue survive the best-K limit), the kept pairs
        that are still candidates pinned (``_pin``), the seats and the tie-break."""
        t = time.perf_counter()
        continuity = continuity or Continuity()
        progress = progress or null_progress
        banned = frozenset(continuity.forbidden)

        def permitted(pairs: Iterable[PairKey]) -> list[PairKey]:
            return [k for k in dict.fromkeys(pairs) if k not in banned and (k[1], k[0]) not in banned]

        kept = permitted(continuity.keep)
        # pairs that may continue (kept, or nobody asked for a change) survive the best-K limit
        ctx, cs = slot_aware_candidates(
            cohort, program, progress, protect=[*kept, *permitted(continuity.prefer_same)]
        )
        seats = capacities(cohort, program) | dict(continuity.capacities or {})
        program_pins = cs.pins
        if kept:
            cs = _pin(cohort, cs, kept, seats)
        return cls(
            cohort,
            program,
            ctx,
            cs,
            seats,
            banned=banned,
            protected=frozenset(cs.pins) | frozenset(continuity.slots),
            fixed=dict(continuity.slots),
            program_pins=program_pins,
            hints=continuity.hints,
            uid_salt=uid_salt,
            tie=TieBreak.of(cs, continuity.prefer_new, continuity.prefer_same),
            repair=continuity.repair,
            limits=limits or Limits(),
            progress=progress,
            build_seconds=time.perf_counter() - t,
        )

    def with_pins(self, pins: Iterable[PairKey]) -> PlanInstance:
        """This instance with only ``pins`` in force (a repair gives up a pin it cannot place);
        the protected pairs follow: the pins and the pairs with a fixed slot."""
        pins = tuple(pins)
        return replace(
            self,
            candidates=replace(self.candidates, pins=pins),
            protected=frozenset(pins) | frozenset(self.fixed),
        )

    def with_protected(self, pairs: Iterable[PairKey]) -> PlanInstance:
        """This instance with ``pairs`` (and nothing else) protected from moving."""
        return replace(self, protected=frozenset(pairs))

    @property
    def ranked(self) -> bool:
        """Whether rank levels decide the matching (``[matching] preferences`` with ranks)."""
        return rank_choices.active(self.cohort, self.program)

    @cached_property
    def scored(self) -> CandidateSet:
        """The candidates with the tie-break folded into their scores (what objectives sum)."""
        return self.tie.apply(self.candidates)

    @property
    def scores(self) -> np.ndarray:
        """The objective's score per candidate (ties folded in)."""
        return self.scored.score

    def allowed(self, mentor_id: PersonId, mentee_id: PersonId) -> bool:
        """Whether no ban forbids the pair, in either direction."""
        return (mentor_id, mentee_id) not in self.banned and (mentee_id, mentor_id) not in self.banned

    def ranked_mentors(
        self, mentee_id: PersonId, scores: np.ndarray | None = None
    ) -> list[tuple[int, PersonId]]:
        """The mentee's candidate mentors that no ban excludes, as ``(score, mentor)`` from the best
        ``scores`` (default: the candidates' own) down, ties by id."""
        cs, enc = self.candidates, self.candidates.encoder
        scores = cs.score if scores is None else scores
        ranked = sorted(
            (-int(scores[k]), enc.mentor_ids[cs.mentor[k]]) for k in cs.of_mentee(mentee_id).tolist()
        )
        return [(-s, m) for s, m in ranked if m != mentee_id and self.allowed(m, mentee_id)]


def _pin(
    cohort: Cohort, cs: CandidateSet, keep: list[PairKey], seats: Mapping[PersonId, int]
) -> CandidateSet:
    """``cs`` with the feasible ``keep`` pairs added to its pins.

    Feasible: a candidate (every hard rule and a recurring slot; ``keep`` pairs are protected from
    the best-K limit when the candidates are built), the mentee not already pinned, within the
    mentor's seats (a mentor whose capacity dropped keeps the best-scoring pairs).
    """
    used = Counter(m for m, _ in cs.pins)
    taken = {e for _, e in cs.pins}
    ranked = []
    for m, e in keep:
        k = cs.index_of(m, e) if m in cohort and e in cohort else None
        if k is not None:
            ranked.append((-int(cs.score[k]), m, e))
    chosen: list[PairKey] = []
    for _, m, e in sorted(ranked):
        if e in taken or used[m] >= seats.get(m, 0):
            continue
        chosen.append((m, e))
        used[m] += 1
        taken.add(e)
    return replace(cs, pins=(*cs.pins, *chosen))
