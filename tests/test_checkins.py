"""Check-ins for the coordinator: the analysis, `mentorsync checkins`, `cycle close` without a
feedback file, and the report's check-in section."""

from __future__ import annotations

import csv
import json
import re
import shutil
from datetime import UTC, datetime, timedelta

import pytest

from cohort.checkins import CheckIn, Point, feedback_rows, merge_feedback, summarise
from cohort.feedback import FeedbackRow, pair_verdicts
from pipeline.run import run
from store import Workspace, continuing_pairs, ended_pairs, latest_cycle, load_feedback, save_checkin
from tests.cli_helpers import invoke
from tests.pages_support import RUN_AT, Built, build, paired

T = datetime(2027, 3, 1, tzinfo=UTC)


def answer(
    person: str, partner: str, n: int, met: str = "yes", rating: int = 4, cont: str = "yes", note: str = ""
) -> CheckIn:
    return CheckIn(1, person, partner, n, met, rating, cont, note, "2027-03-01T00:00:00+00:00")


def points(n: int) -> tuple[Point, ...]:
    return tuple(Point(i + 1, T + timedelta(days=30 * i), T + timedelta(days=30 * i)) for i in range(n))


def test_summary_flags_what_needs_a_look():
    pairs = [("m1", "e1"), ("m2", "e2"), ("m3", "e3"), ("m4", "e4")]
    pts = {p: points(3) for p in pairs}
    rows = [
        answer("m1", "e1", 1),
        answer("e1", "m1", 1),
        answer("m1", "e1", 2),
        answer("e1", "m1", 2),
        answer("m2", "e2", 1, met="no"),
        answer("e2", "m2", 1, met="rescheduled"),
        answer("m2", "e2", 2, met="no"),
        answer("m3", "e3", 1, rating=5),
        answer("e3", "m3", 1, rating=2),
        answer("e4", "m4", 2, cont="no"),
        answer("x", "y", 1),  # not a pair: ignored
    ]
    s = summarise(pairs, pts, rows, T + timedelta(days=45))
    assert s.rates == ((1, 8, 6), (2, 8, 4))
    risks = {(p.mentor_id, p.mentee_id): p.risks for p in s.pairs}
    assert risks[("m1", "e1")] == ()
    assert risks[("m2", "e2")] == ("did not meet at two check-ins in a row",)
    assert (
        "low rating from e3" in risks[("m3", "e3")]
        and "one-sided ratings at check-in 1" in risks[("m3", "e3")]
    )
    assert risks[("m4", "e4")] == ("would not like to continue: e4",)
    assert s.wants_to_stop == (("e4", "m4"),)
    # meeting once in between clears the "not met" flag
    rows.append(answer("e2", "m2", 2, met="yes"))
    s = summarise(pairs, pts, rows, T + timedelta(days=45))
    assert next(p for p in s.pairs if p.mentor_id == "m2").risks == ()


def test_last_answer_decides_and_unsure_is_no_answer():
    pairs = [("m1", "e1"), ("m2", "e2")]
    rows = [
        answer("m1", "e1", 1, cont="no"),
        answer("m1", "e1", 2, cont="yes"),
        answer("e1", "m1", 1, cont="unsure"),
        answer("m2", "e2", 2, cont="unsure"),
        answer("e2", "m2", 1, cont="no", rating=2),
    ]
    fb = feedback_rows(rows, pairs)
    assert {(r.person_id, r.partner_id, r.wants_continue, r.rating) for r in fb} == {
        ("m1", "e1", True, 4),
        ("e2", "m2", False, 2),
    }
    assert pair_verdicts(fb, pairs) == {("m1", "e1"): "partial", ("m2", "e2"): "end"}
    # the file wins where both answer
    merged = merge_feedback([FeedbackRow("e2", "m2", True)], fb)
    assert {(r.person_id, r.wants_continue) for r in merged} == {("e2", True), ("m1", True)}


