"""Ranked choices as the pipeline reports them, and shortlists to rank (issue 16).

The allocation itself runs inside ``planner.plan`` (``matcher.ranks``); this module gives the
pipeline what it writes: the mentee's rank of each partner, the rank profile, the warnings for
ranked pairs that can never be formed, and ``mentorsync suggest``'s shortlists.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cohort.errors import Problem
from cohort.model import Cohort
from cohort.program import Program
from cohort.ranks import has_ranks
from matcher.model import MatchResult
from matcher.ranks import ineligible_warnings, mentee_ranks, rank_profile
from matcher.suggest import Suggestion, appearance_limits, shortlists, spread_ratio
from planner.instance import slot_aware_candidates
from planner.plan import Plan

__all__ = ["Shortlists", "mentee_rank_column", "rank_summary", "rank_warnings", "suggest"]


def rank_warnings(plan: Plan) -> list[Problem]:
    """Ranked pairs that are not candidates (a rule, or no common slot), as warnings."""
    return ineligible_warnings(plan.cohort, plan.program, plan.candidates)


def mentee_rank_column(cohort: Cohort, match: MatchResult) -> Mapping[tuple[str, str], int | None] | None:
    """matches.csv's ``mentee_rank`` column, only for cohorts with ranks (None otherwise)."""
    if not has_ranks(cohort):
        return None
    return mentee_ranks(cohort, [(p.mentor_id, p.mentee_id) for p in match.pairs])


def rank_summary(plan: Plan) -> dict[str, Any]:
    """summary.json's ``ranks``: the mode and the rank profile, only for cohorts with ranks."""
    if not has_ranks(plan.cohort):
        return {}
    profile = rank_profile(plan.cohort, [(p.mentor_id, p.mentee_id) for p in plan.match.pairs])
    return {"ranks": {"preferences": plan.program.matching.preferences, **profile}}


@dataclass(frozen=True)
class Shortlists:
    """Every mentee's shortlist and the figures ``suggest`` reports."""

    suggestions: tuple[Suggestion, ...]
    figures: Mapping[str, Any]


def suggest(cohort: Cohort, program: Program, top: int) -> Shortlists:
    """At most ``top`` eligible mentors (every hard rule and a common recurring slot) per mentee,
    best score first, mentors spread over the shortlists by their seats."""
    _, cs = slot_aware_candidates(cohort, program)
    found = shortlists(cohort, cs, top)
    per_mentee = Counter(s.mentee_id for s in found)
    mentees = len(cohort.mentees)
    return Shortlists(
        tuple(found),
        {
            "top": top,
            "mentees": mentees,
            "suggestions": len(found),
            "mentees_with_full_list": sum(n == top for n in per_mentee.values()),
            "mentees_without_suggestion": mentees - len(per_mentee),
            "seats": int(cs.arrays.capacity.sum()),
            "most_appearances_allowed": int(appearance_limits(cs, top).max(initial=0)),
            "worst_requests_per_seat_over_average": round(spread_ratio(cs, found), 3) if found else 0.0,
        },
    )
