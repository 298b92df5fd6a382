"""Tie-break levels below the total score, folded into the matcher's integer objective."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np

from cohort.model import PersonId
from matcher.candidates import CandidateSet

PairKey = tuple[PersonId, PersonId]


@dataclass(frozen=True)
class TieBreak:
    """Levels below total score, folded into the objective: ``score * scale + tie``.

    ``tie`` is ``-w`` for a ``prefer_new`` pair and ``+1`` for a ``prefer_same`` one, with
    ``w = |prefer_same| + 1``, so one fewer re-formed ``prefer_new`` pair beats any number of
    ``prefer_same`` ones; ``scale`` exceeds the whole range of summed ties, so no tie ever outweighs
    one point of score. Matching cardinality stays first (the flow maximises it before cost).
    """

    scale: int = 1
    tie: object = None  # np.ndarray of int64 per candidate, or None
    low: int = 0  # the smallest possible sum of ties

    @classmethod
    def of(cls, cs: CandidateSet, prefer_new: Iterable[PairKey], prefer_same: Iterable[PairKey]) -> TieBreak:
        new = {k for k in (cs.index_of(m, e) for m, e in prefer_new) if k is not None}
        same = {k for k in (cs.index_of(m, e) for m, e in prefer_same) if k is not None} - new
        if not new and not same:
            return cls()
        w = len(same) + 1
        tie = np.zeros(len(cs), dtype=np.int64)
        tie[sorted(new)] = -w
        tie[sorted(same)] = 1
        return cls(scale=w * len(new) + len(same) + 1, tie=tie, low=-w * len(new))

    def apply(self, cs: CandidateSet) -> CandidateSet:
        if self.tie is None:
            return cs
        return replace(cs, score=cs.score.astype("int64") * self.scale + self.tie)

    def unscale_bound(self, bound: float) -> float:
        """An upper bound on the total score from a bound on the combined objective."""
        if self.tie is None:
            return bound
        return float(math.floor((bound - self.low) / self.scale))