@pytest.fixture(scope="module")
def answered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Built, list[CheckIn]]:
    """A workspace where every pair answered check-ins, with every kind of last answer."""
    built = build(tmp_path_factory.mktemp("close"), people=30, mentors=10)
    kinds = ["yes", "no", "unsure"]
    rows = []
    with Workspace(built.workspace, create=False) as ws:
        cycle = latest_cycle(ws).id
        for i, (mentor, mentee) in enumerate(paired(built)):
            last_mentor, last_mentee = kinds[i % 3], kinds[(i // 3) % 3]
            if i % 4 == 3:  # an earlier answer that the later one replaces
                rows.append(CheckIn(cycle, mentor, mentee, 1, "yes", 3, "no"))
            rows.append(CheckIn(cycle, mentor, mentee, 2, "yes", 4, last_mentor, "private note"))
            if i % 5 != 4:  # some people never answer
                rows.append(CheckIn(cycle, mentee, mentor, 2, "no", 3, last_mentee))
        for row in rows:
            save_checkin(ws, row)
    return built, rows


def test_cycle_close_without_file_equals_the_equivalent_file(answered, tmp_path):
    built, rows = answered
    a, b = tmp_path / "a", tmp_path / "b"
    shutil.copytree(built.workspace, a)
    shutil.copytree(built.workspace, b)
    code, out, err = invoke(a, "cycle", "close", "--json")
    assert code == 0, err
    without_file = json.loads(out)
    assert without_file["from_file"] == 0 and without_file["from_checkins"] == without_file["rows"]

    # the equivalent file, written by hand from the rule: last answer; unsure = no row
    last: dict[tuple[str, str], CheckIn] = {}
    for r in sorted(rows, key=lambda r: r.number):
        last[(r.person_id, r.partner_id)] = r
    with (tmp_path / "feedback.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["person_id", "partner_id", "continue", "rating"])
        for (person, partner), r in sorted(last.items()):
            if r.wants_continue != "unsure":
                w.writerow([person, partner, r.wants_continue, r.rating])
    # a workspace without check-ins, so only the file speaks
    with Workspace(b, create=False) as ws, ws.transaction() as con:
        con.execute("DELETE FROM checkins")
    code, out, err = invoke(b, "cycle", "close", "--feedback", str(tmp_path / "feedback.csv"), "--json")
    assert code == 0, err
    with_file = json.loads(out)
    assert with_file["verdicts"] == without_file["verdicts"]
    assert sum(without_file["verdicts"][k] for k in ("continue", "end", "partial")) > 0
    with Workspace(a, create=False) as wa, Workspace(b, create=False) as wb:
        cid = latest_cycle(wa).id
        assert continuing_pairs(wa, cid) == continuing_pairs(wb, cid) != set()
        assert ended_pairs(wa) == ended_pairs(wb) != set()
        assert all(r.comment is None for r in load_feedback(wa, cid))  # private notes stay in check-ins


def test_cycle_close_merges_file_and_checkins_file_wins(answered, tmp_path):
    built, rows = answered
    ws_dir = tmp_path / "ws"
    shutil.copytree(built.workspace, ws_dir)
    mentor, mentee = paired(built)[1]  # the mentor's last answer is "no"
    with (tmp_path / "fb.csv").open("w", newline="", encoding="utf-8") as f:
        f.write(f"person_id,partner_id,continue\n{mentor},{mentee},yes\n")
    code, out, err = invoke(ws_dir, "cycle", "close", "--feedback", str(tmp_path / "fb.csv"), "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["from_file"] == 1 and result["from_checkins"] == result["rows"] - 1
    with Workspace(ws_dir, create=False) as ws:
        stored = {
            (r.person_id, r.partner_id): r.wants_continue for r in load_feedback(ws, latest_cycle(ws).id)
        }
    assert stored[(mentor, mentee)] is True


def test_checkins_command(answered):
    built, rows = answered
    code, out, err = invoke(built.workspace, "checkins", "--json")
    assert code == 0, err
    data = json.loads(out)
    stop = {(s["person_id"], s["partner_id"]) for s in data["wants_to_stop"]}
    assert stop and all(r.wants_continue == "no" for r in rows if (r.person_id, r.partner_id) in stop)
    assert len(data["pairs"]) == len(paired(built))
    code, text, err = invoke(built.workspace, "checkins")
    assert code == 0 and "pair(s) at risk" in text


def test_report_has_a_checkin_section_only_with_answers(answered, tmp_path):
    built, _ = answered
    fresh = build(tmp_path / "fresh", people=30, mentors=10)
    page = (fresh.out / "report.html").read_text(encoding="utf-8")
    assert 'id="checkins"' not in page and "Check-ins" not in page
    ws_dir = tmp_path / "again"
    shutil.copytree(built.workspace, ws_dir)
    run(ws_dir, tmp_path / "fresh" / "people.csv", tmp_path / "again-out", now=RUN_AT)
    again = (tmp_path / "again-out" / "report.html").read_text(encoding="utf-8")
    assert 'id="checkins"' in again and "private note" not in again
    without = again.replace(again[again.index('\n<section id="checkins">') : again.index("</main>")], "")
    without = without.replace('<a href="#checkins">Check-ins</a>', "")

    def untimed(text: str) -> str:
        return re.sub(r"[0-9.]+ s</td>", "s</td>", text)

    assert untimed(without) == untimed(page)  # the section is all that changes
