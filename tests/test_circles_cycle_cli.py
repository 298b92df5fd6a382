"""Circles across cycles through the CLI: `run` -> `cycle close --feedback` (circle rows validated
with FILE:LINE errors, all at once; ratings and comments private) -> `rematch`: the circle continues
with its id and slot, the member who said no is out, a newcomer replaces them."""

from __future__ import annotations

import csv
import json
import shutil
from datetime import datetime
from pathlib import Path

from icalendar import Calendar

from cohort.load import load_participants
from cohort.program import load_program
from planner.circles.forming import Rules, circle_problems
from store import Workspace, list_cycles, load_circle_feedback, load_circles, load_feedback
from tests.cli_helpers import invoke, rows
from tests.test_circle_slots import inside
from tests.test_circles import expanded

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "participants_circles.csv"
NEWCOMER = (
    "c2007,Lena Fischer,lena.fischer@northwind.example,mentee,Europe/Berlin,Mon-Fri 12:00-18:00,"
    "Public speaking,,,en,Legal,,,,,,,,,circle\n"
)


def write_feedback(path: Path, lines: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["person_id", "partner_id", "continue", "rating", "comment"])
        w.writerows(lines)
    return path


def test_run_close_with_circle_feedback_then_rematch_continues_the_circle(tmp_path: Path) -> None:
    shutil.copy(ROOT / "sample_data" / "program.toml", tmp_path / "program.toml")
    code, _, err = invoke(tmp_path, "-q", "run", str(SAMPLE), "--out", "c1")
    assert code == 0, err
    (circle,) = rows(tmp_path / "c1" / "circles.csv")
    cid, mentor = circle["circle_id"], circle["mentor_id"]
    members = circle["member_ids"].split(";")
    assert mentor and len(members) == 3, "the sample's circle: a mentor and three members"
    leaver, *stay = members
    first = json.loads((tmp_path / "c1" / "schedule.json").read_text(encoding="utf-8"))["series"]
    old = {s["circle_id"]: s for s in first if s.get("circle_id")}

    bad = write_feedback(
        tmp_path / "bad.csv",
        [
            [stay[0], "C999", "yes", "", ""],  # 2: no such circle
            ["e1001", cid, "yes", "", ""],  # 3: not in the circle
            [stay[0], stay[1], "yes", "", ""],  # 4: names another member: the circle's id is meant
            [stay[1], cid, "yes", "", ""],  # 5: fine
            [stay[1], mentor, "no", "", ""],  # 6: the mentor means the circle: a second row
        ],
    )
    code, _, err = invoke(tmp_path, "cycle", "close", "--feedback", str(bad))
    assert code == 65
    assert f"{bad}:2: column 'partner_id': unknown person or circle id 'C999'" in err
    assert f"{bad}:3: column 'partner_id': 'e1001' is not in circle '{cid}'" in err
    assert f"{bad}:4: column 'partner_id'" in err and f"write the circle's id: {cid}" in err
    assert f"{bad}:6: column 'partner_id': second row for '{stay[1]}' about '{cid}'" in err
    assert f"{bad}:5:" not in err

    pairs = [(r["mentor_id"], r["mentee_id"]) for r in rows(tmp_path / "c1" / "matches.csv")]
    lines = [[m, e, "yes", "", ""] for m, e in pairs] + [[e, m, "yes", "", ""] for m, e in pairs]
    lines += [
        [mentor, cid, "yes", "5", "SECRET-CIRCLE-NOTE"],
        [leaver, mentor, "no", "2", "SECRET-CIRCLE-NOTE"],  # a member naming the mentor: the circle
        [stay[0], cid, "yes", "4", ""],
        [stay[1], cid, "yes", "", ""],
    ]
    feedback = write_feedback(tmp_path / "feedback.csv", lines)
    code, out, err = invoke(tmp_path, "cycle", "close", "--feedback", str(feedback))
    assert code == 0, err
    assert "4 answers about 1 circles (3 yes, 1 no)" in out
    with Workspace(tmp_path, create=False) as ws:
        (closed,) = list_cycles(ws)
        stored = {(r.person_id, r.partner_id): r.wants_continue for r in load_circle_feedback(ws, closed.id)}
        assert stored == {
            (mentor, cid): True,
            (leaver, cid): False,
            (stay[0], cid): True,
            (stay[1], cid): True,
        }
        assert len(load_feedback(ws, closed.id)) == 2 * len(pairs)  # the pairs' rows apart

    roster = tmp_path / "roster2.csv"
    roster.write_text(SAMPLE.read_text(encoding="utf-8") + NEWCOMER, encoding="utf-8")
    toml = (tmp_path / "program.toml").read_text(encoding="utf-8")
    (tmp_path / "program.toml").write_text(toml.replace("2027-02-01", "2027-08-02"), encoding="utf-8")
    code, _, err = invoke(tmp_path, "-q", "rematch", str(roster), "--out", "c2")
    assert code == 0, err

    program = load_program(tmp_path / "program.toml")
    cohort, _ = load_participants(roster, program)
    (after,) = rows(tmp_path / "c2" / "circles.csv")
    now = after["member_ids"].split(";")
    assert after["circle_id"] == cid and after["mentor_id"] == mentor  # it continues, same id
    assert set(stay) <= set(now) and leaver not in now and "c2007" in now  # replaced by the newcomer
    assert "continues from the last cycle (joined: c2007), same slot" in after["reasons"]
    rules = Rules(cohort, program)
    assert circle_problems([cohort[m] for m in now], cohort[mentor], program, rules) == []
    document = json.loads((tmp_path / "c2" / "schedule.json").read_text(encoding="utf-8"))
    (new,) = [s for s in document["series"] if s.get("circle_id")]
    assert new["circle_id"] == cid and new["member_ids"] == now
    assert (new["timezone"], new["rrule"].split(";UNTIL")[0]) == (
        old[cid]["timezone"],
        old[cid]["rrule"].split(";UNTIL")[0],
    )
    assert new["dtstart"][11:] == old[cid]["dtstart"][11:]  # same local time
    meetings = [(t, new["duration_minutes"]) for t in new["occurrences"]] + [
        (e["start"], e["duration_minutes"]) for e in document["events"] if e.get("circle_id") == cid
    ]
    urls = {r["id"]: r["url"] for r in rows(tmp_path / "c2" / "feeds" / "index.csv")}
    for pid in [mentor, *now]:  # inside everyone's hours, and in everyone's feed
        for start, minutes in meetings:
            assert inside(cohort[pid], datetime.fromisoformat(start.replace("Z", "+00:00")), minutes)
        feed = tmp_path / "c2" / "feeds" / urls[pid].rsplit("/feeds/", 1)[1]
        got = {
            (t.strftime("%Y-%m-%dT%H:%M:%SZ"), n) for t, n in expanded(Calendar.from_ical(feed.read_bytes()))
        }
        assert set(meetings) <= got
    unmatched = {r["id"]: r for r in rows(tmp_path / "c2" / "unmatched.csv")}
    assert unmatched[leaver]["role"] == "circle"  # never with that mentor's circle again
    summary = json.loads((tmp_path / "c2" / "summary.json").read_text(encoding="utf-8"))
    assert summary["circles"]["continued"] == [cid] and summary["circles"]["same_slot"] == [cid]
    for path in (tmp_path / "c2").rglob("*"):
        if path.is_file():
            assert b"SECRET-CIRCLE-NOTE" not in path.read_bytes(), path
    with Workspace(tmp_path, create=False) as ws:
        assert [c.circle_id for c in load_circles(ws, list_cycles(ws)[-1].id)] == [cid]


