"""`mentorsync run` with circle members (sample_data/participants_circles.csv): circles.csv,
the circles in schedule.json, unmatched reasons, the members' calendars and the report section."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from icalendar import Calendar

from cohort.load import load_participants
from cohort.program import load_program
from planner.circles import Rules, circle_problems
from store import Workspace, latest_cycle, load_cohort
from tests.cli_helpers import invoke, rows
from tests.test_circle_slots import inside
from tests.test_circles import expanded

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
    by_id = {c["circle_id"]: c for c in schedule["circles"]}
    rules = Rules(cohort, program)
    placed: set[str] = set()
    for row in circles:
        members = row["member_ids"].split(";")
        leader = cohort[row["mentor_id"]] if row["mentor_id"] else None
        assert circle_problems([cohort[m] for m in members], leader, program, rules) == []
        series = by_id[row["circle_id"]]
        assert series["member_ids"] == members and series["mentor_id"] == (row["mentor_id"] or None)
        assert {m["kind"] for m in series["milestones"]} >= {"kickoff", "closing"}
        everyone = ([row["mentor_id"]] if row["mentor_id"] else []) + members
        meetings = sorted(
            [(o, series["duration_minutes"]) for o in series["occurrences"]]
            + [(m["start"], m["duration_minutes"]) for m in series["milestones"]]
        )
        for pid in everyone:
            cal = Calendar.from_ical((tmp_path / "out" / "circles" / f"{pid}.ics").read_bytes())
            got = [(t.strftime("%Y-%m-%dT%H:%M:%SZ"), n) for t, n in expanded(cal)]
            assert got == meetings
            text = (tmp_path / "out" / "circles" / f"{pid}.ics").read_text(encoding="utf-8")
            assert all(cohort[q].name.split()[0] in text.replace("\r\n ", "") for q in everyone)
            assert "@northwind" not in text  # names only
            for start, minutes in expanded(cal):
                assert inside(cohort[pid], start, minutes)
        placed |= set(members)
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
