"""The rule catalogue, walked rule by rule (``cohort.rules``).

For each hard rule of a pair: a mentor/mentee pair that breaks only that rule is refused by both
candidate builders (pair by pair and by blocks) and counted under the rule's name, flagged by the
product validator under that name, and explained in ``unmatched.csv`` with the rule's words. For
each rule of the set of pairs and of the meetings: a plan that breaks only that rule is flagged
under its name. Each name is defined once.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cohort.model import Cohort
from cohort.program import CycleSettings, Program
from cohort.rules import MATCHING_RULES, PAIR_RULES, RULES, SCHEDULE_RULES, Violation
from matcher.candidates import build_candidates
from matcher.explain import describe
from matcher.validate import check_matching
from planner.validate import check_plan
from scheduler.assign import schedule
from scheduler.model import Schedule
from scheduler.outputs import schedule_dict
from scheduler.validate import check_schedule
from tests.factories import make_cohort, make_person
from tests.test_schedule_slots import NO_MILESTONES, WEEKDAYS, week
from tests.tree import source_files

ROOT = Path(__file__).resolve().parents[1]


def program(**sections: dict[str, Any]) -> Program:
    base = Program()
    return dataclasses.replace(
        base, **{k: dataclasses.replace(getattr(base, k), **v) for k, v in sections.items()}
    )


def refuse_all(mentors: Any, mentees: Any) -> np.ndarray:
    """A slot filter for which no pair has a recurring slot (the scheduler's test is a black box)."""
    return np.zeros(len(mentors), dtype=bool)


@dataclasses.dataclass
class Case:
    """A pair m -> e that breaks only ``rule``, and the words its explanation must hold."""

    cohort: Cohort
    program: Program
    words: str
    slot_filter: Callable[..., np.ndarray] | None = None


def pair(mentor: dict[str, Any] | None = None, mentee: dict[str, Any] | None = None) -> Cohort:
    return make_cohort(
        make_person("m", "mentor", **(mentor or {})), make_person("e", "mentee", **(mentee or {}))
    )


OFF_GRID = ((9 * 60 + 10, 9 * 60 + 55),)  # 45 minutes, but no start on the 15-minute grid fits

CASES: dict[str, Case] = {
    "capacity": Case(pair({"capacity": 0}), Program(), "mentor has no seats this cycle"),
    "forbid": Case(pair(), program(matching={"forbid": [["e", "m"]]}), "forbidden by the coordinator"),
    "avoid": Case(pair(mentee={"avoid": frozenset({"m"})}), Program(), "avoid list"),
    "reporting_line": Case(pair(mentee={"manager_id": "m"}), Program(), "reporting line"),
    "department": Case(
        pair({"department": "Ops"}, {"department": "ops"}),
        program(rules={"same_department": "forbid"}),
        "same department",
    ),
    "level_gap": Case(
        pair({"level": 3}, {"level": 3}), program(rules={"min_level_gap": 1}), "level gap below 1"
    ),
    "language": Case(
        pair({"languages": ("en",)}, {"languages": ("fr", "pt")}),
        Program(),
        "no mentor shares a language (fr, pt)",
    ),
    "time": Case(
        pair({"availability": OFF_GRID}, {"availability": OFF_GRID}),
        Program(),
        "no common weekly time of 45 min",
    ),
    "schedule": Case(pair(), Program(), "no recurring slot free in both calendars", refuse_all),
}
# "self": a person with role `both` is on both sides; their own pair is refused and counted, but
# an explanation never says "you cannot mentor yourself" (it names the other reasons, or none).
NOT_EXPLAINED = {"self"}


def test_every_pair_rule_has_a_case() -> None:
    assert set(CASES) | NOT_EXPLAINED == set(PAIR_RULES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_pair_rule_refused_flagged_and_explained(name: str) -> None:
    case = CASES[name]
    for method in ("pairs", "blocks"):
        cs = build_candidates(case.cohort, case.program, method=method, slot_filter=case.slot_filter)
        assert cs.index_of("m", "e") is None, method
        assert cs.exclusions("e", "mentee") == {name: 1}, method
        assert cs.exclusions("m", "mentor") == {name: 1}, method
    if name == "schedule":  # the slot test is the scheduler's: a plan without a series breaks it
        found = check_plan(case.cohort, case.program, [("m", "e")], Schedule((), ()))
    else:
        found = check_matching(case.cohort, case.program, [("m", "e")])
    assert [v.rule for v in found] == [name]
    _, unmatched = describe(case.cohort, case.program, cs, [])
    reason = {u.id: u.reason for u in unmatched}["e"]
    assert reason == f"no compatible mentor: {case.words}: 1"
    gap = case.program.rules.min_level_gap
    assert RULES[name].say(other="mentor", languages="fr, pt", duration=45, min_level_gap=gap) == case.words


def test_self_pair_refused_and_flagged() -> None:
    c = make_cohort(make_person("x", "both"))
    for method in ("pairs", "blocks"):
        cs = build_candidates(c, Program(), method=method)
        assert cs.index_of("x", "x") is None
        assert cs.exclusions("x", "mentee") == {"self": 1}
    assert [v.rule for v in check_matching(c, Program(), [("x", "x")])] == ["self"]


def test_history_refused_by_the_plan_flagged_and_explained() -> None:
    c = pair()
    cs = build_candidates(c, Program())
    assert cs.index_of("m", "e") is not None  # history is not a pair rule: the solver forbids it
    assert [v.rule for v in check_matching(c, Program(), [("m", "e")], forbidden=[("e", "m")])] == ["history"]
    _, unmatched = describe(c, Program(), cs, [], forbidden_pairs=[("m", "e")])
    assert {u.id: u.reason for u in unmatched}["e"] == f"no compatible mentor: {RULES['history'].words}: 1"


def _named(found: list[Violation]) -> set[str]:
    return {v.rule for v in found}


def test_matching_rules_flagged_by_name() -> None:
    c = make_cohort(
        make_person("m", "mentor"),
        make_person("n", "mentor"),
        make_person("e", "mentee"),
        make_person("a", "both"),
        make_person("b", "both"),
    )
    prog = Program()
    assert check_matching(c, prog, [("m", "e")]) == []
    assert _named(check_matching(c, prog, [("m", "ghost")])) == {"unknown"}
    assert _named(check_matching(c, prog, [("e", "m")])) == {"role"}
    assert _named(check_matching(c, prog, [("m", "e"), ("n", "e")])) == {"one_mentor"}
    assert _named(check_matching(c, prog, [("a", "b"), ("b", "a")])) == {"mutual_mentoring"}
    assert _named(check_matching(c, program(matching={"pins": [["n", "e"]]}), [("m", "e")])) == {"pin"}
    assert _named(check_matching(c, prog, [("m", "e"), ("m", "a"), ("m", "b")])) == {"capacity"}
    assert _named(check_matching(c, prog, [("m", "e")], forbidden=[("m", "e")])) == {"history"}


CYCLE = CycleSettings(start=date(2027, 2, 1), weeks=6, cadence="weekly", buffer_minutes=15)


def _sound() -> tuple[Cohort, Program, dict[str, Any]]:
    hours = week(WEEKDAYS, "09:00", "17:00")
    c = make_cohort(
        make_person("m", "mentor", availability=hours, capacity=2),
        make_person("e", availability=hours),
        make_person("f", availability=hours),
    )
    prog = Program(cycle=CYCLE, milestones=NO_MILESTONES)
    doc = schedule_dict(schedule(c, prog, [("m", "e"), ("m", "f")], uid_salt="s"))
    assert len(doc["series"]) == 2 and check_schedule(doc, c, prog) == []
    return c, prog, doc


def _first_day(doc: dict[str, Any]) -> date:
    return date.fromisoformat(doc["series"][0]["occurrences"][0][:10])


def _break(
    name: str, c: Cohort, prog: Program, doc: dict[str, Any]
) -> tuple[Cohort, Program, dict[str, Any]]:
    """The sound schedule made to break only rule ``name``."""
    doc = copy.deepcopy(doc)
    s0, s1 = doc["series"]
    if name == "one_slot_per_pair":
        s0["occurrences"] = s0["occurrences"][:-1]
    elif name == "inside_cycle":
        day = (CYCLE.start + timedelta(days=7 * 8)).isoformat()
        s0["occurrences"] = s0["occurrences"][:-1]
        doc["events"].append(
            {"mentor_id": "m", "mentee_id": "e", "uid": "x", "kind": "closing", "duration_minutes": 45,
             "start": day + s0["occurrences"][0][10:]}
        )  # fmt: skip
        doc["series"] = [s1]
    elif name == "inside_availability":
        doc["series"] = [s1]
        doc["events"].append(
            {"mentor_id": "m", "mentee_id": "e", "uid": "x", "kind": "kickoff", "duration_minutes": 45,
             "start": s0["occurrences"][0][:11] + "03:00:00Z"}
        )  # fmt: skip
    elif name == "no_holiday":
        prog = dataclasses.replace(prog, cycle=dataclasses.replace(prog.cycle, holidays=[_first_day(doc)]))
    elif name == "no_blackout":
        day = _first_day(doc)
        people = tuple(
            dataclasses.replace(p, unavailable=((day, day),)) if p.id == "e" else p for p in c.people
        )
        c = Cohort(people, source="test")
    elif name == "no_overlap_with_buffer":
        for key in ("dtstart", "rrule", "timezone", "occurrences", "exdates"):
            s1[key] = s0[key]
    elif name == "weekly_limit":
        people = tuple(
            dataclasses.replace(p, max_meetings_per_week=1) if p.id == "m" else p for p in c.people
        )
        c = Cohort(people, source="test")
    return c, prog, doc


@pytest.mark.parametrize("name", SCHEDULE_RULES)
def test_schedule_rule_flagged_by_name(name: str) -> None:
    c, prog, doc = _sound()
    c, prog, doc = _break(name, c, prog, doc)
    assert _named(check_schedule(doc, c, prog)) == {name}


def test_catalogue_scopes_cover_every_rule() -> None:
    assert set(MATCHING_RULES) | set(SCHEDULE_RULES) == set(RULES)
    for r in RULES.values():
        assert r.description and r.words and r.name == r.name.lower()


def test_each_rule_is_defined_once() -> None:
    """A rule's name appears once as a definition (``Rule("name", ...``), in ``cohort/rules.py``."""
    sources = [p for p in source_files() if "tests" not in p.relative_to(ROOT).parts]
    for name in RULES:
        pattern = re.compile(r'\bRule\(\s*"' + re.escape(name) + '"')
        hits = [(p, len(pattern.findall(p.read_text(encoding="utf-8")))) for p in sources]
        hits = [(p, n) for p, n in hits if n]
        assert [(p.relative_to(ROOT).as_posix(), n) for p, n in hits] == [("cohort/rules.py", 1)], name


def test_no_positional_rule_numbers() -> None:
    """The block builder indexes rules by name: no ``= range(10)`` list of rule positions."""
    text = (ROOT / "matcher" / "blocks.py").read_text(encoding="utf-8")
    assert "range(10)" not in text and "PAIR_RULES" in text


def test_the_whole_plan_check_ties_pairs_to_series_and_raises() -> None:
    import inspect

    from planner.plan import plan as make_plan
    from planner.validate import PlanViolation, assert_sound

    c, prog, _ = _sound()
    sched = schedule(c, prog, [("m", "e"), ("m", "f")], uid_salt="s")
    assert check_plan(c, prog, [("m", "e"), ("m", "f")], sched) == []
    twice = dataclasses.replace(sched, series=(*sched.series, sched.series[0]))
    assert "one_slot_per_pair" in _named(check_plan(c, prog, [("m", "e"), ("m", "f")], twice))
    assert _named(check_plan(c, prog, [("m", "e")], sched)) == {"schedule"}  # a series without its pair
    with pytest.raises(PlanViolation, match="internal error.*schedule"):
        assert_sound(c, prog, [("m", "e")], sched)
    assert "assert_sound(" in inspect.getsource(make_plan)  # every plan is checked after its solve
