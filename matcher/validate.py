"""An independent check of any set of pairs against the cohort and the program's hard rules.

Written without the matcher's code paths (no grids, no numpy, no candidate set): each pair goes
through the rule catalogue's predicates (``cohort.rules.PAIR_CHECKS``, plain Python per pair), and
the rules of the set of pairs (capacity counts, one mentor, mutual mentoring, pins) are counted
here, so that it can catch the solver's mistakes. Violations are named by the catalogue (scopes
"pair" and "matching"). Used by the tests and, through ``planner.validate.check_plan``, after
every solve.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from cohort.model import Cohort, PersonId
from cohort.program import Program
from cohort.rules import PAIR_CHECKS, PairContext, Violation, has_common_time, pair_context

__all__ = ["Violation", "check_matching", "check_pair", "has_common_time"]

# capacity is counted over the set of pairs (``check_matching``), which also covers a mentor
# without seats: one pair is already more than their capacity of 0
_PER_PAIR = tuple(r for r in PAIR_CHECKS if r.name != "capacity")


def check_pair(
    cohort: Cohort,
    program: Program,
    mentor_id: PersonId,
    mentee_id: PersonId,
    check_time: bool = True,
    *,
    context: PairContext | None = None,
) -> list[Violation]:
    """Every hard rule the single pair breaks (capacity and pins aside), in the catalogue's order;
    ``context``: the predicates' (``cohort.rules.pair_context``), built once by callers that check
    many pairs (its ``ended`` pairs add rule ``history``)."""
    if mentor_id not in cohort or mentee_id not in cohort:
        return [Violation("unknown", mentor_id, mentee_id, "unknown id")]
    mentor, mentee = cohort[mentor_id], cohort[mentee_id]
    out: list[Violation] = []
    if mentor.role not in ("mentor", "both"):
        out.append(Violation("role", mentor_id, mentee_id, f"{mentor_id} is not a mentor"))
    if mentee.role not in ("mentee", "both"):
        out.append(Violation("role", mentor_id, mentee_id, f"{mentee_id} is not a mentee"))
    ctx = context or pair_context(cohort, program)
    for r in _PER_PAIR:
        if r.name == "time" and not check_time:
            continue
        message = r.broken_by(mentor, mentee, ctx)
        if message:
            out.append(Violation(r.name, mentor_id, mentee_id, message))
    return out


def check_matching(
    cohort: Cohort,
    program: Program,
    pairs: Iterable[object],
    *,
    mentor_capacity: Mapping[PersonId, int] | None = None,
    check_time: bool = True,
    forbidden: Iterable[tuple[PersonId, PersonId]] = (),
    pins: Iterable[tuple[PersonId, PersonId]] | None = None,
) -> list[Violation]:
    """Named violations of ``pairs`` (objects with mentor_id/mentee_id, or (mentor, mentee) tuples).

    ``forbidden``: pairs ended in earlier cycles (either direction, rule ``history``); ``pins``: the
    pins that must be formed (default: the program's; a plan may give up an unplaceable pin).
    """
    got: list[tuple[PersonId, PersonId]] = [
        (p.mentor_id, p.mentee_id) if hasattr(p, "mentor_id") else tuple(p)  # type: ignore[attr-defined,misc,arg-type]
        for p in pairs
    ]
    out: list[Violation] = []
    ctx = pair_context(cohort, program, ended=forbidden, seats=mentor_capacity)
    for m, e in got:
        out.extend(check_pair(cohort, program, m, e, check_time, context=ctx))
    per_mentor = Counter(m for m, _ in got)
    for m, n in per_mentor.items():
        if m not in cohort:
            continue
        cap = ctx.seats_of(cohort[m])
        if n > cap:
            out.append(Violation("capacity", m, "", f"{n} mentees for a capacity of {cap}"))
    per_mentee = Counter(e for _, e in got)
    for e, n in per_mentee.items():
        if n > 1:
            out.append(Violation("one_mentor", "", e, f"{n} mentors"))
    pairset = set(got)
    for m, e in got:
        if (e, m) in pairset and m < e:
            out.append(Violation("mutual_mentoring", m, e, "they mentor each other"))
    for m, e in program.matching.pins if pins is None else pins:
        if (m, e) not in pairset:
            out.append(Violation("pin", m, e, "a pinned pair was not formed"))
    return out
