"""Per hard rule: a pair that passes and one that must never be formed; DST-aware common time."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from cohort.errors import InputError
from cohort.program import Program
from matcher.candidates import build_candidates
from matcher.solve import solve
from matcher.validate import check_matching, check_pair
from tests.factories import make_cohort, make_person


def program(**sections: dict) -> Program:
    base = Program()
    return dataclasses.replace(
        base, **{k: dataclasses.replace(getattr(base, k), **v) for k, v in sections.items()}
    )


def is_candidate(cohort, prog, mentor: str, mentee: str) -> bool:
    return build_candidates(cohort, prog).index_of(mentor, mentee) is not None


def both_ways(mentor_kw: dict, mentee_kw: dict, prog: Program | None = None) -> tuple[bool, list[str]]:
    """Candidate status of m -> e and the validator's violations for it."""
    prog = prog or Program()
    c = make_cohort(make_person("m", "mentor", **mentor_kw), make_person("e", "mentee", **mentee_kw))
    return is_candidate(c, prog, "m", "e"), [v.rule for v in check_pair(c, prog, "m", "e")]


def test_self_pair_never_formed_but_both_role_mentors_others():
    c = make_cohort(make_person("a", "both"), make_person("b", "mentee"))
    cs = build_candidates(c, Program())
    assert cs.index_of("a", "a") is None
    assert cs.index_of("a", "b") is not None
    assert cs.exclusions("a", "mentee") == {"self": 1}


@pytest.mark.parametrize("who", ["mentor", "mentee"])
def test_avoid_is_symmetric(who):
    assert both_ways({}, {}) == (True, [])
    kw = {"avoid": frozenset({"e" if who == "mentor" else "m"})}
    ok, violations = both_ways(kw if who == "mentor" else {}, kw if who == "mentee" else {})
    assert not ok and violations == ["avoid"]


def test_reporting_line_up_to_depth_both_directions():
    boss = make_person("boss", "mentor")
    mid = make_person("mid", "both", manager_id="boss")
    rep = make_person("rep", "mentee", manager_id="mid")
    other = make_person("other", "mentee")
    c = make_cohort(boss, mid, rep, other)
    cs = build_candidates(c, Program())
    assert cs.index_of("boss", "mid") is None  # direct
    assert cs.index_of("boss", "rep") is None  # skip level
    assert cs.index_of("mid", "rep") is None
    assert cs.index_of("boss", "other") is not None
    depth1 = program(rules={"reporting_line_depth": 1})
    assert build_candidates(c, depth1).index_of("boss", "rep") is not None
    allow = program(rules={"reporting_line": "allow"})
    assert build_candidates(c, allow).index_of("boss", "mid") is not None
    # a report mentoring their manager is the same boundary
    c2 = make_cohort(make_person("x", "mentor", manager_id="y"), make_person("y", "mentee"))
    assert not is_candidate(c2, Program(), "x", "y")
    assert [v.rule for v in check_pair(c2, Program(), "x", "y")] == ["reporting_line"]


def test_same_department():
    forbid = program(rules={"same_department": "forbid"})
    assert both_ways({"department": "Sales"}, {"department": "Data"}, forbid) == (True, [])
    assert both_ways({"department": "Sales"}, {"department": "sales"}, forbid) == (False, ["department"])
    assert both_ways({"department": "Sales"}, {"department": "Sales"})[0]  # allowed by default
    assert both_ways({"department": "Sales"}, {}, forbid)[0]  # unknown department passes


def test_min_level_gap_where_both_known():
    gap2 = program(rules={"min_level_gap": 2})
    assert both_ways({"level": 5}, {"level": 3}, gap2) == (True, [])
    assert both_ways({"level": 5}, {"level": 4}, gap2) == (False, ["level_gap"])
    assert both_ways({"level": 5}, {}, gap2)[0]
    assert both_ways({"level": 2}, {"level": 3}) == (False, ["level_gap"])  # default gap 0


def test_common_language():
    assert both_ways({"languages": ("es", "en")}, {"languages": ("es",)}) == (True, [])
    assert both_ways({"languages": ("en",)}, {"languages": ("hi",)}) == (False, ["language"])
    off = program(rules={"common_language": False})
    assert both_ways({"languages": ("en",)}, {"languages": ("hi",)}, off)[0]


def test_capacity_zero_means_no_candidates():
    assert both_ways({"capacity": 0}, {})[0] is False
    c = make_cohort(make_person("m", "mentor", capacity=0), make_person("e"))
    r = solve(c, Program())
    assert r.matched == 0
    assert {(u.id, u.role) for u in r.unmatched} == {("m", "mentor"), ("e", "mentee")}


def test_forbid_and_pins():
    c = make_cohort(
        make_person("m1", "mentor", capacity=1),
        make_person("m2", "mentor", capacity=1, expertise=("x",)),
        make_person("e", "mentee", goals=("x",)),
    )
    assert not is_candidate(c, program(matching={"forbid": [["e", "m1"]]}), "m1", "e")
    # the pin forces the lower-scoring pair
    pinned = program(matching={"pins": [["m1", "e"]]})
    r = solve(c, pinned)
    assert [(p.mentor_id, p.mentee_id) for p in r.pairs] == [("m1", "e")]
    assert "pinned" in r.pairs[0].reasons
    assert check_matching(c, pinned, r.pairs) == []
    assert [v.rule for v in check_matching(c, pinned, [])] == ["pin"]


