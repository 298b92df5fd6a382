"""Ranked choices (issue 16): exact rank levels against an independent lexicographic MILP,
first-come-first-served versus the whole-cohort allocation, reporting, and bad input."""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

from cohort.program import Program
from matcher.candidates import build_candidates
from matcher.ranks import rank_arrays, rank_profile, solve_ranked
from planner import Continuity
from planner import plan as planner_plan
from tests.factories import make_cohort, make_person

TOPICS = ["python", "design", "leadership", "data", "speaking"]


def make_plan(cohort, program, *, uid_salt):
    """A first run's plan (no history)."""
    return planner_plan(cohort, program, Continuity(), uid_salt=uid_salt)


def program(**matching) -> Program:
    base = Program()
    m = dataclasses.replace(base.matching, workers=1, seed=0, time_limit_seconds=20.0, **matching)
    return dataclasses.replace(base, matching=m)


def random_cohort(seed: int):
    rnd = random.Random(seed)
    # odd seeds: larger cohorts where several levels interact
    n_m, n_e = (
        (rnd.randint(2, 5), rnd.randint(3, 9)) if seed % 2 == 0 else (rnd.randint(6, 12), rnd.randint(12, 30))
    )
    mentors = [
        make_person(f"m{i}", "mentor", expertise=tuple(rnd.sample(TOPICS, 2)), capacity=rnd.randint(1, 2))
        for i in range(n_m)
    ]
    mentees = []
    for j in range(n_e):
        ranks = tuple(rnd.sample([m.id for m in mentors], rnd.randint(0, min(4, n_m))))
        avoid = frozenset({rnd.choice(mentors).id}) if rnd.random() < 0.3 else frozenset()
        ranks = tuple(r for r in ranks if r not in avoid)
        mentees.append(
            make_person(f"e{j}", "mentee", goals=tuple(rnd.sample(TOPICS, 2)), ranks=ranks, avoid=avoid)
        )
    if rnd.random() < 0.5:  # a mentor ranks some mentees
        for i in range(1 + n_m // 4):
            mentors[i] = dataclasses.replace(mentors[i], ranks=tuple(rnd.sample([e.id for e in mentees], 2)))
    return make_cohort(*mentors, *mentees)


def milp_levels(cohort, prog, cs) -> dict[str, int]:
    """The optimum of every level by scipy's MILP (HiGHS), each level fixed before the next."""
    ra = rank_arrays(cohort, cs)
    n = len(cs)
    rows, lo, hi = [], [], []
    ids = [(cs.encoder.mentor_ids[cs.mentor[k]], cs.encoder.mentee_ids[cs.mentee[k]]) for k in range(n)]
    where = {pair: k for k, pair in enumerate(ids)}
    for k, (m, e) in enumerate(ids):  # no two people mentoring each other
        if (e, m) in where and where[(e, m)] > k:
            row = np.zeros(n)
            row[[k, where[(e, m)]]] = 1
            rows.append(row)
            lo.append(0)
            hi.append(1)
    for m in np.unique(cs.mentor):
        rows.append((cs.mentor == m).astype(float))
        lo.append(0)
        hi.append(float(cs.arrays.capacity[m]))
    for e in np.unique(cs.mentee):
        rows.append((cs.mentee == e).astype(float))
        lo.append(0)
        hi.append(1)
    # variables: x (n binaries) and w (the worst rank, continuous)
    a = [np.append(r, 0.0) for r in rows]
    worst = np.where(ra.mentee_rank == 0, ra.depth + 1, ra.mentee_rank) * ra.ranking_mentee[cs.mentee]
    levels = [("matched", np.append(np.ones(n), 0.0), -1)]
    if prog.matching.preferences == "worst-rank" and ra.depth:
        for k in range(n):  # w >= worst_k x_k
            row = np.zeros(n + 1)
            row[k], row[n] = -worst[k], 1
            a.append(row)
            lo.append(0)
            hi.append(np.inf)
        levels.append(("worst_rank", np.append(np.zeros(n), 1.0), 1))
    for r in range(1, ra.depth + 1):
        levels.append((f"mentee_rank_{r}", np.append(ra.mentee_rank == r, 0.0).astype(float), -1))
    for r in range(1, ra.mentor_depth + 1):
        levels.append((f"mentor_rank_{r}", np.append(ra.mentor_rank == r, 0.0).astype(float), -1))
    levels.append(("score", np.append(cs.score, 0.0).astype(float), -1))
    integrality = np.append(np.ones(n), 0)
    out = {}
    for name, c, sign in levels:
        if not c.any():
            continue
        res = milp(
            sign * c,
            constraints=LinearConstraint(np.array(a), lo, hi),
            integrality=integrality,
            bounds=Bounds(0, np.append(np.ones(n), ra.depth + 1)),
        )
        assert res.status == 0
        value = int(round(float(c @ res.x)))
        out[name] = value
        a.append(c)
        lo.append(value if sign < 0 else -np.inf)
        hi.append(value if sign > 0 else np.inf)
    return out


@pytest.mark.parametrize("mode", ["rank-maximal", "worst-rank"])
@pytest.mark.parametrize("seed", range(20))
def test_levels_equal_an_independent_lexicographic_milp(mode, seed):
    cohort = random_cohort(seed)
    prog = program(preferences=mode)
    cs = build_candidates(cohort, prog)
    result = solve_ranked(cohort, prog, cs)
    expected = milp_levels(cohort, prog, cs)
    got = dict(result.stats["rank_levels"])
    assert got["matched"] == expected["matched"] == result.matched
    for name, value in expected.items():
        assert got.get(name, 0 if name != "worst_rank" else None) == value, (name, got, expected)
    pairs = [(p.mentor_id, p.mentee_id) for p in result.pairs]
    # the reported profile is the profile of the pairs, and its counts are the optimal levels
    profile = rank_profile(cohort, pairs)
    for r, count in profile["by_rank"].items():
        assert count == expected.get(f"mentee_rank_{r}", 0)
    # every pair is a candidate and capacities hold
    assert all(cs.index_of(m, e) is not None for m, e in pairs)
    for m in cohort.mentors:
        assert sum(pm == m.id for pm, _ in pairs) <= m.capacity


def first_come_first_served(cohort, order):
    taken: dict[str, int] = {}
    got = {}
    for e in order:
        for m in cohort[e].ranks:
            if taken.get(m, 0) < (cohort[m].capacity or 0):
                taken[m] = taken.get(m, 0) + 1
                got[e] = m
                break
    return got


@pytest.mark.parametrize("mode", ["rank-maximal", "worst-rank"])
def test_whole_cohort_allocation_beats_first_come_first_served(mode):
    mentors = [make_person(m, "mentor", expertise=("python",), capacity=1) for m in ("A", "B", "C")]
    mentees = [
        make_person("e1", "mentee", goals=("python",), ranks=("A", "C")),
        make_person("e2", "mentee", goals=("python",), ranks=("B", "C")),
        make_person("e3", "mentee", goals=("python",), ranks=("A", "B", "C")),
    ]
    cohort = make_cohort(*mentors, *mentees)
    fcfs = first_come_first_served(cohort, ["e1", "e2", "e3"])
    assert cohort["e3"].ranks.index(fcfs["e3"]) + 1 == 3  # the late applicant gets their 3rd choice
    plan = make_plan(cohort, program(preferences=mode), uid_salt="s")
    pairs = [(p.mentor_id, p.mentee_id) for p in plan.match.pairs]
    profile = rank_profile(cohort, pairs)
    assert profile["by_rank"] == {"1": 2, "2": 1, "3": 0}
    assert profile["unmatched"] == 0 and profile["unranked"] == 0
    assert len(plan.schedule.series) == 3  # every allocated pair has a slot


def test_ranked_pair_without_common_slot_is_not_allocated():
    night = ((0 * 1440 + 1 * 60, 0 * 1440 + 2 * 60),)  # Mon 01:00-02:00 only
    cohort = make_cohort(
        make_person("A", "mentor", expertise=("python",), capacity=1, availability=night),
        make_person("B", "mentor", expertise=("python",), capacity=1),
        make_person("e1", "mentee", goals=("python",), ranks=("A", "B")),
    )
    plan = make_plan(cohort, program(preferences="rank-maximal"), uid_salt="s")
    assert [(p.mentor_id, p.mentee_id) for p in plan.match.pairs] == [("B", "e1")]


def test_score_mode_ranks_raise_the_prefer_component_only_for_ranked_pairs():
    cohort = make_cohort(
        make_person("A", "mentor", expertise=("python",), capacity=1),
        make_person("B", "mentor", expertise=("python",), capacity=1),
        make_person("e1", "mentee", goals=("python",), ranks=("B", "A")),
        make_person("e2", "mentee", goals=("python",)),
    )
    from matcher.ranks import with_rank_scores

    prog = program()
    cs = build_candidates(cohort, prog)
    scored = with_rank_scores(cohort, prog, cs)
    prefer = lambda s, m, e: int(s.components[s.index_of(m, e)][5])  # noqa: E731
    assert prefer(scored, "B", "e1") > prefer(scored, "A", "e1") > 0
    assert prefer(scored, "A", "e2") == prefer(cs, "A", "e2") == 0
    assert (scored.score == scored.components.sum(axis=1)).all()


@pytest.mark.parametrize("mode", ["rank-maximal", "worst-rank"])
@pytest.mark.parametrize("seed", range(6))
def test_people_with_role_both_levels_equal_the_milp_when_mutual_mentoring_binds(mode, seed):
    rnd = random.Random(seed)
    people = [
        make_person(f"b{i}", "both", goals=("python",), expertise=("python",), capacity=1) for i in range(4)
    ]
    people += [make_person(f"m{i}", "mentor", expertise=("python",), capacity=1) for i in range(2)]
    people += [make_person(f"e{i}", "mentee", goals=("python",)) for i in range(3)]
    ids = [p.id for p in people]
    out = []
    for p in people:
        options = [
            q
            for q in ids
            if q != p.id
            and (p.role != "mentee" or not q.startswith("e"))
            and (p.role != "mentor" or not q.startswith("m"))
        ]
        out.append(dataclasses.replace(p, ranks=tuple(rnd.sample(options, 3))))
    # make both directions attractive between b0 and b1
    out[0] = dataclasses.replace(out[0], ranks=("b1",))
    out[1] = dataclasses.replace(out[1], ranks=("b0",))
    cohort = make_cohort(*out)
    prog = program(preferences=mode)
    cs = build_candidates(cohort, prog)
    result = solve_ranked(cohort, prog, cs)
    expected = milp_levels(cohort, prog, cs)
    got = dict(result.stats["rank_levels"])
    for name, value in expected.items():
        assert got.get(name, 0 if name != "worst_rank" else None) == value, (name, got, expected)
    pairs = {(p.mentor_id, p.mentee_id) for p in result.pairs}
    assert not any((e, m) in pairs for m, e in pairs)
