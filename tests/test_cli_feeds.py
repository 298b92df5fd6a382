"""`feeds rotate` / `feeds revoke` through the CLI: URLs change or vanish, others stay the same."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from tests.cli_helpers import invoke

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"


def _index(out: Path) -> dict[str, str]:
    with (out / "feeds" / "index.csv").open(newline="", encoding="utf-8") as f:
        return {r["id"]: r["url"] for r in csv.DictReader(f)}


def test_rotate_and_revoke_take_effect_and_leave_others_alone(tmp_path: Path) -> None:
    shutil.copy(SAMPLE / "program.toml", tmp_path / "program.toml")
    code, _, err = invoke(tmp_path, "-q", "run", str(SAMPLE / "participants.csv"), "--out", "out")
    assert code == 0, err
    before = _index(tmp_path / "out")
    rotated, revoked = sorted(k for k in before if not k.startswith("*"))[:2]

    code, out, err = invoke(tmp_path, "feeds", "rotate", rotated)
    assert code == 0, err
    new_url = out.strip().rsplit(" ", 1)[1]
    assert new_url != before[rotated]
    code, _, err = invoke(tmp_path, "feeds", "revoke", revoked)
    assert code == 0, err
    code, _, err = invoke(tmp_path, "-q", "publish", "--out", "out")
    assert code == 0, err

    after = _index(tmp_path / "out")
    assert after[rotated] == new_url
    assert revoked not in after
    assert not (tmp_path / "out" / "feeds" / before[revoked].rsplit("/", 1)[1]).exists()
    assert not (tmp_path / "out" / "feeds" / before[rotated].rsplit("/", 1)[1]).exists()
    for pid, url in before.items():
        if pid not in (rotated, revoked):
            assert after[pid] == url  # a participant's URL stays the same unless rotated


def test_feeds_commands_need_a_workspace(tmp_path: Path) -> None:
    code, _, err = invoke(tmp_path, "feeds", "rotate", "someone")
    assert code == 2 and "mentorsync" in err  # wrong usage: no workspace here
