"""Circles input: the participants column `format` and the `[circles]` section of program.toml."""

from __future__ import annotations

from pathlib import Path

import pytest

from cohort.errors import InputError
from cohort.load import load_participants
from cohort.program import Program, example_toml, load_program

HEADER = "id,name,email,role,timezone,availability,goals,expertise,format"


def _write(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "p.csv"
    path.write_text("\n".join((HEADER, *rows)) + "\n", encoding="utf-8")
    return path


def test_format_defaults_to_one_to_one_and_reads_circle_and_either(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "m1,Mo,m1@example.org,mentor,Europe/London,Mon 09:00-17:00,,leadership,",
        "a,Al,a@example.org,mentee,Europe/London,Mon 09:00-17:00,leadership,,Circle",
        "b,Bo,b@example.org,mentee,Europe/London,Mon 09:00-17:00,leadership,, either ",
    )
    cohort, _ = load_participants(path)
    assert [p.format for p in cohort.people] == ["one-to-one", "circle", "either"]


def test_a_bad_format_is_reported_with_file_line_and_column(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "a,Al,a@example.org,mentee,Europe/London,Mon 09:00-17:00,leadership,,circel",
        "b,Bo,b@example.org,mentee,Europe/London,Mon 09:00-17:00,leadership,,group",
    )
    with pytest.raises(InputError) as caught:
        load_participants(path)
    shown = [str(p) for p in caught.value.problems]
    assert f"{path}:2: column 'format': unknown format 'circel' (did you mean 'circle'?)" in shown
    assert any(s.startswith(f"{path}:3: column 'format': unknown format 'group'") for s in shown)


def test_circles_defaults_and_settings(tmp_path: Path) -> None:
    assert Program().circles.kind == "mentor-led"
    path = tmp_path / "program.toml"
    path.write_text(
        '[circles]\nkind = "peer"\nmin_size = 2\nmax_size = 4\ncadence = "weekly"\n'
        "duration_minutes = 50\ngoal_overlap_weight = 3\nmentor_capacity_per_circle = 1\n",
        encoding="utf-8",
    )
    circles = load_program(path).circles
    assert (circles.kind, circles.min_size, circles.max_size, circles.cadence) == ("peer", 2, 4, "weekly")
    assert (circles.duration_minutes, circles.goal_overlap_weight, circles.mentor_capacity_per_circle) == (
        50,
        3,
        1,
    )


def test_bad_circles_settings_are_all_reported(tmp_path: Path) -> None:
    path = tmp_path / "program.toml"
    path.write_text('[circles]\nkind = "pear"\nmin_size = 5\nmax_size = 4\n', encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_program(path)
    shown = " | ".join(str(p) for p in caught.value.problems)
    assert "program.toml:2: column 'circles.kind'" in shown
    assert "program.toml:3: column 'circles.min_size': min_size 5 is larger than max_size 4" in shown


def test_init_example_documents_circles_and_capacity() -> None:
    text = example_toml()
    assert "[circles]" in text
    assert "mentor_capacity_per_circle = 2" in text and "capacity" in text.split("[circles]")[1]
