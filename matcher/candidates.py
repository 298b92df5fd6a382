"""Candidates: every mentor/mentee pair that passes the hard rules, scored, vectorised.

The hard rules are named units (``RULES``), checked in order on blocks of mentees x all mentors;
a pair excluded by several rules is counted against the first one, so that per-mentee exclusion
counts add up to the number of possible mentors (that is what ``unmatched.csv`` summarises).

"No two people mentoring each other" is not a pair filter: both directions stay candidates and
the solver forbids choosing both (see ``matcher.solve``).

At large sizes only the best ``K`` candidates of each mentee are kept (``matching.
max_candidates_per_mentee``, or automatically above ``matching.auto_limit_pairs`` possible pairs).
What that costs is stated: the optimum is then over the kept candidates, and ``dropped`` counts
the candidates left out (pins are always kept). Measured on the generated 20,000-person cohort
(5,000 mentors, K = 50): ``benchmarks/bench_match.py`` solves over every candidate too and prints
both objectives.

Two paths compute the same ``CandidateSet``: ``method="pairs"`` applies ``RULES`` to blocks of
mentees x all mentors (the reference definition, O(mentors x mentees) work and memory per block);
``method="blocks"`` (the default, ``matcher.blocks``) decides the rules per category, sparse pair
and availability pattern, and scores exactly only the pairs that can still enter the best K.
``tests/test_match_blocks.py`` checks that both agree bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from cohort.errors import InputError, Problem
from cohort.model import Cohort, PersonId
from cohort.program import Program
from cohort.rules import PAIR_RULES, rule
from matcher.availability import AvailabilityModel, build_availability
from matcher.encode import CohortArrays, Encoder, encode, pair_keys
from matcher.model import COMPONENTS, Candidate
from matcher.score import fractions, integer_components
from matcher.slot_filter import SignatureSlotFilter

SlotFilter = Callable[[Sequence[PersonId], Sequence[PersonId]], "np.ndarray | Sequence[bool]"]


BLOCK_PAIRS = 12_000_000  # mentee block size x mentors evaluated at once (big blocks: BLAS efficiency)
TIME_CELLS = 12_000_000  # mentee classes x mentor classes per availability sub-chunk


@dataclass(frozen=True)
class _Context:
    arr: CohortArrays
    program: Program
    avail: AvailabilityModel
    sparse: Mapping[str, tuple[np.ndarray, np.ndarray]]  # rule -> (mentee idx, mentor idx) sorted


@dataclass
class _Block:
    lo: int
    hi: int
    common: np.ndarray | None = None


@dataclass(frozen=True)
class HardRule:
    """A pair rule of the catalogue (``cohort.rules``) with its vectorised test: ``check`` returns a
    (block mentees, mentors) mask of pairs that pass, or None when the rule excludes nothing in this
    block (it is off, or has no pairs there)."""

    name: str
    check: Callable[[_Context, _Block], np.ndarray | None]

    @property
    def label(self) -> str:
        """The rule's plain words (``cohort.rules``)."""
        return rule(self.name).words


def _sparse_mask(ctx: _Context, blk: _Block, rule: str) -> np.ndarray | None:
    mentee, mentor = ctx.sparse[rule]
    lo, hi = np.searchsorted(mentee, [blk.lo, blk.hi])
    if hi == lo:
        return None
    mask = np.ones((blk.hi - blk.lo, len(ctx.arr.mentors)), dtype=bool)
    mask[mentee[lo:hi] - blk.lo, mentor[lo:hi]] = False
    return mask


def rule_self(ctx: _Context, blk: _Block) -> np.ndarray:
    """Hard: ``self`` (``cohort.rules``)."""
    return ctx.arr.mentee_person[blk.lo : blk.hi, None] != ctx.arr.mentor_person[None, :]


