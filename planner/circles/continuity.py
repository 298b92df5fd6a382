"""Circles across cycles: which circles of the last cycle continue, and the boundaries feedback sets.

Feedback about a circle is a feedback row whose ``partner_id`` is the circle's id (a member of a
mentor-led circle may name the circle's mentor instead; ``cohort.feedback`` turns that into the
circle's id). The policy, analogue of the pairs' (``planner.continuity``):

* **who stays**: a member stays in their circle when they said yes, are still in the roster and
  still want a circle (``format`` ``circle`` or ``either``; a mentor-led circle's members are
  mentees). Members who said no, did not answer, or left, leave it: continuing needs a yes, as a
  pair continues only when both sides said yes. Someone who did not answer may come back as a
  replacement, like anyone in the pool.
* **which circles continue**: a mentor-led circle when its mentor said yes (and still leads
  circles) and at least one member stays; a peer circle when at least two members stay. A
  continuing circle keeps its id; its free places (up to ``max_size``) are filled from the pool
  (replacements), or it shrinks, as long as it keeps ``min_size`` members and every rule between
  every two of them; it keeps its slot (weekday, local time, anchor zone, rhythm) when that slot is
  still valid for every member in the new cycle's dates, DST weeks included, or else gets a new one.
  When it cannot reach ``min_size`` it dissolves and the members who stayed go back to the pool.
* **boundaries** (every earlier cycle, as a pair where someone said no is never formed again):
  someone who said no to a circle never rejoins it (its id stays with its continuation) and is never
  again in a circle with any of its people (its mentor, its other members): saying no to a circle is
  saying no to meeting those people in a circle, so a dissolved circle is not re-formed under a new
  id either. A mentor's no does the same for every member. A circle's no does not bar a one-to-one
  pair, and a pair's no does not bar a circle.
* **ids**: a new circle never takes the id of a circle of an earlier cycle.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence

from cohort.feedback import FeedbackRow
from cohort.model import Cohort, Person, PersonId
from cohort.program import Program
from planner.circles.model import CircleContinuity, KeptCircle
from planner.circles.pool import wants_circle
from scheduler.assign import pattern_of_series
from scheduler.model import CircleRecord, Series
from scheduler.recurrence import Pattern

CycleCircles = tuple[Sequence[CircleRecord], Iterable[FeedbackRow]]
"""One closed cycle's circles (as stored) and its circle feedback rows (``partner_id``: the
circle id)."""


def placed_pattern(series: Series, program: Program) -> Pattern | None:
    """The pattern a circle's ``series`` followed, placed in ``program``'s cycle (same weekday,
    local time and anchor zone; a biweekly rhythm's parity counted from the new cycle's first
    Monday); None when the circles' rhythm changed."""
    if series.cadence != program.circles.cadence:
        return None
    pattern = pattern_of_series(series, program)
    return dataclasses.replace(pattern, duration_minutes=program.circles.duration_minutes)


def _stays(cohort: Cohort, pid: PersonId, *, led: bool) -> bool:
    if pid not in cohort:
        return False
    person = cohort[pid]
    return wants_circle(person) and (not led or (person.is_mentee and person.role != "mentor"))


def continuing(
    previous: Sequence[CircleRecord], rows: Iterable[FeedbackRow], cohort: Cohort, program: Program
) -> tuple[KeptCircle, ...]:
    """The circles of ``previous`` that continue, each with the members who stay (module doc)."""
    said = {(r.person_id, r.partner_id): r.wants_continue for r in rows}
    kind = program.circles.kind
    out: list[KeptCircle] = []
    for circle in previous:
        mentor = circle.mentor_id
        if (kind == "peer") != (mentor is None):
            continue  # the program changed kind: no circle of the other kind continues
        if mentor is not None:
            lead = cohort[mentor] if mentor in cohort else None
            if not (
                said.get((mentor, circle.circle_id)) and lead and lead.role == "mentor" and wants_circle(lead)
            ):
                continue
        stay = tuple(
            m
            for m in circle.member_ids
            if said.get((m, circle.circle_id)) and _stays(cohort, m, led=mentor is not None)
        )
        if len(stay) < (1 if mentor is not None else 2):
            continue
        out.append(KeptCircle(circle.circle_id, mentor, stay, placed_pattern(circle.series, program)))
    return tuple(out)


