"""Robust common weekly time of a mentor and a mentee, across DST, vectorised.

Model (exact for what it states, and documented because the scheduler relies on it):

* Each person's availability is a boolean *week grid* in their own local time at resolution
  ``r`` minutes: ``r = gcd(granularity, every UTC offset met in the cycle)`` (15 for the usual
  15-minute granularity). A grid cell is available only if it lies wholly inside one of the
  person's windows (windows not on the grid are rounded inwards).
* A meeting keeps one fixed local start in the *mentor's* week. Seen from the mentee it moves by
  ``delta = offset(mentee) - offset(mentor)``, which takes a few values during the cycle (DST
  starts and ends on different dates in different zones). We sample every day of the cycle at
  12:00 UTC with ``zoneinfo`` and keep the set of distinct deltas per *zone pair* (not per
  person pair).
* A start ``s`` (a multiple of the granularity in the mentor's week) is usable when the whole
  meeting fits the mentor's availability and fits the mentee's availability under *every* delta
  of the cycle (the mentee grid shifted with ``np.roll`` over the week, wrapping Sunday to
  Monday). A pair is a candidate only if at least one usable start exists.
* *Common time* is the size of the robust common grid ``M & AND_delta roll(E, -delta)`` in
  minutes: time both people have, whatever the season.

Holidays, ``unavailable`` ranges and each occurrence's exact local time are the scheduler's job
(``build_candidates(slot_filter=...)``).

Pair counts are matrix products of 0/1 grids (BLAS), one per mentor time zone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import reduce
from zoneinfo import ZoneInfo

import numpy as np

from cohort.model import MINUTES_PER_WEEK, WeekInterval
from cohort.program import Program


def cycle_days(program: Program) -> list:
    """Every date of the cycle, first to last inclusive."""
    first, last = program.cycle.start, program.cycle.last_day
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def zone_offsets(zones: list[str], program: Program) -> np.ndarray:
    """UTC offsets in minutes, shape (zones, days), each day sampled at 12:00 UTC."""
    days = cycle_days(program)
    out = np.zeros((len(zones), len(days)), dtype=np.int32)
    instants = [datetime.combine(d, time(12), tzinfo=UTC) for d in days]
    for zi, name in enumerate(zones):
        tz = ZoneInfo(name)
        out[zi] = [int(t.astimezone(tz).utcoffset().total_seconds() // 60) for t in instants]  # type: ignore[union-attr]
    return out


def resolution(program: Program, offsets: np.ndarray) -> int:
    """Grid resolution in minutes: divides the granularity and every offset of the cycle."""
    values = [program.cycle.granularity_minutes] + [int(v) for v in np.unique(offsets)]
    return reduce(math.gcd, values)


def week_grid(intervals: tuple[WeekInterval, ...], res: int) -> np.ndarray:
    """Boolean week grid (MINUTES_PER_WEEK // res cells) of whole cells inside the windows."""
    grid = np.zeros(MINUTES_PER_WEEK // res, dtype=bool)
    for start, end in intervals:
        lo, hi = -(-start // res), end // res
        if hi > lo:
            grid[lo:hi] = True
    return grid


def start_grid(grid: np.ndarray, cells: int) -> np.ndarray:
    """Cells ``s`` such that ``s .. s+cells-1`` (wrapping over the week) are all available."""
    out = grid.copy()
    for k in range(1, cells):
        out &= np.roll(grid, -k, axis=-1)
    return out


@dataclass(frozen=True)
class AvailabilityModel:
    """Availability classes (zone + windows) and per zone-pair deltas for one cycle.

    ``mentor_class[i]`` / ``mentee_class[j]`` index rows of the class tables; classes of mentors
    hold ``starts`` (usable starts, already restricted to granularity multiples) and ``avail``;
    classes of mentees hold their raw boolean grids, shifted per mentor zone on demand.
    """

    res: int
    cells: int  # meeting length in grid cells
    zones: tuple[str, ...]
    delta_table: np.ndarray  # (mentor zone, mentee zone, L) shifts in cells, padded by repetition
    mean_hours: np.ndarray  # (zones, zones) mean |offset difference| over the cycle, in hours
    mentor_class: np.ndarray
    mentor_zone: np.ndarray  # per mentor class
    mentor_starts: tuple[np.ndarray, ...]  # per zone: float32 0/1 (start cells, zone's classes)
    mentor_avail: tuple[np.ndarray, ...]  # per zone: float32 0/1 (avail cells, zone's classes)
    zone_slices: tuple[tuple[int, int], ...]  # mentor classes of each zone: [a0, a1)
    zone_start_cells: tuple[np.ndarray, ...]  # per mentor zone: cells where some mentor may start
    zone_avail_cells: tuple[np.ndarray, ...]  # per mentor zone: cells where some mentor is free
    mentee_class: np.ndarray
    mentee_zone: np.ndarray  # per mentee class
    mentee_grid: np.ndarray  # bool (classes, S)
    mentee_starts: np.ndarray  # bool (classes, S)
    mentor_grid: np.ndarray | None = None  # bool (mentor classes, S), for the block path
    mentor_start_grid: np.ndarray | None = None  # bool (mentor classes, S): usable aligned starts

    def pair_time(self, mentee_classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For mentee classes ``u`` x all mentor classes: (usable start exists, common minutes).

        Shapes (len(u), mentor classes). Per mentor zone, the mentee grids are rolled by every
        delta of the zone pair and ANDed; then a matrix product counts the common cells (exact:
        counts stay far below float32's 2**24) for all pairs of that zone at once.
        """
        u = np.asarray(mentee_classes)
        s_cells = self.mentee_grid.shape[1]
        n_m = len(self.mentor_zone)
        feasible = np.zeros((len(u), n_m), dtype=bool)
        common = np.zeros((len(u), n_m), dtype=np.int32)
        grid, starts = self.mentee_grid[u], self.mentee_starts[u]
        ez = self.mentee_zone[u]
        groups = [(z, np.nonzero(ez == z)[0]) for z in np.unique(ez)]
        avail = np.empty((len(u), s_cells), dtype=np.float32)
        ok = np.empty((len(u), s_cells), dtype=np.float32)
        for z, (a0, a1) in enumerate(self.zone_slices):
            if a1 == a0:
                continue
            for zone, members in groups:
                g, st = grid[members], starts[members]
                ga = gs = None
                for d in sorted(set(self.delta_table[z, zone].tolist())):
                    # mentee cell index = mentor cell index + delta, so roll by -delta
                    ra, rs = np.roll(g, -d, axis=1), np.roll(st, -d, axis=1)
                    ga, gs = (ra, rs) if ga is None else (ga & ra, gs & rs)
                avail[members], ok[members] = ga, gs
            # only the cells where some mentor of this zone is free take part in the products
            sc, ac = self.zone_start_cells[z], self.zone_avail_cells[z]
            feasible[:, a0:a1] = (ok[:, sc] @ self.mentor_starts[z]) > 0.5
            common[:, a0:a1] = np.rint(avail[:, ac] @ self.mentor_avail[z])
        return feasible, common * self.res

    def robust(self, grids: np.ndarray, mentor_zone: int, mentee_zone: int) -> np.ndarray:
        """Mentee grids (rows) seen from a mentor of ``mentor_zone``: cells free under every delta."""
        out = None
        for d in sorted(set(self.delta_table[mentor_zone, mentee_zone].tolist())):
            r = np.roll(grids, -d, axis=1)
            out = r if out is None else out & r
        return grids.copy() if out is None else out


def build_availability(mentors: list, mentees: list, program: Program) -> AvailabilityModel:
    """Classes, packed grids and zone-pair deltas for the given mentors and mentees."""
    zones = sorted({p.timezone for p in mentors} | {p.timezone for p in mentees})
    zindex = {z: i for i, z in enumerate(zones)}
    offsets = zone_offsets(zones, program)
    res = resolution(program, offsets)
    cells = -(-program.cycle.duration_minutes // res)
    step = program.cycle.granularity_minutes // res
    n_zone = len(zones)
    sets = [
        [sorted({int(v) // res for v in offsets[ze] - offsets[zm]}) for ze in range(n_zone)]
        for zm in range(n_zone)
    ]
    longest = max((len(d) for row in sets for d in row), default=1)
    delta_table = np.zeros((n_zone, n_zone, longest), dtype=np.int64)
    for zm in range(n_zone):
        for ze in range(n_zone):
            d = sets[zm][ze]
            delta_table[zm, ze] = d + [d[0]] * (longest - len(d))
    diff = (
        np.abs(offsets[:, None, :] - offsets[None, :, :]).mean(axis=2) / 60.0 if zones else np.zeros((0, 0))
    )

    def classes(people: list) -> tuple[np.ndarray, np.ndarray, list]:
        keys: dict = {}
        idx = np.empty(len(people), dtype=np.int32)
        for i, p in enumerate(people):
            idx[i] = keys.setdefault((p.timezone, p.availability), len(keys))
        return idx, np.array([zindex[z] for z, _ in keys], dtype=np.int32), [a for _, a in keys]

    m_idx, m_zone, m_av = classes(mentors)
    # renumber mentor classes so that each zone's classes are contiguous
    order = np.argsort(m_zone, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    m_idx, m_zone, m_av = rank[m_idx].astype(np.int32), m_zone[order], [m_av[i] for i in order]
    bounds = np.searchsorted(m_zone, np.arange(len(zones) + 1))
    zone_slices = tuple((int(bounds[z]), int(bounds[z + 1])) for z in range(len(zones)))
    e_idx, e_zone, e_av = classes(mentees)
    s_cells = MINUTES_PER_WEEK // res
    aligned = np.zeros(s_cells, dtype=bool)
    aligned[::step] = True
    m_grid = np.array([week_grid(a, res) for a in m_av], dtype=bool).reshape(-1, s_cells)
    e_grid = np.array([week_grid(a, res) for a in e_av], dtype=bool).reshape(-1, s_cells)
    m_starts = start_grid(m_grid, cells) & aligned
    e_starts = start_grid(e_grid, cells)
    start_cells = tuple(np.nonzero(m_starts[a0:a1].any(axis=0))[0] for a0, a1 in zone_slices)
    avail_cells = tuple(np.nonzero(m_grid[a0:a1].any(axis=0))[0] for a0, a1 in zone_slices)
    return AvailabilityModel(
        res=res,
        cells=cells,
        zones=tuple(zones),
        delta_table=delta_table,
        mean_hours=diff,
        mentor_class=m_idx,
        mentor_zone=m_zone,
        zone_slices=zone_slices,
        mentor_starts=tuple(
            np.ascontiguousarray(m_starts[a0:a1][:, c].T, dtype=np.float32)
            for (a0, a1), c in zip(zone_slices, start_cells, strict=False)
        ),
        mentor_avail=tuple(
            np.ascontiguousarray(m_grid[a0:a1][:, c].T, dtype=np.float32)
            for (a0, a1), c in zip(zone_slices, avail_cells, strict=False)
        ),
        zone_start_cells=start_cells,
        zone_avail_cells=avail_cells,
        mentee_class=e_idx,
        mentee_zone=e_zone,
        mentee_grid=e_grid,
        mentee_starts=e_starts,
        mentor_grid=m_grid,
        mentor_start_grid=m_starts,
    )