def rule_capacity(ctx: _Context, blk: _Block) -> np.ndarray | None:
    """Hard: ``capacity`` (``cohort.rules``)."""
    if (ctx.arr.capacity > 0).all():
        return None
    return np.broadcast_to(ctx.arr.capacity[None, :] > 0, (blk.hi - blk.lo, len(ctx.arr.mentors)))


def rule_forbid(ctx: _Context, blk: _Block) -> np.ndarray | None:
    """Hard: ``forbid`` (``cohort.rules``)."""
    return _sparse_mask(ctx, blk, "forbid")


def rule_avoid(ctx: _Context, blk: _Block) -> np.ndarray | None:
    """Hard: ``avoid`` (``cohort.rules``)."""
    return _sparse_mask(ctx, blk, "avoid")


def rule_reporting_line(ctx: _Context, blk: _Block) -> np.ndarray | None:
    """Hard: ``reporting_line`` (``cohort.rules``)."""
    return _sparse_mask(ctx, blk, "reporting_line")


def rule_department(ctx: _Context, blk: _Block) -> np.ndarray | None:
    """Hard: ``department`` (``cohort.rules``)."""
    if ctx.program.rules.same_department != "forbid":
        return None
    e = ctx.arr.mentee_dept[blk.lo : blk.hi, None]
    return (e < 0) | (e != ctx.arr.mentor_dept[None, :])


def rule_level_gap(ctx: _Context, blk: _Block) -> np.ndarray:
    """Hard: ``level_gap`` (``cohort.rules``)."""
    a = ctx.arr
    gap = a.mentor_level[None, :] - a.mentee_level[blk.lo : blk.hi, None]
    known = a.mentor_level_known[None, :] & a.mentee_level_known[blk.lo : blk.hi, None]
    return ~known | (gap >= ctx.program.rules.min_level_gap)


def rule_language(ctx: _Context, blk: _Block) -> np.ndarray | None:
    """Hard: ``language`` (``cohort.rules``)."""
    if not ctx.program.rules.common_language:
        return None
    e = ctx.arr.mentee_lang[blk.lo : blk.hi]
    m = ctx.arr.mentor_lang
    return ((e[:, None, :] & m[None, :, :]) != 0).any(axis=2)


