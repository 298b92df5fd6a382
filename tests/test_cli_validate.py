"""`mentorsync validate` through click: exit codes and every problem printed."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from cli import main
from tests.test_load import EXPECTED

ROOT = Path(__file__).parent.parent
BAD = ROOT / "tests" / "data" / "bad_participants.csv"


def _run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_bad_file_exits_65_and_prints_every_problem(tmp_path):
    result = _run("--workspace", str(tmp_path), "validate", str(BAD))
    assert result.exit_code == 65
    out = result.output
    for line, column, words in EXPECTED:
        assert any(
            text.startswith(f"{BAD}:{line}: column '{column}':") and words in text
            for text in out.splitlines()
        ), f"not printed: {line} {column} {words}"
    assert "nothing was changed" in out
    assert not any(tmp_path.iterdir())  # validate writes nothing


def test_bad_file_json(tmp_path):
    result = CliRunner().invoke(main, ["--workspace", str(tmp_path), "validate", "--json", str(BAD)])
    assert result.exit_code == 65
    data = json.loads(result.stdout)
    assert data["ok"] is False and len(data["problems"]) == len(EXPECTED)


def test_sample_data_validates_with_exit_0():
    for suffix in ("csv", "xlsx", "json"):
        result = _run(
            "--workspace",
            str(ROOT / "sample_data"),
            "validate",
            str(ROOT / "sample_data" / f"participants.{suffix}"),
        )
        assert result.exit_code == 0, result.output
        assert "no errors" in result.output


def test_missing_file_is_wrong_usage(tmp_path):
    result = _run("--workspace", str(tmp_path), "validate", str(tmp_path / "nope.csv"))
    assert result.exit_code == 2 and "does not exist" in result.output
