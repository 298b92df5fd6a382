"""Numbers behind the coordinator's report, computed from the domain results (no HTML here).

Everything is derived from the cohort, the program, the match and the schedule; nothing is
guessed. Local times are computed per person from the UTC occurrence instants, so a meeting that
moves by an hour in one person's calendar when the clocks change is counted where it really falls.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import numpy as np
from ortools.graph.python import max_flow

from cohort.limits import shorten
from cohort.model import DAY_NAMES, Cohort, Person, PersonId
from cohort.program import Program
from cohort.text import strip_controls
from matcher.model import COMPONENTS, MatchResult
from scheduler.model import Schedule, Series

EARLY_HOUR = 8  # a meeting starting before 08:00 local is "early"
LATE_HOUR = 18  # a meeting starting at 18:00 local or later is "late"
CADENCE_WORDS = {"weekly": "every week", "biweekly": "every 2 weeks", "monthly": "every month"}
MAX_CAPACITY_SUGGESTIONS = 5
MAX_MENTOR_SUGGESTIONS = 8

# Unmatched categories (derived from the candidates and loads, not from the reason's wording).
CAT_NO_MENTOR = "no eligible mentor"
CAT_MENTORS_FULL = "eligible mentors are full"
CAT_MENTEE_OTHER = "other constraint"
CAT_NO_MENTEE = "no eligible mentee"
CAT_MENTEES_ELSEWHERE = "eligible mentees matched elsewhere"


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def capacity_of(person: Person, program: Program) -> int:
    """A mentor's seats: their own ``capacity`` cell, else the program's default (0 is a real 0)."""
    return person.capacity if person.capacity is not None else program.rules.default_capacity


def mentor_loads(cohort: Cohort, match: MatchResult) -> dict[PersonId, int]:
    """How many mentees each mentor got (every mentor listed, 0 included), in cohort order."""
    loads = {p.id: 0 for p in cohort.mentors}
    for pair in match.pairs:
        loads[pair.mentor_id] = loads.get(pair.mentor_id, 0) + 1
    return loads


def utc_offset_label(zone: str, day: date) -> str:
    """``+05:30``-style offset of ``zone`` at noon on ``day``."""
    offset = datetime(day.year, day.month, day.day, 12, tzinfo=_zone(zone)).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def unmatched_categories(cohort: Cohort, program: Program, match: MatchResult) -> dict[PersonId, str]:
    """A short category per unmatched person, derived from candidates and mentor loads.

    Mentees: no candidate at all; every candidate mentor is full; or candidates with spare seats
    exist (so another constraint bound, and the matcher's reason says which). Mentors: no candidate
    mentee, or their candidate mentees were matched elsewhere.
    """
    loads = mentor_loads(cohort, match)
    mentors_of: dict[PersonId, set[PersonId]] = defaultdict(set)
    mentees_of: dict[PersonId, set[PersonId]] = defaultdict(set)
    for cand in match.candidates:
        mentors_of[cand.mentee_id].add(cand.mentor_id)
        mentees_of[cand.mentor_id].add(cand.mentee_id)
    out: dict[PersonId, str] = {}
    for u in match.unmatched:
        if u.role == "mentor":
            out[u.id] = CAT_MENTEES_ELSEWHERE if mentees_of.get(u.id) else CAT_NO_MENTEE
            continue
        options = mentors_of.get(u.id, set())
        if not options:
            out[u.id] = CAT_NO_MENTOR
        elif all(m in cohort and loads.get(m, 0) >= capacity_of(cohort[m], program) for m in options):
            out[u.id] = CAT_MENTORS_FULL
        else:
            out[u.id] = CAT_MENTEE_OTHER
    return out


# ----------------------------------------------------------------------------------------------
# What would fix it


class _WhatIf:
    """Most mentees matchable over the candidates for given mentor seats (OR-Tools max flow).

    Only one mentor's seats change per question, so the network is built once and the one
    source arc is updated; max flow is exact, so the gain it reports is exact too.
    """

    def __init__(self, edges: list[tuple[PersonId, PersonId]], caps: Mapping[PersonId, int]) -> None:
        self.caps = dict(caps)
        mentors = sorted({m for m, _ in edges})
        mentees = sorted({e for _, e in edges})
        node = {("m", m): 2 + i for i, m in enumerate(mentors)}
        node.update({("e", e): 2 + len(mentors) + i for i, e in enumerate(mentees)})
        self.flow = max_flow.SimpleMaxFlow()
        self.source_arc = {
            m: self.flow.add_arc_with_capacity(0, node[("m", m)], self.caps.get(m, 0)) for m in mentors
        }
        tails = np.array(
            [node[("m", m)] for m, _ in edges] + [node[("e", e)] for e in mentees], dtype=np.int32
        )
        heads = np.array([node[("e", e)] for _, e in edges] + [1] * len(mentees), dtype=np.int32)
        if len(tails):
            self.flow.add_arcs_with_capacity(tails, heads, np.ones(len(tails), dtype=np.int64))

    def matched(self, mentor_id: PersonId | None = None, seats: int = 0) -> int:
        """Max matched mentees, with ``mentor_id`` given ``seats`` seats instead of their own."""
        if not self.source_arc:
            return 0
        if mentor_id is not None:
            self.flow.set_arc_capacity(self.source_arc[mentor_id], seats)
        status = self.flow.solve(0, 1)
        value = int(self.flow.optimal_flow())
        if mentor_id is not None:
            self.flow.set_arc_capacity(self.source_arc[mentor_id], self.caps.get(mentor_id, 0))
        if status != self.flow.OPTIMAL:  # pragma: no cover - capacities are small integers
            raise RuntimeError(f"max flow failed with status {status}")
        return value


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _capacity_fixes(cohort: Cohort, program: Program, match: MatchResult) -> list[str]:
    """Name full mentors that unmatched mentees could have had, with the exact what-if gain."""
    unmatched_mentees = {u.id for u in match.unmatched if u.role == "mentee"}
    if not unmatched_mentees:
        return []
    loads = mentor_loads(cohort, match)
    caps = {p.id: capacity_of(p, program) for p in cohort.mentors}
    demand: dict[PersonId, set[PersonId]] = defaultdict(set)
    degree: Counter[PersonId] = Counter()
    for cand in match.candidates:
        m = cand.mentor_id
        degree[m] += 1
        if cand.mentee_id in unmatched_mentees and m in caps and loads.get(m, 0) >= caps[m]:
            demand[m].add(cand.mentee_id)
    ranked = sorted(demand, key=lambda m: (-len(demand[m]), m))[:MAX_CAPACITY_SUGGESTIONS]
    what_if = _WhatIf([(c.mentor_id, c.mentee_id) for c in match.candidates], caps) if ranked else None
    base = what_if.matched() if what_if else 0
    fixes = []
    for mentor_id in ranked:
        person = cohort[mentor_id]
        eligible = len(demand[mentor_id])
        who = f"{shorten(strip_controls(person.name))} ({mentor_id})"
        waiting = f"{_plural(eligible, 'unmatched mentee')} could be paired with this mentor"
        assert what_if is not None
        # Seats beyond the mentor's number of candidates are useless, so that many is "unlimited".
        # Max flow is concave in one arc's capacity with slopes 1 then 0, so the best gain is
        # reached with exactly ``gain`` extra seats (moving matched mentees to this mentor can
        # free seats elsewhere, so the gain may exceed the unmatched mentees eligible here).
        gain = what_if.matched(mentor_id, max(caps[mentor_id], degree[mentor_id])) - base
        if gain <= 0:
            continue
        fixes.append(
            f"Raise the capacity of {who} from {caps[mentor_id]} to {caps[mentor_id] + gain}: "
            f"{_plural(gain, 'more mentee')} would be matched ({waiting})."
        )
    return fixes


def _new_mentor_fixes(cohort: Cohort, program: Program, match: MatchResult) -> list[str]:
    """Group unmatched mentees by wanted goal, UTC offset and language; greedy largest group first.

    Each mentee is counted in one suggestion only, so the counts of the suggestions add up.
    """
    day = program.cycle.start
    default_cap = program.rules.default_capacity
    remaining = {u.id for u in match.unmatched if u.role == "mentee" and u.id in cohort}
    # (goal or None, offset, language or None) -> mentees
    groups: dict[tuple[str | None, str, str | None], set[PersonId]] = defaultdict(set)
    for pid in remaining:
        person = cohort[pid]
        offset = utc_offset_label(person.timezone, day)
        languages: tuple[str | None, ...] = person.languages if program.rules.common_language else (None,)
        goals: tuple[str | None, ...] = person.goals or (None,)
        for goal in goals:
            for lang in languages or (None,):
                groups[(goal, offset, lang)].add(pid)
    fixes: list[str] = []
    while remaining and len(fixes) < MAX_MENTOR_SUGGESTIONS:
        live = {k: v & remaining for k, v in groups.items()}
        key = min(
            (k for k, v in live.items() if v),
            key=lambda k: (-len(live[k]), k[0] is None, k[0] or "", k[1], k[2] or ""),
            default=None,
        )
        if key is None:
            break
        goal, offset, lang = key
        members = live[key]
        zones = Counter(cohort[p].timezone for p in members)
        zone = min(zones, key=lambda z: (-zones[z], z))
        n = len(members)
        topic = f" covering *{goal}*" if goal else " (for mentees with no stated goal)"
        speaks = f" who speaks {lang}" if lang and lang != program.program.language else ""
        seats = f" and taking {n} mentees (the default capacity is {default_cap})" if n > default_cap else ""
        fixes.append(
            f"One more mentor{topic}{speaks}, available in {zone} hours (UTC{offset}){seats}, "
            f"would match {_plural(n, 'more mentee')}."
        )
        remaining -= members
    if remaining:
        fixes.append(
            f"{_plural(len(remaining), 'more unmatched mentee')} fall into smaller groups; "
            "see the table above."
        )
    return fixes


def suggest_fixes(cohort: Cohort, program: Program, match: MatchResult) -> list[str]:
    """Plain-words suggestions that would match more mentees, with counts derived from the data.

    First, full mentors whose extra seats would be used (the gain is an exact max-flow what-if over
    the candidates); then new mentors, grouping unmatched mentees by a goal they want, their UTC
    offset at the cycle start and (when a common language is required) a language they speak.
    The two kinds are alternatives: the same unmatched mentee may appear in both.
    """
    return _capacity_fixes(cohort, program, match) + _new_mentor_fixes(cohort, program, match)


# ----------------------------------------------------------------------------------------------
# When meetings fall in each person's local day


@dataclass(frozen=True)
class LocalSlot:
    """One side's usual local time for a series, and the dates on which it differs."""

    person_id: PersonId
    timezone: str
    weekday: str
    time: str  # HH:MM
    exceptions: tuple[tuple[date, str, str], ...]  # (local date, weekday, HH:MM) that differ


@dataclass(frozen=True)
class SeriesView:
    """A series in plain words for the pairs table."""

    mentor: LocalSlot
    mentee: LocalSlot
    cadence: str
    duration_minutes: int
    meetings: int
    skipped: int
    exception_weeks: frozenset[tuple[int, int]]  # ISO (year, week) of occurrences with a shift

    @property
    def words(self) -> str:
        cadence = CADENCE_WORDS.get(self.cadence, self.cadence)
        return f"{cadence}, {self.duration_minutes} min, {_plural(self.meetings, 'meeting')}"

    def notes(self) -> list[str]:
        """Plain-words DST exceptions: where a side's local time moves for some dates."""
        out = []
        for role, side in (("mentor", self.mentor), ("mentee", self.mentee)):
            if not side.exceptions:
                continue
            by_time = Counter((wd, t) for _, wd, t in side.exceptions)
            for (wd, t), n in sorted(by_time.items()):
                days = sorted(d for d, w, tt in side.exceptions if (w, tt) == (wd, t))
                span = days[0].isoformat() if len(days) == 1 else f"{days[0]} to {days[-1]}"
                out.append(
                    f"{role} ({side.timezone}): {wd} {t} instead of {side.weekday} {side.time} "
                    f"on {_plural(n, 'date')} ({span})"
                )
        return out


def _local(instant: datetime, zone: str) -> datetime:
    return instant.astimezone(_zone(zone))


def _side(person_id: PersonId, zone: str, occurrences: tuple[datetime, ...]) -> LocalSlot:
    locals_ = [_local(o, zone) for o in occurrences]
    keys = [(DAY_NAMES[t.weekday()], t.strftime("%H:%M")) for t in locals_]
    counts = Counter(keys)
    usual = min(counts, key=lambda k: (-counts[k], DAY_NAMES.index(k[0]), k[1])) if counts else ("", "")
    exceptions = tuple(
        (t.date(), wd, hm) for t, (wd, hm) in zip(locals_, keys, strict=True) if (wd, hm) != usual
    )
    return LocalSlot(person_id, zone, usual[0], usual[1], exceptions)


def series_view(series: Series, cohort: Cohort) -> SeriesView:
    """Usual local weekday and time of a series for both people, and its DST exceptions."""
    occurrences = series.occurrences
    if not occurrences:  # nothing takes place: show the anchor's first start
        occurrences = (series.dtstart.replace(tzinfo=_zone(series.timezone)),)
    zone_of = {
        pid: cohort[pid].timezone if pid in cohort else series.timezone
        for pid in (series.mentor_id, series.mentee_id)
    }
    mentor = _side(series.mentor_id, zone_of[series.mentor_id], occurrences)
    mentee = _side(series.mentee_id, zone_of[series.mentee_id], occurrences)
    shifted = {d for _, side in ((0, mentor), (1, mentee)) for d, _, _ in side.exceptions}
    weeks = frozenset(tuple(d.isocalendar())[:2] for d in shifted)
    return SeriesView(
        mentor,
        mentee,
        series.cadence,
        series.duration_minutes,
        len(series.occurrences),
        len(series.exdates),
        weeks,  # type: ignore[arg-type]
    )


@dataclass
class SideHours:
    """Meetings by local start hour for one side, and early/late counts."""

    hours: list[int] = field(default_factory=lambda: [0] * 24)
    early: int = 0
    late: int = 0
    total: int = 0

    def add(self, local: datetime) -> None:
        self.hours[local.hour] += 1
        self.total += 1
        if local.hour < EARLY_HOUR:
            self.early += 1
        elif local.hour >= LATE_HOUR:
            self.late += 1


@dataclass(frozen=True)
class LocalDay:
    """Who carries the early and late hours: per side, per zone and per person."""

    mentor: SideHours
    mentee: SideHours
    by_zone: dict[str, dict[str, SideHours]]  # zone -> {"mentor": ..., "mentee": ...}
    by_person: dict[PersonId, SideHours]


def meeting_instants(schedule: Schedule) -> list[tuple[PersonId, PersonId, datetime]]:
    """Every meeting (series occurrences and milestone events) as (mentor, mentee, UTC start)."""
    out = [(s.mentor_id, s.mentee_id, o) for s in schedule.series for o in s.occurrences]
    out += [(e.mentor_id, e.mentee_id, e.start) for e in schedule.events]
    return out


def local_day(cohort: Cohort, schedule: Schedule) -> LocalDay:
    """Local start hours of every meeting for each side, in each person's own time zone."""
    mentor, mentee = SideHours(), SideHours()
    by_zone: dict[str, dict[str, SideHours]] = {}
    by_person: dict[PersonId, SideHours] = {}
    for mentor_id, mentee_id, start in meeting_instants(schedule):
        for role, pid, side in (("mentor", mentor_id, mentor), ("mentee", mentee_id, mentee)):
            if pid not in cohort:
                continue
            zone = cohort[pid].timezone
            local = _local(start, zone)
            side.add(local)
            by_zone.setdefault(zone, {"mentor": SideHours(), "mentee": SideHours()})[role].add(local)
            by_person.setdefault(pid, SideHours()).add(local)
    return LocalDay(mentor, mentee, dict(sorted(by_zone.items())), by_person)


def component_means(match: MatchResult) -> dict[str, float]:
    """Mean of each score component over the formed pairs (known components first)."""
    names = list(COMPONENTS) + sorted({k for p in match.pairs for k in p.components} - set(COMPONENTS))
    if not match.pairs:
        return {name: 0.0 for name in COMPONENTS}
    n = len(match.pairs)
    return {name: sum(p.components.get(name, 0) for p in match.pairs) / n for name in names}
