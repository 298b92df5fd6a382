"""Habits the project keeps: every command has --help and is in the README's table; the Hypothesis
CI profile is deterministic."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import cli

ROOT = Path(__file__).resolve().parents[1]


def _commands(group: click.Group = cli.main, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for name, command in sorted(group.commands.items()):
        path = (*prefix, name)
        out.append(path)
        if isinstance(command, click.Group):
            out.extend(_commands(command, path))
    return out


def _readme_table() -> str:
    """The rows of the README's command table (lines starting with ``| `mentorsync``)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return "\n".join(line for line in text.splitlines() if line.startswith("| `mentorsync"))


def test_there_are_commands() -> None:
    assert {("run",), ("validate",), ("cycle", "close")} <= set(_commands())


@pytest.mark.parametrize("path", _commands(), ids=" ".join)
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli.main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert f"{path[-1]} [OPTIONS]" in result.output and len(result.output.splitlines()) > 3


@pytest.mark.parametrize(
    "path",
    [p for p in _commands() if not isinstance(cli.main.commands[p[0]], click.Group) or len(p) > 1],
    ids=" ".join,
)
def test_every_command_is_in_the_readme_table(path: tuple[str, ...]) -> None:
    """``mentorsync cycle close`` appears as `mentorsync cycle close` or, later in a row that
    starts with the group, as `cycle close`."""
    table = _readme_table()
    words = " ".join(path)
    assert re.search(rf"`(mentorsync )?{re.escape(words)}\b", table), (
        f"'{words}' is not in the README's table"
    )


def test_ci_profile_is_chosen_by_ci_and_is_deterministic() -> None:
    code = (
        "import tests.conftest; from hypothesis import settings; d = settings.default; "
        "print(d.derandomize, d.database, d.max_examples)"
    )
    for env in ({"CI": "true"}, {"HYPOTHESIS_PROFILE": "ci"}):
        clean = {k: v for k, v in os.environ.items() if k not in ("CI", "HYPOTHESIS_PROFILE")}
        out = subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env={**clean, **env},
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        assert out == ["True", "None", "50"], env


def test_interface_citations_point_at_sections_that_exist() -> None:
    """The code cites ``docs/interface.md`` §N, a file in the repository, never an outside contract."""
    doc = (ROOT / "docs" / "interface.md").read_text(encoding="utf-8")
    sections = set(re.findall(r"^#+ (\d+(?:\.\d+)?)\.? ", doc, re.M))
    assert {"1", "2.1", "2.2", "2.3", "3", "4", "5"} <= sections
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(docs/interface.md)" in readme
    cited = 0
    for path in [*ROOT.glob("*.py"), *ROOT.glob("*/*.py")]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"contract (§|section)", text), path
        for number in re.findall(r"docs/interface\.md``? §(\d+(?:\.\d+)?)", text):
            assert number in sections, (path, number)
            cited += 1
    assert cited >= 5
