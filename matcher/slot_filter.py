"""The slot filter a candidate build may use for whole blocks of pairs (the scheduler's
``SlotContext.has_slot`` is one); its own module so that the pair and block paths share it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from cohort.model import PersonId


@runtime_checkable
class SignatureSlotFilter(Protocol):
    """A ``slot_filter`` that also answers for whole blocks of pairs (the scheduler's
    ``SlotContext.has_slot`` is one): ``signatures(ids)`` gives each person a code such that
    people with equal codes get the same answer with every partner, ``table(mentor codes, mentee
    codes)`` the answer for every pair of distinct codes, as a bool matrix, and ``pairs(mentor
    codes, mentee codes)`` the answer per given pair of codes. The block path then looks answers
    up per pair instead of calling the filter with ids: from a table where most of its cells are
    asked about, from the distinct pairs of codes otherwise."""

    def __call__(self, mentor_ids: Sequence[PersonId], mentee_ids: Sequence[PersonId]) -> np.ndarray: ...

    def signatures(self, ids: Sequence[PersonId]) -> np.ndarray: ...

    def table(self, mentor_signatures: np.ndarray, mentee_signatures: np.ndarray) -> np.ndarray: ...

    def pairs(self, mentor_signatures: np.ndarray, mentee_signatures: np.ndarray) -> np.ndarray: ...
