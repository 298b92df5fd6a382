"""Explanations, alternatives, CSV writers and solver odds and ends."""

from __future__ import annotations

import csv
import dataclasses

from cohort.program import Program
from matcher.candidates import build_candidates
from matcher.explain import alternatives, describe
from matcher.model import COMPONENTS
from matcher.outputs import (
    neutralise,
    summary,
    unneutralise,
    write_candidates,
    write_matches,
    write_unmatched,
)
from matcher.solve import solve
from tests.factories import make_cohort, make_person


def test_pair_reasons_in_plain_words():
    m = make_person(
        "m",
        "mentor",
        expertise=("negotiation", "hiring", "promotion"),
        interests=("chess",),
        languages=("es", "en"),
        prefer=frozenset({"e"}),
        level=5,
    )
    e = make_person(
        "e",
        "mentee",
        goals=("negotiation", "hiring", "promotion", "budgeting"),
        interests=("chess", "golf"),
        languages=("es",),
        prefer=frozenset({"m"}),
        level=3,
        availability=((9 * 60, 13 * 60 + 30),),
    )
    r = solve(make_cohort(m, e), Program())
    reasons = r.pairs[0].reasons
    for text in (
        "covers 3 of 4 goals: negotiation, hiring, promotion",
        "4.5 h a week in common",
        "both enjoy chess",
        "speak es",
        "mutual request",
        "levels 5 and 3",
    ):
        assert text in reasons
    comps = r.pairs[0].components
    assert list(comps) == list(COMPONENTS)
    assert comps["goals"] == 30 and comps["prefer"] == 15 and comps["level"] == 10
    assert r.pairs[0].score == sum(comps.values())


def test_unmatched_without_candidates_summarises_the_rules():
    mentors = [make_person(f"m{i}", "mentor", languages=("en",)) for i in range(3)]
    mentors.append(make_person("boss", "mentor", languages=("hi",)))
    mentors.append(make_person("late", "mentor", languages=("hi",), availability=((20 * 60, 21 * 60),)))
    e = make_person("e", "mentee", languages=("hi",), manager_id="boss")
    r = solve(make_cohort(*mentors, e), Program())
    (row,) = [u for u in r.unmatched if u.id == "e"]
    assert row.role == "mentee"
    assert row.reason == (
        "no compatible mentor: no mentor shares a language (hi): 3; reporting line: 1; "
        "no common weekly time of 45 min: 1"
    )
    idle = {u.id: u.reason for u in r.unmatched if u.role == "mentor"}
    assert set(idle) == {"m0", "m1", "m2", "boss", "late"}
    assert idle["late"] == "no compatible mentee: no common weekly time of 45 min: 1"


def test_unmatched_with_candidates_names_the_bottleneck():
    mentors = [make_person(f"m{i}", "mentor", capacity=1, expertise=("negotiation",)) for i in range(2)]
    mentees = [
        make_person(f"e{i}", "mentee", goals=("negotiation",), availability=((9 * 60, 10 * 60),))
        for i in range(4)
    ]
    other = make_person("x", "mentor", capacity=3, availability=((20 * 60, 22 * 60),))
    x_mentee = make_person("y", "mentee", availability=((20 * 60, 22 * 60),))
    r = solve(make_cohort(*mentors, other, *mentees, x_mentee), Program())
    assert r.matched == 3
    reasons = [u.reason for u in r.unmatched if u.role == "mentee"]
    assert len(reasons) == 2
    assert all(
        x.startswith("4 mentees needing negotiation compete for 2 seats of 2 mentor(s)") for x in reasons
    )


