"""Soft score of a candidate pair: named integer components scaled by ``[weights]``.

Each component is ``round(weight * fraction)`` with a fraction in ``[0, 1]``, so a component lies in
``0..weight`` and the score (their sum, in ``matcher.model.COMPONENTS`` order) is an integer that
CP-SAT and the min-cost flow take exactly. ``candidates.csv`` prints exactly these numbers.

Fractions (Soft rules):

* goals: share of the mentee's goals covered by the mentor's expertise (0 when no goals given);
* availability: robust common weekly time, saturating at ``AVAILABILITY_SATURATION`` x meeting length;
* interests: shared personal interests, capped at ``INTEREST_CAP``;
* language: half for the same first-listed (taken as native) language, half for two or more
  common languages;
* level: 1 for a gap (mentor - mentee) of 1-3 levels, 1/2 for 0 or 4, 0 otherwise; 1/2 when
  either level is unknown (neutral);
* prefer: 1/2 for a one-sided ``prefer`` request, 1 when mutual (mutual counts double);
* timezone: ``1 - hours apart / 12`` (mean offset difference over the cycle), at least 0.
"""

from __future__ import annotations

import numpy as np

from cohort.program import Program
from matcher.encode import CohortArrays, popcount
from matcher.model import COMPONENTS

AVAILABILITY_SATURATION = 4
INTEREST_CAP = 3
IDEAL_GAP = (1, 3)


def fractions(
    arr: CohortArrays,
    program: Program,
    mentor: np.ndarray,
    mentee: np.ndarray,
    common_minutes: np.ndarray,
    tz_hours: np.ndarray,
    prefer_count: np.ndarray,
) -> dict[str, np.ndarray]:
    """Soft: each component's fraction in [0, 1] for the pairs ``(mentor[k], mentee[k])``."""
    n_goals = arr.goal_count[mentee]
    covered = popcount(arr.goals[mentee] & arr.expertise[mentor])
    goals = np.where(n_goals > 0, covered / np.maximum(n_goals, 1), 0.0)
    saturation = AVAILABILITY_SATURATION * program.cycle.duration_minutes
    availability = np.minimum(common_minutes, saturation) / saturation
    interests = (
        np.minimum(popcount(arr.mentee_interests[mentee] & arr.mentor_interests[mentor]), INTEREST_CAP)
        / INTEREST_CAP
    )
    same_native = arr.mentor_first_lang[mentor] == arr.mentee_first_lang[mentee]
    several = popcount(arr.mentee_lang[mentee] & arr.mentor_lang[mentor]) >= 2
    language = 0.5 * same_native + 0.5 * several
    known = arr.mentor_level_known[mentor] & arr.mentee_level_known[mentee]
    gap = arr.mentor_level[mentor] - arr.mentee_level[mentee]
    ideal = (gap >= IDEAL_GAP[0]) & (gap <= IDEAL_GAP[1])
    near = (gap == IDEAL_GAP[0] - 1) | (gap == IDEAL_GAP[1] + 1)
    level = np.where(known, np.where(ideal, 1.0, np.where(near, 0.5, 0.0)), 0.5)
    prefer = prefer_count / 2.0
    timezone = np.clip(1.0 - tz_hours / 12.0, 0.0, 1.0)
    return {
        "goals": goals,
        "availability": availability,
        "interests": interests,
        "language": language,
        "level": level,
        "prefer": prefer,
        "timezone": timezone,
    }


def integer_components(program: Program, fr: dict[str, np.ndarray]) -> np.ndarray:
    """Scale fractions by ``[weights]`` to integers: shape (pairs, len(COMPONENTS)), int32."""
    n = len(next(iter(fr.values()))) if fr else 0
    out = np.zeros((n, len(COMPONENTS)), dtype=np.int32)
    for k, name in enumerate(COMPONENTS):
        out[:, k] = np.rint(getattr(program.weights, name) * fr[name]).astype(np.int32)
    return out


def max_score(program: Program) -> int:
    """The largest score any pair can get (the sum of the weights)."""
    return sum(getattr(program.weights, name) for name in COMPONENTS)
