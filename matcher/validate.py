"""An independent check of any set of pairs against the cohort and the program's hard rules.

Written without the matcher's code paths (no grids, no numpy, no candidate set): plain Python per
pair, minute intervals and ``zoneinfo``, so that it can catch the solver's mistakes. Violations
are named by the rule catalogue (``cohort.rules``, scopes "pair" and "matching"). Used by the
tests and, through ``planner_check.check_plan``, after every solve.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from cohort.model import MINUTES_PER_WEEK, Cohort, Person, PersonId
from cohort.program import Program
from cohort.rules import Violation

__all__ = ["Violation", "check_matching", "check_pair", "has_common_time"]


def _offset_differences(a: str, b: str, program: Program) -> frozenset[int]:
    """offset(b) - offset(a) in minutes, for each day of the cycle at 12:00 UTC."""
    return _offsets(a, b, program.cycle.start, program.cycle.last_day)


@lru_cache(maxsize=4096)
def _offsets(a: str, b: str, first: date, last: date) -> frozenset[int]:
    za, zb = ZoneInfo(a), ZoneInfo(b)
    out = set()
    day = first
    while day <= last:
        t = datetime.combine(day, time(12), tzinfo=UTC)
        ob, oa = t.astimezone(zb).utcoffset(), t.astimezone(za).utcoffset()
        assert ob is not None and oa is not None
        out.add(int((ob - oa).total_seconds() // 60))
        day += timedelta(days=1)
    return frozenset(out)


def _inside(intervals: tuple[tuple[int, int], ...], start: int, length: int) -> bool:
    """Whether the week-minute span [start, start+length) (wrapping) lies inside one availability
    window, or across windows that touch at the week's end."""
    start %= MINUTES_PER_WEEK
    end = start + length
    if end <= MINUTES_PER_WEEK:
        return any(lo <= start and end <= hi for lo, hi in intervals)
    return _inside(intervals, start, MINUTES_PER_WEEK - start) and _inside(
        intervals, 0, end - MINUTES_PER_WEEK
    )


def has_common_time(mentor: Person, mentee: Person, program: Program) -> bool:
    """A start on the granularity in the mentor's week where the meeting fits both people under every
    offset difference of the cycle (meeting in the mentor's local time, moving for the mentee)."""
    dur, step = program.cycle.duration_minutes, program.cycle.granularity_minutes
    deltas = _offset_differences(mentor.timezone, mentee.timezone, program)
    for lo, hi in mentor.availability:
        for s in range(-(-lo // step) * step, hi, step):  # a meeting may wrap from Sunday into Monday
            if _inside(mentor.availability, s, dur) and all(
                _inside(mentee.availability, s + d, dur) for d in deltas
            ):
                return True
    return False


def _managers(cohort: Cohort, person: Person, depth: int) -> list[PersonId]:
    out: list[PersonId] = []
    boss = person.manager_id
    while boss is not None and len(out) < depth and boss not in out and boss != person.id:
        out.append(boss)
        boss = cohort[boss].manager_id if boss in cohort else None
    return out


def check_pair(
    cohort: Cohort, program: Program, mentor_id: PersonId, mentee_id: PersonId, check_time: bool = True
) -> list[Violation]:
    """Every hard rule the single pair breaks (capacity and pins aside)."""
    if mentor_id not in cohort or mentee_id not in cohort:
        return [Violation("unknown", mentor_id, mentee_id, "unknown id")]
    mentor, mentee = cohort[mentor_id], cohort[mentee_id]
    rules = program.rules
    out: list[Violation] = []

    def bad(rule: str, message: str) -> None:
        out.append(Violation(rule, mentor_id, mentee_id, message))

    if mentor.role not in ("mentor", "both"):
        bad("role", f"{mentor_id} is not a mentor")
    if mentee.role not in ("mentee", "both"):
        bad("role", f"{mentee_id} is not a mentee")
    if mentor_id == mentee_id:
        bad("self", "a person cannot mentor themselves")
    if mentee_id in mentor.avoid or mentor_id in mentee.avoid:
        bad("avoid", "one of them asked never to be paired with the other")
    forbid = {frozenset(p) for p in program.matching.forbid}
    if frozenset((mentor_id, mentee_id)) in forbid:
        bad("forbid", "the coordinator forbade this pair")
    if rules.reporting_line == "forbid":
        depth = rules.reporting_line_depth
        if mentor_id in _managers(cohort, mentee, depth) or mentee_id in _managers(cohort, mentor, depth):
            bad("reporting_line", "one manages the other (directly or up the line)")
    if (
        rules.same_department == "forbid"
        and mentor.department is not None
        and mentee.department is not None
        and mentor.department.casefold() == mentee.department.casefold()
    ):
        bad("department", f"both in {mentor.department}")
    if (
        mentor.level is not None
        and mentee.level is not None
        and mentor.level - mentee.level < rules.min_level_gap
    ):
        bad("level_gap", f"levels {mentor.level} and {mentee.level}, gap below {rules.min_level_gap}")
    if rules.common_language and not set(mentor.languages) & set(mentee.languages):
        bad("language", "no common language")
    if check_time and not has_common_time(mentor, mentee, program):
        bad("time", f"no common weekly {program.cycle.duration_minutes} min all cycle long")
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
    for m, e in got:
        out.extend(check_pair(cohort, program, m, e, check_time))
    per_mentor = Counter(m for m, _ in got)
    caps = mentor_capacity or {}
    for m, n in per_mentor.items():
        if m not in cohort:
            continue
        p = cohort[m]
        cap = caps.get(m, p.capacity if p.capacity is not None else program.rules.default_capacity)
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
    ended = {frozenset(p) for p in forbidden}
    for m, e in got:
        if frozenset((m, e)) in ended:
            out.append(Violation("history", m, e, "a pair ended in an earlier cycle is formed again"))
    for m, e in program.matching.pins if pins is None else pins:
        if (m, e) not in pairset:
            out.append(Violation("pin", m, e, "a pinned pair was not formed"))
    return out
