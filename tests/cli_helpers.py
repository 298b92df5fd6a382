"""Running the CLI in a directory and reading its CSV outputs, for the end-to-end tests."""

from __future__ import annotations

import csv
import os
from pathlib import Path

from click.testing import CliRunner

import cli
from cohort.text import unneutralise


def invoke(cwd: Path, *args: str) -> tuple[int, str, str]:
    """Run ``mentorsync ARGS`` with ``cwd`` as the current directory: (exit code, stdout, stderr)."""
    old = os.getcwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(cli.main, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)
    return result.exit_code, result.stdout, result.stderr


def rows(path: Path) -> list[dict[str, str]]:
    """A CSV we wrote, as dicts, with the spreadsheet-formula guard undone (``'-x`` -> ``-x``)."""
    with Path(path).open(newline="", encoding="utf-8") as f:
        return [{k: unneutralise(v) for k, v in row.items()} for row in csv.DictReader(f)]
