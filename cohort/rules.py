"""The catalogue of hard rules: one stable name, one plain-words description and, for a rule of one
pair, one predicate per rule.

Every hard rule of matching (who may meet whom) and of scheduling (when they meet) is defined
here once, and everything else refers to it by name: the candidate builders
(``matcher.candidates`` pair by pair, ``matcher.blocks`` by blocks), the solvers' labelled
constraints, the product validators (``matcher.validate``, ``scheduler.validate``), the circle
rules (``planner.circles.forming``), ``explain`` and the reasons in ``unmatched.csv``.
``tests/test_rules.py`` walks the catalogue: for each rule of a pair, a pair that breaks only
that rule is refused, flagged under this name and explained with these words.

**Predicates.** Each rule that one pair can break by itself (``self``, ``capacity``, ``forbid``,
``avoid``, ``reporting_line``, ``department``, ``level_gap``, ``language``, ``time``, and
``history``) has ``check(mentor, mentee, context) -> str | None``: what is wrong, in plain words,
or None. ``context`` (``pair_context``) holds what the rules read besides the two people: the
cohort (for managers up the reporting line), the program, the forbidden and ended pairs and the
seats. The scalar
validator and the circles loop over ``PAIR_CHECKS``; the vectorised candidate builders keep
their own fast forms, and ``tests/test_rule_predicates.py`` proves they agree pair by pair.
Departments and languages are compared by ``department_key`` and ``language_key`` (case, spaces
and Unicode forms aside), which the builders' encoding (``matcher.encode``) uses too.

``words`` is how an explanation names the rule ("avoid list: 2"); ``detail``, when set, is a
more precise form with the program's values (``{duration}``, ``{min_level_gap}``) or the
person's (``{other}``, ``{languages}``), used in ``unmatched.csv`` and ``explain``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from cohort.load import normalise_language
from cohort.model import MINUTES_PER_WEEK, Cohort, Person, PersonId
from cohort.program import Program

Scope = Literal["pair", "matching", "schedule"]
InCircle = Literal["every_two", "leader", ""]


@dataclass(frozen=True)
class Rule:
    """A hard rule: never broken by a plan.

    ``scope``: "pair" rules decide whether one mentor/mentee pair may be formed at all (the
    candidate builders apply them, in ``PAIR_RULES`` order); "matching" rules concern the set of
    pairs; "schedule" rules concern the meetings. ``check``: the rule's predicate when one pair
    can break it by itself (``PairCheck``). ``in_circle``: how a circle applies ``check``:
    between "every_two" of its people, leader included (these predicates are symmetric), or
    between its "leader" (as mentor) and each member; "": not pair by pair (a circle has its own
    form of the rule: one language common to all, one slot for all, a leader's seats).
    """

    name: str
    scope: Scope
    description: str
    words: str
    detail: str = ""
    check: PairCheck | None = field(default=None, repr=False, compare=False)
    in_circle: InCircle = ""

    def say(self, **values: object) -> str:
        """The rule in an explanation: ``detail`` filled with ``values``, or ``words``."""
        return self.detail.format(**values) if self.detail else self.words

    def broken_by(self, mentor: Person, mentee: Person, context: PairContext) -> str | None:
        """What the pair breaks of this rule, in plain words, or None (rules of ``PAIR_CHECKS``)."""
        if self.check is None:
            raise TypeError(f"rule {self.name!r} is not decided pair by pair")
        return self.check(mentor, mentee, context)


@dataclass(frozen=True)
class Violation:
    """A broken hard rule: the rule's catalogue name, the pair involved (either id may be "" when
    the rule concerns one person) and what is wrong, in plain words."""

    rule: str
    mentor_id: PersonId
    mentee_id: PersonId
    message: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.message}"


@dataclass(frozen=True, eq=False)
class PairContext:
    """What the pair predicates read besides the two people (``pair_context`` builds it once for
    many pairs); pairs are unordered (``frozenset`` of two ids)."""

    cohort: Cohort  # for the reporting line: managers are looked up by id
    program: Program
    forbidden: frozenset[frozenset[PersonId]] = frozenset()  # the coordinator's `[matching] forbid`
    ended: frozenset[frozenset[PersonId]] = frozenset()  # ended in an earlier cycle (rule history)
    seats: Mapping[PersonId, int] = field(default_factory=dict)  # mentors' capacities overridden
    _managers: dict[PersonId, tuple[PersonId, ...]] = field(default_factory=dict, repr=False, compare=False)

    def seats_of(self, mentor: Person) -> int:
        """The mentor's seats this cycle: an override, else their ``capacity``, else the default."""
        if mentor.id in self.seats:
            return self.seats[mentor.id]
        return mentor.capacity if mentor.capacity is not None else self.program.rules.default_capacity

    def managers(self, person: Person) -> tuple[PersonId, ...]:
        """The person's managers up the line, nearest first, at most ``reporting_line_depth`` of
        them (the chain stops at someone seen before: a cycle in ``manager_id`` ends it; cached)."""
        hit = self._managers.get(person.id)
        if hit is not None:
            return hit
        out: list[PersonId] = []
        seen = {person.id}
        boss = person.manager_id
        for _ in range(self.program.rules.reporting_line_depth):
            if boss is None or boss in seen:
                break
            seen.add(boss)
            out.append(boss)
            boss = self.cohort[boss].manager_id if boss in self.cohort else None
        self._managers[person.id] = found = tuple(out)
        return found


