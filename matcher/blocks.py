"""Candidates by blocks: the same candidate set as the pair-by-pair path, without testing every pair.

``matcher.candidates`` defines the rules pair by pair; this module computes exactly the same
``CandidateSet`` (same pairs, scores, components, common minutes, exclusion counts, order) in a
fraction of the time at large sizes, because almost every decision is taken for a whole block:

* **Categorical rules** (capacity, department, level gap, language) depend only on a *category* of
  each side (capacity > 0, department when the rule is on, level, language set). They are decided
  once per (mentee category, mentor category) and counted with category sizes.
* **Sparse rules** (self, forbid, avoid, reporting line) concern few pairs: they are masked out
  and their counts corrected pair by pair (the first failing rule, as in the pair path).
* **Common time** per (mentor zone, mentee zone): only the cells where some mentor of the zone may
  start *and* some mentee of the other zone may start under every offset delta matter. Projected
  on those cells, availability patterns repeat a lot (7.6 billion people pairs at 200,000 people
  are 580 million pattern pairs); feasibility is a 0/1 matrix product over distinct patterns
  (BLAS), and a zone pair without such cells is ruled out whole. Mentors sorted by (pattern,
  category) form groups; a mentee chunk x group matrix is expanded to people with ``np.repeat``.
* **Best K per mentee** (when the limit is on): exact scores are computed only for pairs that can
  still enter the top K. Every component except availability and ``prefer`` comes from small
  tables (computed with ``matcher.score`` itself); availability lies between its value at the
  meeting length (every feasible pair has at least that in common) and its weight, ``prefer``
  between 0 and the mentee's largest possible request bonus. With ``tau`` the K-th best lower bound
  of a mentee, a pair whose upper bound is below ``tau`` is strictly worse than K others, so it is
  never kept: only the rest are scored exactly and sorted (pins always are).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from cohort.model import MINUTES_PER_WEEK, PersonId
from cohort.program import Program
from cohort.rules import PAIR_RULES
from matcher.availability import AvailabilityModel
from matcher.encode import CohortArrays, Encoder, pair_keys
from matcher.model import COMPONENTS
from matcher.score import fractions, integer_components
from matcher.slot_filter import SignatureSlotFilter

CHUNK_PAIRS = 24_000_000  # mentee chunk x mentors expanded at once (bool bytes)
TABLE_LIMIT = 4_000_000  # largest score table built from distinct feature pairs
PATTERN_BLOCK = 4096  # mentee patterns per matrix product (bounds the float32 temporary)
SLOT_TABLE_DENSITY = 1.0  # pairs per table cell from which a signature slot test answers by table

# Columns of the exclusion counts, looked up by the catalogue's rule names (``cohort.rules``):
# the column order is the catalogue's order of pair rules, which is also the order of precedence
# (a pair excluded by several rules counts against the first).
_COLUMN = {name: i for i, name in enumerate(PAIR_RULES)}
SELF, CAPACITY, FORBID, AVOID = _COLUMN["self"], _COLUMN["capacity"], _COLUMN["forbid"], _COLUMN["avoid"]
REPORTING, DEPARTMENT, LEVEL = _COLUMN["reporting_line"], _COLUMN["department"], _COLUMN["level_gap"]
LANGUAGE, TIME, SCHEDULE = _COLUMN["language"], _COLUMN["time"], _COLUMN["schedule"]


@dataclass
class BlockResult:
    mentor: np.ndarray
    mentee: np.ndarray
    score: np.ndarray
    components: np.ndarray
    common: np.ndarray
    excluded_by_mentee: np.ndarray
    excluded_by_mentor: np.ndarray
    dropped: np.ndarray
    broken_pins: dict[tuple[int, int], int]  # (mentor, mentee) -> failing rule's column
    stats: dict[str, object]


def _ids(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index of one representative per distinct row, id per row) of a 2-D integer array.

    Rows are hashed to one uint64 (wrapping multiply-add), then checked against their
    representative; on a collision the exact (slower) row-wise ``np.unique`` is used.
    """
    rows = np.ascontiguousarray(rows)
    if len(rows) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    words = rows.view(np.uint64) if rows.dtype.itemsize == 8 else rows.astype(np.int64).view(np.uint64)
    rng = np.random.default_rng(12345)
    mult = np.asarray(rng.integers(1, 2**63, size=words.shape[1], dtype=np.uint64)) | np.uint64(1)
    h = words[:, 0] * mult[0]
    for k in range(1, words.shape[1]):
        h = (h ^ (h >> np.uint64(29))) * np.uint64(0x9E3779B97F4A7C15) + words[:, k] * mult[k]
    _, first, inv = np.unique(h, return_index=True, return_inverse=True)
    inv = inv.reshape(-1)
    if not np.array_equal(rows[first][inv], rows):
        _, first, inv = np.unique(rows, axis=0, return_index=True, return_inverse=True)
        inv = inv.reshape(-1)
    return first, inv


