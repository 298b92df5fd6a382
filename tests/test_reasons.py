"""The unmatched mentees' reasons are true, and the fixes they suggest work.

Independent of ``planner.reasons``: every claim is checked with the schedule validator
(``scheduler.validate.check_schedule``) on the placed meetings of both people plus one new series,
over every slot option of the pair (``pair_slot_options`` with no limit), or with a fresh candidate
build.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from cohort.model import Cohort
from cohort.program import Program, load_program
from matcher.candidates import build_candidates
from planner.continuity import Continuity
from planner.instance import capacities
from planner.plan import Plan, plan
from planner.reasons import DAYS_PLURAL, with_hour
from sample_data.generate import generate_cohort, generate_rows, write_rows
from scheduler.assign import build_series
from scheduler.model import Schedule
from scheduler.slots import SlotContext, pair_slot_options
from scheduler.validate import check_schedule
from tests.cli_helpers import invoke, rows

ROOT = Path(__file__).resolve().parent.parent
FREE = "eligible mentor(s) with a free seat: "
FULL = re.compile(r"^all (\d+) eligible mentor\(s\) are full: (.*)$")
CADENCE_FIX = re.compile(r"a (weekly|biweekly|monthly) cadence would fit ([\w.-]+)")
HOUR_FIX = re.compile(
    r"one more hour of availability on (\w+) (\d\d):(\d\d)-\d\d:\d\d \(([\w/+-]+)\) would allow a "
    r"(weekly|biweekly|monthly) meeting with ([\w.-]+)"
)


def _program() -> Program:
    prog = load_program(ROOT / "sample_data" / "program.toml")
    return replace(prog, matching=replace(prog.matching, workers=1, seed=0, time_limit_seconds=20.0))


def _names(text: str) -> tuple[list[str], int]:
    """'a, b and 3 more' -> (['a', 'b'], 3)."""
    listed, _, more = text.partition(" and ")
    return listed.split(", "), int(more.split()[0]) if more else 0


def _placeable(
    cohort: Cohort, program: Program, sched: Schedule, mentor: str, mentee: str, cadence: str | None = None
) -> bool:
    """Whether some slot option of the pair (``cadence``: another rhythm) is valid next to both
    people's placed meetings, by the independent validator."""
    ctx = SlotContext(cohort, program)
    people = {mentor, mentee}
    around = Schedule(
        tuple(s for s in sched.series if people & {s.mentor_id, s.mentee_id}),
        tuple(e for e in sched.events if people & {e.mentor_id, e.mentee_id}),
    )
    for option in pair_slot_options(cohort[mentor], cohort[mentee], program, cadence, ctx=ctx):
        s, evs = build_series(ctx, option, "t")
        if not check_schedule(Schedule((*around.series, s), (*around.events, *evs)), cohort, program):
            return True
    return False


@pytest.fixture(scope="module")
def planned() -> Plan:
    program = _program()
    cohort = generate_cohort(300, 90, seed=2, program=program)
    return plan(cohort, program, Continuity(repair="rematch"), uid_salt="t")


def test_free_seats_but_no_common_hour_is_true_and_each_fix_works(planned: Plan) -> None:
    cohort, program, sched = planned.cohort, planned.program, planned.schedule
    reasons = {u.id: u.reason for u in planned.match.unmatched if u.role == "mentee"}
    told = {e: r for e, r in reasons.items() if r.startswith(FREE)}
    assert told, "the cohort must have mentees whose free-seat mentors have no common hour"
    fixes = 0
    for mentee, reason in told.items():
        assert "for example" not in reason
        mentors, _ = _names(reason.removeprefix(FREE).split("; none of their free hours")[0])
        for m in mentors:  # forcing the pair is infeasible given the placed meetings
            assert not _placeable(cohort, program, sched, m, mentee), (m, mentee)
        for cadence, m in CADENCE_FIX.findall(reason):
            assert _placeable(cohort, program, sched, m, mentee, cadence), (m, mentee, cadence)
            fixes += 1
        for days, hh, mm, tz, _cadence, m in HOUR_FIX.findall(reason):
            assert tz == cohort[mentee].timezone
            hour = DAYS_PLURAL.index(days) * 1440 + int(hh) * 60 + int(mm)
            relaxed = Cohort(tuple(with_hour(p, hour) if p.id == mentee else p for p in cohort.people))
            assert _placeable(relaxed, program, sched, m, mentee), (m, mentee, days, hh)
            fixes += 1
    assert fixes, "at least one suggested fix is checked"


def test_all_full_and_no_eligible_mentor_are_true(planned: Plan) -> None:
    cohort, program = planned.cohort, planned.program
    pairs = [(p.mentor_id, p.mentee_id) for p in planned.match.pairs]
    load = Counter(m for m, _ in pairs)
    cap = capacities(cohort, program)
    fresh = build_candidates(cohort, program, slot_filter=SlotContext(cohort, program).has_slot)
    full = none = 0
    for u in planned.match.unmatched:
        if u.role != "mentee":
            continue
        if got := FULL.match(u.reason):
            named, more = _names(got.group(2))
            assert len(named) + more == int(got.group(1))
            assert all(load[m] == cap[m] for m in named), u.reason
            full += 1
        elif u.reason.startswith("no compatible mentor"):
            assert len(fresh.of_mentee(u.id)) == 0  # the candidate builder really has none
            counts = [int(n) for n in re.findall(r": (\d+)", u.reason)]
            assert sum(counts) == sum(1 for m in cohort.mentors if m.id != u.id)  # every mentor, once
            none += 1
    assert full and none


def test_explain_and_unmatched_csv_say_the_same(tmp_path: Path) -> None:
    program_text = (ROOT / "sample_data" / "program.toml").read_text(encoding="utf-8")
    program_text += (
        "\n[matching]\nworkers = 1\ntime_limit_seconds = 3\n"  # one worker: deterministic; short joint model
    )
    (tmp_path / "program.toml").write_text(program_text, encoding="utf-8")
    write_rows(generate_rows(300, 90, 2), tmp_path / "people.csv")
    code, _, err = invoke(tmp_path, "run", "people.csv", "--out", "out")
    assert code == 0, err
    unmatched = [r for r in rows(tmp_path / "out" / "unmatched.csv") if r["role"] == "mentee"]
    told = [r for r in unmatched if r["reason"].startswith(FREE)]
    assert told
    for r in told[:3]:
        code, out, _ = invoke(tmp_path, "explain", r["id"])
        assert code == 0
        assert f"unmatched as mentee: {r['reason']}" in out
        assert "for example" not in out