PairCheck = Callable[[Person, Person, PairContext], "str | None"]
"""A pair rule's predicate: (mentor, mentee, context) -> what is wrong in plain words, or None."""


def pair_context(
    cohort: Cohort,
    program: Program,
    *,
    ended: Iterable[Iterable[PersonId]] = (),
    seats: Mapping[PersonId, int] | None = None,
) -> PairContext:
    """The predicates' context for ``cohort`` under ``program``: ``ended``: pairs ended in earlier
    cycles (either order); ``seats``: capacities that override the mentors' own."""
    return PairContext(
        cohort,
        program,
        frozenset(frozenset(p) for p in program.matching.forbid),
        frozenset(frozenset(p) for p in ended),
        dict(seats or {}),
    )


@lru_cache(maxsize=4096)
def department_key(name: str | None) -> str | None:
    """The comparable form of a department, the one definition every path uses: Unicode
    compatibility forms unified (NFKC), case-folded, spaces trimmed and single; None for none."""
    if name is None:
        return None
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
    return " ".join(folded.split()) or None


@lru_cache(maxsize=4096)
def language_key(name: str) -> str:
    """The comparable form of a language: the code intake gives it (``English``, ``EN``, ``en-GB``
    -> ``en``; ``cohort.load.normalise_language``) after NFKC, so that any spelling of one language
    is one language for every path."""
    return normalise_language(unicodedata.normalize("NFKC", name))


def languages_of(person: Person) -> frozenset[str]:
    """The person's languages, compared by ``language_key``."""
    return frozenset(language_key(t) for t in person.languages)


def breaks_self(mentor: Person, mentee: Person, ctx: PairContext) -> str | None:
    """Hard: ``self``."""
    return "a person cannot mentor themselves" if mentor.id == mentee.id else None


def breaks_capacity(mentor: Person, mentee: Person, ctx: PairContext) -> str | None:
    """Hard: ``capacity`` (of one pair: the mentor has a seat at all)."""
    return None if ctx.seats_of(mentor) > 0 else f"{mentor.id} has no seats this cycle"


def breaks_forbid(mentor: Person, mentee: Person, ctx: PairContext) -> str | None:
    """Hard: ``forbid`` (either direction)."""
    hit = bool(ctx.forbidden) and frozenset((mentor.id, mentee.id)) in ctx.forbidden
    return "the coordinator forbade this pair" if hit else None


def breaks_avoid(mentor: Person, mentee: Person, ctx: PairContext) -> str | None:
    """Hard: ``avoid`` (either person's list)."""
    hit = mentee.id in mentor.avoid or mentor.id in mentee.avoid
    return "one of them asked never to be paired with the other" if hit else None


def breaks_reporting_line(mentor: Person, mentee: Person, ctx: PairContext) -> str | None:
    """Hard: ``reporting_line`` (with ``reporting_line = "forbid"``: either one up the other's line)."""
    if ctx.program.rules.reporting_line != "forbid":
        return None
    hit = mentor.id in ctx.managers(mentee) or mentee.id in ctx.managers(mentor)
    return "one manages the other (directly or up the line)" if hit else None


