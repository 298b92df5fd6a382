"""The rule catalogue's pair predicates (``cohort.rules.PAIR_CHECKS``) are the definition; the
vectorised candidate builders (``matcher.candidates`` pair by pair, ``matcher.blocks`` by blocks)
agree with them pair by pair, on generated cohorts whose departments and languages are spelled
oddly (case, spaces, Unicode forms), with forbidden pairs, reporting lines, capacity overrides.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cohort.model import Cohort
from cohort.program import Program
from cohort.rules import (
    PAIR_CHECKS,
    PAIR_RULES,
    RULES,
    department_key,
    language_key,
    pair_context,
)
from matcher.candidates import build_candidates
from matcher.validate import check_pair
from tests.factories import make_cohort, make_person
from tests.strategies import MATCH_ZONES, WINDOWS

# one department or language, several spellings: case, spaces, full-width and decomposed forms
DEPARTMENTS = (
    None,
    "Sales",
    "sales",
    " SALES ",
    "Ｓａｌｅｓ",
    "Customer  Success",
    "customer success",
    "Café",
    "Cafe\u0301",
    "CAFÉ",
    "Straße",
    "STRASSE",
    "Data",
)
LANGUAGES = ("en", "EN", " English ", "ｅｎ", "fr", "Français", "Franc\u0327ais", "es", "Español", "hi")

AGREE = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def odd_cohorts(draw: st.DrawFn) -> tuple[Cohort, Program, dict[str, int]]:
    """A small cohort of every role with oddly spelled departments and languages, a program with
    every pair rule drawn on or off, forbidden pairs and capacity overrides."""
    n = draw(st.integers(3, 10))
    ids = [f"p{i}" for i in range(n)]
    people = []
    for pid in ids:
        others = [q for q in ids if q != pid]
        people.append(
            make_person(
                pid,
                draw(st.sampled_from(("mentor", "mentee", "both"))),
                timezone=draw(st.sampled_from(MATCH_ZONES)),
                availability=draw(st.sampled_from(WINDOWS)),
                languages=tuple(
                    draw(st.lists(st.sampled_from(LANGUAGES), min_size=1, max_size=2, unique=True))
                ),
                department=draw(st.sampled_from(DEPARTMENTS)),
                level=draw(st.one_of(st.none(), st.integers(1, 5))),
                capacity=draw(st.one_of(st.none(), st.integers(0, 2))),
                manager_id=draw(st.one_of(st.none(), st.sampled_from(ids))),
                avoid=frozenset(draw(st.lists(st.sampled_from(others), max_size=1))),
            )
        )
    forbid = draw(st.lists(st.lists(st.sampled_from(ids), min_size=2, max_size=2, unique=True), max_size=3))
    seats = draw(st.dictionaries(st.sampled_from(ids), st.integers(0, 2), max_size=2))
    base = Program()
    prog = dataclasses.replace(
        base,
        cycle=dataclasses.replace(
            base.cycle, start=date(2027, 3, 1), weeks=6, duration_minutes=draw(st.sampled_from((30, 60)))
        ),
        rules=dataclasses.replace(
            base.rules,
            same_department=draw(st.sampled_from(("allow", "forbid"))),
            common_language=draw(st.booleans()),
            min_level_gap=draw(st.sampled_from((-1, 0, 1))),
            reporting_line=draw(st.sampled_from(("forbid", "allow"))),
            reporting_line_depth=draw(st.integers(1, 3)),
        ),
        matching=dataclasses.replace(base.matching, forbid=forbid, workers=1),
    )
    return make_cohort(*people), prog, seats


def first_broken(cohort: Cohort, prog: Program, seats: dict[str, int]) -> dict[tuple[str, str], str | None]:
    """Per (mentor, mentee): the first pair rule it breaks in the catalogue's order, by the
    predicates alone (None: a candidate)."""
    ctx = pair_context(cohort, prog, seats=seats)
    out = {}
    for m in cohort.mentors:
        for e in cohort.mentees:
            out[(m.id, e.id)] = next((r.name for r in PAIR_CHECKS if r.broken_by(m, e, ctx)), None)
    return out


@AGREE
@given(odd_cohorts())
def test_both_candidate_builders_agree_with_the_predicates_pair_by_pair(data) -> None:
    cohort, prog, seats = data
    truth = first_broken(cohort, prog, seats)
    for method in ("pairs", "blocks"):
        cs = build_candidates(cohort, prog, method=method, mentor_capacity=seats)
        assert cs.kept_per_mentee == 0  # no best-K limit at this size: every passing pair is kept
        for (m, e), broken in truth.items():
            assert (cs.index_of(m, e) is not None) == (broken is None), (method, m, e, broken)
        # a refused pair is counted under the first rule it breaks, on both sides
        for e in cohort.mentees:
            want = Counter(b for (_, ee), b in truth.items() if ee == e.id and b is not None)
            assert cs.exclusions(e.id, "mentee") == dict(want), (method, e.id)
        for m in cohort.mentors:
            want = Counter(b for (mm, _), b in truth.items() if mm == m.id and b is not None)
            assert cs.exclusions(m.id, "mentor") == dict(want), (method, m.id)


@AGREE
@given(odd_cohorts())
def test_the_scalar_validator_names_what_the_predicates_find(data) -> None:
    cohort, prog, _ = data
    ctx = pair_context(cohort, prog)
    for m in cohort.mentors:
        for e in cohort.mentees:
            want = [r.name for r in PAIR_CHECKS if r.name != "capacity" and r.broken_by(m, e, ctx)]
            assert [v.rule for v in check_pair(cohort, prog, m.id, e.id)] == want


def test_every_predicate_is_a_pair_rule_of_the_catalogue_or_history() -> None:
    names = [r.name for r in PAIR_CHECKS]
    assert set(names) == (set(PAIR_RULES) - {"schedule"}) | {"history"}  # schedule: the scheduler's test
    assert all(RULES[n].check is not None for n in names)
    with pytest.raises(TypeError):
        RULES["one_mentor"].broken_by(
            make_person("a"), make_person("b"), pair_context(make_cohort(), Program())
        )


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Sales", "sales", True),
        (" Sales  Ops ", "sales ops", True),
        ("Ｓａｌｅｓ", "SALES", True),
        ("Café", "Cafe\u0301", True),
        ("Straße", "STRASSE", True),
        ("Sales", "Sale", False),
        ("Data", "Daten", False),
    ],
)
def test_department_key_ignores_case_spaces_and_unicode_forms(a: str, b: str, same: bool) -> None:
    assert (department_key(a) == department_key(b)) is same


def test_no_department_is_never_a_shared_department() -> None:
    assert department_key(None) is None and department_key("   ") is None
    prog = Program()
    prog = dataclasses.replace(prog, rules=dataclasses.replace(prog.rules, same_department="forbid"))
    m, e = make_person("m", "mentor", department="  "), make_person("e", "mentee", department="")
    assert RULES["department"].broken_by(m, e, pair_context(make_cohort(m, e), prog)) is None


@pytest.mark.parametrize(
    ("a", "b"),
    [("English", "en"), ("EN", "en-GB"), ("ｅｎ", "en"), ("Franc\u0327ais", "fr"), ("Español", "ES")],
)
def test_language_key_gives_one_code_per_language(a: str, b: str) -> None:
    assert language_key(a) == language_key(b)
    m, e = make_person("m", "mentor", languages=(a,)), make_person("e", "mentee", languages=(b,))
    cohort = make_cohort(m, e)
    assert RULES["language"].broken_by(m, e, pair_context(cohort, Program())) is None
    assert build_candidates(cohort, Program(), method="pairs").index_of("m", "e") is not None
