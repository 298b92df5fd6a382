"""The repair of a plan: the pairs the first schedule could not place, placed otherwise.

Two strategies (``planner.continuity.Repair``): on an instance of at most ``Limits.joint_limit``
candidates, the ``"joint"`` strategy solves matching and slots again together in one CP-SAT model
(``planner.joint``), exact with respect to the weekly grid; the ``"rematch"`` strategy (rank
levels, kept pairs) repeats "forbid the unplaceable pairs, keep every placed pair with its slot,
match the unplaced mentees to the free capacity, schedule the new pairs around the placed ones"
while a round places more pairs than the one before (``Limits.repair_rounds`` caps the rounds).
Placed pairs are pinned, so a round never loses a placed pair and moves nobody else; it
schedules only the conflict components a new pair joins (``scheduler.assign.reschedule``). A kept
pair whose old slot collides first gets a new slot, and is only given up when it cannot be placed.

What the repair did is a ``RepairRecord``: summary.json's ``repair`` object (``as_dict``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from cohort.model import PersonId
from cohort.progress import ProgressEvent
from matcher import ranks as rank_choices
from matcher.model import MatchResult
from matcher.solve import solve
from planner.instance import PlanInstance
from planner.joint import match_and_schedule
from scheduler.assign import Keep, pattern_of_series, reschedule, schedule
from scheduler.model import Schedule, Series

PairKey = tuple[PersonId, PersonId]


@dataclass(frozen=True)
class SearchFigures:
    """What the large-neighbourhood search did (``planner.lns.improve``): neighbourhoods tried and
    improved, matched mentees and score gained (``augmented``: pairs the first fit added after
    it), mentees placed before with another partner or slot (``moved``) or unmatched for one who
    scores higher (``dropped``), the checks that refused an answer (never expected), and the
    budget spent in ``seconds``."""

    neighbourhoods: int
    improved: int
    matched_gained: int
    score_gained: int
    augmented: int
    moved: int
    dropped: int
    rejected_by_check: int
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RepairRecord:
    """summary.json's ``repair`` of a plan: the pairs the first schedule could not place, the
    repair's method and rounds, what the final pass added (``augmented``, of them
    ``moved_by_chains``; None when it added nobody), the search's figures and the pairs no
    schedule placed at the end."""

    unplaceable_first: int
    rounds: int = 0
    method: str = "none"
    augmented: int | None = None
    moved_by_chains: int = 0
    lns: SearchFigures | None = None
    unplaceable_final: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The record as summary.json writes it (keys in this order)."""
        out: dict[str, Any] = {
            "unplaceable_first": self.unplaceable_first,
            "rounds": self.rounds,
            "method": self.method,
        }
        if self.augmented is not None:
            out.update(augmented=self.augmented, moved_by_chains=self.moved_by_chains)
        if self.lns is not None:
            out["lns"] = self.lns.as_dict()
        out["unplaceable_final"] = self.unplaceable_final
        return out


@dataclass(frozen=True)
class StoredPairsRecord:
    """summary.json's ``repair`` of ``mentorsync schedule``: the stored pairs that could not be
    placed (mentor, mentee, reason) and the pairs the first fit added for the mentees left."""

    unplaceable: tuple[tuple[PersonId, PersonId, str], ...] = ()
    added: tuple[PairKey, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "method": "the stored pairs, then first fit" if self.added else "none (the stored pairs)",
            "unplaceable": [list(u) for u in self.unplaceable],
        }
        if self.added:
            out["added"] = [list(k) for k in self.added]
        return out


@dataclass(frozen=True)
class ReusedRecord:
    """The ``repair`` figures of the stored run a re-run keeps whole, as they were written."""

    figures: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.figures)


Record = RepairRecord | StoredPairsRecord | ReusedRecord


@dataclass(frozen=True)
class Repaired:
    """Where the repair left a plan: the instance with the pins still in force, the schedule, the
    last matching solved (whose figures the plan reports), the bans the repair added to the
    instance's (guesses: the final pass may place such a pair after all), why each pair a
    schedule could not place was left out, and the record."""

    inst: PlanInstance
    schedule: Schedule
    result: MatchResult
    banned: frozenset[PairKey]
    reasons: Mapping[PairKey, str]
    record: RepairRecord


def match_solver(inst: PlanInstance) -> Callable[..., MatchResult]:
    """The matching solver of the instance: rank levels (``[matching] preferences`` with ranks)
    or the score objective; both put the most people matched first."""
    return rank_choices.solve_ranked if inst.ranked else solve


def rematches(inst: PlanInstance) -> bool:
    """Whether the repair re-matches: asked for, or rank levels (the joint model knows only the
    score objective)."""
    return inst.repair == "rematch" or inst.ranked


def repair(inst: PlanInstance, first: MatchResult, sched: Schedule) -> Repaired:
    """The first schedule ``sched`` of ``first``'s pairs repaired (module doc): by the joint model
    on instances up to ``joint_limit`` candidates, by forbid-and-rematch rounds when the instance
    re-matches; else left to the final pass."""
    record = RepairRecord(unplaceable_first=len(sched.unplaceable))
    reasons = {(u.mentor_id, u.mentee_id): u.reason for u in sched.unplaceable}
    if rematches(inst):
        return _rounds(inst, first, sched, record, reasons)
    if sched.unplaceable and len(inst.candidates) <= inst.limits.joint_limit:
        sched = jointly(inst, sched)
        record = replace(record, method="joint", rounds=1)
    return Repaired(inst, sched, first, inst.banned, reasons, record)