def breaks_department(mentor: Person, mentee: Person, ctx: PairContext) -> str | None:
    """Hard: ``department`` (with ``same_department = "forbid"``; ``department_key`` compares)."""
    if ctx.program.rules.same_department != "forbid":
        return None
    key = department_key(mentor.department)
    return (
        f"both in {mentor.department}"
        if key is not None and key == department_key(mentee.department)
        else None
    )


def breaks_level_gap(mentor: Person, mentee: Person, ctx: PairContext) -> str | None:
    """Hard: ``level_gap`` (where both levels are known)."""
    gap = ctx.program.rules.min_level_gap
    if mentor.level is None or mentee.level is None or mentor.level - mentee.level >= gap:
        return None
    return f"levels {mentor.level} and {mentee.level}, gap below {gap}"


def breaks_language(mentor: Person, mentee: Person, ctx: PairContext) -> str | None:
    """Hard: ``language`` (with ``common_language``; ``language_key`` compares)."""
    if not ctx.program.rules.common_language or languages_of(mentor) & languages_of(mentee):
        return None
    return "no common language"


def breaks_time(mentor: Person, mentee: Person, ctx: PairContext) -> str | None:
    """Hard: ``time`` (``has_common_time``)."""
    if has_common_time(mentor, mentee, ctx.program):
        return None
    return f"no common weekly {ctx.program.cycle.duration_minutes} min all cycle long"


def breaks_history(mentor: Person, mentee: Person, ctx: PairContext) -> str | None:
    """Hard: ``history`` (the pair, either order, is in ``ctx.ended``)."""
    hit = bool(ctx.ended) and frozenset((mentor.id, mentee.id)) in ctx.ended
    return "they ended meeting each other in an earlier cycle" if hit else None


