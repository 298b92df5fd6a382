"""One exit code for one error under every command: a missing input file is wrong usage (2)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.cli_helpers import invoke

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "args",
    [
        ["validate", "nope.csv"],
        ["run", "nope.csv", "--out", "out"],
        ["import", "nope.csv"],
        ["rematch", "nope.csv", "--out", "out"],
        ["cycle", "close", "--feedback", "nope.csv"],
    ],
)
def test_a_missing_input_file_exits_2_under_every_command(tmp_path: Path, args: list[str]) -> None:
    shutil.copyfile(ROOT / "sample_data" / "program.toml", tmp_path / "program.toml")
    code, out, err = invoke(tmp_path, *args)
    assert code == 2, (args, out, err)
    assert "nope.csv" in err and "does not exist" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["program.toml"]  # nothing written


def test_the_library_says_the_same(tmp_path: Path) -> None:
    from cohort.errors import UsageError
    from pipeline.run import run
    from pipeline.steps import do_import

    for call in (
        lambda: run(tmp_path, tmp_path / "nope.csv", tmp_path / "out"),
        lambda: do_import(tmp_path, tmp_path / "nope.csv"),
    ):
        with pytest.raises(UsageError, match="no such file") as info:
            call()
        assert info.value.exit_code == 2
