"""What a plan must respect from earlier runs and cycles: one frozen value, and the policy that
builds it from the history (verdicts from feedback -> keep / prefer / forbid).

A first run has nothing to respect (``Continuity()``). The policy, per situation:

* **re-run** of the open cycle (``run`` or ``schedule`` again on the same cycle dates): the stored
  slots are kept where still valid and the stored pairs are solver hints; when the roster and the
  program are exactly those stored, the stored schedule is reused whole (re-runs change nothing).
* **next cycle** (``rematch``), from the verdicts of the last closed cycle (``cohort.feedback``):
  ``continue`` (both said yes) -> kept (pinned when every rule, the calendars and the mentor's
  capacity still allow it) with its slot when still valid; ``partial`` (one yes, one silence) ->
  a new partner is preferred; ``none`` (nobody answered) -> the same partner is preferred, with its
  slot when valid; ``end`` and any earlier "no" -> forbidden (``ended``, in either direction).
* **mid-cycle** (someone left during the open cycle): every pair whose two people are still there
  is kept with its slot; the freed people look for partners among the free capacity.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from cohort.model import PersonId
from matcher.model import MatchResult
from scheduler.model import Schedule, Series

PairKey = tuple[PersonId, PersonId]

Repair = Literal["joint", "rematch"]
"""How a plan repairs pairs the first schedule could not place.

``"joint"``: on cohorts of at most ``Limits.joint_limit`` candidates, matching and slots are
solved again together in one CP-SAT model; on larger ones, forbid-and-rematch rounds.
``"rematch"``: always forbid-and-rematch rounds (placed pairs pinned, unplaced mentees matched to
the free capacity). The joint model knows neither kept pairs' old slots nor tie-break preferences,
so a plan that must honour them re-matches."""


@dataclass(frozen=True)
class StoredPlan:
    """What an earlier run decided for exactly this input (roster, program, history).

    A re-run keeps it whole instead of solving again: solvers may pick any of several equally good
    answers, and the previous run's pairs and slots (as hints) would steer a new solve elsewhere, so
    only keeping it makes re-running on the same input change no byte of the outputs.
    """

    match: MatchResult
    schedule: Schedule
    repair: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Continuity:
    """Everything a plan must respect from earlier runs and cycles; empty for a first run."""

    forbidden: frozenset[PairKey] = frozenset()
    """Pairs never formed again, in either role direction (someone said no)."""
    keep: tuple[PairKey, ...] = ()
    """Pairs to keep, pinned when every rule, the calendars and the mentor's capacity allow it."""
    slots: Mapping[PairKey, Series] = field(default_factory=dict)
    """Earlier series, kept (same weekday, local time, zone and rhythm) when still valid."""
    hints: tuple[PairKey, ...] = ()
    """Pairs the solver starts from (stable re-runs); never binding."""
    prefer_new: tuple[PairKey, ...] = ()
    """Tie-break below total score: re-forming these pairs is avoided first."""
    prefer_same: tuple[PairKey, ...] = ()
    """Tie-break below ``prefer_new``: re-forming these pairs is preferred."""
    capacities: Mapping[PersonId, int] | None = None
    """Mentor capacities that override the roster and program (None: none changed)."""
    reuse: StoredPlan | None = None
    """What an earlier run decided for exactly this roster, program and history, kept whole."""
    repair: Repair = "joint"
    """The repair strategy (see ``Repair``)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "slots", MappingProxyType(dict(self.slots)))
        if self.capacities is not None:
            object.__setattr__(self, "capacities", MappingProxyType(dict(self.capacities)))


def series_by_pair(series: Iterable[Series]) -> dict[PairKey, Series]:
    return {(s.mentor_id, s.mentee_id): s for s in series}


def rerun(
    stored: Schedule | None, pairs: Sequence[PairKey], *, reuse: StoredPlan | None = None
) -> Continuity:
    """The open cycle planned again: its stored slots and pairs, or its whole stored plan when the
    roster and program are exactly those stored (``reuse``)."""
    if stored is None:
        return Continuity(hints=tuple(pairs))
    return Continuity(slots=series_by_pair(stored.series), hints=tuple(pairs), reuse=reuse)


def next_cycle(
    verdicts: Mapping[PairKey, str],
    previous: Schedule,
    ended: Iterable[PairKey],
    *,
    rerun_of: tuple[Schedule | None, Sequence[PairKey]] | None = None,
    reuse: StoredPlan | None = None,
) -> Continuity:
    """The next cycle from the last closed one's ``verdicts`` (pair -> continue / end / partial /
    none) and its schedule; ``ended``: every pair anyone said no to. ``rerun_of``: the open cycle's
    stored schedule and pairs when this next cycle was already planned once (its slots win);
    ``reuse``: its whole stored plan when the input is exactly the same (kept whole)."""
    keep = tuple(sorted(k for k, v in verdicts.items() if v == "continue"))
    prefer_new = tuple(sorted(k for k, v in verdicts.items() if v == "partial"))
    prefer_same = tuple(sorted(k for k, v in verdicts.items() if v == "none"))
    continuing = set(keep) | set(prefer_same)
    slots = {k: s for k, s in series_by_pair(previous.series).items() if k in continuing}
    hints = [*keep, *prefer_same]
    if rerun_of is not None:
        stored, pairs = rerun_of
        if stored is not None:
            slots.update(series_by_pair(stored.series))
        hints = [*pairs, *hints]
    # pairs to keep or tie-breaks to honour: the joint model knows neither, so repairs re-match
    repair: Repair = "rematch" if keep or prefer_new or prefer_same else "joint"
    return Continuity(
        forbidden=frozenset(ended),
        keep=keep,
        slots=slots,
        hints=tuple(dict.fromkeys(hints)),
        prefer_new=prefer_new,
        prefer_same=prefer_same,
        reuse=reuse,
        repair=repair,
    )


def mid_cycle(
    pairs: Sequence[PairKey], schedule: Schedule, gone: Iterable[PersonId], ended: Iterable[PairKey]
) -> Continuity:
    """The open cycle after ``gone`` left: every other pair kept with its slot."""
    left = set(gone)
    keep = tuple(k for k in pairs if not set(k) & left)
    # pairs to keep: the joint model does not keep slots, so repairs re-match
    repair: Repair = "rematch" if keep else "joint"
    return Continuity(
        forbidden=frozenset(ended),
        keep=keep,
        slots=series_by_pair(schedule.series),
        hints=keep,
        repair=repair,
    )