def rule_common_time(ctx: _Context, blk: _Block) -> np.ndarray:
    """Hard: ``time`` (``cohort.rules``) (see ``matcher.availability``)."""
    av = ctx.avail
    cls = av.mentee_class[blk.lo : blk.hi]
    uniq, inv = np.unique(cls, return_inverse=True)
    n_m = len(av.mentor_zone)
    step = max(1, TIME_CELLS // max(1, n_m))
    feas = np.zeros((len(uniq), n_m), dtype=bool)
    common = np.zeros((len(uniq), n_m), dtype=np.int32)
    for s in range(0, len(uniq), step):
        feas[s : s + step], common[s : s + step] = av.pair_time(uniq[s : s + step])
    mc = av.mentor_class
    blk.common = common[inv][:, mc]
    return feas[inv][:, mc]


_CHECKS: dict[str, Callable[[_Context, _Block], np.ndarray | None]] = {
    "self": rule_self,
    "capacity": rule_capacity,
    "forbid": rule_forbid,
    "avoid": rule_avoid,
    "reporting_line": rule_reporting_line,
    "department": rule_department,
    "level_gap": rule_level_gap,
    "language": rule_language,
    "time": rule_common_time,
}
SCHEDULE_RULE = "schedule"  # the scheduler's slot_filter, applied to the survivors
# the catalogue's pair rules in its order (the first failing rule is the one counted)
RULES: tuple[HardRule, ...] = tuple(HardRule(n, _CHECKS[n]) for n in PAIR_RULES if n != SCHEDULE_RULE)
RULE_NAMES: tuple[str, ...] = PAIR_RULES  # columns of the exclusion counts


@dataclass(frozen=True, eq=False)
class CandidateSet:
    """Every candidate pair with its integer score, plus why other pairs were excluded.

    Internal arrays (index-based) are for the matcher's modules; outside code uses the id-based
    methods. ``excluded_by_mentee[j, r]`` counts mentors excluded for mentee ``j`` by rule
    ``RULE_NAMES[r]`` (first failing rule); ``dropped_by_mentee[j]`` counts candidates left out by
    the best-K limit.
    """

    program: Program
    arrays: CohortArrays
    mentor: np.ndarray
    mentee: np.ndarray
    score: np.ndarray
    components: np.ndarray  # (n, len(COMPONENTS))
    common_minutes: np.ndarray
    excluded_by_mentee: np.ndarray
    excluded_by_mentor: np.ndarray
    dropped_by_mentee: np.ndarray
    kept_per_mentee: int  # 0: all kept
    pins: tuple[tuple[PersonId, PersonId], ...] = ()
    stats: Mapping[str, object] = field(default_factory=dict)

    @property
    def encoder(self) -> Encoder:
        return self.arrays.encoder

    def __len__(self) -> int:
        return len(self.mentor)

    @property
    def dropped(self) -> int:
        return int(self.dropped_by_mentee.sum())

    def candidate(self, k: int) -> Candidate:
        enc = self.encoder
        return Candidate(
            enc.mentor_ids[self.mentor[k]],
            enc.mentee_ids[self.mentee[k]],
            int(self.score[k]),
            dict(zip(COMPONENTS, (int(c) for c in self.components[k]), strict=False)),
        )

    def candidates(self) -> tuple[Candidate, ...]:
        """All candidates as domain values (mentee order, best first)."""
        return tuple(self.candidate(k) for k in range(len(self)))

    def rows(self) -> Iterable[tuple[PersonId, PersonId, int]]:
        """(mentor_id, mentee_id, score) per candidate, cheaply (for candidates.csv)."""
        m_ids, e_ids = self.encoder.mentor_ids, self.encoder.mentee_ids
        for m, e, s in zip(self.mentor.tolist(), self.mentee.tolist(), self.score.tolist(), strict=False):
            yield m_ids[m], e_ids[e], s

    def _mentee_range(self, e: int) -> tuple[int, int]:
        # search values of the array's own dtype: otherwise numpy converts the whole array per call
        lo, hi = np.searchsorted(self.mentee, np.array([e, e + 1], dtype=self.mentee.dtype))
        return int(lo), int(hi)

    def index_of(self, mentor_id: PersonId, mentee_id: PersonId) -> int | None:
        """Position of the pair among the candidates, or None when it is not a candidate."""
        m, e = self.encoder.mentor(mentor_id), self.encoder.mentee(mentee_id)
        if m is None or e is None:
            return None
        lo, hi = self._mentee_range(e)
        hit = np.nonzero(self.mentor[lo:hi] == m)[0]
        return int(lo + hit[0]) if len(hit) else None

    def of_mentee(self, mentee_id: PersonId) -> np.ndarray:
        e = self.encoder.mentee(mentee_id)
        if e is None:
            return np.zeros(0, dtype=np.int64)
        lo, hi = self._mentee_range(e)
        return np.arange(lo, hi)

    def of_mentor(self, mentor_id: PersonId) -> np.ndarray:
        m = self.encoder.mentor(mentor_id)
        return np.zeros(0, dtype=np.int64) if m is None else np.nonzero(self.mentor == m)[0]

    def exclusions(self, person_id: PersonId, role: str) -> dict[str, int]:
        """Why possible partners were excluded: {rule name: count}, zero counts omitted."""
        if role == "mentee":
            i = self.encoder.mentee(person_id)
            row = self.excluded_by_mentee[i] if i is not None else None
        else:
            i = self.encoder.mentor(person_id)
            row = self.excluded_by_mentor[i] if i is not None else None
        if row is None:
            return {}
        return {name: int(c) for name, c in zip(RULE_NAMES, row, strict=False) if c}


def _pairs_both_ways(
    arr: CohortArrays, pairs: Iterable[tuple[PersonId, PersonId]]
) -> tuple[np.ndarray, np.ndarray]:
    """(mentee idx, mentor idx) arrays, sorted by mentee, of each unordered pair in any direction."""
    enc = arr.encoder
    out: set[tuple[int, int]] = set()
    for a, b in pairs:
        for mentor, mentee in ((a, b), (b, a)):
            m, e = enc.mentor(mentor), enc.mentee(mentee)
            if m is not None and e is not None:
                out.add((e, m))
    if not out:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    data = np.array(sorted(out), dtype=np.int64)
    return data[:, 0], data[:, 1]


def reporting_pairs(cohort: Cohort, depth: int) -> list[tuple[PersonId, PersonId]]:
    """(manager, report) for every participant and each of their managers up to ``depth`` levels."""
    out = []
    for p in cohort.people:
        seen = {p.id}
        boss = p.manager_id
        for _ in range(depth):
            if boss is None or boss in seen:
                break
            seen.add(boss)
            out.append((boss, p.id))
            boss = cohort[boss].manager_id if boss in cohort else None
    return out


def _check_pin_ids(cohort: Cohort, program: Program) -> list[Problem]:
    problems = []
    for key, pairs in (
        ("matching.pins", program.matching.pins),
        ("matching.forbid", program.matching.forbid),
    ):
        for pair in pairs:
            for who in pair:
                if who not in cohort:
                    problems.append(
                        Problem(
                            "program.toml",
                            0,
                            key,
                            f"unknown id {who!r} in {pair!r}",
                            "use ids from the participants file",
                        )
                    )
    seen_mentee: dict[str, str] = {}
    for mentor, mentee in program.matching.pins:
        if mentor in cohort and not cohort[mentor].is_mentor:
            problems.append(
                Problem(
                    "program.toml",
                    0,
                    "matching.pins",
                    f"pin {[mentor, mentee]!r}: {mentor!r} is not a mentor (role {cohort[mentor].role})",
                    "write pins as [mentor_id, mentee_id]",
                )
            )
        if mentee in cohort and not cohort[mentee].is_mentee:
            problems.append(
                Problem(
                    "program.toml",
                    0,
                    "matching.pins",
                    f"pin {[mentor, mentee]!r}: {mentee!r} is not a mentee (role {cohort[mentee].role})",
                    "write pins as [mentor_id, mentee_id]",
                )
            )
        if mentee in seen_mentee:
            problems.append(
                Problem(
                    "program.toml",
                    0,
                    "matching.pins",
                    f"{mentee!r} is pinned to both {seen_mentee[mentee]!r} and {mentor!r}",
                    "a mentee has one mentor per cycle",
                )
            )
        seen_mentee[mentee] = mentor
        if [mentee, mentor] in program.matching.pins:
            problems.append(
                Problem(
                    "program.toml",
                    0,
                    "matching.pins",
                    f"{mentor!r} and {mentee!r} are pinned to mentor each other",
                    "keep one direction",
                )
            )
    return problems


def keep_limit(program: Program, n_mentors: int, n_mentees: int) -> int:
    """How many candidates per mentee to keep (0: all)."""
    if program.matching.max_candidates_per_mentee:
        return program.matching.max_candidates_per_mentee
    if n_mentors * n_mentees > program.matching.auto_limit_pairs:
        return program.matching.auto_candidates_per_mentee
    return 0


def build_candidates(
    cohort: Cohort,
    program: Program,
    *,
    slot_filter: SlotFilter | None = None,
    mentor_capacity: Mapping[PersonId, int] | None = None,
    method: str = "blocks",
    protect: Iterable[tuple[PersonId, PersonId]] = (),
) -> CandidateSet:
    """Every pair passing the hard rules, scored; raises ``InputError`` for impossible pins.

    ``method="blocks"`` (``matcher.blocks``) decides rules per block and scores exactly only the
    pairs that can enter the best K; ``method="pairs"`` checks every pair. Both give the same
    ``CandidateSet`` (tested); "pairs" is the reference definition.
    ``protect``: (mentor, mentee) pairs that survive the best-K limit when they pass every rule
    (like pins, they take a place among the mentee's K ahead of the others), but are neither
    forced nor an error when they break a rule (e.g. pairs that may continue from an earlier
    cycle); ids not in the cohort are ignored.
    """
    if method not in ("blocks", "pairs"):
        raise ValueError(f"unknown method {method!r}")
    problems = _check_pin_ids(cohort, program)
    if problems:
        raise InputError(problems)
    arr = encode(cohort, program, mentor_capacity)
    enc = arr.encoder
    avail = build_availability(list(arr.mentors), list(arr.mentees), program)
    ctx = _context(cohort, program, arr, avail)
    prefer_keys = _prefer_keys(cohort, arr)
    pins = [(enc.mentor_indices([m])[0], enc.mentee_indices([e])[0]) for m, e in program.matching.pins]
    program_pins = set(pins)
    pins += [
        (mi, ei)
        for mi, ei in ((enc.mentor(m), enc.mentee(e)) for m, e in protect)
        if mi is not None and ei is not None
    ]
    pin_keys = np.unique(
        pair_keys(
            np.array([m for m, _ in pins], dtype=np.int64),
            np.array([e for _, e in pins], dtype=np.int64),
            len(arr.mentees),
        )
    )
    pin_broken: dict[tuple[int, int], str] = {}

    n_m, n_e = len(arr.mentors), len(arr.mentees)
    keep = keep_limit(program, n_m, n_e)
    extra_stats: dict[str, object] = {"method": method}
    if method == "blocks":
        from matcher.blocks import block_candidates

        br = block_candidates(
            arr,
            program,
            avail,
            ctx.sparse,
            keep,
            pins,
            pin_keys,
            prefer_keys,
            slot_filter,
            # a filter answering by signature is read-only here (thread-safe); a plain one may not be
            threads=program.matching.workers
            if slot_filter is None or isinstance(slot_filter, SignatureSlotFilter)
            else 1,
        )
        parts: list[tuple[np.ndarray, ...]] = [(br.mentor, br.mentee, br.score, br.components, br.common)]
        ex_e, ex_m, dropped = br.excluded_by_mentee, br.excluded_by_mentor, br.dropped
        pin_broken = {
            pair: rule(RULE_NAMES[r]).words for pair, r in br.broken_pins.items() if pair in program_pins
        }
        extra_stats.update(br.stats)
    else:
        exact = _exact_pairs(ctx, slot_filter, keep, pins, pin_keys, prefer_keys)
        parts, ex_e, ex_m, dropped, pin_broken = exact

    problems = _pin_problems(arr, program, pins, program_pins, pin_broken)
    if problems:
        raise InputError(problems)

    def cat(k: int, dtype: type, width: int = 0) -> np.ndarray:
        if not parts:
            return np.zeros((0, width) if width else 0, dtype=dtype)
        return np.concatenate([p[k] for p in parts])

    return CandidateSet(
        program=program,
        arrays=arr,
        mentor=cat(0, np.int32),
        mentee=cat(1, np.int32),
        score=cat(2, np.int32),
        components=cat(3, np.int32, len(COMPONENTS)),
        common_minutes=cat(4, np.int32),
        excluded_by_mentee=ex_e,
        excluded_by_mentor=ex_m.astype(np.int32),
        dropped_by_mentee=dropped,
        kept_per_mentee=keep,
        pins=tuple((m, e) for m, e in program.matching.pins),
        stats={
            "grid_minutes": avail.res,
            "zones": len(avail.zones),
            "availability_classes": int(len(avail.mentor_zone) + len(avail.mentee_zone)),
            **extra_stats,
        },
    )


def _context(cohort: Cohort, program: Program, arr: CohortArrays, avail: AvailabilityModel) -> _Context:
    """The rules' shared inputs: arrays, availability and the sparse rules' pairs (both directions)."""
    avoid = [(p.id, q) for p in cohort.people for q in p.avoid]
    reporting = (
        reporting_pairs(cohort, program.rules.reporting_line_depth)
        if program.rules.reporting_line == "forbid"
        else []
    )
    ctx = _Context(
        arr,
        program,
        avail,
        {
            "forbid": _pairs_both_ways(arr, ((a, b) for a, b in program.matching.forbid)),
            "avoid": _pairs_both_ways(arr, avoid),
            "reporting_line": _pairs_both_ways(arr, reporting),
        },
    )
    return ctx


def _prefer_keys(cohort: Cohort, arr: CohortArrays) -> np.ndarray:
    """Pair keys of requests: ``key`` for a mentor's request, ``-1 - key`` for a mentee's."""
    prefer_keys = np.unique(
        np.concatenate(
            [
                pair_keys(
                    *_directed(arr, [(p.id, q) for p in cohort.people if p.is_mentor for q in p.prefer]),
                    len(arr.mentees),
                ),
                -1
                - pair_keys(
                    *_directed(arr, [(q, p.id) for p in cohort.people if p.is_mentee for q in p.prefer]),
                    len(arr.mentees),
                ),
            ]
        )
    )
    return prefer_keys


def _exact_pairs(
    ctx: _Context,
    slot_filter: SlotFilter | None,
    keep: int,
    pins: Sequence[tuple[int, int]],
    pin_keys: np.ndarray,
    prefer_keys: np.ndarray,
) -> tuple[list[tuple[np.ndarray, ...]], np.ndarray, np.ndarray, np.ndarray, dict[tuple[int, int], str]]:
    """The reference path: every rule of ``RULES`` on blocks of mentees x all mentors, then the
    slot filter, scores and the best-K limit. Returns (parts, excluded by mentee, excluded by
    mentor, dropped by mentee, broken pins -> the rule's words)."""
    arr, program, avail = ctx.arr, ctx.program, ctx.avail
    enc = arr.encoder
    n_m, n_e, n_r = len(arr.mentors), len(arr.mentees), len(RULE_NAMES)
    pin_broken: dict[tuple[int, int], str] = {}
    ex_e = np.zeros((n_e, n_r), dtype=np.int32)
    ex_m = np.zeros((n_m, n_r), dtype=np.int64)
    dropped = np.zeros(n_e, dtype=np.int32)
    parts: list[tuple[np.ndarray, ...]] = []
    block = max(1, BLOCK_PAIRS // max(1, n_m))
    for lo in range(0, n_e, block):
        blk = _Block(lo, min(n_e, lo + block))
        alive = np.ones((blk.hi - blk.lo, n_m), dtype=bool)
        for r, hard in enumerate(RULES):
            ok = hard.check(ctx, blk)
            if ok is None:  # the rule is off
                continue
            fail = alive & ~ok
            ex_e[blk.lo : blk.hi, r] = np.count_nonzero(fail, axis=1)
            ex_m[:, r] += np.count_nonzero(fail, axis=0)
            for m, e in pins:
                if blk.lo <= e < blk.hi and fail[e - blk.lo, m]:
                    pin_broken[(m, e)] = hard.label
            alive &= ok
        rows, mentor = np.nonzero(alive)
        mentee = rows + blk.lo
        common = blk.common[rows, mentor] if blk.common is not None else np.zeros(len(rows), np.int32)
        if slot_filter is not None and len(rows):
            ok = np.asarray(
                slot_filter(
                    [enc.mentor_ids[i] for i in mentor.tolist()],
                    [enc.mentee_ids[i] for i in mentee.tolist()],
                ),
                dtype=bool,
            )
            np.add.at(ex_e[:, n_r - 1], mentee[~ok], 1)
            np.add.at(ex_m[:, n_r - 1], mentor[~ok], 1)
            for m, e in pins:
                bad = (mentor == m) & (mentee == e) & ~ok
                if bad.any():
                    pin_broken[(m, e)] = rule(SCHEDULE_RULE).words
            mentor, mentee, common = mentor[ok], mentee[ok], common[ok]
        keys = pair_keys(mentor, mentee, n_e)
        prefer = np.isin(keys, prefer_keys).astype(np.int32) + np.isin(-1 - keys, prefer_keys)
        tz = avail.mean_hours[
            avail.mentor_zone[avail.mentor_class[mentor]], avail.mentee_zone[avail.mentee_class[mentee]]
        ]
        comps = integer_components(program, fractions(arr, program, mentor, mentee, common, tz, prefer))
        score = comps.sum(axis=1, dtype=np.int32)
        # best first within each mentee; pins first of all so they survive the limit (one int64 key)
        pinned = np.isin(keys, pin_keys)
        top = int(score.max(initial=0)) + 1
        sort_key = (
            ((mentee - blk.lo).astype(np.int64) * 2 + ~pinned) * top + (top - 1 - score)
        ) * n_m + mentor
        order = np.argsort(sort_key)
        mentor, mentee, common, comps, score = (
            mentor[order],
            mentee[order],
            common[order],
            comps[order],
            score[order],
        )
        if keep:
            first = np.searchsorted(mentee, mentee, side="left")
            kept = (np.arange(len(mentee)) - first) < keep
            kept |= pinned[order]
            dropped += np.bincount(mentee[~kept], minlength=n_e).astype(np.int32)
            mentor, mentee, common, comps, score = (
                mentor[kept],
                mentee[kept],
                common[kept],
                comps[kept],
                score[kept],
            )
        parts.append(
            (mentor.astype(np.int32), mentee.astype(np.int32), score, comps, common.astype(np.int32))
        )
    return parts, ex_e, ex_m, dropped, pin_broken


def _pin_problems(
    arr: CohortArrays,
    program: Program,
    pins: Sequence[tuple[int, int]],
    program_pins: set[tuple[int, int]],
    pin_broken: Mapping[tuple[int, int], str],
) -> list[Problem]:
    """The program's pins that break a hard rule or exceed a mentor's capacity."""
    enc = arr.encoder
    problems = [
        Problem(
            "program.toml",
            0,
            "matching.pins",
            f"pin [{enc.mentor_ids[m]!r}, {enc.mentee_ids[e]!r}] breaks a hard rule: {label}",
            "remove the pin or change the rule or the people's data",
        )
        for (m, e), label in sorted(pin_broken.items())
        if (m, e) in program_pins
    ]
    cap_used: dict[int, int] = {}
    for m, _ in pins[: len(program.matching.pins)]:
        cap_used[m] = cap_used.get(m, 0) + 1
    for m, used in sorted(cap_used.items()):
        if used > arr.capacity[m] and arr.capacity[m] > 0:
            problems.append(
                Problem(
                    "program.toml",
                    0,
                    "matching.pins",
                    f"{enc.mentor_ids[m]!r} has {used} pins but capacity {arr.capacity[m]}",
                    "raise the mentor's capacity or remove pins",
                )
            )
    return problems


def _directed(arr: CohortArrays, pairs: list[tuple[PersonId, PersonId]]) -> tuple[np.ndarray, np.ndarray]:
    """(mentor idx, mentee idx) arrays of (mentor_id, mentee_id) pairs, skipping impossible ones."""
    enc = arr.encoder
    got = [(enc.mentor(a), enc.mentee(b)) for a, b in pairs]
    got = [(m, e) for m, e in got if m is not None and e is not None]
    return (np.array([m for m, _ in got], dtype=np.int64), np.array([e for _, e in got], dtype=np.int64))