def boundaries(
    history: Iterable[CycleCircles],
) -> tuple[frozenset[tuple[str, PersonId]], frozenset[frozenset[PersonId]], frozenset[str]]:
    """From every earlier cycle: (circle id, person) for each no, {person, other} for the no-sayer
    and every other person of that circle, and every circle id used."""
    barred: set[tuple[str, PersonId]] = set()
    ended: set[frozenset[PersonId]] = set()
    used: set[str] = set()
    for circles, rows in history:
        by_id = {c.circle_id: c for c in circles}
        used |= set(by_id)
        for r in rows:
            circle = by_id.get(r.partner_id)
            if r.wants_continue or circle is None:
                continue
            barred.add((circle.circle_id, r.person_id))
            ended |= {frozenset((r.person_id, q)) for q in circle.people if q != r.person_id}
    return frozenset(barred), frozenset(ended), frozenset(used)


def next_cycle_circles(
    previous: Sequence[CircleRecord],
    rows: Iterable[FeedbackRow],
    cohort: Cohort,
    program: Program,
    *,
    earlier: Iterable[CycleCircles] = (),
) -> CircleContinuity:
    """What forming the next cycle's circles must respect: ``previous`` (the last closed cycle's
    circles) and ``rows`` (its circle feedback) decide which continue; ``earlier`` (the cycles
    before it) add their boundaries and ids."""
    rows = tuple(rows)
    barred, ended, used = boundaries([*earlier, (previous, rows)])
    return CircleContinuity(continuing(previous, rows, cohort, program), barred, ended, used)


def rejoined(continuity: CircleContinuity, back: Mapping[PersonId, PersonId]) -> CircleContinuity:
    """The boundaries with erased people's pseudonyms (``back``: pseudonym -> id of someone in the
    new roster) turned back into ids, so a no still holds when an erased person joins again (as
    ``store.repo.ended_pairs`` does for pairs)."""
    if not back:
        return continuity
    barred = {(c, back.get(p, p)) for c, p in continuity.barred}
    ended = {frozenset(back.get(p, p) for p in two) for two in continuity.ended}
    return dataclasses.replace(continuity, barred=continuity.barred | barred, ended=continuity.ended | ended)


def reserve_seats(pairs: Cohort, continuity: CircleContinuity, program: Program) -> Cohort:
    """The cohort to pair one-to-one with the seats of continuing circles' mentors held back
    (``mentor_capacity_per_circle`` per circle they lead), so that pairs, planned first, do not
    take the seat a continuing circle needs (``pairs`` itself when nothing is held back)."""
    per = program.circles.mentor_capacity_per_circle
    leads: dict[PersonId, int] = {}
    for kept in continuity.kept:
        if kept.mentor_id is not None and kept.mentor_id in pairs:
            leads[kept.mentor_id] = leads.get(kept.mentor_id, 0) + 1
    if not per or not leads:
        return pairs
    default = program.rules.default_capacity

    def held(p: Person) -> Person:
        if p.id not in leads:
            return p
        seats = p.capacity if p.capacity is not None else default
        return dataclasses.replace(p, capacity=max(0, seats - per * leads[p.id]))

    return Cohort(tuple(held(p) for p in pairs.people), source=pairs.source)


def mid_cycle_circles(
    records: Sequence[CircleRecord], roster: Cohort
) -> tuple[tuple[CircleRecord, ...], tuple[str, ...]]:
    """The open cycle's circles after people left it (``rematch --mid-cycle``): each circle goes on
    with the members still in ``roster``, same id, slot and UIDs (the group finishes the cycle,
    below ``min_size`` too: no replacement is brought into a running cycle); a mentor-led circle
    whose mentor left, or a circle left with fewer than two people, stops. Returns the circles that
    go on and the ids of those that stop."""
    out: list[CircleRecord] = []
    stopped: list[str] = []
    for c in records:
        members = tuple(m for m in c.member_ids if m in roster)
        if (c.mentor_id is not None and c.mentor_id not in roster) or len(members) + bool(c.mentor_id) < 2:
            stopped.append(c.circle_id)
            continue
        if members == c.member_ids:
            out.append(c)
            continue
        out.append(
            dataclasses.replace(
                c,
                member_ids=members,
                series=dataclasses.replace(c.series, member_ids=members),
                events=tuple(dataclasses.replace(e, member_ids=members) for e in c.events),
            )
        )
    return tuple(out), tuple(stopped)
