"""Feedback about circles: the loader (circle id, a mentor-led member naming the mentor, every
problem with its line), the store (apart from the pairs' rows, private columns exported to the
person and cleared on erase), and a no that holds after the person was erased and joins again."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from cohort.errors import InputError
from cohort.feedback import read_feedback
from planner.circles.continuity import next_cycle_circles, rejoined
from planner.circles.forming import form_circles
from planner.circles.outputs import circle_records
from store import Workspace, list_cycles, load_circle_feedback, load_circles, workspace_secret
from store.privacy import erase_person, export_person, pseudonym_of
from tests.cli_helpers import invoke, rows
from tests.factories import make_cohort, make_person
from tests.test_circle_cycles import FIRST, HOURS_ALL, cycle
from tests.test_circles import program

ROOT = Path(__file__).resolve().parent.parent
COHORT = make_cohort(
    make_person("m1", "mentor"),
    make_person("m2", "mentor"),
    make_person("e1"),
    make_person("e2"),
    make_person("e3"),
    make_person("e4"),
)
PAIRS = {("m2", "e4")}
CIRCLES = {"C001": ("m1", ("e1", "e2")), "C002": (None, ("e3", "m2"))}


def write(path: Path, lines: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["person_id", "partner_id", "continue", "rating", "comment"])
        w.writerows(lines)
    return path


def test_circle_rows_come_apart_and_a_member_may_name_the_mentor(tmp_path: Path) -> None:
    path = write(
        tmp_path / "f.csv",
        [
            ["m2", "e4", "yes", "", ""],
            ["m1", "C001", "yes", "5", "good group"],
            ["e1", "m1", "no", "", ""],  # the mentor's id: about C001
            ["e3", "C002", "yes", "", ""],
            ["m2", "C002", "no", "", ""],  # m2 is in a pair and in a peer circle
        ],
    )
    read = read_feedback(path, COHORT, PAIRS, CIRCLES)
    assert [(r.person_id, r.partner_id) for r in read.rows] == [("m2", "e4")]
    assert [(r.person_id, r.partner_id, r.wants_continue, r.line) for r in read.circle_rows] == [
        ("m1", "C001", True, 3),
        ("e1", "C001", False, 4),
        ("e3", "C002", True, 5),
        ("m2", "C002", False, 6),
    ]
    assert read.circle_rows[0].rating == 5 and read.circle_rows[0].comment == "good group"


def test_every_circle_problem_is_reported_with_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path / "f.csv",
        [
            ["e1", "C003", "yes", "", ""],  # 2: no such circle
            ["e4", "C001", "yes", "", ""],  # 3: e4 is in no circle
            ["e3", "C001", "yes", "", ""],  # 4: e3's circle is C002
            ["m1", "e1", "yes", "", ""],  # 5: the mentor names a member: the circle's id is meant
            ["e1", "C001", "yes", "", ""],  # 6: fine
            ["e1", "m1", "yes", "", ""],  # 7: the same answer again, through the mentor
            ["e2", "C001", "maybe", "", ""],  # 8: not yes or no
        ],
    )
    with pytest.raises(InputError) as info:
        read_feedback(path, COHORT, PAIRS, CIRCLES)
    got = {(p.line, p.column): (p.message, p.hint) for p in info.value.errors}
    assert set(got) == {
        (2, "partner_id"),
        (3, "partner_id"),
        (4, "partner_id"),
        (5, "partner_id"),
        (7, "partner_id"),
        (8, "continue"),
    }
    assert got[(2, "partner_id")][0] == "unknown person or circle id 'C003'"
    assert got[(3, "partner_id")] == ("'e4' is not in circle 'C001'", "'e4' was in no circle this cycle")
    assert got[(4, "partner_id")] == ("'e3' is not in circle 'C001'", "their circle: C002")
    assert got[(5, "partner_id")][1] == "for their circle, write the circle's id: C001"
    assert got[(7, "partner_id")][0] == "second row for 'e1' about 'C001'"


def test_without_circles_a_circle_id_is_an_unknown_person(tmp_path: Path) -> None:
    path = write(tmp_path / "f.csv", [["e1", "C001", "yes", "", ""]])
    with pytest.raises(InputError) as info:
        read_feedback(path, COHORT, PAIRS)
    assert info.value.errors[0].message == "unknown person id 'C001'"


def test_stored_apart_exported_to_the_person_and_cleared_on_erase(tmp_path: Path) -> None:
    shutil.copy(ROOT / "sample_data" / "program.toml", tmp_path / "program.toml")
    code, _, err = invoke(
        tmp_path, "-q", "run", str(ROOT / "sample_data" / "participants_circles.csv"), "--out", "o"
    )
    assert code == 0, err
    (circle,) = rows(tmp_path / "o" / "circles.csv")
    member = circle["member_ids"].split(";")[0]
    path = write(tmp_path / "f.csv", [[member, circle["circle_id"], "no", "2", "PRIVATE-NOTE"]])
    code, _, err = invoke(tmp_path, "cycle", "close", "--feedback", str(path))
    assert code == 0, err
    with Workspace(tmp_path, create=False) as ws:
        (c1,) = list_cycles(ws)
        exported = export_person(ws, member)["tables"]["circle_feedback"]
        assert [(r["circle_id"], r["comment"], r["rating"]) for r in exported] == [
            (circle["circle_id"], "PRIVATE-NOTE", 2)
        ]
        erase_person(ws, member)
        (row,) = load_circle_feedback(ws, c1.id)
        pseudo = pseudonym_of(workspace_secret(ws), member)
        assert (row.person_id, row.wants_continue, row.rating, row.comment) == (pseudo, False, None, None)
        stored = load_circles(ws, c1.id)
        # the person joins again under the same id: their no to that circle still holds
        continuity = next_cycle_circles(stored, (row,), make_cohort(), program("mentor-led"))
        back = rejoined(continuity, {pseudo: member})
        assert (circle["circle_id"], member) in back.barred
        assert frozenset((member, circle["mentor_id"])) in back.ended


def test_rejoined_changes_nothing_without_erased_people() -> None:
    prog = cycle(program("peer", min_size=2, max_size=3), FIRST)
    roster = make_cohort(
        *(make_person(f"c{i}", goals=("w",), format="circle", availability=HOURS_ALL) for i in range(3))
    )
    stored = circle_records(form_circles(roster, prog), prog, "salt")
    continuity = next_cycle_circles(stored, (), roster, prog)
    assert rejoined(continuity, {}) is continuity
