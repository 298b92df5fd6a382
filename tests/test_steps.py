"""The step commands are honest: ``schedule`` schedules the pairs ``match`` stored, and says
plainly which of them could not be placed; ``match`` and ``run`` write the match files alike."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.cli_helpers import invoke, rows

ROOT = Path(__file__).resolve().parent.parent


def test_schedule_keeps_the_stored_pairs_and_names_the_unplaceable(tmp_path: Path) -> None:
    shutil.copyfile(ROOT / "sample_data" / "program.toml", tmp_path / "program.toml")
    roster = ROOT / "sample_data" / "participants.csv"
    assert invoke(tmp_path, "--quiet", "import", str(roster))[0] == 0
    assert invoke(tmp_path, "--quiet", "match", "--out", "m")[0] == 0
    stored = {(r["mentor_id"], r["mentee_id"]) for r in rows(tmp_path / "m" / "matches.csv")}
    code, out, err = invoke(tmp_path, "--quiet", "schedule", "--out", "s")
    assert code == 0, err
    doc = json.loads((tmp_path / "s" / "schedule.json").read_text())
    scheduled = {(s["mentor_id"], s["mentee_id"]) for s in doc["series"]}
    summary = json.loads((tmp_path / "s" / "summary.json").read_text())
    added = {(m, e) for m, e in summary["repair"].get("added", [])}
    assert scheduled - added <= stored  # no pair replaced; added ones only for mentees left without
    assert not {e for _, e in added} & {e for _, e in scheduled - added}
    assert {(r["mentor_id"], r["mentee_id"]) for r in rows(tmp_path / "s" / "matches.csv")} == scheduled
    left_out = stored - scheduled
    assert {(m, e) for m, e, _ in summary["repair"]["unplaceable"]} == left_out
    for mentor, mentee in left_out:  # said plainly, and the mentee's reason says why
        assert f"stored pair {mentor} - {mentee} can no longer be placed" in err
        if mentee in {e for _, e in added}:
            continue  # placed with another mentor whose free seat and hours fit
        reason = next(r["reason"] for r in rows(tmp_path / "s" / "unmatched.csv") if r["id"] == mentee)
        assert "no common recurring slot could be kept" in reason
    assert f"{len(scheduled)} pairs scheduled" in out


def test_match_writes_the_match_files_as_run_does(tmp_path: Path) -> None:
    import pipeline.run
    import pipeline.steps

    assert pipeline.steps.write_match_files is pipeline.run.write_match_files
    shutil.copyfile(ROOT / "sample_data" / "program.toml", tmp_path / "program.toml")
    roster = ROOT / "sample_data" / "participants.csv"
    assert invoke(tmp_path, "--quiet", "import", str(roster))[0] == 0
    assert invoke(tmp_path, "--quiet", "match", "--out", "m")[0] == 0
    for name in ("matches.csv", "unmatched.csv", "candidates.csv"):
        header = (tmp_path / "m" / name).read_text(encoding="utf-8").splitlines()[0]
        golden = (ROOT / "tests" / "golden" / "sample" / "run" / name).read_text(encoding="utf-8")
        assert header == golden.splitlines()[0]
    # the candidates are the plan's: the same slot-aware build as run
    assert (tmp_path / "m" / "candidates.csv").read_bytes() == (
        ROOT / "tests" / "golden" / "sample" / "run" / "candidates.csv"
    ).read_bytes()