def test_mid_cycle_a_circle_goes_on_without_the_member_who_left(tmp_path: Path) -> None:
    shutil.copy(ROOT / "sample_data" / "program.toml", tmp_path / "program.toml")
    code, _, err = invoke(tmp_path, "-q", "run", str(SAMPLE), "--out", "c1")
    assert code == 0, err
    with Workspace(tmp_path, create=False) as ws:
        (cycle,) = list_cycles(ws)
        (before,) = load_circles(ws, cycle.id)
    gone = before.member_ids[0]
    lines = SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
    (tmp_path / "p2.csv").write_text("".join(x for x in lines if not x.startswith(gone + ",")), "utf-8")
    code, _, err = invoke(tmp_path, "-q", "rematch", str(tmp_path / "p2.csv"), "--mid-cycle", "--out", "c2")
    assert code == 0, err
    with Workspace(tmp_path, create=False) as ws:
        (after,) = load_circles(ws, cycle.id)
    assert after.circle_id == before.circle_id and after.member_ids == before.member_ids[1:]
    assert after.series.uid == before.series.uid and after.series.occurrences == before.series.occurrences
    document = json.loads((tmp_path / "c2" / "schedule.json").read_text(encoding="utf-8"))
    (series,) = [s for s in document["series"] if s.get("circle_id")]
    assert series["member_ids"] == list(after.member_ids)
    urls = {r["id"]: r["url"] for r in rows(tmp_path / "c2" / "feeds" / "index.csv")}
    assert gone not in urls
    for pid in after.people:
        feed = tmp_path / "c2" / "feeds" / urls[pid].rsplit("/feeds/", 1)[1]
        assert series["uid"] in feed.read_text(encoding="utf-8")
