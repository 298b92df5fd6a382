"""Why each unmatched mentee with an eligible mentor stayed unmatched, tested against the calendars.

Every unmatched mentee with at least one eligible mentor (a candidate pair: every hard rule and a
recurring slot of their own; pairs forbidden by history are not eligible) gets the reason that
binds, as ``unmatched.csv`` and ``explain`` say it:

- **all full**: every eligible mentor has as many mentees as seats (the first few named);
- **free seats but no common hour**: eligible mentors with a free seat (named), none of whose
  recurring slots with the mentee fits the meetings already placed (with the buffer) and the
  weekly limits. For the best-scoring few: the hours the pair shares (in the mentee's time), whose
  meetings take them or whose weekly limit; and, for the best one or two, what would fix it, found
  by running the slot search again: a less frequent cadence, else one more hour of the mentee's
  availability (a few hours in which the mentor is free of meetings), kept only when a slot of the
  changed pair fits the calendars as they stand (else the reason says what was tried);
- **a slot fits now**: a free-seat mentor with whom a slot fits as things stand (only when the
  pairs were not placed by ``planner.augment``, which leaves no such mentor: ``schedule`` of
  stored pairs).

No reason guesses: each named mentor was tested.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np

from cohort.model import MINUTES_PER_WEEK, Person, PersonId
from planner.fit import Calendars
from planner.instance import PlanInstance
from scheduler.assign import local_weeks
from scheduler.constraints import over_weekly_limit, overlap_with_buffer, week_counts
from scheduler.model import Schedule
from scheduler.recurrence import zone
from scheduler.slots import SlotContext, SlotOption, describe_availability, iter_slot_options, pair_cadence

PairKey = tuple[PersonId, PersonId]

DETAILED = 2  # free-seat mentors described with their hours and what takes them
FIXES_FOR = 2  # of those, the ones for which fixes are searched
HOURS_TRIED = 4  # one-hour additions tried per mentor (those clear of the mentor's meetings)
NAMED = 5  # mentors named before "and N more"
LESS_OFTEN = {"weekly": ("biweekly", "monthly"), "biweekly": ("monthly",), "monthly": ()}
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
DAYS_PLURAL = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")


def named(ids: Sequence[str], limit: int = NAMED) -> str:
    """'a, b, c' or 'a, b, c, d, e and 7 more'."""
    more = f" and {len(ids) - limit} more" if len(ids) > limit else ""
    return ", ".join(ids[:limit]) + more


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@dataclass(frozen=True)
class Fix:
    """A tested change that would let ``mentor_id`` and the mentee meet: ``cadence`` (another
    rhythm) or ``hour`` (one more hour of the mentee's availability, week-minutes ``[a, a + 60)``
    in the mentee's zone), and the pair's cadence then."""

    mentor_id: PersonId
    cadence: str
    hour: int | None = None

    def words(self, mentee: Person) -> str:
        if self.hour is None:
            return f"a {self.cadence} cadence would fit {self.mentor_id}"
        day, lo = divmod(self.hour, 1440)
        return (
            f"one more hour of availability on {DAYS_PLURAL[day]} {_hhmm(lo)}-{_hhmm(lo + 60)} "
            f"({mentee.timezone}) would allow a {self.cadence} meeting with {self.mentor_id}"
        )


def with_hour(person: Person, hour: int) -> Person:
    """``person`` with the week-minutes ``[hour, hour + 60)`` added to their availability."""
    spans = sorted([*person.availability, (hour, hour + 60)])
    merged: list[list[int]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return replace(person, availability=tuple((a, b) for a, b in merged))


class _Placed:
    """Every person's placed meetings (grid minutes) with the partner of each, to name who holds
    the hours a pair would need."""

    def __init__(self, ctx: SlotContext, schedule: Schedule):
        self.ctx = ctx
        items: dict[PersonId, list[tuple[int, int, PersonId]]] = {}
        epoch = ctx.epoch_utc
        for s in schedule.series:
            for t in s.occurrences:
                start = int((t - epoch).total_seconds() // 60)
                items.setdefault(s.mentor_id, []).append((start, start + s.duration_minutes, s.mentee_id))
                items.setdefault(s.mentee_id, []).append((start, start + s.duration_minutes, s.mentor_id))
        for ev in schedule.events:
            start = int((ev.start - epoch).total_seconds() // 60)
            items.setdefault(ev.mentor_id, []).append((start, start + ev.duration_minutes, ev.mentee_id))
            items.setdefault(ev.mentee_id, []).append((start, start + ev.duration_minutes, ev.mentor_id))
        self.by_person = {
            pid: (
                np.array([a for a, _, _ in xs], dtype=np.int64),
                np.array([b for _, b, _ in xs], dtype=np.int64),
                [p for _, _, p in xs],
            )
            for pid, xs in items.items()
        }

    def blockers(self, option: SlotOption, pid: PersonId) -> set[PersonId]:
        """The partners of ``pid``'s placed meetings that the option's meetings collide with."""
        got = self.by_person.get(pid)
        if got is None:
            return set()
        starts, ends, partners = got
        buffer = self.ctx.program.cycle.buffer_minutes
        epoch = self.ctx.epoch_utc
        o_s = np.array(
            [int((m.start - epoch).total_seconds() // 60) for m in option.meetings], dtype=np.int64
        )
        o_e = o_s + np.array([m.duration_minutes for m in option.meetings], dtype=np.int64)
        hit = overlap_with_buffer(starts[None, :], ends[None, :], o_s[:, None], o_e[:, None], buffer)
        return {partners[j] for j in np.flatnonzero(hit.any(axis=0)).tolist()}


def _shared_hours(options: Sequence[SlotOption], mentee: Person, ctx: SlotContext) -> str:
    """The pair's slot starts as meeting windows in the mentee's local time ('Tue 14:00-15:15')."""
    tz = zone(mentee.timezone)
    starts = sorted(
        {
            (t.astimezone(tz).weekday(), t.astimezone(tz).hour * 60 + t.astimezone(tz).minute)
            for t in _firsts(options)
        }
    )
    ranges: list[list[int]] = []
    for day, minute in starts:
        if ranges and ranges[-1][0] == day and minute - ranges[-1][2] <= ctx.gran:
            ranges[-1][2] = minute
        else:
            ranges.append([day, minute, minute])
    texts = [f"{DAY_NAMES[d]} {_hhmm(a)}-{_hhmm(min(b + ctx.duration, 1440))}" for d, a, b in ranges]
    return named(texts, 4)


def _firsts(options: Iterable[SlotOption]) -> list[datetime]:
    return [o.occurrences[0] if o.occurrences else o.meetings[0].start for o in options]


class Reasons:
    """The tests behind the reasons: the calendars as they stand, and the slot search."""

    def __init__(self, inst: PlanInstance, schedule: Schedule):
        ctx = inst.ctx
        self.ctx, self.cs = ctx, inst.candidates
        self.cohort = ctx.cohort
        self.calendars = Calendars(ctx, schedule)
        self.placed = _Placed(ctx, schedule)

    def fits(self, mentor_id: PersonId, mentee_id: PersonId) -> bool:
        """Whether some recurring slot of the pair fits both calendars as they stand."""
        options = iter_slot_options(self.cohort[mentor_id], self.cohort[mentee_id], self.ctx)
        return any(self.calendars.fits(o) for o in options)

    def why_no_slot(
        self, mentor_id: PersonId, mentee_id: PersonId, viewer: PersonId | None = None
    ) -> tuple[str, str]:
        """The hours the pair shares (slot windows in the mentee's time) and what every slot there
        breaks: a buffer around the mentor's meetings or the mentee's, or a weekly limit; said to
        ``viewer`` (the mentee by default)."""
        viewer = viewer or mentee_id

        def whose(pid: PersonId) -> str:
            return "your" if pid == viewer else f"{pid}'s"

        mentor, mentee = self.cohort[mentor_id], self.cohort[mentee_id]
        options = list(iter_slot_options(mentor, mentee, self.ctx))
        theirs: set[PersonId] = set()
        mine: set[PersonId] = set()
        limits: set[PersonId] = set()
        for o in options:
            a, b = self.placed.blockers(o, mentor_id), self.placed.blockers(o, mentee_id)
            theirs |= a
            mine |= b
            limits |= self._over_limit(o)
        parts = []
        if theirs:
            parts.append(f"collides with {whose(mentor_id)} meetings with {named(sorted(theirs))}")
        if mine:
            parts.append(f"collides with {whose(mentee_id)} meetings with {named(sorted(mine))}")
        for pid in sorted(limits):
            who = whose(pid)
            limit = self.cohort[pid].max_meetings_per_week
            parts.append(f"would break {who} limit of {limit} meeting(s) a week")
        return _shared_hours(options, mentee, self.ctx), " or ".join(parts)

    def _over_limit(self, option: SlotOption) -> set[PersonId]:
        """The people of the option whose weekly limit its meetings would break."""
        out = set()
        occ = self.calendars.occupancy((m.start, m.duration_minutes) for m in option.meetings)
        for pid in dict.fromkeys((option.mentor_id, option.mentee_id)):
            limit = self.cohort[pid].max_meetings_per_week
            if limit is None:
                continue
            busy = self.calendars.busy.get(pid)
            placed = busy.weeks if busy is not None else Counter()
            if over_weekly_limit(week_counts(local_weeks(self.ctx, pid, occ)), placed, limit):
                out.add(pid)
        return out

    def describe(self, mentor_id: PersonId, mentee_id: PersonId) -> str:
        """One free-seat mentor in a reason: their hours, the shared hours, what takes them."""
        mentor = self.cohort[mentor_id]
        cadence = pair_cadence(mentor, self.cohort[mentee_id], self.ctx.program)
        hours, taken = self.why_no_slot(mentor_id, mentee_id)
        return (
            f"{mentor_id} ({mentor.timezone}, free {describe_availability(mentor)}) shares {hours} "
            f"your time, and every {cadence} recurring slot there {taken}"
        )

    def fix(self, mentor_id: PersonId, mentee_id: PersonId) -> tuple[Fix | None, int, int]:
        """A change tested to make the pair placeable: a less frequent cadence, else one more hour
        of the mentee's; and how many cadences and hours were tried."""
        mentor, mentee = self.cohort[mentor_id], self.cohort[mentee_id]
        cadence = pair_cadence(mentor, mentee, self.ctx.program)
        for other in LESS_OFTEN[cadence]:
            options = iter_slot_options(mentor, mentee, self.ctx, cadence=other)
            if any(self.calendars.fits(o) for o in options):
                return Fix(mentor_id, other), len(LESS_OFTEN[cadence]), 0
        hours = self._hours(mentor, mentee)[:HOURS_TRIED]
        before = {
            a: self.ctx.evaluate(mentor, mentee, cadence, a)["valid"]
            for a in (self.ctx.anchors(mentor, mentee) if hours else ())
        }
        for hour in hours:
            relaxed = with_hour(mentee, hour)
            what_if = self.ctx.with_people((mentor, relaxed))
            options = iter_slot_options(mentor, relaxed, what_if, besides=before)
            if any(self.calendars.fits(o) for o in options):
                return Fix(mentor_id, cadence, hour), len(LESS_OFTEN[cadence]), len(hours)
        return None, len(LESS_OFTEN[cadence]), len(hours)

    def _hours(self, mentor: Person, mentee: Person) -> list[int]:
        """One-hour blocks of the mentee's week (week-minutes, on the hour) that the mentee lacks
        and in which a meeting would fit the mentor's hours clear of every placed meeting of
        theirs (projected on the week, buffer included): the blocks worth testing."""
        ctx = self.ctx
        utc0 = np.array([2 * 1440], dtype=np.int64)  # the cycle's first local midnight, about
        shift = int(
            ctx.zone_table(mentee.timezone).offset(utc0)[0] - ctx.zone_table(mentor.timezone).offset(utc0)[0]
        )
        free = np.zeros(2 * MINUTES_PER_WEEK, dtype=bool)
        for a, b in mentor.availability:
            free[(np.arange(a, b) + shift) % MINUTES_PER_WEEK] = True
        got = self.placed.by_person.get(mentor.id)
        if got is not None:
            starts, ends, _ = got
            off = ctx.zone_table(mentee.timezone).offset(starts)
            local = (starts + off + ctx.epoch_wd * 1440) % MINUTES_PER_WEEK
            buffer = ctx.program.cycle.buffer_minutes
            for s, n in zip(local.tolist(), (ends - starts).tolist(), strict=True):
                free[(np.arange(s - buffer, s + n + buffer)) % MINUTES_PER_WEEK] = False
        free[MINUTES_PER_WEEK:] = free[:MINUTES_PER_WEEK]
        mine = np.zeros(MINUTES_PER_WEEK, dtype=bool)
        for a, b in mentee.availability:
            mine[a:b] = True
        prefix = np.concatenate([[0], np.cumsum(free)])
        d = ctx.duration
        starts_ok = prefix[np.arange(MINUTES_PER_WEEK) + d] - prefix[np.arange(MINUTES_PER_WEEK)] == d
        out = []
        for h in range(0, MINUTES_PER_WEEK, 60):
            if not mine[h : h + 60].all() and starts_ok[h : h + 60 - d + 1 : ctx.gran].any():
                out.append(h)
        return out


def unmatched_reasons(inst: PlanInstance, schedule: Schedule, *, augmented: bool) -> dict[PersonId, str]:
    """The binding reason of every unmatched mentee with an eligible mentor (module doc), given
    the placed ``schedule``. ``augmented``: ``planner.augment`` placed these pairs, so no
    free-seat mentor's slot fits (each was tried); otherwise every free-seat mentor is tested.
    """
    pairs = [(s.mentor_id, s.mentee_id) for s in schedule.series]
    used = Counter(m for m, _ in pairs)
    matched = {e for _, e in pairs}
    formed = set(pairs)
    tests: Reasons | None = None
    out: dict[PersonId, str] = {}
    for mentee in inst.cohort.mentees:
        e = mentee.id
        if e in matched:
            continue
        mentors = [m for _, m in inst.ranked_mentors(e) if (e, m) not in formed]
        if not mentors:
            continue
        free = [m for m in mentors if used[m] < inst.seats.get(m, 0)]
        if not free:
            out[e] = f"all {len(mentors)} eligible mentor(s) are full: {named(sorted(mentors))}"
            continue
        tests = tests or Reasons(inst, schedule)
        if not augmented:
            fitting = next((m for m in free if tests.fits(m, e)), None)
            if fitting is not None:
                out[e] = (
                    f"eligible mentor {fitting} has a free seat and a recurring slot that fits both "
                    "calendars, but the stored pairs leave the pair out (`mentorsync match` then "
                    "`schedule`, or `run`, would place it)"
                )
                continue
        out[e] = _no_common_hour(tests, mentee, free)
    return out


def _no_common_hour(tests: Reasons, mentee: Person, free: Sequence[PersonId]) -> str:
    """The reason of a mentee whose free-seat eligible mentors (best score first) have no slot that
    fits: the mentors, the hours, what takes them, and what would fix it."""
    details = [tests.describe(m, mentee.id) for m in free[:DETAILED]]
    text = (
        f"eligible mentor(s) with a free seat: {named(list(free))}; none of their free hours meets yours "
        f"({mentee.timezone}, free {describe_availability(mentee)}): " + "; ".join(details)
    )
    tried: list[str] = []
    for m in free[:FIXES_FOR]:
        found, cadences, hours = tests.fix(m, mentee.id)
        if found is not None:
            text += f"; what would fix it: {found.words(mentee)}"
            break
        what = ["a less frequent cadence"] if cadences else []
        what += [f"{hours} added hour(s) of yours"] if hours else []
        tried.append(
            f"{m} ({' and '.join(what)} tested)"
            if what
            else f"{m} (no less frequent cadence, and no hour outside yours where {m} is free of meetings)"
        )
    if tried:
        text += "; no single change found for " + ", ".join(tried)
    return text


def free_seat_note(tests: Reasons, mentor_id: PersonId, mentee_id: PersonId, viewer: PersonId) -> str:
    """Why an unmatched mentee and a free-seat candidate mentor are not a pair, tested against the
    calendars, said to ``viewer`` (either of them; ``explain``)."""
    if tests.fits(mentor_id, mentee_id):
        return "a seat is free and a recurring slot fits both calendars now"
    hours, taken = tests.why_no_slot(mentor_id, mentee_id, viewer)
    when = "your time" if viewer == mentee_id else f"{mentee_id}'s time"
    return f"a seat is free, but every recurring slot in the hours you share ({hours} {when}) {taken}"