def _packed_ids(grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``_ids`` of boolean rows, packed into 64-bit words first."""
    return _ids(_pack64(grid))


def _categories(arr: CohortArrays, program: Program) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mentor category, mentee category, first failing categorical rule per category pair or -1)."""
    rules = program.rules
    forbid_dept = rules.same_department == "forbid"
    n_m, n_e = len(arr.mentors), len(arr.mentees)

    def key(dept: np.ndarray, known: np.ndarray, level: np.ndarray, lang: np.ndarray, n: int) -> np.ndarray:
        cols = [
            dept.astype(np.int64) if forbid_dept else np.zeros(n, np.int64),
            known.astype(np.int64),
            np.where(known, level, 0).astype(np.int64),
        ]
        lang_cols = lang.view(np.int64) if rules.common_language else np.zeros((n, 1), np.int64)
        return np.column_stack(cols + [lang_cols])

    mkey = (
        np.column_stack(
            [
                (arr.capacity > 0).astype(np.int64)[:, None],
                key(arr.mentor_dept, arr.mentor_level_known, arr.mentor_level, arr.mentor_lang, n_m),
            ]
        )
        if n_m
        else np.zeros((0, 5), np.int64)
    )
    ekey = key(arr.mentee_dept, arr.mentee_level_known, arr.mentee_level, arr.mentee_lang, n_e)
    m_rep, m_cat = _ids(mkey)
    e_rep, e_cat = _ids(ekey)
    # the rules of matcher.candidates, on one representative per category
    cap_ok = (arr.capacity[m_rep] > 0)[None, :]
    e_d, m_d = arr.mentee_dept[e_rep][:, None], arr.mentor_dept[m_rep][None, :]
    dept_ok = (e_d < 0) | (e_d != m_d) if forbid_dept else np.ones((len(e_rep), len(m_rep)), bool)
    known = arr.mentor_level_known[m_rep][None, :] & arr.mentee_level_known[e_rep][:, None]
    gap = arr.mentor_level[m_rep][None, :] - arr.mentee_level[e_rep][:, None]
    level_ok = ~known | (gap >= rules.min_level_gap)
    if rules.common_language:
        lang_ok = ((arr.mentee_lang[e_rep][:, None, :] & arr.mentor_lang[m_rep][None, :, :]) != 0).any(axis=2)
    else:
        lang_ok = np.ones((len(e_rep), len(m_rep)), bool)
    first = np.full((len(e_rep), len(m_rep)), -1, np.int8)
    # the earliest rule in the catalogue's order wins: write the later ones first
    checks = ((lang_ok, LANGUAGE), (level_ok, LEVEL), (dept_ok, DEPARTMENT), (cap_ok, CAPACITY))
    for ok, rule in sorted(checks, key=lambda c: -c[1]):
        first[~np.broadcast_to(ok, first.shape)] = rule
    return m_cat, e_cat, first


def _packed_patterns(grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct rows as float32 0/1, pattern id per row) of a boolean matrix."""
    if grid.shape[1] == 0 or len(grid) == 0:
        return np.zeros((1, grid.shape[1]), np.float32), np.zeros(len(grid), np.int64)
    first, inv = _packed_ids(grid)
    return grid[first].astype(np.float32), inv


def _member(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """``np.isin(values, sorted_set)`` for a small sorted, unique ``sorted_set`` (binary search)."""
    if len(sorted_set) == 0:
        return np.zeros(len(values), bool)
    at = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    return sorted_set[at] == values


def _kth_best(row: np.ndarray, value: np.ndarray, rows: int, k: int) -> np.ndarray:
    """Per row, the k-th largest ``value`` (non-negative integers), or -1 with fewer than k."""
    if len(value) == 0:
        return np.full(rows, -1, np.int64)
    top = int(value.max()) + 1
    key = row * top + value if rows * top < 2**31 else row.astype(np.int64) * top + value
    hist = np.bincount(key, minlength=rows * top).reshape(rows, top)
    at_least = np.cumsum(hist[:, ::-1], axis=1)[:, ::-1]  # at_least[r, t]: values >= t
    return (at_least >= k).sum(axis=1) - 1


def _popcount_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.bitwise_count(a & b).sum(axis=1, dtype=np.int32)


def _pack64(grid: np.ndarray) -> np.ndarray:
    """Boolean rows packed into uint64 words (for popcounts)."""
    packed = np.packbits(grid, axis=1)
    pad = (-packed.shape[1]) % 8
    if pad:
        packed = np.pad(packed, ((0, 0), (0, pad)))
    return np.ascontiguousarray(packed).view(np.uint64)


@dataclass
class _ZonePair:
    """Per (mentor zone, mentee zone): feasibility of pattern pairs, mentors by pattern."""

    feasible: np.ndarray  # bool (mentee patterns, mentor patterns)
    mentee_pattern: np.ndarray  # per mentee class of the mentee zone (local index)
    mentor_pattern: np.ndarray  # per mentor index (meaningful for this zone's mentors)
    perm: np.ndarray  # mentors of the zone, sorted by pattern
    start: np.ndarray  # first position in perm of each mentor pattern
    size: np.ndarray  # mentors per pattern
    pos: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # position in perm, per mentor
    single: bool = False  # every pattern has one mentor


@dataclass
class _ChunkContext:
    ze: int
    zp: dict[int, _ZonePair]
    e_avail64: dict[int, np.ndarray]
    local_class: np.ndarray
    sp_zone: np.ndarray


@dataclass
class _ChunkOut:
    alive_rows: np.ndarray  # pairs passing categorical rules and time, before sparse rules
    alive_mentors: np.ndarray
    sp_index: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    sp_alive: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    sp_failed: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    schedule_e: np.ndarray | int = 0
    schedule_m: np.ndarray | int = 0
    n_alive: int = 0
    n_scored: int = 0
    n_stage1: int = 0
    dropped: np.ndarray | None = None
    part: tuple[np.ndarray, ...] | None = None


class _Tables:
    """Score components other than availability and prefer, from distinct feature pairs."""

    def __init__(self, arr: CohortArrays, program: Program):
        self.arr, self.program = arr, program
        names = list(COMPONENTS)
        self.col = {c: names.index(c) for c in COMPONENTS}
        feats = {
            "goals": (
                np.column_stack([arr.goals.view(np.int64), arr.goal_count.astype(np.int64)]),
                arr.expertise.view(np.int64),
            ),
            "interests": (arr.mentee_interests.view(np.int64), arr.mentor_interests.view(np.int64)),
            "language": (
                np.column_stack([arr.mentee_first_lang.astype(np.int64), arr.mentee_lang.view(np.int64)]),
                np.column_stack([arr.mentor_first_lang.astype(np.int64), arr.mentor_lang.view(np.int64)]),
            ),
            "level": (
                np.column_stack(
                    [arr.mentee_level_known, np.where(arr.mentee_level_known, arr.mentee_level, 0)]
                ),
                np.column_stack(
                    [arr.mentor_level_known, np.where(arr.mentor_level_known, arr.mentor_level, 0)]
                ),
            ),
        }
        self.tables: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
        self.per_pair: list[str] = []
        for name, (e_rows, m_rows) in feats.items():
            e_rep, e_id = _ids(e_rows.astype(np.int64))
            m_rep, m_id = _ids(m_rows.astype(np.int64))
            if len(e_rep) * len(m_rep) > TABLE_LIMIT:
                self.per_pair.append(name)
                continue
            table = np.empty((len(e_rep), len(m_rep)), np.int32)
            step = max(1, 1_000_000 // max(1, len(m_rep)))
            for s in range(0, len(e_rep), step):
                ee, mm = np.meshgrid(e_rep[s : s + step], m_rep, indexing="ij")
                table[s : s + step] = self.components(mm.ravel(), ee.ravel())[:, self.col[name]].reshape(
                    ee.shape
                )
            # flat: table[e_off[mentee] + m_id[mentor]]
            self.tables[name] = (
                (e_id * len(m_rep)).astype(np.int32),
                m_id.astype(np.int32),
                table.ravel(),
                table,
            )

    def components(
        self,
        mentor: np.ndarray,
        mentee: np.ndarray,
        common: np.ndarray | None = None,
        tz: np.ndarray | None = None,
        prefer: np.ndarray | None = None,
    ) -> np.ndarray:
        """Exact integer components (``matcher.score``) of pairs; unspecified inputs are 0."""
        n = len(mentor)
        zeros = np.zeros(n, np.int32)
        return integer_components(
            self.program,
            fractions(
                self.arr,
                self.program,
                mentor,
                mentee,
                zeros if common is None else common,
                np.zeros(n) if tz is None else tz,
                zeros if prefer is None else prefer,
            ),
        )

    def weight(self, name: str) -> int:
        """The largest value of a component (its fraction at 1)."""
        return int(np.rint(getattr(self.program.weights, name) * 1.0))

    def partial(
        self,
        base: np.ndarray,
        row: np.ndarray,
        mentor: np.ndarray,
        e_off: dict[str, np.ndarray],
        mentee: np.ndarray,
        skip: str | None,
    ) -> np.ndarray:
        """``base`` plus every tabled component but ``skip`` (``e_off``: per chunk row), plus the
        components without a table, computed pair by pair: exact."""
        out = base.copy()
        for name, (_, m_id, flat, _) in self.tables.items():
            if name != skip:
                out += flat[e_off[name][row] + m_id[mentor]]
        if self.per_pair:
            comps = self.components(mentor, mentee)
            for name in self.per_pair:
                out += comps[:, self.col[name]]
        return out


@dataclass(frozen=True)
class _Bounds:
    """Score tables and the per-mentee score bounds of the best-K pruning (see the module doc)."""

    tables: _Tables | None
    lead: str | None  # the component looked up exactly in stage 1 (goals), when tabled
    tz_comp: np.ndarray  # time-zone component per (mentor zone, mentee zone)
    av_lo: int  # availability component of a feasible pair: at least, at most
    av_hi: int
    pref_e: np.ndarray  # requests per mentee (0-2)
    pref_hi: np.ndarray  # the largest prefer component per mentee
    rest_lo: np.ndarray  # the other components' range per mentee
    rest_hi: np.ndarray
    av_table: np.ndarray  # availability component by common cells
    pref_table: np.ndarray  # prefer component by request count


def _score_bounds(
    arr: CohortArrays, program: Program, avail: AvailabilityModel, prefer_keys: np.ndarray
) -> _Bounds:
    """The tables and bounds that let chunks score exactly only pairs that may enter the best K."""
    n_m, n_e, n_z = len(arr.mentors), len(arr.mentees), len(avail.zones)
    tables = _Tables(arr, program) if n_m and n_e else None
    tz_comp = np.zeros((n_z, n_z), np.int32)
    av_lo = av_hi = 0
    pref_hi = np.zeros(n_e, np.int32)
    pref_e = np.zeros(n_e, np.int64)
    if tables is not None:
        zz = np.zeros(n_z * n_z, np.int64)
        tz_comp = tables.components(zz, zz, tz=avail.mean_hours.ravel())[:, tables.col["timezone"]]
        tz_comp = tz_comp.reshape(n_z, n_z)
        # availability of a feasible pair: at least the meeting's cells in common, at most saturated
        two = np.zeros(2, np.int64)
        av_lo, av_hi = (
            int(v)
            for v in tables.components(two, two, common=np.array([avail.cells * avail.res, 10**9]))[
                :, tables.col["availability"]
            ]
        )
        # prefer: the largest request bonus a mentee may get (1 one-sided, 2 mutual), an upper bound
        if len(prefer_keys):
            has = np.zeros((2, n_e), bool)
            has[0, prefer_keys[prefer_keys >= 0] % n_e] = True
            has[1, (-1 - prefer_keys[prefer_keys < 0]) % n_e] = True
            pref_e = has.sum(axis=0)
        three = np.zeros(3, np.int64)
        pref_hi = tables.components(three, three, prefer=np.arange(3))[:, tables.col["prefer"]][pref_e]
    lead = "goals" if tables is not None and "goals" in tables.tables else None
    rest_lo = np.zeros(n_e, np.int32)
    rest_hi = np.zeros(n_e, np.int32)
    av_table = pref_table = np.zeros(1, np.int32)
    if tables is not None:
        # stage-1 bounds: the goals component exactly, the others by their range for the mentee
        for name, (e_off, _, _, table) in tables.tables.items():
            if name != lead:
                e_id = e_off // max(1, table.shape[1])
                rest_lo += table.min(axis=1)[e_id]
                rest_hi += table.max(axis=1)[e_id]
        for name in tables.per_pair:
            rest_hi += tables.weight(name)
        rest_lo += av_lo
        rest_hi += av_hi + pref_hi
        # availability and prefer components by common cells and by request count (exact)
        s_cells = MINUTES_PER_WEEK // avail.res
        zero = np.zeros(s_cells + 1, np.int64)
        av_table = tables.components(zero, zero, common=np.arange(s_cells + 1) * avail.res)[
            :, tables.col["availability"]
        ].astype(np.int32)
        pref_table = tables.components(zero[:3], zero[:3], prefer=np.arange(3))[
            :, tables.col["prefer"]
        ].astype(np.int32)
    return _Bounds(
        tables, lead, tz_comp, av_lo, av_hi, pref_e, pref_hi, rest_lo, rest_hi, av_table, pref_table
    )


@dataclass(frozen=True)
class _SlotCodes:
    """A signature slot filter (``matcher.candidates.SignatureSlotFilter``) and its codes: the
    distinct codes of each side, and per mentor / mentee index its position among them."""

    test: SignatureSlotFilter
    mentor_codes: np.ndarray
    mentor_of: np.ndarray
    mentee_codes: np.ndarray
    mentee_of: np.ndarray

    @classmethod
    def of(cls, test: SignatureSlotFilter, enc: Encoder) -> _SlotCodes:
        mentor_codes, mentor_of = np.unique(test.signatures(enc.mentor_ids), return_inverse=True)
        mentee_codes, mentee_of = np.unique(test.signatures(enc.mentee_ids), return_inverse=True)
        return cls(
            test, mentor_codes, mentor_of.reshape(-1).astype(np.int64), mentee_codes, mentee_of.reshape(-1)
        )

    def passes(self, mentor: np.ndarray, ch: np.ndarray, row: np.ndarray) -> np.ndarray:
        """The filter's answer for pairs (``mentor``, ``ch[row]``): from one table of the codes
        present (mentor codes among these pairs x mentee codes of the chunk) when the pairs are
        at least as many as its cells, else from the distinct pairs of codes among them."""
        cols, col_of = np.unique(self.mentee_of[ch], return_inverse=True)
        col_of = col_of.reshape(-1)
        m_code = self.mentor_of[mentor]
        present = np.zeros(len(self.mentor_codes), bool)
        present[m_code] = True
        rows = np.flatnonzero(present)
        if len(mentor) < SLOT_TABLE_DENSITY * len(rows) * len(cols):
            key, inverse = np.unique(m_code * len(cols) + col_of[row], return_inverse=True)
            answer = self.test.pairs(
                self.mentor_codes[key // len(cols)], self.mentee_codes[cols[key % len(cols)]]
            )
            return np.asarray(answer, dtype=bool)[inverse.reshape(-1)]
        at = np.zeros(len(self.mentor_codes), np.int64)
        at[rows] = np.arange(len(rows)) * len(cols)
        table = np.asarray(self.test.table(self.mentor_codes[rows], self.mentee_codes[cols]), dtype=bool)
        return table.ravel()[at[m_code] + col_of[row]]


@dataclass(frozen=True)
class _Shared:
    """What every chunk reads and none writes: the instance, the categories, the special pairs and
    the score bounds."""

    arr: CohortArrays
    program: Program
    avail: AvailabilityModel
    enc: Encoder
    keep: int
    slot_filter: Callable[[Sequence[PersonId], Sequence[PersonId]], object] | None
    pin_keys: np.ndarray
    prefer_keys: np.ndarray
    n_m: int
    n_e: int
    m_zone: np.ndarray
    e_cat: np.ndarray
    m_cat32: np.ndarray
    cat_pass_flat: np.ndarray
    sp_key: np.ndarray
    sp_e: np.ndarray
    sp_m: np.ndarray
    sp_sparse: np.ndarray
    m_avail64: np.ndarray | None
    bounds: _Bounds
    slot_codes: _SlotCodes | None = None  # when the slot filter answers by signature


def _special_pairs(
    arr: CohortArrays, sparse: Mapping[str, tuple[np.ndarray, np.ndarray]], pins: Sequence[tuple[int, int]]
) -> tuple[np.ndarray, np.ndarray]:
    """Special pairs: those of the sparse rules (with their rule flags), self pairs and pins, as
    sorted keys ``mentee * n_m + mentor`` and the flags of each key (0 for a pin alone)."""
    n_m = len(arr.mentors)
    sp_parts = []
    for flag, (e_idx, m_idx) in (
        (1 << FORBID, sparse["forbid"]),
        (1 << AVOID, sparse["avoid"]),
        (1 << REPORTING, sparse["reporting_line"]),
    ):
        sp_parts.append((e_idx.astype(np.int64), m_idx.astype(np.int64), np.full(len(e_idx), flag, np.int64)))
    person_mentor = {int(p): i for i, p in enumerate(arr.mentor_person.tolist())}
    selfs = [
        (j, person_mentor[int(p)])
        for j, p in enumerate(arr.mentee_person.tolist())
        if int(p) in person_mentor
    ]
    if selfs:
        s = np.array(selfs, np.int64)
        sp_parts.append((s[:, 0], s[:, 1], np.full(len(s), 1 << SELF, np.int64)))
    if pins:
        pa = np.array([(e, m) for m, e in pins], np.int64)
        sp_parts.append((pa[:, 0], pa[:, 1], np.zeros(len(pa), np.int64)))
    sp_key_all = (
        np.concatenate([e * max(1, n_m) + m for e, m, _ in sp_parts]) if sp_parts else np.zeros(0, np.int64)
    )
    sp_flag_all = np.concatenate([f for _, _, f in sp_parts]) if sp_parts else np.zeros(0, np.int64)
    sp_key, sp_inv = np.unique(sp_key_all, return_inverse=True)
    sp_flags = np.zeros(len(sp_key), np.int64)
    np.bitwise_or.at(sp_flags, sp_inv, sp_flag_all)
    return sp_key, sp_flags


def _run_chunk(s: _Shared, cx: _ChunkContext, ch: np.ndarray) -> _ChunkOut:
    """Candidates of one chunk of mentees of one zone (no shared state is written)."""
    out = _ChunkOut(np.zeros(len(ch), np.int64), np.zeros(s.n_m, np.int64))
    alive = _chunk_pairs(s, cx, ch, out)
    if alive is not None:
        _chunk_scores(s, cx, ch, out, *alive)
    return out


def _chunk_pairs(
    s: _Shared, cx: _ChunkContext, ch: np.ndarray, out: _ChunkOut
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None] | None:
    """The chunk's pairs passing the categorical rules, common time and the slot filter, counted
    in ``out``: (mentor, chunk row, stage-1 score base when the limit is on), or None."""
    avail, enc, keep, slot_filter, n_m, n_e = s.avail, s.enc, s.keep, s.slot_filter, s.n_m, s.n_e
    m_zone, e_cat, m_cat32 = s.m_zone, s.e_cat, s.m_cat32
    cat_pass_flat, sp_key, sp_e = s.cat_pass_flat, s.sp_key, s.sp_e
    sp_m, sp_sparse = s.sp_m, s.sp_sparse
    tables, lead, tz_comp = s.bounds.tables, s.bounds.lead, s.bounds.tz_comp
    ze, zp = cx.ze, cx.zp
    srt_ch = np.argsort(ch)
    sp_here = cx.sp_zone[np.isin(sp_e[cx.sp_zone], ch)]
    sp_row = srt_ch[np.searchsorted(ch[srt_ch], sp_e[sp_here])]
    sp_ok = np.zeros(len(sp_here), bool)
    ch_cls = cx.local_class[avail.mentee_class[ch]]
    ch_cat = e_cat[ch].astype(np.int32)
    e_off = {name: t[0][ch] for name, t in tables.tables.items()} if tables is not None else {}
    got_m, got_r, got_b = [], [], []
    for zm, z in zp.items():
        # pattern-level pairs of the chunk, then expanded to the mentors of each pattern
        q = z.mentee_pattern[ch_cls]
        p_row, p_pat = np.nonzero(z.feasible[q])
        if z.single:  # one mentor per pattern: nothing to expand
            cnt = ends = None
            row = p_row.astype(np.int32)
            mentor = z.perm[z.start[p_pat]]
        else:
            cnt = z.size[p_pat]
            ends = np.cumsum(cnt)
            row = np.repeat(p_row.astype(np.int32), cnt)
            at = np.repeat(z.start[p_pat] - (ends - cnt), cnt) + np.arange(len(row))
            mentor = z.perm[at]
        ok = cat_pass_flat[m_cat32[mentor] + ch_cat[row]]
        sel = np.nonzero(m_zone[sp_m[sp_here]] == zm)[0]
        cut = sel[:0]
        if len(sel):
            rr, mm = sp_row[sel], sp_m[sp_here[sel]]
            sp_ok[sel] = z.feasible[q[rr], z.mentor_pattern[mm]] & cat_pass_flat[m_cat32[mm] + ch_cat[rr]]
            cut = sel[sp_sparse[sp_here[sel]] & sp_ok[sel]]
            if len(cut):
                # where each such pair sits in the expanded list: its (row, pattern) entry of
                # the nonzero list, then its place among the pattern's mentors
                rc, mc = sp_row[cut], sp_m[sp_here[cut]]
                pc = z.mentor_pattern[mc]
                entry = np.searchsorted(p_row.astype(np.int64) * len(z.size) + p_pat, rc * len(z.size) + pc)
                if z.single:
                    ok[entry] = False
                else:
                    assert ends is not None and cnt is not None
                    ok[ends[entry] - cnt[entry] + (z.pos[mc] - z.start[pc])] = False
        if not ok.all():
            row, mentor = row[ok], mentor[ok]
        out.alive_rows += np.bincount(row, minlength=len(ch))
        out.alive_mentors += np.bincount(mentor, minlength=n_m)
        if len(cut):  # alive before the sparse rules: counted as such (moved to their rule later)
            np.add.at(out.alive_rows, sp_row[cut], 1)
            np.add.at(out.alive_mentors, sp_m[sp_here[cut]], 1)
        got_m.append(mentor)
        got_r.append(row)
        if keep and lead is not None:
            assert tables is not None  # lead is only set with tables
            _, m_id, flat, _ = tables.tables[lead]
            got_b.append(flat[e_off[lead][row] + m_id[mentor]] + tz_comp[zm, ze])
        elif keep:
            got_b.append(np.full(len(row), tz_comp[zm, ze], np.int32))
    out.sp_index, out.sp_alive = sp_here, sp_ok
    if not got_m:
        return None
    mentor = np.concatenate(got_m)
    row = np.concatenate(got_r)
    base = np.concatenate(got_b) if keep else None
    if slot_filter is not None and len(mentor):
        mentee = ch[row]
        if s.slot_codes is not None:
            ok = s.slot_codes.passes(mentor, ch, row)
        else:
            ok = np.asarray(
                slot_filter(
                    [enc.mentor_ids[i] for i in mentor.tolist()], [enc.mentee_ids[i] for i in mentee.tolist()]
                ),
                dtype=bool,
            )
        out.schedule_e = np.bincount(mentee[~ok], minlength=n_e)
        out.schedule_m = np.bincount(mentor[~ok], minlength=n_m)
        if len(sp_key):
            out.sp_failed = np.nonzero(np.isin(sp_key, mentee[~ok].astype(np.int64) * n_m + mentor[~ok]))[0]
        mentor, row = mentor[ok], row[ok]
        base = base[ok] if base is not None else None
    return mentor, row, base


def _chunk_scores(
    s: _Shared,
    cx: _ChunkContext,
    ch: np.ndarray,
    out: _ChunkOut,
    mentor: np.ndarray,
    row: np.ndarray,
    base: np.ndarray | None,
) -> None:
    """Bounds, exact scores and the best K of the chunk's pairs, into ``out``."""
    # Long on purpose: the two pruning stages, the exact scores and the sort share the same arrays.
    arr, program, avail = s.arr, s.program, s.avail
    keep, pin_keys, prefer_keys = s.keep, s.pin_keys, s.prefer_keys
    n_m, n_e, m_zone, m_avail64 = s.n_m, s.n_e, s.m_zone, s.m_avail64
    tables, lead, av_lo = s.bounds.tables, s.bounds.lead, s.bounds.av_lo
    av_hi, pref_e, pref_hi = s.bounds.av_hi, s.bounds.pref_e, s.bounds.pref_hi
    rest_lo, rest_hi, av_table = s.bounds.rest_lo, s.bounds.rest_hi, s.bounds.av_table
    pref_table = s.bounds.pref_table
    ze = cx.ze
    ch_cls = cx.local_class[avail.mentee_class[ch]]
    e_off = {name: t[0][ch] for name, t in tables.tables.items()} if tables is not None else {}
    out.n_alive = len(mentor)
    total = np.bincount(row, minlength=len(ch))
    pinned = _member(pair_keys(mentor, ch[row], n_e), pin_keys) if len(pin_keys) else None
    part = None
    if keep and len(mentor):
        assert base is not None and tables is not None  # both exist whenever keep and pairs do
        # stage 1: goals exactly (one table look-up), the rest by its range for the mentee
        tau = _kth_best(row, base + rest_lo[ch][row], len(ch), keep)
        live = base >= (tau - rest_hi[ch])[row]
        if pinned is not None:
            live |= pinned
            pinned = pinned[live]
        mentor, row, base = mentor[live], row[live], base[live]
        out.n_stage1 = len(mentor)
        # stage 2: every component but availability and prefer exactly
        part = tables.partial(base, row, mentor, e_off, ch[row] if tables.per_pair else row, lead)
        tau = _kth_best(row, part + av_lo, len(ch), keep)
        live = part >= (tau - av_hi - pref_hi[ch])[row]
        if pinned is not None:
            live |= pinned
            pinned = pinned[live]
        mentor, row, part = mentor[live], row[live], part[live]
    if pinned is None:
        pinned = np.zeros(len(row), bool)
    out.n_scored = len(mentor)
    mentee = ch[row]
    # exact common minutes and scores of what is left
    cells_common = np.zeros(len(mentor), np.int32)
    mz = m_zone[mentor]
    for zm in np.unique(mz).tolist():
        sel = np.nonzero(mz == zm)[0]
        assert m_avail64 is not None  # there are mentors here
        cells_common[sel] = _popcount_rows(
            m_avail64[avail.mentor_class[mentor[sel]]], cx.e_avail64[zm][ch_cls[row[sel]]]
        )
    prefer = np.zeros(len(mentor), np.int32)
    asks = np.nonzero(pref_e[mentee] > 0)[0]  # only these mentees have a request either way
    if len(asks):
        keys = pair_keys(mentor[asks], mentee[asks], n_e)
        prefer[asks] = _member(keys, prefer_keys).astype(np.int32) + _member(-1 - keys, prefer_keys)
    comps = None
    if part is not None:
        score = part + av_table[cells_common] + pref_table[prefer]
    else:
        comps = integer_components(
            program,
            fractions(
                arr, program, mentor, mentee, cells_common * avail.res, avail.mean_hours[mz, ze], prefer
            ),
        )
        score = comps.sum(axis=1, dtype=np.int32)
    # best first within each mentee, pins first of all, then by mentor index (one int64 key)
    top = int(score.max(initial=0)) + 1
    sort_key = ((row.astype(np.int64) * 2 + ~pinned) * top + (top - 1 - score)) * n_m + mentor
    srt = np.argsort(sort_key)
    if keep:
        per_row = np.bincount(row, minlength=len(ch))
        rank = np.arange(len(srt)) - np.repeat(np.cumsum(per_row) - per_row, per_row)
        srt = srt[(rank < keep) | pinned[srt]]
    mentor, row, mentee, cells_common, score, prefer, mz = (
        mentor[srt],
        row[srt],
        mentee[srt],
        cells_common[srt],
        score[srt],
        prefer[srt],
        mz[srt],
    )
    if comps is None:
        comps = integer_components(
            program,
            fractions(
                arr, program, mentor, mentee, cells_common * avail.res, avail.mean_hours[mz, ze], prefer
            ),
        )
        if not np.array_equal(comps.sum(axis=1, dtype=np.int32), score):
            raise AssertionError("block scores differ from matcher.score")  # a bug, never data
    else:
        comps = comps[srt]
    if keep:
        out.dropped = (total - np.bincount(row, minlength=len(ch))).astype(np.int32)
    out.part = (mentor, mentee.astype(np.int32), score, comps, cells_common * avail.res)


def _zone_context(
    avail: AvailabilityModel,
    ze: int,
    zone_starts: Sequence[np.ndarray | np.bool_],
    m_zone: np.ndarray,
    e_zone: np.ndarray,
    sp_e: np.ndarray,
) -> tuple[_ChunkContext, int, int]:
    """What the chunks of mentee zone ``ze`` share: per mentor zone that can overlap it, the
    feasibility of availability patterns and the mentors sorted by pattern; with the number of
    live zone pairs and of pattern pairs (for the stats)."""
    n_m, n_z = len(m_zone), len(avail.zones)
    live = patterns = 0
    e_classes = np.nonzero(avail.mentee_zone == ze)[0]
    local_class = np.full(len(avail.mentee_zone), -1, np.int64)
    local_class[e_classes] = np.arange(len(e_classes))
    zp: dict[int, _ZonePair] = {}
    e_avail64: dict[int, np.ndarray] = {}
    for zm in range(n_z):
        a0, a1 = avail.zone_slices[zm]
        if a1 == a0:
            continue
        robust_starts = avail.robust(avail.mentee_starts[e_classes], zm, ze)
        cells = zone_starts[zm] & robust_starts.any(axis=0)
        if not cells.any():
            continue  # the zone pair never overlaps: all its pairs fail the time rule
        live += 1
        assert avail.mentor_start_grid is not None  # this zone has mentors
        m_pat, m_pid = _packed_patterns(avail.mentor_start_grid[a0:a1][:, cells])
        e_pat, e_pid = _packed_patterns(robust_starts[:, cells])
        patterns += len(m_pat) * len(e_pat)
        feasible = np.empty((len(e_pat), len(m_pat)), dtype=bool)
        m_pat_t = np.ascontiguousarray(m_pat.T)
        for b0 in range(0, len(e_pat), PATTERN_BLOCK):
            feasible[b0 : b0 + PATTERN_BLOCK] = (e_pat[b0 : b0 + PATTERN_BLOCK] @ m_pat_t) > 0.5
        mentors = np.nonzero(m_zone == zm)[0]
        pat = m_pid[avail.mentor_class[mentors] - a0]
        srt = np.argsort(pat, kind="stable")
        size = np.bincount(pat, minlength=len(m_pat))
        mentor_pattern = np.zeros(n_m, np.int64)
        mentor_pattern[mentors] = pat
        zp[zm] = _ZonePair(
            feasible, e_pid, mentor_pattern, mentors[srt].astype(np.int32), np.cumsum(size) - size, size
        )
        e_avail64[zm] = _pack64(avail.robust(avail.mentee_grid[e_classes], zm, ze))
    for z in zp.values():
        z.pos = np.zeros(n_m, np.int64)
        z.pos[z.perm] = np.arange(len(z.perm))
        z.single = bool((z.size == 1).all())
    sp_zone = np.nonzero(e_zone[sp_e] == ze)[0]
    ctx = _ChunkContext(ze, zp, e_avail64, local_class, sp_zone)
    return ctx, live, patterns


def _move_sparse_counts(
    arr: CohortArrays,
    pins: Sequence[tuple[int, int]],
    cat_rule: np.ndarray,
    e_cat: np.ndarray,
    m_cat: np.ndarray,
    sp_key: np.ndarray,
    sp_flags: np.ndarray,
    sp_alive: np.ndarray,
    sp_sched_fail: np.ndarray,
    ex_e: np.ndarray,
    ex_m: np.ndarray,
) -> dict[tuple[int, int], int]:
    """Count each pair of a sparse rule under the first rule it breaks in the catalogue's order
    (the chunks counted it under its categorical or time rule, or as alive), in ``ex_e`` and
    ``ex_m``; returns the pins that break a rule: (mentor, mentee) -> the rule's column."""
    n_m = len(arr.mentors)
    sp_e, sp_m = sp_key // max(1, n_m), sp_key % max(1, n_m)
    sp_sparse = sp_flags != 0
    # sparse pairs: counted above under their categorical / time rule (or as alive); move them
    ns_rule = cat_rule[e_cat[sp_e], m_cat[sp_m]].astype(np.int64) if len(sp_key) else np.zeros(0, np.int64)
    ns_rule[(ns_rule < 0) & ~sp_alive] = TIME
    true_rule = ns_rule.copy()
    for r in sorted((REPORTING, AVOID, FORBID, CAPACITY, SELF), reverse=True):  # the earliest wins
        hit = (arr.capacity[sp_m] <= 0) if r == CAPACITY else (sp_flags & (1 << r)) != 0
        true_rule[hit & (sp_flags != 0) if r == CAPACITY else hit] = r
    moved = sp_sparse & (ns_rule >= 0)
    np.add.at(ex_e, (sp_e[moved], ns_rule[moved]), -1)
    np.add.at(ex_m, (sp_m[moved], ns_rule[moved]), -1)
    np.add.at(ex_e, (sp_e[sp_sparse], true_rule[sp_sparse]), 1)
    np.add.at(ex_m, (sp_m[sp_sparse], true_rule[sp_sparse]), 1)
    broken: dict[tuple[int, int], int] = {}
    for m, e in pins:
        k = int(np.searchsorted(sp_key, int(e) * max(1, n_m) + int(m)))
        if true_rule[k] >= 0:
            broken[(int(m), int(e))] = int(true_rule[k])
        elif sp_sched_fail[k]:
            broken[(int(m), int(e))] = SCHEDULE
    return broken


def _category_counts(
    arr: CohortArrays, program: Program
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Categories and what the categorical rules exclude: (mentor category, mentee category, first
    failing rule per category pair, exclusions per mentee and per mentor by rule column, pairs
    passing every categorical rule per mentee and per mentor)."""
    n_m, n_e, n_r = len(arr.mentors), len(arr.mentees), len(PAIR_RULES)
    m_cat, e_cat, cat_rule = _categories(arr, program)
    cat_pass = cat_rule < 0
    m_cat_n = np.bincount(m_cat, minlength=cat_rule.shape[1]).astype(np.int64)
    e_cat_n = np.bincount(e_cat, minlength=cat_rule.shape[0]).astype(np.int64)
    ex_e = np.zeros((n_e, n_r), dtype=np.int64)
    ex_m = np.zeros((n_m, n_r), dtype=np.int64)
    for rule in (CAPACITY, DEPARTMENT, LEVEL, LANGUAGE):
        hit = cat_rule == rule
        ex_e[:, rule] = (hit.astype(np.int64) @ m_cat_n)[e_cat]
        ex_m[:, rule] = (e_cat_n @ hit.astype(np.int64))[m_cat]
    pass_e = (cat_pass.astype(np.int64) @ m_cat_n)[e_cat]
    pass_m = (e_cat_n @ cat_pass.astype(np.int64))[m_cat]
    return m_cat, e_cat, cat_rule, ex_e, ex_m, pass_e, pass_m


def _slot_codes(slot_filter: object, enc: Encoder) -> _SlotCodes | None:
    return _SlotCodes.of(slot_filter, enc) if isinstance(slot_filter, SignatureSlotFilter) else None


def block_candidates(
    arr: CohortArrays,
    program: Program,
    avail: AvailabilityModel,
    sparse: Mapping[str, tuple[np.ndarray, np.ndarray]],
    keep: int,
    pins: Sequence[tuple[int, int]],
    pin_keys: np.ndarray,
    prefer_keys: np.ndarray,
    slot_filter: Callable[[Sequence[PersonId], Sequence[PersonId]], object] | None,
    threads: int = 1,
) -> BlockResult:
    """The candidate set of ``matcher.candidates.build_candidates``, computed by blocks.

    Long on purpose: the named steps it calls share the block arrays and the per-rule counts; the
    body is their sequence (split from 412 lines; the formatter's line wrapping adds the rest).
    """
    # The steps: categorical rules counted per category (_category_counts); the special pairs
    # (_special_pairs); score bounds (_score_bounds); then per mentee zone (_zone_context), chunks of
    # mentees (_run_chunk: _chunk_pairs, _chunk_scores), and the sparse rules' counts moved to the
    # first rule each pair breaks (_move_sparse_counts).
    enc = arr.encoder
    n_m, n_e = len(arr.mentors), len(arr.mentees)
    n_z = len(avail.zones)
    m_zone = avail.mentor_zone[avail.mentor_class] if n_m else np.zeros(0, np.int64)
    e_zone = avail.mentee_zone[avail.mentee_class] if n_e else np.zeros(0, np.int64)
    m_cat, e_cat, cat_rule, ex_e, ex_m, pass_e, pass_m = _category_counts(arr, program)
    cat_pass = cat_rule < 0
    alive_e = np.zeros(n_e, np.int64)  # pairs passing categorical rules and time, before sparse rules
    alive_m = np.zeros(n_m, np.int64)

    sp_key, sp_flags = _special_pairs(arr, sparse, pins)
    sp_e, sp_m = sp_key // max(1, n_m), sp_key % max(1, n_m)
    sp_sparse = sp_flags != 0
    sp_alive = np.zeros(len(sp_key), bool)  # passes categorical rules and time
    sp_sched_fail = np.zeros(len(sp_key), bool)

    # mentees in chunks, zone by zone (sorted by class inside the zone)
    chunk = max(1, CHUNK_PAIRS // max(1, n_m))
    order = np.lexsort((avail.mentee_class, e_zone)) if n_e else np.zeros(0, np.int64)
    zone_bounds = np.searchsorted(e_zone[order], np.arange(n_z + 1))
    m_avail64 = _pack64(avail.mentor_grid) if avail.mentor_grid is not None and n_m else None

    parts: list[tuple[np.ndarray, ...]] = []
    dropped = np.zeros(n_e, dtype=np.int32)
    n_patterns = 0
    n_alive = n_scored = n_stage1 = 0
    live_zone_pairs = 0
    zone_starts: list[np.ndarray | np.bool_] = []
    if n_m:
        assert avail.mentor_start_grid is not None  # built whenever there are mentors
        zone_starts = [avail.mentor_start_grid[a0:a1].any(axis=0) for a0, a1 in avail.zone_slices]
    n_ce = cat_rule.shape[0]
    cat_pass_flat = np.ascontiguousarray(cat_pass.T).ravel()  # [mentor category * n_ce + mentee category]
    m_cat32 = (m_cat * n_ce).astype(np.int32)
    b = _score_bounds(arr, program, avail, prefer_keys)
    shared = _Shared(
        arr,
        program,
        avail,
        enc,
        keep,
        slot_filter,
        pin_keys,
        prefer_keys,
        n_m,
        n_e,
        m_zone,
        e_cat,
        m_cat32,
        cat_pass_flat,
        sp_key,
        sp_e,
        sp_m,
        sp_sparse,
        m_avail64,
        b,
        _slot_codes(slot_filter, enc),
    )

    pool = ThreadPoolExecutor(threads) if threads > 1 and n_e > chunk else None
    for ze in range(n_z):
        e_members = order[zone_bounds[ze] : zone_bounds[ze + 1]]
        if len(e_members) == 0:
            continue
        ctx, live, patterns = _zone_context(avail, ze, zone_starts, m_zone, e_zone, sp_e)
        live_zone_pairs += live
        n_patterns += patterns
        chunks = [e_members[c0 : c0 + chunk] for c0 in range(0, len(e_members), chunk)]
        work = partial(_run_chunk, shared, ctx)
        outs = pool.map(work, chunks) if pool is not None else map(work, chunks)
        for ch, out in zip(chunks, outs, strict=True):
            alive_e[ch] += out.alive_rows
            alive_m += out.alive_mentors
            sp_alive[out.sp_index] = out.sp_alive
            sp_sched_fail[out.sp_failed] = True
            ex_e[:, SCHEDULE] += out.schedule_e
            ex_m[:, SCHEDULE] += out.schedule_m
            n_alive += out.n_alive
            n_scored += out.n_scored
            n_stage1 += out.n_stage1
            if out.part is not None:
                if keep:
                    assert out.dropped is not None  # set by run_chunk whenever keep
                    dropped[ch] = out.dropped
                parts.append(out.part)
    if pool is not None:
        pool.shutdown()

    ex_e[:, TIME] = pass_e - alive_e
    ex_m[:, TIME] = pass_m - alive_m
    broken = _move_sparse_counts(
        arr, pins, cat_rule, e_cat, m_cat, sp_key, sp_flags, sp_alive, sp_sched_fail, ex_e, ex_m
    )

    def cat(k: int, dtype: type, width: int = 0) -> np.ndarray:
        if not parts:
            return np.zeros((0, width) if width else 0, dtype=dtype)
        return np.concatenate([p[k] for p in parts]).astype(dtype, copy=False)

    mentee_all = cat(1, np.int32)
    final = np.argsort(mentee_all, kind="stable")
    return BlockResult(
        mentor=cat(0, np.int32)[final],
        mentee=mentee_all[final],
        score=cat(2, np.int32)[final],
        components=cat(3, np.int32, len(COMPONENTS))[final],
        common=cat(4, np.int32)[final],
        excluded_by_mentee=ex_e.astype(np.int32),
        excluded_by_mentor=ex_m,
        dropped=dropped,
        broken_pins=broken,
        stats={
            "method": "blocks",
            "live_zone_pairs": live_zone_pairs,
            "pattern_pairs": int(n_patterns),
            "passing_pairs": int(n_alive),
            "bounded_pairs": int(n_stage1),
            "scored_pairs": int(n_scored),
        },
    )
