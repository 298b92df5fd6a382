"""`mentorsync run` with circle members (sample_data/participants_circles.csv): circles.csv,
the circles' series and milestones in schedule.json, unmatched reasons, explain and the report
section (the members' feeds: tests/test_circles_feeds.py)."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

from cohort.load import load_participants
from cohort.program import load_program
from planner.circles.forming import Rules, circle_problems
from scheduler.validate import check_schedule
from store import Workspace, latest_cycle, load_cohort
from tests.cli_helpers import invoke, rows
from tests.test_circle_slots import inside

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "participants_circles.csv"


def test_run_writes_circles_and_keeps_every_rule(tmp_path: Path) -> None:
    shutil.copy(ROOT / "sample_data" / "program.toml", tmp_path / "program.toml")
    code, out, err = invoke(tmp_path, "run", str(SAMPLE), "--out", "out")
    assert code == 0, err
    program = load_program(tmp_path / "program.toml")
    cohort, _ = load_participants(SAMPLE, program)
    circles = rows(tmp_path / "out" / "circles.csv")
    assert circles, "the sample's circle members form a circle"
    schedule = json.loads((tmp_path / "out" / "schedule.json").read_text(encoding="utf-8"))
    assert "circles" not in schedule  # circle meetings are series and events like the pairs'
    assert check_schedule(schedule, cohort, program) == []  # every member's hours, buffers, limits
    by_id = {s["circle_id"]: s for s in schedule["series"] if s.get("circle_id")}
    milestones = [e for e in schedule["events"] if e.get("circle_id")]
    rules = Rules(cohort, program)
    placed: set[str] = set()
    for row in circles:
        members = row["member_ids"].split(";")
        leader = cohort[row["mentor_id"]] if row["mentor_id"] else None
        assert circle_problems([cohort[m] for m in members], leader, program, rules) == []
        series = by_id[row["circle_id"]]
        assert series["member_ids"] == members and series["mentor_id"] == (row["mentor_id"] or None)
        assert series["mentee_id"] is None and series["occurrences"]
        mine = [e for e in milestones if e["circle_id"] == row["circle_id"]]
        assert {e["kind"] for e in mine} >= {"kickoff", "closing"}
        assert all(e["member_ids"] == members and e["mentee_id"] is None for e in mine)
        everyone = ([row["mentor_id"]] if row["mentor_id"] else []) + members
        for start, minutes in [(o, series["duration_minutes"]) for o in series["occurrences"]] + [
            (e["start"], e["duration_minutes"]) for e in mine
        ]:
            t = datetime.fromisoformat(start.replace("Z", "+00:00"))
            assert all(inside(cohort[pid], t, minutes) for pid in everyone)
        placed |= set(members)
    assert not (tmp_path / "out" / "circles").exists()  # the meetings are in the private feeds
    unmatched = {r["id"]: r for r in rows(tmp_path / "out" / "unmatched.csv")}
    circle_people = {p.id for p in cohort.people if p.format == "circle" and p.role == "mentee"}
    for pid in circle_people - placed:
        assert unmatched[pid]["role"] == "circle" and unmatched[pid]["reason"]
    assert not placed & set(unmatched)
    report = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert '<section id="circles">' in report
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["circles"]["placed"] == len(placed) <= summary["circles"]["bound"]
    with Workspace(tmp_path, create=False) as ws:  # the store keeps everyone's format
        cycle = latest_cycle(ws)
        assert cycle is not None and load_cohort(ws, cycle.id) == cohort
    member = sorted(placed)[0]
    code, out, err = invoke(tmp_path, "explain", member, "--json")
    assert code == 0, err
    circle = json.loads(out)["circle"]
    assert member in circle["member_ids"] and circle["as"] == "member" and circle["reasons"]
    for pid in circle_people - placed:
        code, out, _ = invoke(tmp_path, "explain", pid)
        assert code == 0 and "not in a circle: " + unmatched[pid]["reason"] in out


def test_a_cohort_without_circles_writes_no_circle_outputs(tmp_path: Path) -> None:
    shutil.copy(ROOT / "sample_data" / "program.toml", tmp_path / "program.toml")
    code, _, err = invoke(tmp_path, "run", str(ROOT / "sample_data" / "participants.csv"), "--out", "out")
    assert code == 0, err
    assert not (tmp_path / "out" / "circles.csv").exists()
    assert "circles" not in json.loads((tmp_path / "out" / "schedule.json").read_text(encoding="utf-8"))
