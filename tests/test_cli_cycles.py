"""The coordinator's cycle boundary through the CLI: close with feedback, move dates, rematch."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

from tests.cli_helpers import invoke, rows

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"


def test_close_rematch_list_show_diff(tmp_path: Path) -> None:
    shutil.copy(SAMPLE / "program.toml", tmp_path / "program.toml")
    code, _, err = invoke(tmp_path, "-q", "run", str(SAMPLE / "participants.csv"), "--out", "c1")
    assert code == 0, err
    pairs = [(r["mentor_id"], r["mentee_id"]) for r in rows(tmp_path / "c1" / "matches.csv")]
    urls = {r["id"]: r["url"] for r in rows(tmp_path / "c1" / "feeds" / "index.csv")}
    said_no = pairs[::3]
    feedback = tmp_path / "feedback.csv"
    with feedback.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["person_id", "partner_id", "continue", "rating", "comment"])
        for m, e in pairs:
            answer = "no" if (m, e) in said_no else "yes"
            w.writerow([m, e, answer, "4", "SECRET-COMMENT-XYZ"])
            w.writerow([e, m, "yes", "5", ""])

    bad = tmp_path / "bad_feedback.csv"
    bad.write_text("person_id,partner_id,continue,rating\nnobody,e1001,maybe,9\n", encoding="utf-8")
    code, _, err = invoke(tmp_path, "cycle", "close", "--feedback", str(bad))
    assert code == 65
    assert f"{bad}:2: column 'continue'" in err and f"{bad}:2: column 'rating'" in err

    code, out, err = invoke(tmp_path, "cycle", "close", "--feedback", str(feedback))
    assert code == 0, err
    assert "closed" in out

    toml = (tmp_path / "program.toml").read_text(encoding="utf-8")
    (tmp_path / "program.toml").write_text(toml.replace("2027-02-01", "2027-08-02"), encoding="utf-8")
    code, out, err = invoke(tmp_path, "-q", "rematch", str(SAMPLE / "participants.csv"), "--out", "c2")
    assert code == 0, err
    new_pairs = {(r["mentor_id"], r["mentee_id"]) for r in rows(tmp_path / "c2" / "matches.csv")}
    for m, e in said_no:
        assert (m, e) not in new_pairs and (e, m) not in new_pairs
    kept_yes = [p for p in pairs if p not in said_no]
    assert sum(p in new_pairs for p in kept_yes) >= len(kept_yes) * 0.8  # most yes/yes pairs continue
    new_urls = {r["id"]: r["url"] for r in rows(tmp_path / "c2" / "feeds" / "index.csv")}
    for pid, url in urls.items():
        if pid in new_urls:
            assert new_urls[pid] == url  # a person's URL never changes
    for ics in (tmp_path / "c2" / "feeds").glob("*.ics"):
        assert "SECRET-COMMENT-XYZ" not in ics.read_text(encoding="utf-8")
    assert "SECRET-COMMENT-XYZ" not in (tmp_path / "c2" / "report.html").read_text(encoding="utf-8")

    code, out, err = invoke(tmp_path, "cycle", "list", "--json")
    assert code == 0, err
    cycles = json.loads(out)
    assert [c["status"] for c in cycles] == ["closed", "open"]
    code, out, err = invoke(tmp_path, "cycle", "show", "1")
    assert code == 0 and "SECRET-COMMENT-XYZ" not in out
    code, out, err = invoke(tmp_path, "diff", "1", "2", "--json")
    assert code == 0, err
    d = json.loads(out)
    ended = {tuple(p) if isinstance(p, list) else (p["mentor_id"], p["mentee_id"]) for p in d["ended"]}
    assert set(said_no) <= ended
