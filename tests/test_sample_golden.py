"""The sample's outputs stay byte-identical across restructurings (issue 12: no change of behaviour).

``run`` on ``sample_data/`` with a fixed workspace secret (calendar UIDs and feed tokens derive
from it) must give exactly the recorded bytes of the outputs that carry decisions and words:
``matches.csv``, ``unmatched.csv``, ``candidates.csv``, ``local_times.csv`` and ``schedule.json``
(``summary.json``, ``report.html`` and the feeds also hold clocks and timings). A change that is
meant to change them records the new digests with ``MENTORSYNC_UPDATE_GOLDEN=1`` and says so in
``CHANGELOG.md``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from store.db import Workspace
from tests.cli_helpers import invoke

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "data" / "sample_golden.json"
FILES = ("matches.csv", "unmatched.csv", "candidates.csv", "local_times.csv", "schedule.json")
SECRET = "ab" * 32


def test_sample_outputs_are_byte_identical(tmp_path: Path) -> None:
    ws = tmp_path / "sample_data"
    shutil.copytree(ROOT / "sample_data", ws, ignore=shutil.ignore_patterns("*.db*", "feeds.key"))
    workspace = Workspace(ws)
    with workspace.transaction() as con:
        con.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('secret', ?)", (SECRET,))
    workspace.close()
    args = ["--quiet", "--workspace", "sample_data", "run", "sample_data/participants.csv", "--out", "out"]
    code, _, err = invoke(tmp_path, *args)
    assert code == 0, err
    got = {name: hashlib.sha256((tmp_path / "out" / name).read_bytes()).hexdigest() for name in FILES}
    if os.environ.get("MENTORSYNC_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(got, indent=2) + "\n", encoding="utf-8")
    assert got == json.loads(GOLDEN.read_text(encoding="utf-8"))