def test_pin_breaking_a_rule_is_an_input_error_naming_it():
    c = make_cohort(make_person("m", "mentor", languages=("fr",)), make_person("e", "mentee"))
    with pytest.raises(InputError) as err:
        build_candidates(c, program(matching={"pins": [["m", "e"]]}))
    assert "no common language" in str(err.value.problems[0])
    with pytest.raises(InputError) as err:
        build_candidates(c, program(matching={"pins": [["m", "nobody"]], "forbid": [["x", "m"]]}))
    assert len(err.value.problems) == 2


def test_no_two_people_mentoring_each_other():
    # a and b would best mentor each other (capacity and scores push the flow there)
    a = make_person("a", "both", capacity=1, expertise=("x",), goals=("y",))
    b = make_person("b", "both", capacity=1, expertise=("y",), goals=("x",))
    c = make_cohort(a, b, make_person("e", "mentee", languages=("en",)))
    r = solve(c, Program())
    pairs = {(p.mentor_id, p.mentee_id) for p in r.pairs}
    assert not ({("a", "b"), ("b", "a")} <= pairs)
    assert r.matched == 2  # one of them mentors the other, the other one mentors e
    assert check_matching(c, Program(), r.pairs) == []
    assert r.stats["mutual_conflicts_binding"] == 1 and "CP-SAT" in r.method
    assert [v.rule for v in check_matching(c, Program(), [("a", "b"), ("b", "a")])] == ["mutual_mentoring"]


LONDON_17 = ((17 * 60, 18 * 60),)  # Monday 17:00-18:00
NEW_YORK_12 = ((12 * 60, 13 * 60),)  # Monday 12:00-13:00


def cycle(start: date, weeks: int) -> Program:
    return program(cycle={"start": start, "weeks": weeks, "duration_minutes": 60})


def test_london_new_york_same_clock_time_is_robust_across_march():
    # 17:00 London = 12:00 New York all year except the weeks when only the US has moved its clocks
    m = make_person("m", "mentor", timezone="Europe/London", availability=LONDON_17)
    e = make_person("e", "mentee", timezone="America/New_York", availability=NEW_YORK_12)
    winter = cycle(date(2027, 1, 4), 8)
    assert is_candidate(make_cohort(m, e), winter, "m", "e")
    across = cycle(date(2027, 2, 1), 12)  # US DST starts Mar 14, UK Mar 28 2027: offset gap 4h then
    assert not is_candidate(make_cohort(m, e), across, "m", "e")
    assert [v.rule for v in check_pair(make_cohort(m, e), across, "m", "e")] == ["time"]
    # a mentee window wide enough for both offsets is robust
    wide = make_person("e", "mentee", timezone="America/New_York", availability=((12 * 60, 14 * 60),))
    cs = build_candidates(make_cohort(m, wide), across)
    k = cs.index_of("m", "e")
    assert k is not None and cs.common_minutes[k] == 60


def test_overlap_only_in_winter_is_not_a_candidate_over_march():
    # Monday 08:00-09:00 in Berlin; New York 03:00-03:00+... no: use Sao Paulo (no DST since 2019)
    m = make_person("m", "mentor", timezone="Europe/Berlin", availability=((13 * 60, 14 * 60),))
    e = make_person("e", "mentee", timezone="America/Sao_Paulo", availability=((9 * 60, 10 * 60),))
    assert is_candidate(make_cohort(m, e), cycle(date(2027, 1, 4), 8), "m", "e")  # 13:00 CET = 09:00 BRT
    assert not is_candidate(make_cohort(m, e), cycle(date(2027, 2, 1), 12), "m", "e")  # CEST breaks it
    cs = build_candidates(make_cohort(m, e), cycle(date(2027, 2, 1), 12))
    assert cs.exclusions("e", "mentee") == {"time": 1}


def test_meeting_may_wrap_from_sunday_to_monday():
    # Sunday 23:00 in Tokyo is Sunday 14:00 UTC; the mentee's Monday 00:00 window is then reached
    m = make_person("m", "mentor", timezone="UTC", availability=((6 * 1440 + 23 * 60, 7 * 1440),))
    e = make_person("e", "mentee", timezone="Europe/Lisbon", availability=((0, 60),))
    prog = cycle(date(2027, 1, 4), 4)  # Lisbon is UTC+0 in winter: Sun 23:00 UTC = Sun 23:00 Lisbon
    assert not is_candidate(make_cohort(m, e), prog, "m", "e")
    m2 = make_person(
        "m", "mentor", timezone="Atlantic/Azores", availability=((6 * 1440 + 23 * 60, 7 * 1440),)
    )
    # Azores is UTC-1 in winter: Sun 23:00 Azores = Mon 00:00 Lisbon
    assert is_candidate(make_cohort(m2, e), prog, "m", "e")
    assert check_pair(make_cohort(m2, e), prog, "m", "e") == []
