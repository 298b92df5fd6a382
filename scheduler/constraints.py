"""The calendar rules, each written once: the CP-SAT builders every scheduling model sums, and the
plain tests the greedy passes ask (``planner.fit``, ``planner.reasons``).

Each builder is named after its rule in the catalogue (``cohort.rules``), adds that rule's
constraints to a model through a ``SlotVars`` container and records the rule's name there (the
tests read ``SlotVars.built`` to see which rules a model holds). Builders take the variables and
the data the rule needs, never a whole model's state:

* ``one_slot_per_pair`` -- a pair gets at most one of its slot options (or exactly one, or one
  exactly when the pair is chosen);
* ``no_overlap_with_buffer`` -- options of two pairs of one person whose meetings, each extended by
  the buffer, share a cell of the grid exclude each other;
* ``weekly_limit`` -- in every local week, the meetings of the chosen options (and the fixed
  meetings) stay within the person's ``max_meetings_per_week``;
* ``mentor_spread`` (soft) -- a mentor's regular series on different local weekdays.

The same definitions as plain functions: ``overlap_with_buffer`` (two meetings break
``no_overlap_with_buffer`` when each starts before the other ends plus the buffer; on the cell
grid that is "their extended intervals share a cell", ``occupied_cells``) and
``over_weekly_limit``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

Var = Any  # a CP-SAT Boolean variable (or literal)


@dataclass
class SlotVars:
    """A scheduling model and its decision variables: ``x[i][j]`` is "pair ``i`` meets in its
    option ``j``"; ``built`` lists the rules the builders added, in order."""

    model: cp_model.CpModel
    x: list[list[Var]]
    built: list[str] = field(default_factory=list)

    def note(self, rule: str) -> None:
        if rule not in self.built:
            self.built.append(rule)


def one_slot_per_pair(v: SlotVars, i: int, *, required: bool = False, chosen: Var | None = None) -> None:
    """Hard: one_slot_per_pair -- pair ``i`` meets in at most one of its options (exactly one when
    ``required``; exactly one when the pair literal ``chosen`` is true, none otherwise)."""
    xs = v.x[i]
    if chosen is not None:
        v.model.add(sum(xs) == chosen)
    elif required:
        v.model.add_exactly_one(xs)
    else:
        v.model.add_at_most_one(xs)
    v.note("one_slot_per_pair")


@dataclass
class Occupancy:
    """Meetings as integer minutes since the grid epoch (UTC), with their lengths."""

    starts: np.ndarray
    lengths: np.ndarray


def occupied_cells(occ: Occupancy, buffer: int, cell: int) -> np.ndarray:
    """Every cell touched by ``[start, start + length + buffer)`` of every meeting (sorted, unique):
    two meetings of one person keep ``no_overlap_with_buffer`` exactly when their cells differ
    (starts, lengths and the buffer are multiples of ``cell``)."""
    first = occ.starts // cell
    last = -(-(occ.starts + occ.lengths + buffer) // cell)  # ceil: over-approximates, never misses
    counts = last - first
    if counts.sum() == 0:
        return np.zeros(0, dtype=np.int64)
    base = np.repeat(first, counts)
    offs = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.unique(base + offs)


def conflict_groups(cells: Sequence[np.ndarray], owners: Sequence[int]) -> list[list[int]]:
    """Distinct sets of options (indices into ``cells``) sharing a cell, spanning >= 2 owners."""
    if len(cells) < 2:
        return []
    all_cells = np.concatenate(cells)
    opt = np.repeat(np.arange(len(cells)), [c.size for c in cells])
    uniq, inverse = np.unique(all_cells, return_inverse=True)
    mat = np.zeros((uniq.size, len(cells)), dtype=bool)
    mat[inverse, opt] = True
    mat = mat[mat.sum(axis=1) >= 2]
    if mat.size == 0:
        return []
    rows = np.unique(np.packbits(mat, axis=1), axis=0)
    owners_arr = np.asarray(owners)
    out = []
    for row in rows:
        members = np.flatnonzero(np.unpackbits(row)[: len(cells)])
        if np.unique(owners_arr[members]).size >= 2:
            out.append(members.tolist())
    return out


def no_overlap_with_buffer(v: SlotVars, refs: Sequence[tuple[int, int]], cells: Sequence[np.ndarray]) -> int:
    """Hard: no_overlap_with_buffer -- of one person's options ``refs`` (pair, option) with the cells
    their meetings cover (buffer included, ``occupied_cells``), the options of different pairs
    sharing a cell exclude each other. Returns the number of groups added."""
    groups = conflict_groups(cells, [i for i, _ in refs])
    for group in groups:
        v.model.add_at_most_one([v.x[refs[k][0]][refs[k][1]] for k in group])
    v.note("no_overlap_with_buffer")
    return len(groups)


def weekly_limit(v: SlotVars, weeks: Iterable[tuple[Sequence[tuple[int, Var]], int]]) -> None:
    """Hard: weekly_limit -- per local week of one person, the chosen options' meetings that week
    (``(meetings, variable)`` terms) stay within the room left (the limit less the fixed
    meetings that week); a week whose terms all fit adds nothing."""
    for terms, room in weeks:
        if sum(c for c, _ in terms) > room:
            v.model.add(sum(c * x for c, x in terms) <= room)
    v.note("weekly_limit")


def mentor_spread(v: SlotVars, by_mentor_day: Mapping[tuple[str, int], Sequence[Var]]) -> list[Var]:
    """Soft: mentor_spread -- per (mentor, mentor-local weekday), the series beyond the first there;
    returns the excess variables the objective subtracts."""
    out = []
    for (m, wd), vars_ in by_mentor_day.items():
        if len({id(x) for x in vars_}) > 1:
            excess = v.model.new_int_var(0, len(vars_), f"mentor_spread[{m},{wd}]")
            v.model.add(excess >= sum(vars_) - 1)
            out.append(excess)
    v.note("mentor_spread")
    return out


def overlap_with_buffer(
    a_start: np.ndarray, a_end: np.ndarray, b_start: np.ndarray, b_end: np.ndarray, buffer: int
) -> np.ndarray:
    """Whether meetings ``a`` and ``b`` (minutes, broadcast) break ``no_overlap_with_buffer``: each
    starts before the other ends plus ``buffer``."""
    return np.asarray((a_start < b_end + buffer) & (b_start < a_end + buffer))


def overlap_with_placed(
    starts: np.ndarray, latest: np.ndarray, buffer: int, new_starts: np.ndarray, new_ends: np.ndarray
) -> np.ndarray:
    """``overlap_with_buffer`` of each new meeting against a person's placed meetings, given their
    ``starts`` sorted and the running maximum of their ends (``latest``): among the placed
    meetings starting before the new one ends plus the buffer, the latest end decides."""
    idx = np.searchsorted(starts, new_ends + buffer, side="left")
    return np.asarray((idx > 0) & (latest[np.maximum(idx - 1, 0)] + buffer > new_starts))


def over_weekly_limit(new: Mapping[int, int], placed: Mapping[int, int], limit: int | None) -> bool:
    """Whether meetings per local week ``new`` on top of ``placed`` break ``weekly_limit``."""
    return limit is not None and any(n + placed.get(w, 0) > limit for w, n in new.items())


def week_counts(weeks: np.ndarray) -> Counter[int]:
    """Meetings per local week, from each meeting's week number."""
    return Counter(int(w) for w in weeks)
