"""Every CP-SAT model is built from the named rule builders (``matcher.constraints``,
``scheduler.constraints``): built on a small instance, each model holds exactly the rules of the
catalogue it must, in order; and no model writes a rule's constraint inline."""

from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from cohort.program import Circles, CycleSettings, Matching, Program
from cohort.rules import RULES
from matcher import constraints as matching_rules
from matcher.solve import Assignment, assignment_model, mutual_conflicts
from planner import lns
from planner.circles.forming import candidate_circles, pack_model
from planner.circles.pool import circle_pool
from planner.circles.slots import circle_context
from planner.instance import PlanInstance
from planner.joint import joint_model, live_options
from scheduler import constraints as calendar_rules
from scheduler.assign import Component, component_model, schedule
from scheduler.slots import pair_slot_options
from tests.factories import make_cohort, make_person
from tests.tree import source_files

ROOT = Path(__file__).resolve().parent.parent
BUILDERS = {"matcher/constraints.py", "scheduler/constraints.py"}


def _program(**matching: object) -> Program:
    return Program(
        cycle=CycleSettings(start=date(2027, 2, 1), weeks=6, cadence="weekly"),
        matching=Matching(workers=1, seed=0, time_limit_seconds=10.0, **matching),  # type: ignore[arg-type]
    )


def _cohort():  # type: ignore[no-untyped-def]
    """Two people with role ``both`` (each may mentor the other), a mentor with a weekly limit and
    two mentees: every rule has something to bind."""
    return make_cohort(
        make_person("a", "both", capacity=1),
        make_person("b", "both", capacity=1),
        make_person("m", "mentor", capacity=2, max_meetings_per_week=1),
        make_person("e"),
        make_person("f"),
    )


def test_every_builder_is_named_after_a_catalogue_rule_and_says_hard_or_soft() -> None:
    for module in (matching_rules, calendar_rules):
        for name in module.__dict__:
            fn = getattr(module, name)
            doc = getattr(fn, "__doc__", None) or ""
            if callable(fn) and getattr(fn, "__module__", "") == module.__name__ and doc.startswith("Hard:"):
                assert doc.startswith(f"Hard: {name} -- ") and name in RULES, name
            elif callable(fn) and doc.startswith("Soft:"):
                assert doc.startswith(f"Soft: {name} -- "), name
    hard = [
        n for n, f in vars(matching_rules).items() if (getattr(f, "__doc__", "") or "").startswith("Hard:")
    ]
    assert sorted(hard) == ["capacity", "mutual_mentoring", "one_mentor", "pin"]


def test_the_assignment_model_holds_every_matching_rule() -> None:
    """``matcher.solve``'s and ``matcher.ranks``' CP-SAT levels are built on this model."""
    cohort, program = _cohort(), _program(pins=[["m", "e"]])
    inst = PlanInstance.build(cohort, program)
    cs = inst.candidates
    active = np.arange(len(cs), dtype=np.int64)
    conflicts = mutual_conflicts(cs, active)
    assert len(conflicts) == 1  # a -> b and b -> a
    pinned = np.array([cs.index_of("m", "e")], dtype=np.int64)
    v, _ = assignment_model(Assignment(cs, active, cs.arrays.capacity, pinned, conflicts))
    assert v.built == ["capacity", "one_mentor", "mutual_mentoring", "pin"]


def test_the_schedule_model_holds_every_calendar_rule() -> None:
    cohort, program = _cohort(), _program()
    inst = PlanInstance.build(cohort, program)
    keys = [("m", "e"), ("m", "f")]
    options = [pair_slot_options(cohort[m], cohort[e], program, ctx=inst.ctx, limit=4) for m, e in keys]
    v, groups = component_model(inst.ctx, Component(keys, options, [None, None]))
    assert v.built == ["one_slot_per_pair", "no_overlap_with_buffer", "weekly_limit", "mentor_spread"]
    assert groups > 0


def test_the_joint_model_holds_the_matching_and_the_calendar_rules() -> None:
    cohort, program = _cohort(), _program(pins=[["m", "e"]])
    inst = PlanInstance.build(cohort, program)
    live, opts = live_options(inst, inst.candidates.candidates(), 3)
    slots, pairs, assumption = joint_model(inst, live, opts)
    assert slots.built == ["one_slot_per_pair", "no_overlap_with_buffer", "weekly_limit"]
    assert pairs.built == ["one_mentor", "capacity", "mutual_mentoring", "pin"] and assumption is not None


