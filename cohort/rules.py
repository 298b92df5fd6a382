"""The catalogue of hard rules: one stable name and one plain-words description per rule.

Every hard rule of matching (who may meet whom) and of scheduling (when they meet) is defined
here once, and everything else refers to it by name: the candidate builders
(``matcher.candidates`` pair by pair, ``matcher.blocks`` by blocks), the solvers' labelled
constraints, the product validators (``matcher.validate``, ``scheduler.validate``), ``explain``
and the reasons in ``unmatched.csv``. ``tests/test_rules.py`` walks the catalogue: for each rule
of a pair, a pair that breaks only that rule is refused, flagged under this name and explained
with these words.

``words`` is how an explanation names the rule ("avoid list: 2"); ``detail``, when set, is a
more precise form with the program's values (``{duration}``, ``{min_level_gap}``) or the
person's (``{other}``, ``{languages}``), used in ``unmatched.csv`` and ``explain``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cohort.model import PersonId

Scope = Literal["pair", "matching", "schedule"]


@dataclass(frozen=True)
class Rule:
    """A hard rule: never broken by a plan.

    ``scope``: "pair" rules decide whether one mentor/mentee pair may be formed at all (the
    candidate builders apply them, in ``PAIR_RULES`` order); "matching" rules concern the set of
    pairs; "schedule" rules concern the meetings.
    """

    name: str
    scope: Scope
    description: str
    words: str
    detail: str = ""

    def say(self, **values: object) -> str:
        """The rule in an explanation: ``detail`` filled with ``values``, or ``words``."""
        return self.detail.format(**values) if self.detail else self.words


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


_CATALOGUE: tuple[Rule, ...] = (
    # Pair rules, in the order the candidate builders apply them: a pair excluded by several is
    # counted against the first (so per-person exclusion counts add up).
    Rule(
        "self",
        "pair",
        "nobody mentors themselves (people with role `both` are on both sides)",
        "the same person",
    ),
    Rule(
        "capacity",
        "pair",
        "a mentor takes at most their capacity of mentees this cycle "
        "(a mentor with capacity 0 has no candidates)",
        "mentor has no seats this cycle",
    ),
    Rule(
        "forbid",
        "pair",
        "pairs the coordinator forbade (`[matching] forbid`, either direction) are never formed",
        "forbidden by the coordinator",
    ),
    Rule("avoid", "pair", "if either person lists the other in `avoid`, they are never paired", "avoid list"),
    Rule(
        "reporting_line",
        "pair",
        'with `reporting_line = "forbid"`, nobody is paired with a manager '
        "up to `reporting_line_depth` levels above or below them",
        "reporting line",
    ),
    Rule(
        "department",
        "pair",
        'with `same_department = "forbid"`, mentor and mentee are in different departments',
        "same department",
    ),
    Rule(
        "level_gap",
        "pair",
        "mentor.level - mentee.level >= `min_level_gap` where both levels are known",
        "level gap too small",
        "level gap below {min_level_gap}",
    ),
    Rule(
        "language",
        "pair",
        "with `common_language = true`, the pair shares at least one language",
        "no common language",
        "no {other} shares a language ({languages})",
    ),
    Rule(
        "time",
        "pair",
        "a common weekly time of at least the meeting length in both people's local "
        "availability, under every UTC offset difference of the cycle",
        "no common weekly time",
        "no common weekly time of {duration} min",
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


def rule(name: str) -> Rule:
    """The catalogue's rule ``name`` (a KeyError names a rule that does not exist)."""
    return RULES[name]
