"""The program over time: figures per cycle and per person over all cycles (``mentorsync history``).

Pure: from the stored cycles (``CycleRecord``, assembled by ``pipeline.program_history``) to
``HistoryFigures``; the page (``report.history_page``), the CSV and the JSON are all written from
these figures, so they always agree. No figure names anyone: each is a count, a rate or a mean.

**Suppression.** Every figure is computed over a group of people (its denominator: the cycle's
people for counts of pairs and people, the people who answered for ratings and would-continue
answers, the people expected to answer for a check-in response rate, the people of one time zone
for that zone's off-hours share, everyone who met someone for the per-person distributions). A
figure whose group has fewer than ``min_group`` people is *suppressed*: it keeps its place in
every output, marked ``suppressed``, and its number is dropped at once (``Figure.value`` is
``None``), so no writer can show it. Where the parts of a breakdown add up to a figure that is
shown (time zones, roles, check-in months), one suppressed part could be recovered by
subtraction, so the smallest other part is suppressed with it (complementary suppression; a part
over nobody, such as a rate with nothing to divide, holds nothing to recover).

**Definitions.** A cycle's pairs are those stored at its end; pairs that ended early are the series
a mid-cycle re-match cut, with why: the mentor left, the mentee left (both: both left), or the rules
or calendars no longer allowed the pair. Continuing, new and ended pairs compare a cycle's pairs
with the previous cycle's (as ``mentorsync diff``: by mentor and mentee). Returning people were in
an earlier cycle; ``left`` were in the previous cycle and not in this one. Check-in points are
due for a closed cycle all of them, for the open cycle those opened by ``as_of``; a month is the
month of the point's meeting in the program's time zone. Off-hours: a meeting starting before
08:00 or from 18:00 in a person's own time zone (as ``report.html``), counted per person and
meeting, pair and circle meetings alike. Across zones: the two people's UTC offsets differ on the
cycle's first day.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from cohort.checkins import CheckIn, Point
from cohort.feedback import FeedbackRow, pair_verdicts
from cohort.model import Cohort, Person, PersonId
from scheduler.model import CircleRecord, Schedule

PairKey = tuple[PersonId, PersonId]  # (mentor_id, mentee_id)
# report.html's early and late hours (``report.analysis``, which loads matplotlib; a test keeps
# the two equal): a meeting starting before 08:00 or from 18:00 local is off-hours
EARLY_HOUR, LATE_HOUR = 8, 18
SUPPRESSED = "suppressed"
ENDED_REASONS: tuple[str, ...] = ("mentor left", "mentee left", "both left", "rules or calendars")
VERDICTS: tuple[str, ...] = ("continue", "end", "partial", "none")
RATINGS: tuple[int, ...] = (1, 2, 3, 4, 5)
PERSON_DISTRIBUTIONS: tuple[tuple[str, str], ...] = (
    ("partners_met", "distinct partners met"),
    ("departments_met", "distinct departments met"),
    ("levels_met", "distinct levels met"),
    ("timezones_met", "distinct time zones met"),
)


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@dataclass(frozen=True)
class EndedEarly:
    """A pair whose series a mid-cycle re-match cut, and why."""

    mentor_id: PersonId
    mentee_id: PersonId
    reason: str  # one of ENDED_REASONS


@dataclass(frozen=True)
class CycleRecord:
    """One stored cycle, as the history reads it.

    ``schedule``: the meetings that took place or will: the pairs' series and milestones at the
    cycle's end plus the cut series of pairs that ended early. ``points``: every pair's check-in
    points (ended pairs' too, up to their end). ``left``: records of people who left mid-cycle.
    ``as_of``: check-in points due up to this instant; ``None``: all (a closed cycle).
    """

    id: int
    start: date
    last_day: date
    status: str
    cohort: Cohort
    pairs: tuple[PairKey, ...]
    circles: tuple[CircleRecord, ...] = ()
    schedule: Schedule = field(default_factory=lambda: Schedule((), ()))
    feedback: tuple[FeedbackRow, ...] = ()
    circle_feedback: tuple[FeedbackRow, ...] = ()
    checkins: tuple[CheckIn, ...] = ()
    points: Mapping[PairKey, tuple[Point, ...]] = field(default_factory=dict)
    ended_early: tuple[EndedEarly, ...] = ()
    left: Mapping[PersonId, Person] = field(default_factory=dict)
    zone: str = "UTC"
    as_of: datetime | None = None

    def person(self, pid: PersonId) -> Person | None:
        """The cycle's record of ``pid`` (the roster's, or that of someone who left mid-cycle)."""
        return self.cohort.by_id.get(pid) or self.left.get(pid)

    @property
    def population(self) -> frozenset[PersonId]:
        """Everyone who took part in the cycle: the roster at its end and who left during it."""
        return frozenset(self.cohort.by_id) | frozenset(self.left)


@dataclass(frozen=True)
class Figure:
    """One figure: its name, its detail (a month, a zone, a rating, ...), its value or ``None``."""

    name: str
    detail: str
    value: int | float | None  # None: suppressed (the number is never kept)

    @property
    def suppressed(self) -> bool:
        return self.value is None

    @property
    def shown(self) -> int | float | str:
        """The value as every output writes it: the number, or ``suppressed``."""
        return SUPPRESSED if self.value is None else self.value


@dataclass(frozen=True)
class CycleFigures:
    id: int
    start: date
    last_day: date
    status: str
    figures: tuple[Figure, ...]

    def get(self, name: str, detail: str = "") -> Figure | None:
        return next((f for f in self.figures if f.name == name and f.detail == detail), None)


@dataclass(frozen=True)
class HistoryFigures:
    """Every figure of ``mentorsync history``: per cycle, then over all cycles."""

    min_group: int
    cycles: tuple[CycleFigures, ...]
    overall: tuple[Figure, ...]

    def as_json(self) -> dict[str, Any]:
        """``history.json``: figures nested by name and detail, suppressed ones as ``"suppressed"``."""
        return {
            "min_group": self.min_group,
            "cycles": [
                {
                    "cycle": c.id,
                    "start": c.start.isoformat(),
                    "last_day": c.last_day.isoformat(),
                    "status": c.status,
                    "figures": _nested(c.figures),
                }
                for c in self.cycles
            ],
            "overall": _nested(self.overall),
        }

    def csv_rows(self) -> list[tuple[Any, ...]]:
        """``history.csv``: ``cycle, start, figure, detail, value`` (``cycle`` empty: all cycles)."""
        rows: list[tuple[Any, ...]] = [
            (c.id, c.start.isoformat(), f.name, f.detail, f.shown) for c in self.cycles for f in c.figures
        ]
        rows += [("", "", f.name, f.detail, f.shown) for f in self.overall]
        return rows


CSV_HEADER = ("cycle", "start", "figure", "detail", "value")


def _nested(figures: Iterable[Figure]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in figures:
        if f.detail:
            out.setdefault(f.name, {})[f.detail] = f.shown
        else:
            out[f.name] = f.shown
    return out


# --------------------------------------------------------------------------- words

# figure name -> how the page says it, in the order of the per-cycle table
CYCLE_ROWS: tuple[tuple[str, str], ...] = (
    ("people", "people"),
    ("mentors", "can mentor"),
    ("mentees", "want a mentor"),
    ("returning", "returning (in an earlier cycle)"),
    ("new_people", "new to the program"),
    ("left", "left since the previous cycle"),
    ("pairs", "pairs"),
    ("circles", "circles"),
    ("mentees_in_pairs", "mentees in a pair"),
    ("circle_members", "circle members"),
    ("mentees_matched", "mentees matched (pair or circle)"),
    ("matched_rate", "share of mentees matched"),
    ("pairs_continuing", "pairs continuing from the previous cycle"),
    ("pairs_new", "new pairs"),
    ("pairs_ended", "pairs of the previous cycle that ended"),
    ("left_mid_cycle", "people who left during the cycle"),
    ("ended_early", "pairs that ended early"),
    ("checkin_response_rate", "check-in response rate"),
    ("checkin_met_rate", "met since the last check-in"),
    ("mean_rating", "mean rating at the end"),
    ("pairs_across_zones", "pairs across time zones"),
    ("mean_offset_hours", "mean time difference in a pair (hours)"),
    ("off_hours_rate", "meetings before 08:00 or from 18:00 local"),
)
RATES = frozenset(
    {
        "matched_rate",
        "checkin_response_rate",
        "checkin_met_rate",
        "off_hours_rate",
        "checkin_response_rate_by_month",
        "checkin_met_rate_by_month",
        "off_hours_rate_by_role",
        "off_hours_rate_by_zone",
    }
)
OVERALL_CARDS: tuple[tuple[str, str], ...] = (
    ("cycles", "cycles"),
    ("people", "people over all cycles"),
    ("people_in_two_or_more_cycles", "took part in two or more cycles"),
    ("people_who_met_someone", "met someone through the program"),
    ("mean_partners_met", "distinct partners per person (mean)"),
    ("mean_departments_met", "departments met per person (mean)"),
)


def _num(value: float) -> str:
    """Thousands separators, no trailing ``.0`` (``report.html``'s way with numbers)."""
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def shown_text(f: Figure | None, rate: bool = False) -> str:
    """A figure as people read it: ``12``, ``1,204``, ``2.5``, ``87%``, or ``suppressed``."""
    if f is None:
        return ""
    if f.value is None:
        return "suppressed"
    if rate:
        return f"{100 * f.value:.0f}%"
    return _num(f.value)


def render_table(figures: HistoryFigures) -> str:
    """The per-cycle figures as a plain-text table (``mentorsync history`` without ``--out``)."""
    cycles = figures.cycles
    rows = [("cycle", [str(c.id) for c in cycles]), ("start", [c.start.isoformat() for c in cycles])]
    rows.append(("status", [c.status for c in cycles]))
    rows += [(label, [shown_text(c.get(name), name in RATES) for c in cycles]) for name, label in CYCLE_ROWS]
    width = max(len(label) for label, _ in rows)
    cols = [max(len(row[1][i]) for row in rows) for i in range(len(cycles))]
    lines = [
        label.ljust(width) + "".join("  " + v.rjust(cols[i]) for i, v in enumerate(values))
        for label, values in rows
    ]
    overall = ", ".join(
        f"{label} {shown_text(next((f for f in figures.overall if f.name == name and not f.detail), None))}"
        for name, label in OVERALL_CARDS[:3]
    )
    lines.append(f"over all cycles: {overall}")
    lines.append(f"(suppressed: computed over fewer than {figures.min_group} people)")
    return "\n".join(lines)


# --------------------------------------------------------------------------- suppression


@dataclass
class _Raw:
    name: str
    detail: str
    value: int | float
    group: int  # people the figure is computed over
    part_of: str = ""  # a breakdown whose parts add up to a shown figure


class _Builder:
    """Collects figures with their groups, then suppresses small ones (see the module doc)."""

    def __init__(self, min_group: int) -> None:
        self.min_group = min_group
        self.raw: list[_Raw] = []

    def add(
        self,
        name: str,
        value: int | float,
        group: int | Iterable[PersonId],
        detail: str = "",
        part_of: str = "",
    ) -> None:
        size = group if isinstance(group, int) else len(set(group))
        self.raw.append(_Raw(name, detail, value, size, part_of))

    def rate(
        self,
        name: str,
        numerator: int | float,
        denominator: int,
        group: int | Iterable[PersonId],
        detail: str = "",
        part_of: str = "",
        digits: int = 3,
    ) -> None:
        """A ratio (rounded); a ratio over nothing is suppressed like a figure over nobody."""
        value = round(numerator / denominator, digits) if denominator else 0.0
        self.add(name, value, group if denominator else 0, detail, part_of)

    def build(self) -> tuple[Figure, ...]:
        hidden = {id(r) for r in self.raw if r.group < self.min_group}
        breakdowns: dict[str, dict[str, int]] = defaultdict(dict)  # part_of -> detail -> group
        for r in self.raw:
            if r.part_of:
                parts = breakdowns[r.part_of]
                parts[r.detail] = min(parts.get(r.detail, r.group), r.group)
        extra: set[tuple[str, str]] = set()
        for key, parts in breakdowns.items():
            small = [d for d, g in parts.items() if 0 < g < self.min_group]  # over nobody: nothing to recover
            rest = sorted((g, d) for d, g in parts.items() if g >= self.min_group)
            if len(small) == 1 and rest:
                extra.add((key, rest[0][1]))
        return tuple(
            Figure(r.name, r.detail, None if id(r) in hidden or (r.part_of, r.detail) in extra else r.value)
            for r in self.raw
        )


# --------------------------------------------------------------------------- per cycle


def _offset(zone: str, day: date) -> timedelta:
    return datetime(day.year, day.month, day.day, 12, tzinfo=_zone(zone)).utcoffset() or timedelta(0)


def _structure(b: _Builder, c: CycleRecord, prev: CycleRecord | None, earlier: set[PersonId]) -> None:
    """People, matched mentees, continuing / new / ended pairs, early ends, returning people."""
    everyone = c.population
    ids = set(c.cohort.by_id)
    b.add("people", len(c.cohort), everyone)
    b.add("mentors", len(c.cohort.mentors), everyone)
    b.add("mentees", len(c.cohort.mentees), everyone)
    b.add("left_mid_cycle", len(c.left), everyone)
    mentees = {p.id for p in c.cohort.mentees}
    in_pairs = {e for _, e in c.pairs}
    in_circles = {m for circle in c.circles for m in circle.member_ids}
    matched = mentees & (in_pairs | in_circles)
    b.add("pairs", len(c.pairs), everyone)
    b.add("circles", len(c.circles), everyone)
    b.add("mentees_in_pairs", len(in_pairs), everyone)
    b.add("circle_members", len(in_circles), everyone)
    b.add("mentees_matched", len(matched), everyone)
    b.rate("matched_rate", len(matched), len(mentees), everyone)
    before = set(prev.pairs) if prev else set()
    both = everyone | (prev.population if prev else frozenset())
    now = set(c.pairs)
    b.add("pairs_continuing", len(now & before), both)
    b.add("pairs_new", len(now - before), both)
    b.add("pairs_ended", len(before - now), both)
    b.add("ended_early", len(c.ended_early), everyone)
    reasons = Counter(e.reason for e in c.ended_early)
    for reason in ENDED_REASONS:
        b.add("ended_early_reason", reasons.get(reason, 0), everyone, reason)
    prev_ids = set(prev.cohort.by_id) if prev else set()
    b.add("returning", len(ids & earlier), everyone)
    b.add("new_people", len(ids - earlier), everyone)
    b.add("left", len(prev_ids - ids), both)


def _due(c: CycleRecord) -> list[tuple[PairKey, Point]]:
    out = []
    for key in sorted(c.points):
        for point in c.points[key]:
            if c.as_of is None or point.opens <= c.as_of:
                out.append((key, point))
    return out


def _checkins(b: _Builder, c: CycleRecord) -> None:
    """Response and "met since the last check-in" rates, per month and over the cycle."""
    answers: dict[tuple[PersonId, PersonId, int], CheckIn] = {
        (a.person_id, a.partner_id, a.number): a for a in c.checkins
    }
    expected: dict[str, int] = Counter()
    given: dict[str, int] = Counter()
    met: dict[str, int] = Counter()
    expected_people: dict[str, set[PersonId]] = defaultdict(set)
    answering: dict[str, set[PersonId]] = defaultdict(set)
    for (mentor, mentee), point in _due(c):
        month = point.meeting.astimezone(_zone(c.zone)).strftime("%Y-%m")
        for pid, other in ((mentor, mentee), (mentee, mentor)):
            expected[month] += 1
            expected_people[month].add(pid)
            answer = answers.get((pid, other, point.number))
            if answer is not None:
                given[month] += 1
                answering[month].add(pid)
                met[month] += answer.met == "yes"
    all_expected = set().union(*expected_people.values()) if expected_people else set()
    all_answering = set().union(*answering.values()) if answering else set()
    b.rate("checkin_response_rate", sum(given.values()), sum(expected.values()), all_expected)
    b.rate("checkin_met_rate", sum(met.values()), sum(given.values()), all_answering)
    for month in sorted(expected):
        people = expected_people[month]
        b.add("checkin_expected", expected[month], people, month, "checkin_month")
        b.add("checkin_answered", given[month], people, month, "checkin_month")
        b.rate(
            "checkin_response_rate_by_month", given[month], expected[month], people, month, "checkin_month"
        )
        b.rate(
            "checkin_met_rate_by_month",
            met[month],
            given[month],
            answering[month],
            month,
            "checkin_met_month",
        )


def _feedback(b: _Builder, c: CycleRecord) -> None:
    """Ratings, would-continue answers and pair verdicts; then the same for circles."""
    for prefix, rows in (("", c.feedback), ("circle_", c.circle_feedback)):
        who = {r.person_id for r in rows}
        rated = [r for r in rows if r.rating is not None]
        raters = {r.person_id for r in rated}
        counts = Counter(r.rating for r in rated)
        for rating in RATINGS:
            b.add(f"{prefix}rating", counts.get(rating, 0), raters, str(rating))
        b.rate(f"{prefix}mean_rating", sum(r.rating or 0 for r in rated), len(rated), raters, digits=2)
        b.add(f"{prefix}would_continue", sum(r.wants_continue for r in rows), who, "yes")
        b.add(f"{prefix}would_continue", sum(not r.wants_continue for r in rows), who, "no")
    if c.status != "closed" and not c.feedback:
        return  # a cycle still running has no verdicts yet (as ``cycle show``)
    in_pairs = {p for pair in c.pairs for p in pair}
    verdicts: Counter[str] = Counter(pair_verdicts(c.feedback, c.pairs).values())
    for verdict in VERDICTS:
        b.add("verdict", verdicts[verdict], in_pairs, verdict)


def _meetings(c: CycleRecord) -> list[tuple[PersonId, str, datetime]]:
    """Every (person, role, UTC start) of the cycle's meetings: pairs, pairs ended early, circles."""
    out: list[tuple[PersonId, str, datetime]] = []
    starts = [(s.mentor_id, s.mentee_id, o) for s in c.schedule.series for o in s.occurrences]
    starts += [(e.mentor_id, e.mentee_id, e.start) for e in c.schedule.events]
    for mentor, mentee, start in starts:
        out += [(mentor, "mentor", start), (mentee, "mentee", start)]
    for circle in c.circles:
        instants = list(circle.series.occurrences) + [e.start for e in circle.events]
        for start in instants:
            if circle.mentor_id:
                out.append((circle.mentor_id, "mentor", start))
            out += [(m, "mentee", start) for m in circle.member_ids]
    return out


def _burden(b: _Builder, c: CycleRecord) -> None:
    """Pairs across time zones, and who carries early and late meetings (by role and by zone)."""
    in_pairs = {p for pair in c.pairs for p in pair}
    across, hours = 0, 0.0
    for mentor, mentee in c.pairs:
        a, e = c.person(mentor), c.person(mentee)
        if a is None or e is None:
            continue
        gap = abs(_offset(a.timezone, c.start) - _offset(e.timezone, c.start))
        across += gap > timedelta(0)
        hours += gap.total_seconds() / 3600
    b.add("pairs_across_zones", across, in_pairs)
    b.rate("mean_offset_hours", hours, len(c.pairs), in_pairs, digits=2)
    total, off = 0, 0
    by_role: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_zone: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    role_people: dict[str, set[PersonId]] = defaultdict(set)
    zone_people: dict[str, set[PersonId]] = defaultdict(set)
    for pid, role, start in _meetings(c):
        person = c.person(pid)
        if person is None:
            continue
        hour = start.astimezone(_zone(person.timezone)).hour
        late = hour < EARLY_HOUR or hour >= LATE_HOUR
        total += 1
        off += late
        for table, people, key in ((by_role, role_people, role), (by_zone, zone_people, person.timezone)):
            table[key][0] += 1
            table[key][1] += late
            people[key].add(pid)
    meeting_people = set().union(*zone_people.values()) if zone_people else set()
    b.add("person_meetings", total, meeting_people)
    b.add("off_hours_meetings", off, meeting_people)
    b.rate("off_hours_rate", off, total, meeting_people)
    for role in ("mentor", "mentee"):
        n, late_n = by_role.get(role, [0, 0])
        b.rate("off_hours_rate_by_role", late_n, n, role_people.get(role, set()), role, "role")
    for zone in sorted(by_zone):
        n, late_n = by_zone[zone]
        b.add("zone_people", len(zone_people[zone]), zone_people[zone], zone, "zone")
        b.rate("off_hours_rate_by_zone", late_n, n, zone_people[zone], zone, "zone")


def cycle_figures(
    c: CycleRecord, prev: CycleRecord | None, earlier: set[PersonId], min_group: int
) -> CycleFigures:
    """One cycle's figures; ``earlier``: everyone in a roster of an earlier cycle."""
    b = _Builder(min_group)
    _structure(b, c, prev, earlier)
    _checkins(b, c)
    _feedback(b, c)
    _burden(b, c)
    return CycleFigures(c.id, c.start, c.last_day, c.status, b.build())


# --------------------------------------------------------------------------- over all cycles


def people_met(cycles: Sequence[CycleRecord]) -> dict[PersonId, list[Person]]:
    """Everyone each person met over all cycles (pair partners, early-ended pairs, circle
    companions), each as recorded in the cycle they met (a person met twice is listed twice)."""
    met: dict[PersonId, list[Person]] = defaultdict(list)
    for c in cycles:
        groups: list[tuple[PersonId, ...]] = [tuple(k) for k in c.pairs]
        groups += [(e.mentor_id, e.mentee_id) for e in c.ended_early]
        groups += [circle.people for circle in c.circles]
        for group in groups:
            for pid in group:
                for other in group:
                    record = c.person(other)
                    if other != pid and record is not None:
                        met[pid].append(record)
    return met


def _overall(b: _Builder, cycles: Sequence[CycleRecord]) -> None:
    everyone = {pid for c in cycles for pid in c.population}
    cycles_of = Counter(pid for c in cycles for pid in c.population)
    b.add("cycles", len(cycles), everyone)
    b.add("people", len(everyone), everyone)
    b.add("people_in_two_or_more_cycles", sum(n >= 2 for n in cycles_of.values()), everyone)
    for n in range(1, len(cycles) + 1):
        b.add("cycles_taken_part", sum(k == n for k in cycles_of.values()), everyone, str(n))
    met = people_met(cycles)
    group = set(met)
    b.add("people_who_met_someone", len(group), group)
    counts = {
        "partners_met": {pid: len({o.id for o in others}) for pid, others in met.items()},
        "departments_met": {pid: len({o.department for o in others} - {None}) for pid, others in met.items()},
        "levels_met": {pid: len({o.level for o in others} - {None}) for pid, others in met.items()},
        "timezones_met": {pid: len({o.timezone for o in others}) for pid, others in met.items()},
    }
    for name, _ in PERSON_DISTRIBUTIONS:
        values = counts[name]
        b.rate(f"mean_{name}", sum(values.values()), len(values), group, digits=2)
        histogram = Counter(values.values())
        for k in range(0, max(histogram, default=0) + 1):
            b.add(name, histogram.get(k, 0), group, str(k))


def history_figures(cycles: Sequence[CycleRecord], min_group: int) -> HistoryFigures:
    """Every figure of the history, cycles in the order given (oldest first)."""
    out = []
    earlier: set[PersonId] = set()
    for i, c in enumerate(cycles):
        out.append(cycle_figures(c, cycles[i - 1] if i else None, earlier, min_group))
        earlier |= set(c.population)
    b = _Builder(min_group)
    _overall(b, cycles)
    return HistoryFigures(min_group, tuple(out), b.build())


__all__ = [
    "CSV_HEADER",
    "CYCLE_ROWS",
    "OVERALL_CARDS",
    "RATES",
    "CycleFigures",
    "CycleRecord",
    "ENDED_REASONS",
    "EndedEarly",
    "Figure",
    "HistoryFigures",
    "PERSON_DISTRIBUTIONS",
    "SUPPRESSED",
    "cycle_figures",
    "history_figures",
    "people_met",
    "render_table",
    "shown_text",
]
