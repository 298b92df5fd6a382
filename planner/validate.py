"""One check of a whole plan (pairs and their meetings) against every hard rule.

It joins the two product validators, each independent of its solver: ``matcher.validate`` (the
pair and matching rules) and ``scheduler.validate`` (the meetings), and adds what ties them: every
pair has a recurring series (rule ``schedule``), no pair has two (``one_slot_per_pair``), and
every series belongs to a pair (``schedule``).
Every violation is named by the rule catalogue (``cohort.rules``). ``make_plan`` calls it after
every solve and treats any violation as an internal error.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from cohort.errors import MentorsyncError
from cohort.model import Cohort, PersonId
from cohort.program import Program
from cohort.rules import Violation
from matcher.validate import check_matching
from scheduler.model import Schedule
from scheduler.validate import check_schedule

PairKey = tuple[PersonId, PersonId]


class PlanViolation(MentorsyncError):
    """A plan broke a hard rule: a bug in mentorsync, never in the user's data."""

    def __init__(self, violations: Iterable[Violation]):
        self.violations = tuple(violations)
        shown = "; ".join(str(v) for v in self.violations[:5])
        more = f" and {len(self.violations) - 5} more" if len(self.violations) > 5 else ""
        super().__init__(f"internal error: the plan breaks a hard rule: {shown}{more}")


def check_plan(
    cohort: Cohort,
    program: Program,
    pairs: Iterable[PairKey],
    schedule: Schedule,
    *,
    mentor_capacity: Mapping[PersonId, int] | None = None,
    forbidden: Iterable[PairKey] = (),
    pins: Iterable[PairKey] | None = None,
) -> list[Violation]:
    """Every hard rule the plan breaks: ``pairs`` (mentor, mentee) with their ``schedule``.

    ``forbidden``: pairs ended in earlier cycles; ``pins``: the pins still in force (a plan gives up
    a pin it cannot place, with a reason): every program pin among them must be formed (default:
    every program pin).
    """
    pairs = list(pairs)
    if pins is not None:
        in_force = set(pins)
        pins = [(m, e) for m, e in program.matching.pins if (m, e) in in_force]
    out = check_matching(
        cohort, program, pairs, mentor_capacity=mentor_capacity, forbidden=forbidden, pins=pins
    )
    per_pair = Counter((s.mentor_id, s.mentee_id) for s in schedule.series)
    for m, e in pairs:
        if per_pair[(m, e)] != 1:
            rule = "schedule" if per_pair[(m, e)] == 0 else "one_slot_per_pair"
            out.append(Violation(rule, m, e, f"{m}/{e} has {per_pair[(m, e)]} recurring series"))
    for m, e in sorted(set(per_pair) - set(pairs)):
        out.append(Violation("schedule", m, e, f"{m}/{e} has a series but is not a pair"))
    out.extend(check_schedule(schedule, cohort, program))
    return out


def assert_sound(
    cohort: Cohort,
    program: Program,
    pairs: Iterable[PairKey],
    schedule: Schedule,
    pins: Iterable[PairKey] | None = None,
    forbidden: Iterable[PairKey] = (),
    mentor_capacity: Mapping[PersonId, int] | None = None,
) -> None:
    """Raise ``PlanViolation`` when ``check_plan`` finds anything (called after every solve)."""
    found = check_plan(
        cohort, program, pairs, schedule, mentor_capacity=mentor_capacity, forbidden=forbidden, pins=pins
    )
    if found:
        raise PlanViolation(found)
