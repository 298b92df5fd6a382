"""program.toml: defaults, unknown keys with suggestions, wrong types with the key's path."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

import pytest

from cohort.errors import InputError
from cohort.program import Program, example_toml, load_program

ROOT = Path(__file__).parent.parent


def _problems(tmp_path: Path, text: str) -> list:
    path = tmp_path / "program.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_program(path)
    return info.value.problems


def test_default_and_example_agree():
    data = tomllib.loads(example_toml())
    assert data["cycle"]["weeks"] == 26 and data["rules"]["default_capacity"] == 2


def test_example_loads_back_to_the_defaults(tmp_path):
    path = tmp_path / "program.toml"
    path.write_text(example_toml(), encoding="utf-8")
    assert load_program(path) == Program()


def test_unknown_key_with_suggestion_and_line(tmp_path):
    (problem,) = _problems(tmp_path, "[cycle]\nstart = 2027-02-01\nweks = 10\n")
    assert problem.column == "cycle.weks" and problem.line == 3
    assert "did you mean 'weeks'?" in problem.hint


def test_unknown_section_with_suggestion(tmp_path):
    (problem,) = _problems(tmp_path, "[rule]\nmin_level_gap = 1\n")
    assert problem.column == "rule" and "did you mean 'rules'?" in problem.hint and problem.line == 1


def test_wrong_types_are_reported_with_key_path_all_at_once(tmp_path):
    problems = _problems(
        tmp_path, '[cycle]\nweeks = "ten"\nstart = "2027-02-01"\n[rules]\ncommon_language = "yes"\n'
    )
    by_path = {p.column: p for p in problems}
    assert set(by_path) == {"cycle.weeks", "cycle.start", "rules.common_language"}
    assert "whole number" in by_path["cycle.weeks"].hint and by_path["cycle.weeks"].line == 2
    assert "date" in by_path["cycle.start"].hint
    assert (
        "true or false" in by_path["rules.common_language"].hint
        and by_path["rules.common_language"].line == 5
    )
    assert str(by_path["cycle.weeks"]).startswith(f"{tmp_path / 'program.toml'}:2: column 'cycle.weeks':")


def test_weeks_and_end_together_is_an_error(tmp_path):
    problems = _problems(tmp_path, "[cycle]\nweeks = 10\nend = 2027-05-01\n")
    assert [p.column for p in problems] == ["cycle.end"]
    assert "keep only one" in problems[0].hint


def test_end_instead_of_weeks_sets_last_day(tmp_path):
    path = tmp_path / "program.toml"
    path.write_text("[cycle]\nstart = 2027-02-01\nend = 2027-03-01\n", encoding="utf-8")
    assert load_program(path).cycle.last_day == date(2027, 3, 1)


def test_choices_and_ranges(tmp_path):
    problems = _problems(tmp_path, '[cycle]\ncadence = "daily"\nduration_minutes = 1\n')
    assert {p.column for p in problems} == {"cycle.cadence", "cycle.duration_minutes"}


def test_sample_program_loads():
    program = load_program(ROOT / "sample_data" / "program.toml")
    assert program.cycle.start == date(2027, 2, 1) and program.cycle.weeks == 26
    assert program.cycle.cadence == "biweekly" and program.cycle.duration_minutes == 45
    assert program.cycle.holidays
