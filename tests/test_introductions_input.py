"""The `introductions` participants column (yes/no, empty = no) and the `[history]` section."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cohort.errors import InputError
from cohort.load import load_participants
from cohort.program import Program, example_toml, load_program
from store import Workspace, import_cohort, load_cohort
from tests.cli_helpers import invoke

HEADER = "id,name,email,role,timezone,availability,goals,expertise,introductions"


def _write(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "p.csv"
    path.write_text("\n".join((HEADER, *rows)) + "\n", encoding="utf-8")
    return path


def test_introductions_reads_yes_no_and_empty_as_no(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "m1,Mo,m1@example.org,mentor,Europe/London,Mon 09:00-17:00,,leadership,yes",
        "a,Al,a@example.org,mentee,Europe/London,Mon 09:00-17:00,leadership,, No ",
        "b,Bo,b@example.org,mentee,Europe/London,Mon 09:00-17:00,leadership,,",
        "c,Cy,c@example.org,mentee,Europe/London,Mon 09:00-17:00,leadership,,TRUE",
    )
    cohort, warnings = load_participants(path)
    assert [p.introductions for p in cohort.people] == [True, False, False, True]
    assert not any("introductions" in str(w) for w in warnings)  # a known column


def test_a_file_without_the_column_opts_nobody_in(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(
        "id,name,email,role,timezone,availability,goals\n"
        "a,Al,a@example.org,mentee,Europe/London,Mon 09:00-17:00,leadership\n",
        encoding="utf-8",
    )
    cohort, _ = load_participants(path)
    assert [p.introductions for p in cohort.people] == [False]


def test_json_booleans_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    row = {
        "id": "a",
        "name": "Al",
        "email": "a@example.org",
        "role": "mentee",
        "timezone": "Europe/London",
        "availability": "Mon 09:00-17:00",
        "goals": "writing",
    }
    path.write_text(json.dumps([row | {"introductions": True}, row | {"id": "b", "email": "b@x.org"}]))
    cohort, _ = load_participants(path)
    assert [p.introductions for p in cohort.people] == [True, False]


def test_bad_values_are_every_problem_at_once_with_file_line_and_column(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "a,Al,a@example.org,mentee,Europe/London,Mon 09:00-17:00,leadership,,yse",
        "b,Bo,b@example.org,mentee,Europe/London,Mon 09:00-17:00,leadership,,maybe",
        "c,Cy,c@example.org,mentee,Europe/London,Mon 09:00-17:00,leadership,,yes",
    )
    with pytest.raises(InputError) as caught:
        load_participants(path)
    shown = [str(p) for p in caught.value.problems]
    assert f"{path}:2: column 'introductions': 'yse' is not yes or no (did you mean 'yes'?)" in shown
    assert f"{path}:3: column 'introductions': 'maybe' is not yes or no (yes or no; empty means no)" in shown
    assert not any(s.startswith(f"{path}:4:") for s in shown)


def test_validate_exits_65_and_names_the_cell(tmp_path: Path) -> None:
    path = _write(tmp_path, "a,Al,a@example.org,mentee,Europe/London,Mon 09:00-17:00,leadership,,sometimes")
    code, _, err = invoke(tmp_path, "validate", str(path))
    assert code == 65
    assert f"{path}:2: column 'introductions': 'sometimes' is not yes or no" in err


def test_the_choice_is_stored_with_the_roster(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "m1,Mo,m1@example.org,mentor,Europe/London,Mon 09:00-17:00,,leadership,yes",
        "a,Al,a@example.org,mentee,Europe/London,Mon 09:00-17:00,leadership,,no",
    )
    cohort, _ = load_participants(path)
    with Workspace(tmp_path / "ws") as ws:
        cycle = import_cohort(ws, cohort, Program())
        assert load_cohort(ws, cycle).people == cohort.people


def test_history_section_defaults_and_bounds(tmp_path: Path) -> None:
    assert (Program().history.min_group, Program().history.introductions) == (5, 3)
    assert "[history]" in example_toml() and "min_group = 5" in example_toml()
    path = tmp_path / "program.toml"
    path.write_text("[history]\nmin_group = 10\nintroductions = 0\n", encoding="utf-8")
    history = load_program(path).history
    assert (history.min_group, history.introductions) == (10, 0)
    path.write_text("[history]\nmin_group = 0\nintroductions = -1\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_program(path)
    assert {p.column for p in caught.value.problems} == {"history.min_group", "history.introductions"}