def jointly(inst: PlanInstance, sched: Schedule) -> Schedule:
    """The joint model's plan when it places at least as many pairs as ``sched``, keeping the
    instance's fixed slots where the joint choice allows (stable re-runs)."""
    progress = inst.progress
    progress(
        ProgressEvent(
            "repair",
            "start",
            f"{len(sched.unplaceable)} pairs compete for the same hours: matching and scheduling jointly",
        )
    )
    allowed = [c for c in inst.candidates.candidates() if inst.allowed(c.mentor_id, c.mentee_id)]
    # deterministic CP-SAT (``cohort.solving``): equal inputs give equal plans
    joint_pairs, joint_sched = match_and_schedule(inst, allowed)
    if inst.fixed:
        hints = {(s.mentor_id, s.mentee_id): pattern_of_series(s, inst.program) for s in joint_sched.series}
        again = schedule(
            inst.cohort,
            inst.program,
            joint_pairs,
            uid_salt=inst.uid_salt,
            ctx=inst.ctx,
            keep=Keep(dict(inst.fixed), hints, inst.candidates.pins),
            progress=progress,
        )
        if len(again.series) >= len(joint_sched.series):
            joint_sched = again
    if len(joint_sched.series) >= len(sched.series):
        sched = joint_sched
    progress(ProgressEvent("repair", "done", f"{len(sched.series)} pairs placed"))
    return sched


@dataclass
class _Rounds:
    """The state forbid-and-rematch rounds change: the slots still kept, the bans, the pins in
    force, the last matching and the reasons of the pairs left out."""

    fixed: dict[PairKey, Series]
    banned: set[PairKey]
    pins: tuple[PairKey, ...]
    result: MatchResult
    reasons: dict[PairKey, str]


def _rounds(
    inst: PlanInstance, first: MatchResult, sched: Schedule, record: RepairRecord, reasons: dict[PairKey, str]
) -> Repaired:
    """Forbid-and-rematch rounds while each places more pairs (module doc)."""
    state = _Rounds(dict(inst.fixed), set(inst.banned), inst.candidates.pins, first, reasons)
    cap = inst.limits.repair_rounds
    rounds = 0
    while sched.unplaceable and (cap is None or rounds < cap):
        rounds += 1
        inst.progress(
            ProgressEvent(
                "repair",
                "start",
                f"round {rounds}: {len(sched.unplaceable)} pairs could not be placed; finding other partners",
            )
        )
        record = replace(record, method="forbid-and-rematch", rounds=rounds)
        again = _round(inst, state, sched)
        if again is None:
            break
        before, sched = len(sched.series), again
        if len(sched.series) <= before:  # a round that placed nobody more: the final pass goes on
            break
    return Repaired(
        inst.with_pins(state.pins), sched, state.result, frozenset(state.banned), state.reasons, record
    )


def _round(inst: PlanInstance, state: _Rounds, sched: Schedule) -> Schedule | None:
    """One round: the unplaced pairs forbidden (a kept pair whose old slot collides first tries any
    slot; a pin that cannot be placed is given up: the mentee's reason says why), the unplaced
    mentees matched to the free capacity around the placed pairs (pinned), and the components a
    new pair joins scheduled again; None when nobody else can be matched."""
    stuck = {(u.mentor_id, u.mentee_id) for u in sched.unplaceable}
    pinned = set(state.pins)  # kept pairs and the program's pins
    retry = {k for k in stuck & pinned if k in state.fixed}
    for k in retry:
        del state.fixed[k]
    given_up = (stuck & pinned) - retry
    if given_up:
        state.pins = tuple(p for p in state.pins if p not in given_up)
    state.banned |= stuck - retry
    placed = {(s.mentor_id, s.mentee_id): s for s in sched.series}
    # placed pairs stay (pinned): only the unplaced mentees look for other partners among the
    # free capacity, so every round places at least as many pairs and moves nobody else
    round_cs = replace(inst.candidates, pins=tuple(dict.fromkeys([*state.pins, *sorted(placed)])))
    state.result = match_solver(inst)(
        inst.cohort,
        inst.program,
        inst.tie.apply(round_cs),
        progress=inst.progress,
        forbidden_pairs=sorted(state.banned),
        warm_start=list(placed),
        mentor_capacity=inst.seats,
    )
    chosen = [(p.mentor_id, p.mentee_id) for p in state.result.pairs]
    if set(chosen) <= set(placed):  # nobody else can be matched: the schedule stays as it is
        inst.progress(ProgressEvent("repair", "done", "no other partner is free"))
        return None
    # placed pairs keep their slots; only the components a new pair joins are scheduled again
    sched = reschedule(
        inst.cohort,
        inst.program,
        sched,
        chosen,
        uid_salt=inst.uid_salt,
        ctx=inst.ctx,
        fixed=state.fixed,
        progress=inst.progress,
    )
    state.reasons.update({(u.mentor_id, u.mentee_id): u.reason for u in sched.unplaceable})
    inst.progress(ProgressEvent("repair", "done", f"{len(sched.series)} pairs placed"))
    return sched