def test_a_neighbourhood_model_holds_the_matching_and_the_calendar_rules() -> None:
    cohort, program = _cohort(), _program()
    inst = PlanInstance.build(cohort, program, uid_salt="t")
    placed = schedule(cohort, program, [("a", "b"), ("m", "e")], uid_salt="t", ctx=inst.ctx)
    slots, pairs = lns.neighbourhood_model(inst, placed, ["a", "b", "m"], ["a", "b", "e", "f"])
    assert slots.built == ["one_slot_per_pair", "no_overlap_with_buffer", "weekly_limit"]
    assert pairs.built == ["mutual_mentoring", "one_mentor", "capacity"]


def test_the_circle_packing_holds_one_circle_per_member_and_the_leaders_seats() -> None:
    program = Program(
        cycle=CycleSettings(start=date(2027, 3, 1), weeks=8, granularity_minutes=30, buffer_minutes=15),
        matching=Matching(workers=1, seed=0),
        circles=Circles(kind="mentor-led", min_size=2, max_size=2, cadence="weekly", duration_minutes=60),
    )
    cohort = make_cohort(
        make_person("lead", "mentor", expertise=("design",), format="circle", capacity=2),
        *(make_person(f"c{i}", goals=("design",), format="circle") for i in range(4)),
    )
    members, leaders = circle_pool(cohort, program, (), {})
    ctx = circle_context(cohort, program)
    candidates, _ = candidate_circles(cohort, program, members, leaders, ctx=ctx, busy={})
    v, _ = pack_model(candidates, {"lead": 1})
    assert len(candidates) > 1 and v.built == ["one_mentor", "capacity"]


INLINE = {"add_at_most_one", "add_exactly_one", "add_bool_or", "AddAtMostOne", "AddExactlyOne", "AddBoolOr"}


def _inline_rules(tree: ast.AST) -> list[int]:
    """Lines that write a rule's constraint without its builder: an at-most-one, exactly-one or
    clause, or a ``sum(...) <= ...`` / ``sum(...) == ...`` added to a model."""
    out = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr in INLINE:
            out.append(node.lineno)
        elif node.func.attr in ("add", "Add") and node.args and isinstance(node.args[0], ast.Compare):
            left = node.args[0].left
            if isinstance(left, ast.Call) and isinstance(left.func, ast.Name) and left.func.id == "sum":
                out.append(node.lineno)
    return out


@pytest.mark.parametrize("package", ["matcher", "scheduler", "planner"])
def test_no_model_writes_a_rule_inline(package: str) -> None:
    found = {}
    for path in source_files():
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(f"{package}/") and rel not in BUILDERS:
            lines = _inline_rules(ast.parse(path.read_text(encoding="utf-8")))
            if lines:
                found[rel] = lines
    assert found == {}, f"use the rule builders of matcher/scheduler.constraints: {found}"


def test_the_inline_check_finds_an_inline_rule() -> None:
    """The AST check above can fail: it finds the forms it forbids."""
    code = "model.add_at_most_one(xs)\nmodel.add(sum(vs) <= cap)\nmodel.add(w >= 1)\n"
    assert _inline_rules(ast.parse(code)) == [1, 2]


def test_overlap_with_placed_is_overlap_with_buffer() -> None:
    """The sorted-array test of the greedy passes gives the pairwise rule's answer."""
    rng = np.random.default_rng(3)
    for _ in range(200):
        starts = np.sort(rng.integers(0, 2000, size=6)) * 15
        ends = starts + rng.integers(1, 5, size=6) * 15
        new = rng.integers(0, 2000, size=4) * 15
        new_end = new + 45
        pairwise = calendar_rules.overlap_with_buffer(
            starts[None, :], ends[None, :], new[:, None], new_end[:, None], 15
        )
        latest = np.maximum.accumulate(ends)
        sorted_test = calendar_rules.overlap_with_placed(starts, latest, 15, new, new_end)
        assert (pairwise.any(axis=1) == sorted_test).all()
