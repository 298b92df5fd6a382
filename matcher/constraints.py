"""The matching rules, each written once as the CP-SAT builder every model that chooses pairs sums.

Each builder is named after its rule in the catalogue (``cohort.rules``), adds that rule's
constraints through a ``PairVars`` container and records the rule's name there (the tests read
``PairVars.built`` to see which rules a model holds). A builder takes the model's variables
grouped as the rule needs them, never a whole model's state, so one builder serves a model with a
Boolean per candidate pair (``matcher.solve``, ``matcher.ranks``), a Boolean per pair and slot
option (``planner.joint``, ``planner.lns``) and one per candidate circle (``planner.circles``):

* ``one_mentor`` -- of the variables that give one mentee a mentor (a member a circle), at most one;
* ``capacity`` -- of the variables that give one mentor a mentee, at most their seats;
* ``mutual_mentoring`` -- of the two directions between two people with role ``both``, at most one;
* ``pin`` -- a pinned pair is formed (under an enforcement literal when the pins are an assumption).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ortools.sat.python import cp_model

Var = Any  # a CP-SAT Boolean variable (or literal)


@dataclass
class PairVars:
    """A matching model and its decision variables (``x``: one list of Booleans per pair or
    circle); ``built`` lists the rules the builders added, in order."""

    model: cp_model.CpModel
    x: list[Any] = field(default_factory=list)
    built: list[str] = field(default_factory=list)

    def note(self, rule: str) -> None:
        if rule not in self.built:
            self.built.append(rule)


def one_mentor(v: PairVars, groups: Iterable[Iterable[Var]]) -> None:
    """Hard: one_mentor -- a mentee has at most one mentor: per mentee, at most one of the
    variables that give them one (``groups``)."""
    for group in groups:
        v.model.add_at_most_one(group)
    v.note("one_mentor")


def capacity(v: PairVars, seats: Iterable[tuple[Iterable[Var], int]]) -> None:
    """Hard: capacity -- a mentor takes at most their seats: per mentor, the variables that give
    them a mentee and the seats still free for them."""
    for group, free in seats:
        v.model.add(sum(group) <= free)
    v.note("capacity")


def mutual_mentoring(v: PairVars, both_ways: Iterable[tuple[Sequence[Var], Sequence[Var]]]) -> None:
    """Hard: mutual_mentoring -- no two people mentor each other: per two people, at most one of
    the variables of the two directions (``(one way, the other way)``)."""
    for one, other in both_ways:
        v.model.add_at_most_one([*one, *other])
    v.note("mutual_mentoring")


def pin(v: PairVars, pinned: Iterable[Var], *, enforce: Var | None = None) -> None:
    """Hard: pin -- every pin of the program (and every kept pair) is formed: each variable of
    ``pinned`` is true (only when ``enforce`` is, when given: pins as one assumption)."""
    for x in pinned:
        ct = v.model.add(x == 1)
        if enforce is not None:
            ct.only_enforce_if(enforce)
    v.note("pin")
