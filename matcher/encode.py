"""The one place where person ids become array indices (and back), plus the cohort as arrays.

Mentors and mentees are indexed separately (a person with role ``both`` has one index on each
side). Topic, language and interest sets become packed ``uint64`` bit sets over one vocabulary per
kind, so that intersections over millions of pairs are a few word operations. Nothing here leaks
out of the matcher's public API, which speaks ids and ``matcher.model`` types.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from cohort.model import Cohort, Person, PersonId
from cohort.program import Program
from cohort.rules import department_key, language_key


@dataclass(frozen=True, eq=False)
class Encoder:
    """Ids <-> indices for the mentor side and the mentee side."""

    mentor_ids: tuple[PersonId, ...]
    mentee_ids: tuple[PersonId, ...]
    _mentor_index: dict[PersonId, int] = field(init=False, repr=False)
    _mentee_index: dict[PersonId, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_mentor_index", {p: i for i, p in enumerate(self.mentor_ids)})
        object.__setattr__(self, "_mentee_index", {p: i for i, p in enumerate(self.mentee_ids)})

    def mentor(self, person_id: PersonId) -> int | None:
        return self._mentor_index.get(person_id)

    def mentee(self, person_id: PersonId) -> int | None:
        return self._mentee_index.get(person_id)

    def mentor_indices(self, ids: Iterable[PersonId]) -> np.ndarray:
        return np.fromiter((self._mentor_index[i] for i in ids), dtype=np.int64)

    def mentee_indices(self, ids: Iterable[PersonId]) -> np.ndarray:
        return np.fromiter((self._mentee_index[i] for i in ids), dtype=np.int64)


def bitsets(sets: list[tuple[str, ...]], vocab: Mapping[str, int]) -> np.ndarray:
    """Packed bit sets (n, words) of each term set over ``vocab``."""
    words = max(1, -(-len(vocab) // 64))
    out = np.zeros((len(sets), words), dtype=np.uint64)
    rows = np.fromiter((i for i, terms in enumerate(sets) for _ in terms), dtype=np.int64)
    bits = np.fromiter((vocab[t] for terms in sets for t in terms), dtype=np.int64)
    np.bitwise_or.at(out, (rows, bits >> 6), np.left_shift(np.uint64(1), (bits & 63).astype(np.uint64)))
    return out


def popcount(words: np.ndarray) -> np.ndarray:
    """Number of set bits per row of a packed bit set array."""
    return np.bitwise_count(words).sum(axis=-1, dtype=np.int32)


def pair_keys(mentor: np.ndarray, mentee: np.ndarray, n_mentees: int) -> np.ndarray:
    """One int64 key per (mentor index, mentee index) pair, for sorted membership tests."""
    return mentor.astype(np.int64) * n_mentees + mentee.astype(np.int64)


@dataclass(frozen=True, eq=False)
class CohortArrays:
    """The cohort's attributes as arrays on the mentor side and on the mentee side."""

    encoder: Encoder
    mentors: tuple[Person, ...]
    mentees: tuple[Person, ...]
    mentor_person: np.ndarray  # cohort-wide person index
    mentee_person: np.ndarray
    capacity: np.ndarray
    mentor_dept: np.ndarray  # -1 unknown
    mentee_dept: np.ndarray
    mentor_level: np.ndarray  # meaningful where *_level_known
    mentee_level: np.ndarray
    mentor_level_known: np.ndarray
    mentee_level_known: np.ndarray
    mentor_lang: np.ndarray  # bit sets
    mentee_lang: np.ndarray
    mentor_first_lang: np.ndarray
    mentee_first_lang: np.ndarray
    expertise: np.ndarray  # mentor topic bit sets
    goals: np.ndarray  # mentee topic bit sets
    goal_count: np.ndarray
    mentor_interests: np.ndarray
    mentee_interests: np.ndarray
    languages: tuple[str, ...]
    topics: tuple[str, ...]
    interests: tuple[str, ...]


def seats(arrays: CohortArrays, overrides: Mapping[PersonId, int] | None = None) -> np.ndarray:
    """Every mentor's seats by mentor index: their capacity this cycle (``CohortArrays.capacity``),
    overridden by id (``overrides``)."""
    out = arrays.capacity.astype(np.int64).copy()
    for pid, n in (overrides or {}).items():
        i = arrays.encoder.mentor(pid)
        if i is not None:
            out[i] = n
    return out


def encode(
    cohort: Cohort, program: Program, mentor_capacity: Mapping[PersonId, int] | None = None
) -> CohortArrays:
    """Arrays for every mentor and mentee of ``cohort`` (capacities may be overridden by id)."""
    mentors = cohort.mentors
    mentees = cohort.mentees
    encoder = Encoder(tuple(p.id for p in mentors), tuple(p.id for p in mentees))
    person_index = {p.id: i for i, p in enumerate(cohort.people)}
    depts: dict[str, int] = {}
    langs: dict[str, int] = {}
    topics: dict[str, int] = {}
    interests: dict[str, int] = {}
    for p in cohort.people:
        key = department_key(p.department)  # the rule catalogue's comparison, as every path's
        if key is not None:
            depts.setdefault(key, len(depts))
        for t in p.languages:
            langs.setdefault(language_key(t), len(langs))
        for t in (*p.goals, *p.expertise):
            topics.setdefault(t, len(topics))
        for t in p.interests:
            interests.setdefault(t, len(interests))
    overrides = mentor_capacity or {}
    default = program.rules.default_capacity

    def dept(ps: tuple[Person, ...]) -> np.ndarray:
        keys = (department_key(p.department) for p in ps)
        return np.array([depts[k] if k is not None else -1 for k in keys], dtype=np.int32)

    def level(ps: tuple[Person, ...]) -> tuple[np.ndarray, np.ndarray]:
        return (
            np.array([p.level if p.level is not None else 0 for p in ps], dtype=np.int64),
            np.array([p.level is not None for p in ps], dtype=bool),
        )

    def first(ps: tuple[Person, ...]) -> np.ndarray:
        return np.array(
            [langs[language_key(p.languages[0])] if p.languages else -1 for p in ps], dtype=np.int32
        )

    def spoken(ps: tuple[Person, ...]) -> list[tuple[str, ...]]:
        return [tuple(language_key(t) for t in p.languages) for p in ps]

    ml, mk = level(mentors)
    el, ek = level(mentees)
    return CohortArrays(
        encoder=encoder,
        mentors=mentors,
        mentees=mentees,
        mentor_person=np.array([person_index[p.id] for p in mentors], dtype=np.int64),
        mentee_person=np.array([person_index[p.id] for p in mentees], dtype=np.int64),
        capacity=np.array(
            [overrides.get(p.id, p.capacity if p.capacity is not None else default) for p in mentors],
            dtype=np.int64,
        ),
        mentor_dept=dept(mentors),
        mentee_dept=dept(mentees),
        mentor_level=ml,
        mentee_level=el,
        mentor_level_known=mk,
        mentee_level_known=ek,
        mentor_lang=bitsets(spoken(mentors), langs),
        mentee_lang=bitsets(spoken(mentees), langs),
        mentor_first_lang=first(mentors),
        mentee_first_lang=first(mentees),
        expertise=bitsets([p.expertise for p in mentors], topics),
        goals=bitsets([p.goals for p in mentees], topics),
        goal_count=np.array([len(p.goals) for p in mentees], dtype=np.int32),
        mentor_interests=bitsets([p.interests for p in mentors], interests),
        mentee_interests=bitsets([p.interests for p in mentees], interests),
        languages=tuple(langs),
        topics=tuple(topics),
        interests=tuple(interests),
    )
