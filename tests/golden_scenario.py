"""A fixed end-to-end scenario whose every output file is compared byte for byte with golden files.

The workspace's secret and feed key are written before the first run and the clock is injected,
so the same code gives the same bytes. The steps: ``run``; ``cycle close`` with feedback derived
from the pairs (yes/yes, yes/no, yes/-, no answer in turn); ``rematch`` of the next cycle; a
mid-cycle ``rematch`` after one person left; and the step commands (``import``, ``match``,
``schedule``, ``publish``) in a second workspace.

``python -m tests.golden_scenario ROSTER OUT`` writes the scenario's outputs under ``OUT`` (used to
compare a large generated cohort before and after a restructuring).
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from store import Workspace

SECRET = "5eed" * 16
FEED_KEY = bytes(range(32))
NOW = datetime(2027, 1, 20, 9, 30, tzinfo=UTC)
NEXT_START = date(2027, 8, 2)
MID_NOW = datetime(2027, 9, 1, 12, tzinfo=UTC)


def seeded_workspace(path: Path, program_toml: Path) -> Path:
    """A workspace with ``program_toml``, a fixed secret and a fixed feed key."""
    path.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(program_toml, path / "program.toml")
    with Workspace(path) as ws, ws.transaction() as con:
        con.execute("UPDATE meta SET value = ? WHERE key = 'secret'", (SECRET,))
    (path / "feeds.key").write_bytes(FEED_KEY)
    return path


def _feedback(matches: Path, path: Path) -> Path:
    with matches.open(newline="", encoding="utf-8") as f:
        pairs = sorted((r["mentor_id"], r["mentee_id"]) for r in csv.DictReader(f))
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["person_id", "partner_id", "continue", "rating", "comment"])
        for i, (m, e) in enumerate(pairs):
            kind = i % 4
            if kind == 0:
                w.writerows([[m, e, "yes", "5", "good"], [e, m, "yes", "4", ""]])
            elif kind == 1:
                w.writerows([[m, e, "yes", "3", ""], [e, m, "no", "2", "not a fit"]])
            elif kind == 2:
                w.writerow([m, e, "yes", "", ""])
    return path


def _set_start(ws: Path, start: date) -> None:
    text = (ws / "program.toml").read_text(encoding="utf-8")
    (ws / "program.toml").write_text(
        re.sub(r"(?m)^start = \S+", f"start = {start.isoformat()}", text, count=1), encoding="utf-8"
    )


def _without_one_person(roster: Path, path: Path) -> Path:
    """The roster without its first mentee who has a partner (a mid-cycle departure)."""
    lines = roster.read_text(encoding="utf-8").splitlines(keepends=True)
    header = [h.strip().lower() for h in next(csv.reader([lines[0]]))]
    role = header.index("role")
    for i, line in enumerate(lines[1:], start=1):
        if next(csv.reader([line]))[role] == "mentee":
            path.write_text("".join(lines[:i] + lines[i + 1 :]), encoding="utf-8")
            return path
    raise AssertionError("no mentee in the roster")


def produce(roster: Path, program_toml: Path, out: Path) -> None:
    """Run the scenario; every output lands under ``out/<step>/``."""
    from pipeline import cycles, steps
    from pipeline.run import run

    ws = seeded_workspace(out / "ws", program_toml)
    run(ws, roster, out / "run", now=NOW)
    cycles.close_cycle(ws, _feedback(out / "run" / "matches.csv", out / "feedback.csv"))
    _set_start(ws, NEXT_START)
    cycles.rematch(ws, roster, out / "rematch", now=NOW.replace(year=2027, month=7))
    left = _without_one_person(roster, out / "roster-mid.csv")
    cycles.rematch(ws, left, out / "mid", now=MID_NOW, mid_cycle=True)

    steps_ws = seeded_workspace(out / "steps-ws", program_toml)
    steps.do_import(steps_ws, roster)
    steps.do_match(steps_ws, out / "match")
    steps.do_schedule(steps_ws, out / "schedule")
    steps.do_publish(steps_ws, out / "publish", now=NOW)


def masked(name: str, data: bytes) -> bytes:
    """``data`` with its timing fields replaced (they differ between runs of the same code)."""
    if name.endswith("summary.json"):
        return (json.dumps(_mask(json.loads(data)), indent=2) + "\n").encode()
    if name.endswith("report.html"):
        return re.sub(rb'(<th>solve time</th><td class="num">)[^<]*', rb"\1masked", data)
    return data


def _mask(value: object) -> object:
    """Every value under a key ending in ``seconds`` replaced by ``"masked"``."""
    if isinstance(value, dict):
        return {k: "masked" if k.endswith("seconds") else _mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    return value


def outputs(out: Path) -> dict[str, bytes]:
    """Every output file of the scenario (workspaces and inputs left out), timings masked."""
    files = {}
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out).as_posix()
        if path.is_file() and not rel.startswith(("ws/", "steps-ws/")) and "/" in rel:
            files[rel] = masked(rel, path.read_bytes())
    return files


if __name__ == "__main__":
    roster_arg, out_arg = Path(sys.argv[1]), Path(sys.argv[2])
    toml = (
        Path(sys.argv[3])
        if len(sys.argv) > 3
        else Path(__file__).resolve().parent.parent / "sample_data" / "program.toml"
    )
    produce(roster_arg, toml, out_arg)
