"""Ranked choices end to end: bad input (exit 65, nothing written), run's outputs with and without
ranks, suggest's shortlists (eligible only, at most N, spread over seats) and explain."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from cohort.program import Program
from matcher.candidates import build_candidates
from matcher.suggest import SPREAD, shortlists
from matcher.validate import check_pair
from sample_data.generate import generate_cohort
from scheduler.slots import SlotContext
from tests.cli_helpers import invoke, rows

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "participants.csv"
HEADER = "id,name,email,role,timezone,availability,goals,expertise,capacity,ranks"


def roster(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "people.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def person(
    pid: str,
    role: str,
    ranks: str = "",
    capacity: str = "1",
    tz: str = "Europe/London",
    avail: str = "Mon-Fri 09:00-17:00",
) -> str:
    goals, expertise = ("python", "") if role == "mentee" else ("", "python")
    return (
        f'{pid},{pid.upper()},{pid}@example.org,{role},{tz},{avail},{goals},{expertise},{capacity},"{ranks}"'
    )


def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    shutil.copy(ROOT / "sample_data" / "program.toml", ws / "program.toml")
    return ws


def test_bad_ranks_are_errors_with_file_line_column_and_nothing_is_written(tmp_path):
    path = roster(
        tmp_path,
        [
            person("a", "mentor"),
            person("b", "mentor", ranks="c"),
            person("c", "mentee", ranks="a; zz; c; a"),  # unknown, self, duplicate
            person("d", "mentee", ranks="c"),  # a mentee ranking a mentee
            person("e", "mentor", ranks="a"),  # a mentor ranking a mentor
        ],
    )
    ws = workspace(tmp_path)
    code, out, err = invoke(ws, "run", str(path), "--out", str(tmp_path / "out"))
    assert code == 65
    text = out + err
    assert f"{path}:4: column 'ranks': choice 2 'zz': unknown id" in text
    assert f"{path}:4: column 'ranks': choice 3 'c' names the person themselves" in text
    assert f"{path}:4: column 'ranks': 'a' is ranked twice (choice 1 and 4)" in text
    assert f"{path}:5: column 'ranks': choice 1 'c' is a mentee, not a mentor" in text
    assert f"{path}:6: column 'ranks': choice 1 'a' is a mentor, not a mentee" in text
    assert not (tmp_path / "out").exists()
    code, _, _ = invoke(ws, "validate", str(path))
    assert code == 65


def test_ineligible_ranked_pair_is_a_warning_naming_the_rule(tmp_path):
    path = roster(
        tmp_path,
        [
            person("a", "mentor"),
            person("n", "mentor", avail="Sat 01:00-02:00"),
            person("c", "mentee", ranks="n; a"),
        ],
    )
    ws = workspace(tmp_path)
    code, out, err = invoke(ws, "run", str(path), "--out", str(tmp_path / "out"))
    assert code == 0
    assert "column 'ranks': warning: choice 1 'n' can never be paired with 'c': no common weekly time" in err
    got = rows(tmp_path / "out" / "matches.csv")
    assert [(r["mentor_id"], r["mentee_id"], r["mentee_rank"]) for r in got] == [("a", "c", "2")]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["ranks"]["by_rank"] == {"1": 0, "2": 1}


@pytest.mark.parametrize("mode", ["rank-maximal", "worst-rank"])
def test_run_reports_rank_column_profile_and_explain_says_why_first_choice_missed(tmp_path, mode):
    path = roster(
        tmp_path,
        [
            person("A", "mentor"),
            person("B", "mentor"),
            person("C", "mentor"),
            person("e1", "mentee", ranks="A; C"),
            person("e2", "mentee", ranks="B; C"),
            person("e3", "mentee", ranks="A; B; C"),
        ],
    )
    ws = workspace(tmp_path)
    with (ws / "program.toml").open("a") as f:
        f.write(
            f'\n[matching]\npreferences = "{mode}"\n'
            if "[matching]" not in (ws / "program.toml").read_text()
            else ""
        )
    text = (ws / "program.toml").read_text()
    if f'preferences = "{mode}"' not in text:
        (ws / "program.toml").write_text(text.replace("[matching]", f'[matching]\npreferences = "{mode}"', 1))
    code, out, err = invoke(ws, "run", str(path), "--out", str(tmp_path / "out"))
    assert code == 0, out + err
    got = rows(tmp_path / "out" / "matches.csv")
    assert sorted(int(r["mentee_rank"]) for r in got) == [1, 1, 2]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["ranks"]["preferences"] == mode
    assert summary["ranks"]["by_rank"] == {"1": 2, "2": 1, "3": 0}
    missed = next(r["mentee_id"] for r in got if r["mentee_rank"] == "2")
    code, out, _ = invoke(ws, "explain", missed)
    assert code == 0
    assert "first choice" in out and "seat" in out


def test_run_without_ranks_has_no_rank_column_and_same_outputs_in_every_mode(tmp_path):
    outs = []
    for mode in ("score", "rank-maximal"):
        ws = workspace(tmp_path / mode) if (tmp_path / mode).mkdir() is None else None
        text = (ws / "program.toml").read_text()
        (ws / "program.toml").write_text(
            text.replace("[matching]", f'[matching]\npreferences = "{mode}"', 1)
            if "[matching]" in text
            else text + f'\n[matching]\npreferences = "{mode}"\n'
        )
        code, out, err = invoke(ws, "run", str(SAMPLE), "--out", str(tmp_path / mode / "out"))
        assert code == 0, out + err
        outs.append(tmp_path / mode / "out")
    with (outs[0] / "matches.csv").open() as f:
        assert "mentee_rank" not in next(csv.reader(f))
    for name in ("matches.csv", "unmatched.csv", "candidates.csv"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes()
    assert "ranks" not in json.loads((outs[0] / "summary.json").read_text())


@pytest.mark.parametrize("top", [1, 3])
def test_suggest_shortlists_are_eligible_at_most_n_and_spread_over_seats(top):
    program = Program()
    cohort = generate_cohort(240, 60, seed=3)
    ctx = SlotContext(cohort, program)
    cs = build_candidates(cohort, program, slot_filter=ctx.has_slot)
    found = shortlists(cohort, cs, top)
    per_mentee: dict[str, list[str]] = {}
    appearances: dict[str, int] = {}
    for s in found:
        assert not check_pair(cohort, program, s.mentor_id, s.mentee_id)  # every hard rule
        assert ctx.has_slot([s.mentor_id], [s.mentee_id])[0]  # a common recurring slot
        per_mentee.setdefault(s.mentee_id, []).append(s.mentor_id)
        appearances[s.mentor_id] = appearances.get(s.mentor_id, 0) + 1
    for mentors in per_mentee.values():
        assert len(mentors) <= top and len(set(mentors)) == len(mentors)
    seats = {
        m.id: (m.capacity if m.capacity is not None else program.rules.default_capacity)
        for m in cohort.mentors
    }
    demand = top * len(cohort.mentees) / sum(seats.values())  # requests per seat, cohort-wide
    for m, n in appearances.items():  # no mentor far above their share: at most 1.5x (rounded up)
        assert n / seats[m] <= max(1.0, SPREAD * demand) + 1 / seats[m]
    # most mentees get a full list: the cap does not starve the cohort
    assert sum(len(v) == top for v in per_mentee.values()) >= 0.7 * len(cohort.mentees)


def test_suggest_cli_writes_only_the_csv(tmp_path):
    ws = workspace(tmp_path)
    code, out, err = invoke(ws, "suggest", str(SAMPLE), "--top", "2", "--out", str(tmp_path / "sug"))
    assert code == 0, out + err
    got = rows(tmp_path / "sug" / "suggestions.csv")
    assert list(got[0]) == ["mentee_id", "rank", "mentor_id", "reasons"]
    assert {r["rank"] for r in got} <= {"1", "2"}
    assert sorted(p.name for p in ws.iterdir()) == ["program.toml"]
    code, _, err = invoke(ws, "suggest", "--top", "2", "--out", str(tmp_path / "sug2"))
    assert code == 2 and "import" in err


def test_validate_warns_about_a_ranked_pair_that_breaks_a_rule(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(
        "id,name,email,role,timezone,availability,goals,expertise,avoid,ranks\n"
        "a,A,a@example.org,mentor,Europe/London,Mon-Fri 09:00-17:00,,python,c,\n"
        "b,B,b@example.org,mentor,Europe/London,Mon-Fri 09:00-17:00,,python,,\n"
        "c,C,c@example.org,mentee,Europe/London,Mon-Fri 09:00-17:00,python,,,a;b\n",
        encoding="utf-8",
    )
    ws = workspace(tmp_path)
    code, out, err = invoke(ws, "validate", str(path))
    assert code == 0
    assert f"{path}:4: column 'ranks': warning: choice 1 'a' can never be paired with 'c': avoid" in err


def test_rematch_reads_ranks_of_the_new_roster(tmp_path):
    first = roster(
        tmp_path,
        [
            person("A", "mentor"),
            person("B", "mentor"),
            person("e1", "mentee"),
            person("e2", "mentee"),
        ],
    )
    ws = workspace(tmp_path)
    text = (ws / "program.toml").read_text()
    (ws / "program.toml").write_text(
        text.replace("[matching]", '[matching]\npreferences = "rank-maximal"', 1)
    )
    code, out, err = invoke(ws, "-q", "run", str(first), "--out", "c1")
    assert code == 0, out + err
    feedback = tmp_path / "feedback.csv"
    lines = ["person_id,partner_id,continue"]
    for r in rows(ws / "c1" / "matches.csv"):
        lines += [f"{r['mentor_id']},{r['mentee_id']},no", f"{r['mentee_id']},{r['mentor_id']},no"]
    feedback.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, _, err = invoke(ws, "cycle", "close", "--feedback", str(feedback))
    assert code == 0, err
    toml = (ws / "program.toml").read_text(encoding="utf-8")
    (ws / "program.toml").write_text(toml.replace("2027-02-01", "2027-08-02"), encoding="utf-8")
    old = {r["mentee_id"]: r["mentor_id"] for r in rows(ws / "c1" / "matches.csv")}
    # next cycle everyone ranks their former mentor first (never formed again) and the other second
    other = {"A": "B", "B": "A"}
    (tmp_path / "next").mkdir()
    second = roster(
        tmp_path / "next",
        [
            person("A", "mentor"),
            person("B", "mentor"),
            person("e1", "mentee", ranks=f"{old['e1']}; {other[old['e1']]}"),
            person("e2", "mentee", ranks=f"{old['e2']}; {other[old['e2']]}"),
        ],
    )
    code, out, err = invoke(ws, "-q", "rematch", str(second), "--out", "c2")
    assert code == 0, out + err
    got = rows(ws / "c2" / "matches.csv")
    assert {(r["mentee_id"], r["mentee_rank"]) for r in got} == {("e1", "2"), ("e2", "2")}
    summary = json.loads((ws / "c2" / "summary.json").read_text())
    assert summary["ranks"]["by_rank"] == {"1": 0, "2": 2}