def test_describe_any_chosen_set_and_alternatives():
    m1 = make_person("m1", "mentor", capacity=1, expertise=("x",))
    m2 = make_person("m2", "mentor", capacity=1)
    e1 = make_person("e1", "mentee", goals=("x",))
    e2 = make_person("e2", "mentee", goals=("x",))
    cohort = make_cohort(m1, m2, e1, e2)
    cs = build_candidates(cohort, Program())
    # a scheduler dropped (m2, e2): e2 is unmatched although m2 has a free seat
    pairs, unmatched = describe(cohort, Program(), cs, [("m1", "e1")])
    assert [p.mentee_id for p in pairs] == ["e1"]
    reasons = {u.id: u.reason for u in unmatched}
    assert "m2 still have a free seat" in reasons["e2"]
    assert "left unmatched" in reasons["m2"]
    alts = alternatives(cohort, Program(), cs, [("m1", "e1"), ("m2", "e2")], "e2")
    assert [a.partner_id for a in alts] == ["m1"]
    assert "m1's 1 seat(s) went to e1" in alts[0].why_not
    alts = alternatives(cohort, Program(), cs, [("m1", "e1"), ("m2", "e2")], "m1")
    assert [a.partner_id for a in alts] == ["e2"] and "matched with m2" in alts[0].why_not


def test_history_forbidden_pairs_and_capacity_override():
    m = make_person("m", "mentor", capacity=1)
    es = [make_person(f"e{i}", "mentee") for i in range(3)]
    cohort = make_cohort(m, *es)
    r = solve(cohort, Program(), forbidden_pairs=[("e0", "m")], mentor_capacity={"m": 2})
    assert {p.mentee_id for p in r.pairs} == {"e1", "e2"}
    (row,) = [u for u in r.unmatched if u.id == "e0"]
    assert "ended in an earlier cycle: 1" in row.reason


def test_fairness_raises_the_worst_off():
    # total favours giving m both strong mentees' second choice; fairness lifts the weakest
    m1 = make_person("m1", "mentor", capacity=1, expertise=("a", "b"))
    m2 = make_person("m2", "mentor", capacity=1, expertise=("a",))
    e1 = make_person("e1", "mentee", goals=("a", "b"))
    e2 = make_person("e2", "mentee", goals=("a",))
    cohort = make_cohort(m1, m2, e1, e2)
    base = Program()
    fair = dataclasses.replace(base, matching=dataclasses.replace(base.matching, objective="fairness"))
    r_total, r_fair = solve(cohort, base), solve(cohort, fair)
    assert r_total.matched == r_fair.matched == 2
    assert min(p.score for p in r_fair.pairs) >= min(p.score for p in r_total.pairs)
    assert r_fair.objective <= r_total.objective
    assert r_fair.stats["fairness_threshold"] == min(p.score for p in r_fair.pairs)


def test_progress_callback_and_summary():
    seen = []
    r = solve(
        make_cohort(make_person("m", "mentor"), make_person("e")),
        Program(),
        progress=seen.append,
    )
    assert seen and seen[-1].stage == "match" and seen[-1].status == "improve"
    assert seen[-1].message == "total" and seen[-1].values["gap"] == 0.0
    s = summary(r)
    assert s["matched"] == 1 and s["gap"] == 0 and s["bound"] == s["objective"]


def test_csv_writers(tmp_path):
    m = make_person("m", "mentor")
    e = make_person("-e1", "mentee", name="=HYPERLINK()")
    cohort = make_cohort(m, e, make_person("x", "mentee", languages=("fr",)))
    cs = build_candidates(cohort, Program())
    r = solve(cohort, Program(), cs)
    assert write_matches(tmp_path / "matches.csv", r.pairs) == 1
    assert write_unmatched(tmp_path / "unmatched.csv", r.unmatched) == 1
    assert write_candidates(tmp_path / "candidates.csv", cs.rows()) == len(cs) == 1
    raw = (tmp_path / "matches.csv").read_bytes()
    assert raw.startswith(b"mentor_id,mentee_id,score,goals,") and b"\r\n" in raw
    with open(tmp_path / "matches.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows[0]["mentee_id"] == "'-e1"  # neutralised like every cell (issue 17, finding 8)
    assert unneutralise(rows[0]["mentee_id"]) == "-e1"  # and restored exactly for joins
    assert int(rows[0]["score"]) == sum(int(rows[0][c]) for c in COMPONENTS)
    with open(tmp_path / "candidates.csv", newline="", encoding="utf-8") as fh:
        assert list(csv.reader(fh)) == [
            ["mentor_id", "mentee_id", "score"],
            ["m", "'-e1", str(r.pairs[0].score)],
        ]
    assert neutralise("=1+1") == "'=1+1" and neutralise("-x") == "'-x" and neutralise("ok") == "ok"
    assert neutralise(5) == 5
