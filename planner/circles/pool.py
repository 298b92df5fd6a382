"""Who takes part in circles: who asks for one, who may still join one after the pairs, and how
many circles each leader may lead (the rules of a circle: ``planner.circles.forming``).

Who may join (``circle_pool``): people whose ``format`` is ``circle``, and people with ``either``
who were not matched one-to-one (the simple, sound rule: a pair is decided first, a circle takes
those left; an ``either`` person is never in both). With ``[circles] kind = "mentor-led"`` members
are people with role ``mentee`` or ``both`` and leaders are people with role ``mentor`` whose format
is ``circle`` or ``either``; a leader leads as many circles as their seats left after their pairs
allow (``capacity`` minus pairs, divided by ``mentor_capacity_per_circle``; 0: unlimited). With
``kind = "peer"`` every pool member may join and there is no leader.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from cohort.model import Cohort, Person, PersonId
from cohort.program import Program


def wants_circle(person: Person) -> bool:
    """Whether the person asked for a circle (``format`` ``circle`` or ``either``)."""
    return person.format in ("circle", "either")


def uses_circles(cohort: Cohort) -> bool:
    """Whether anyone asked for a circle (else nothing about circles is computed or written)."""
    return any(p.format != "one-to-one" for p in cohort.people)


def pair_cohort(cohort: Cohort, in_circles: Iterable[PersonId] = ()) -> Cohort:
    """The people who may be matched one-to-one (everyone but ``format = circle``, and but
    ``in_circles``: members who stay in a continuing circle); the cohort itself when nobody chose a
    circle."""
    out = set(in_circles)
    if not any(p.format == "circle" or p.id in out for p in cohort.people):
        return cohort
    return Cohort(
        tuple(p for p in cohort.people if p.format != "circle" and p.id not in out), source=cohort.source
    )


def circle_pool(
    cohort: Cohort, program: Program, paired: Iterable[PersonId], pairs_led: Mapping[PersonId, int]
) -> tuple[list[Person], dict[PersonId, int]]:
    """Members who may join a circle, and each leader's number of circles allowed."""
    taken = set(paired)
    kind = program.circles.kind
    people = [p for p in cohort.people if wants_circle(p) and not (p.format == "either" and p.id in taken)]
    if kind == "peer":
        return people, {}
    members = [p for p in people if p.is_mentee and p.role != "mentor"]
    per = program.circles.mentor_capacity_per_circle
    leaders: dict[PersonId, int] = {}
    for p in cohort.people:
        if p.role != "mentor" or not wants_circle(p):
            continue
        seats = (p.capacity if p.capacity is not None else program.rules.default_capacity) - pairs_led.get(
            p.id, 0
        )
        allowed = len(members) if per == 0 else max(0, seats) // per
        if allowed > 0:
            leaders[p.id] = allowed
    return members, leaders
