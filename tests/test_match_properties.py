"""Property tests on generated small cohorts: validity, independent optimum, fairness, min cut."""

from __future__ import annotations

import dataclasses

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from scipy.optimize import Bounds, LinearConstraint, milp

from cohort.program import Program
from matcher.candidates import build_candidates
from matcher.explain import bottlenecks
from matcher.solve import solve
from matcher.validate import check_matching, check_pair
from tests.factories import make_cohort, make_person
from tests.strategies import cohorts


def milp_optimum(result_candidates, capacities: dict[str, int], fairness: bool) -> tuple[int, int, int]:
    """(matched, worst score, total) by scipy's MILP, lexicographic, from candidates.csv-like rows."""
    rows = [(c.mentor_id, c.mentee_id, c.score) for c in result_candidates]
    if not rows:
        return 0, 0, 0
    n = len(rows)
    score = np.array([s for _, _, s in rows], dtype=float)
    a_rows, lo, hi = [], [], []
    for m in {m for m, _, _ in rows}:
        a_rows.append([1.0 if r[0] == m else 0.0 for r in rows])
        lo.append(0)
        hi.append(capacities[m])
    for e in {e for _, e, _ in rows}:
        a_rows.append([1.0 if r[1] == e else 0.0 for r in rows])
        lo.append(0)
        hi.append(1)
    index = {(m, e): i for i, (m, e, _) in enumerate(rows)}
    for (m, e), i in index.items():
        j = index.get((e, m))
        if j is not None and i < j:
            row = [0.0] * n
            row[i] = row[j] = 1.0
            a_rows.append(row)
            lo.append(0)
            hi.append(1)
    # variables: x (n), then z (worst score)
    top = float(score.max())
    big = np.array(a_rows)
    A = np.hstack([big, np.zeros((len(a_rows), 1))])
    cons = [LinearConstraint(A, lo, hi)]
    integrality = np.r_[np.ones(n), 0]
    bounds = Bounds(np.r_[np.zeros(n), 0], np.r_[np.ones(n), top])

    def best(c, extra):
        res = milp(-np.asarray(c), constraints=cons + extra, integrality=integrality, bounds=bounds)
        assert res.success
        return res

    count = round(-best(np.r_[np.ones(n), 0], []).fun)
    fix = [LinearConstraint(np.r_[np.ones(n), 0][None, :], count, count)]
    worst = 0
    if fairness and count:
        fair = []
        for e in {e for _, e, _ in rows}:
            # z <= sum score*x + top*(1 - sum x)  over this mentee's candidates
            row = np.zeros(n + 1)
            for i, (_, ee, s) in enumerate(rows):
                if ee == e:
                    row[i] = -(s - top)
            row[n] = 1.0
            fair.append(LinearConstraint(row[None, :], -np.inf, top))
        worst = round(-best(np.r_[np.zeros(n), 1], fix + fair).fun)
        fix = fix + fair + [LinearConstraint(np.r_[np.zeros(n), 1][None, :], worst, top)]
    total = round(-best(np.r_[score, 0], fix).fun)
    return count, worst, total


@settings(settings.get_profile("match"))
@given(cohorts())
def test_solution_is_valid_and_optimal(data):
    cohort, prog = data
    result = solve(cohort, prog)
    assert check_matching(cohort, prog, result.pairs) == []
    caps = {
        p.id: (p.capacity if p.capacity is not None else prog.rules.default_capacity) for p in cohort.mentors
    }
    count, worst, total = milp_optimum(result.candidates, caps, prog.matching.objective == "fairness")
    assert result.matched == count
    assert sum(p.score for p in result.pairs) == total == result.objective
    if prog.matching.objective == "fairness" and count:
        assert min(p.score for p in result.pairs) == worst
    assert result.gap <= 1e-9
    # every unmatched mentee and every idle mentor is explained
    matched_mentees = {p.mentee_id for p in result.pairs}
    assert {u.id for u in result.unmatched if u.role == "mentee"} == {
        p.id for p in cohort.mentees
    } - matched_mentees


@settings(settings.get_profile("match"))
@given(cohorts())
def test_candidates_are_exactly_the_pairs_the_validator_accepts(data):
    cohort, prog = data
    cs = build_candidates(cohort, prog)
    for m in cohort.mentors:
        for e in cohort.mentees:
            cap = m.capacity if m.capacity is not None else prog.rules.default_capacity
            ok = not check_pair(cohort, prog, m.id, e.id) and cap > 0
            assert (cs.index_of(m.id, e.id) is not None) == ok, (
                m.id,
                e.id,
                check_pair(cohort, prog, m.id, e.id),
            )
    # exclusion counts add up to every possible mentor
    for e in cohort.mentees:
        assert sum(cs.exclusions(e.id, "mentee").values()) + len(cs.of_mentee(e.id)) == len(cohort.mentors)