def has_common_time(mentor: Person, mentee: Person, program: Program) -> bool:
    """A start on the granularity in the mentor's week where the meeting fits both people under every
    offset difference of the cycle (meeting in the mentor's local time, moving for the mentee).

    Plain Python per pair (minute intervals and ``zoneinfo``), independent of the candidate
    builders' availability grids, so that it can catch their mistakes."""
    dur, step = program.cycle.duration_minutes, program.cycle.granularity_minutes
    deltas = _offsets(mentor.timezone, mentee.timezone, program.cycle.start, program.cycle.last_day)
    for lo, hi in mentor.availability:
        for s in range(-(-lo // step) * step, hi, step):  # a meeting may wrap from Sunday into Monday
            if _inside(mentor.availability, s, dur) and all(
                _inside(mentee.availability, s + d, dur) for d in deltas
            ):
                return True
    return False


@lru_cache(maxsize=4096)
def _offsets(a: str, b: str, first: date, last: date) -> frozenset[int]:
    """offset(b) - offset(a) in minutes, for each day of the cycle at 12:00 UTC."""
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


_CATALOGUE: tuple[Rule, ...] = (
    # Pair rules, in the order the candidate builders apply them: a pair excluded by several is
    # counted against the first (so per-person exclusion counts add up).
    Rule(
        "self",
        "pair",
        "nobody mentors themselves (people with role `both` are on both sides)",
        "the same person",
        check=breaks_self,
        in_circle="every_two",
    ),
    Rule(
        "capacity",
        "pair",
        "a mentor takes at most their capacity of mentees this cycle "
        "(a mentor with capacity 0 has no candidates)",
        "mentor has no seats this cycle",
        check=breaks_capacity,
    ),
    Rule(
        "forbid",
        "pair",
        "pairs the coordinator forbade (`[matching] forbid`, either direction) are never formed",
        "forbidden by the coordinator",
        check=breaks_forbid,
        in_circle="every_two",
    ),
    Rule(
        "avoid",
        "pair",
        "if either person lists the other in `avoid`, they are never paired",
        "avoid list",
        check=breaks_avoid,
        in_circle="every_two",
    ),
    Rule(
        "reporting_line",
        "pair",
        'with `reporting_line = "forbid"`, nobody is paired with a manager '
        "up to `reporting_line_depth` levels above or below them",
        "reporting line",
        check=breaks_reporting_line,
        in_circle="every_two",
    ),
    Rule(
        "department",
        "pair",
        'with `same_department = "forbid"`, mentor and mentee are in different departments '
        "(compared without regard to case, spaces or Unicode forms)",
        "same department",
        check=breaks_department,
        in_circle="every_two",
    ),
    Rule(
        "level_gap",
        "pair",
        "mentor.level - mentee.level >= `min_level_gap` where both levels are known",
        "level gap too small",
        "level gap below {min_level_gap}",
        check=breaks_level_gap,
        in_circle="leader",
    ),
    Rule(
        "language",
        "pair",
        "with `common_language = true`, the pair shares at least one language",
        "no common language",
        "no {other} shares a language ({languages})",
        check=breaks_language,
    ),
    Rule(
        "time",
        "pair",
        "a common weekly time of at least the meeting length in both people's local "
        "availability, under every UTC offset difference of the cycle",
        "no common weekly time",
        "no common weekly time of {duration} min",
        check=breaks_time,
    ),
    Rule(
        "schedule",
        "pair",
        "a recurring slot free in both calendars for every occurrence of the cycle "
        "(the scheduler's exact test)",
        "no recurring slot free in both calendars",
    ),
    # Rules of the set of pairs.
    Rule(
        "history",
        "matching",
        "a pair that either side ended in an earlier cycle is never formed again",
        "ended in an earlier cycle",
        check=breaks_history,
        in_circle="every_two",
    ),
    Rule("unknown", "matching", "every id of a pair is a participant", "unknown id"),
    Rule(
        "role",
        "matching",
        "a pair is a mentor (role `mentor` or `both`) and a mentee (`mentee` or `both`)",
        "wrong role",
    ),
    Rule("one_mentor", "matching", "a mentee has at most one mentor", "mentee has two mentors"),
    Rule("mutual_mentoring", "matching", "no two people mentor each other", "mentor each other"),
    Rule("pin", "matching", "every pin of the program (`[matching] pins`) is formed", "pinned pair missing"),
    # Rules of the meetings (the scheduler's labelled constraints and ``scheduler.validate``).
    Rule(
        "one_slot_per_pair",
        "schedule",
        "a pair has one recurring series: its listed occurrences are "
        "exactly those of its RRULE minus its exdates",
        "occurrences differ from the RRULE",
    ),
    Rule(
        "inside_cycle", "schedule", "every meeting takes place within the cycle's dates", "outside the cycle"
    ),
    Rule(
        "inside_availability",
        "schedule",
        "every meeting, start and end, lies inside both people's weekly availability in their own time zones",
        "outside someone's availability",
    ),
    Rule(
        "no_holiday", "schedule", "no meeting on a holiday in either person's local calendar", "on a holiday"
    ),
    Rule(
        "no_blackout",
        "schedule",
        "no meeting on a date a person is away (`unavailable`)",
        "on a date someone is away",
    ),
    Rule(
        "no_overlap_with_buffer",
        "schedule",
        "no two meetings of one person overlap, and `buffer_minutes` of free time separate them",
        "overlapping meetings or too little buffer",
    ),
    Rule(
        "weekly_limit",
        "schedule",
        "at most `max_meetings_per_week` meetings in a person's local Mon-Sun week",
        "more meetings in a week than the person's limit",
    ),
)

RULES: dict[str, Rule] = {r.name: r for r in _CATALOGUE}
PAIR_RULES: tuple[str, ...] = tuple(r.name for r in _CATALOGUE if r.scope == "pair")
MATCHING_RULES: tuple[str, ...] = tuple(r.name for r in _CATALOGUE if r.scope in ("pair", "matching"))
SCHEDULE_RULES: tuple[str, ...] = tuple(r.name for r in _CATALOGUE if r.scope == "schedule")
PAIR_CHECKS: tuple[Rule, ...] = tuple(r for r in _CATALOGUE if r.check is not None)
"""The rules one pair can break by itself, with their predicates, in the catalogue's order."""


def rule(name: str) -> Rule:
    """The catalogue's rule ``name`` (a KeyError names a rule that does not exist)."""
    return RULES[name]