@settings(settings.get_profile("match"))
@given(cohorts())
def test_bottleneck_is_the_networkx_minimum_cut(data):
    cohort, prog = data
    cs = build_candidates(cohort, prog)
    result = solve(cohort, prog, cs)
    chosen = np.array([cs.index_of(p.mentor_id, p.mentee_id) for p in result.pairs], dtype=np.int64)
    groups = bottlenecks(cs, chosen, np.arange(len(cs)))
    g = nx.DiGraph()
    for c in result.candidates:
        g.add_edge("s", ("e", c.mentee_id), capacity=1)
        g.add_edge(("e", c.mentee_id), ("m", c.mentor_id), capacity=1)
        g.add_edge(
            ("m", c.mentor_id),
            "t",
            capacity=cohort[c.mentor_id].capacity
            if cohort[c.mentor_id].capacity is not None
            else prog.rules.default_capacity,
        )
    if "s" not in g:
        assert groups == {}
        return
    value, flow = nx.maximum_flow(g, "s", "t")
    if prog.matching.objective == "total":
        assert value == result.matched or result.stats["mutual_conflicts_binding"]
    if result.stats["mutual_conflicts_binding"]:
        return  # the matching is then not a maximum flow of this graph
    # the minimal minimum cut's source side: what the residual graph of networkx's flow reaches
    residual = nx.DiGraph()
    for a, b, data in g.edges(data=True):
        if flow[a][b] < data["capacity"]:
            residual.add_edge(a, b)
        if flow[a][b] > 0:
            residual.add_edge(b, a)
    source_side = nx.descendants(residual, "s") | {"s"} if "s" in residual else {"s"}
    cut = sum(d["capacity"] for a, b, d in g.edges(data=True) if a in source_side and b not in source_side)
    assert cut == value
    ours = set()
    enc = cs.encoder
    for mentees, mentors in groups.values():
        ours |= {("e", enc.mentee_ids[i]) for i in mentees} | {("m", enc.mentor_ids[i]) for i in mentors}
    assert ours == source_side - {"s"}


def test_best_k_limit_keeps_pins_and_counts_dropped():
    people = [make_person(f"m{i}", "mentor", capacity=1, expertise=("x",) * (i % 2)) for i in range(6)]
    people += [make_person(f"e{i}", "mentee", goals=("x",)) for i in range(3)]
    base = Program()
    prog = dataclasses.replace(
        base, matching=dataclasses.replace(base.matching, max_candidates_per_mentee=2, pins=[["m0", "e0"]])
    )
    cs = build_candidates(make_cohort(*people), prog)
    assert len(cs.of_mentee("e0")) == 2 and len(cs.of_mentee("e1")) == 2
    assert cs.index_of("m0", "e0") is not None  # the pin is kept though it scores lowest
    assert {c.mentor_id for c in map(cs.candidate, cs.of_mentee("e1"))} <= {"m1", "m3", "m5"}
    assert cs.dropped == 4 * 3
    r = solve(make_cohort(*people), prog, cs)
    assert ("m0", "e0") in {(p.mentor_id, p.mentee_id) for p in r.pairs}
    assert r.stats["optimal_over"] == "kept candidates"


@pytest.mark.parametrize("method", ["blocks", "pairs"])
def test_protected_pairs_survive_the_limit_without_being_pinned_or_raising(method):
    people = [make_person(f"m{i}", "mentor", capacity=1, expertise=("x",) * (i % 2)) for i in range(6)]
    people += [
        make_person(f"e{i}", "mentee", goals=("x",), avoid=("m3",) if i == 1 else ()) for i in range(3)
    ]
    base = Program()
    prog = dataclasses.replace(base, matching=dataclasses.replace(base.matching, max_candidates_per_mentee=2))
    cohort = make_cohort(*people)
    plain = build_candidates(cohort, prog, method=method)
    assert plain.index_of("m0", "e0") is None  # scores lowest: beyond the limit
    cs = build_candidates(cohort, prog, method=method, protect=[("m0", "e0"), ("m3", "e1"), ("zz", "e2")])
    assert cs.index_of("m0", "e0") is not None and cs.pins == ()
    assert cs.index_of("m3", "e1") is None  # breaks the avoid rule: left out, no error
    assert len(cs.of_mentee("e2")) == 2
