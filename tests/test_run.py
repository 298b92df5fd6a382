"""End to end: the README's main command on the sample cohort, and every output it promises.

These tests check the outputs against each other and against independent re-computations
(the schedule checker, the matching validator, two iCalendar parsers), never against one exact
pairing.
"""

from __future__ import annotations

import csv
import json
import shlex
import shutil
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import icalendar
import pytest
import recurring_ical_events
from ical.calendar_stream import IcsCalendarStream

from cohort.load import load_participants
from cohort.program import load_program
from matcher.validate import check_matching
from tests.checker import check as check_schedule
from tests.cli_helpers import invoke, rows

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"


def readme_main_command() -> list[str]:
    """The `mentorsync ...` part of the README's first set-up command."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("```sh", 1)[1].split("```", 1)[0]
    for part in block.replace("\n", " ").split("&&"):
        words = shlex.split(part)
        if words and words[0] == "mentorsync":
            return words[1:]
    raise AssertionError("the README's first command runs no mentorsync command")


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The README's main command, run in a fresh directory holding a copy of sample_data/."""
    home = tmp_path_factory.mktemp("readme")
    shutil.copytree(SAMPLE, home / "sample_data", ignore=shutil.ignore_patterns("*.db*", "feeds.key"))
    args = readme_main_command()
    code, out, err = invoke(home, *args)
    assert code == 0, err
    out_dir = home / args[args.index("--out") + 1]
    program = load_program(home / "sample_data" / "program.toml")
    cohort, _ = load_participants(home / "sample_data" / "participants.csv", program)
    return {
        "home": home,
        "args": args,
        "out": out_dir,
        "stdout": out,
        "stderr": err,
        "program": program,
        "cohort": cohort,
        "workspace": home / "sample_data",
    }


def test_every_output_of_the_contract_exists(sample_run: dict) -> None:
    out = sample_run["out"]
    for name in (
        "matches.csv",
        "unmatched.csv",
        "candidates.csv",
        "schedule.json",
        "report.html",
        "summary.json",
        "feeds/index.csv",
    ):
        assert (out / name).is_file(), name
    assert "pairs" in sample_run["stdout"] and "feeds" in sample_run["stdout"]
    summary = json.loads((out / "summary.json").read_text())
    for key in ("people", "pairs", "objective", "bound", "gap", "timings_seconds"):
        assert key in summary
    assert summary["objective"] <= summary["bound"] + 1e-9


def test_matches_schedule_and_feeds_describe_the_same_pairs(sample_run: dict) -> None:
    out, cohort = sample_run["out"], sample_run["cohort"]
    matches = {(r["mentor_id"], r["mentee_id"]) for r in rows(out / "matches.csv")}
    doc = json.loads((out / "schedule.json").read_text())
    series = {(s["mentor_id"], s["mentee_id"]) for s in doc["series"]}
    events = {(e["mentor_id"], e["mentee_id"]) for e in doc["events"]}
    assert matches and matches == series and events <= series
    unmatched = {r["id"] for r in rows(out / "unmatched.csv") if r["role"] == "mentee"}
    matched_mentees = {e for _, e in matches}
    assert not unmatched & matched_mentees
    assert {p.id for p in cohort.mentees} <= unmatched | matched_mentees | {
        p.id for p in cohort.people if p.role == "both"
    }
    index = rows(out / "feeds" / "index.csv")
    assert {r["id"] for r in index} >= {p for pair in matches for p in pair}


def test_pairs_keep_every_hard_rule_and_scores_match_candidates(sample_run: dict) -> None:
    out, cohort, program = sample_run["out"], sample_run["cohort"], sample_run["program"]
    from matcher.model import Pair

    matches = rows(out / "matches.csv")
    pairs = [Pair(r["mentor_id"], r["mentee_id"], int(r["score"])) for r in matches]
    assert check_matching(cohort, program, pairs) == []
    scores = {(r["mentor_id"], r["mentee_id"]): int(r["score"]) for r in rows(out / "candidates.csv")}
    for r in matches:
        assert scores[(r["mentor_id"], r["mentee_id"])] == int(r["score"])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["objective"] == sum(int(r["score"]) for r in matches)


def test_schedule_passes_the_independent_checker(sample_run: dict) -> None:
    doc = json.loads((sample_run["out"] / "schedule.json").read_text())
    assert check_schedule(doc, sample_run["cohort"], sample_run["program"]) == []


def _expected(doc: dict) -> dict[str, set[tuple[str, datetime]]]:
    """Per person: (uid, UTC start) of every meeting in schedule.json."""
    want: dict[str, set[tuple[str, datetime]]] = defaultdict(set)
    for s in doc["series"]:
        for t in s["occurrences"]:
            at = datetime.fromisoformat(t.replace("Z", "+00:00"))
            for pid in (s["mentor_id"], s["mentee_id"]):
                want[pid].add((s["uid"], at))
    for e in doc["events"]:
        at = datetime.fromisoformat(e["start"].replace("Z", "+00:00"))
        for pid in (e["mentor_id"], e["mentee_id"]):
            want[pid].add((e["uid"], at))
    return want


def test_every_feed_expands_to_exactly_the_persons_meetings(sample_run: dict) -> None:
    out = sample_run["out"]
    doc = json.loads((out / "schedule.json").read_text())
    want = _expected(doc)
    index = rows(out / "feeds" / "index.csv")
    assert len(index) >= len(sample_run["cohort"])
    for row in index:
        if row["id"].startswith("*"):
            continue
        name = row["url"].rsplit("/", 1)[1]
        body = (out / "feeds" / name).read_bytes()
        cal = icalendar.Calendar.from_ical(body)
        got = {
            (str(ev["UID"]), ev["DTSTART"].dt.astimezone(UTC))
            for ev in recurring_ical_events.of(cal).between(datetime(2000, 1, 1), datetime(2100, 1, 1))
        }
        assert got == want.get(row["id"], set()), row["id"]
        strict = IcsCalendarStream.calendar_from_ics(body.decode("utf-8"))
        strict_got = set()
        for ev in strict.timeline:
            strict_got.add((ev.uid, ev.dtstart.astimezone(UTC)))
        assert strict_got == got, row["id"]


def test_rerun_gives_identical_pairs_slots_uids_and_feed_bytes(sample_run: dict) -> None:
    out = sample_run["out"]
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    code, _, err = invoke(sample_run["home"], "-q", *sample_run["args"])
    assert code == 0, err
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert before.keys() == after.keys()
    changed = {str(k) for k in before if before[k] != after[k]}
    assert changed <= {"summary.json", "report.html"}, changed


def test_bad_input_exits_65_and_changes_nothing(sample_run: dict, tmp_path: Path) -> None:
    home, ws, out = sample_run["home"], sample_run["workspace"], sample_run["out"]
    db = (ws / "mentorsync.db").read_bytes()
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    bad = tmp_path / "bad.csv"
    text = (SAMPLE / "participants.csv").read_text(encoding="utf-8").splitlines()
    text[3] = text[3].replace("America/", "Amerca/", 1) if "America/" in text[3] else text[3] + ",,"
    bad.write_text("\n".join(text) + "\n", encoding="utf-8")
    args = list(sample_run["args"])
    args[args.index("run") + 1] = str(bad)
    code, _, err = invoke(home, *args)
    assert code == 65
    assert f"{bad}:4: column" in err
    assert (ws / "mentorsync.db").read_bytes() == db
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before


@pytest.mark.parametrize("kind", ["matched mentee", "mentor", "unmatched"])
def test_explain_answers_for_each_kind_of_person(sample_run: dict, kind: str) -> None:
    out = sample_run["out"]
    matches = rows(out / "matches.csv")
    unmatched = [r for r in rows(out / "unmatched.csv") if r["role"] == "mentee"]
    person = {
        "matched mentee": matches[0]["mentee_id"],
        "mentor": matches[0]["mentor_id"],
        "unmatched": unmatched[0]["id"] if unmatched else None,
    }[kind]
    if person is None:
        pytest.skip("the sample has no unmatched mentee")
    ws = str(sample_run["workspace"])
    code, text, err = invoke(sample_run["home"], *["--workspace", ws, "explain", person])
    assert code == 0, err
    code, js, _ = invoke(sample_run["home"], *["--workspace", ws, "explain", person, "--json"])
    data = json.loads(js)
    assert data["id"] == person
    if kind == "matched mentee":
        assert data["pairs"] and data["pairs"][0]["partner_id"] == matches[0]["mentor_id"]
        assert data["pairs"][0]["slot"]["local_time"] and "your time" in text
        assert data["pairs"][0]["score"] == int(matches[0]["score"])
    elif kind == "mentor":
        assert data["load"]["mentees"] >= 1 and "capacity" in text
    else:
        assert data["unmatched"] and data["unmatched"][0]["reason"] == unmatched[0]["reason"]
        assert unmatched[0]["reason"] in text


def test_explain_unknown_id_is_a_usage_error(sample_run: dict) -> None:
    code, _, err = invoke(
        sample_run["home"], "--workspace", str(sample_run["workspace"]), "explain", "nobody-here"
    )
    assert code == 2 and "nobody-here" in err


def test_progress_as_json_lines_and_quiet(tmp_path: Path) -> None:
    shutil.copy(SAMPLE / "program.toml", tmp_path / "program.toml")
    code, out, err = invoke(tmp_path, *["run", str(SAMPLE / "participants.csv"), "--out", "o", "--json"])
    assert code == 0
    events = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    stages = {e["stage"] for e in events}
    assert {"validate", "candidates", "match", "schedule", "publish", "report"} <= stages
    assert json.loads(out)["pairs"] > 0
    code, out, err = invoke(tmp_path, *["-q", "run", str(SAMPLE / "participants.csv"), "--out", "o"])
    assert code == 0 and not [line for line in err.splitlines() if line.startswith(">")]


def test_csv_outputs_neutralise_formulas(tmp_path: Path) -> None:
    """Names that look like spreadsheet formulas reach the CSV outputs only as text: every text cell
    of every CSV that starts like a formula is prefixed with a quote."""
    home = tmp_path / "home"
    shutil.copytree(SAMPLE, home / "sample_data", ignore=shutil.ignore_patterns("*.db*", "feeds.key"))
    roster = home / "sample_data" / "participants.csv"
    people = rows(roster)
    hostile = ('=HYPERLINK("http://x")', "+1+", "-2-", "@SUM(A1)")
    for i, person in enumerate(people):
        person["name"] = hostile[i % len(hostile)] + " " + person["name"]
    with roster.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(people[0]))
        writer.writeheader()
        writer.writerows(people)
    roster_arg = "sample_data/participants.csv"
    code, _, err = invoke(home, "--workspace", "sample_data", "run", roster_arg, "--out", "out")
    assert code == 0, err
    written = sorted((home / "out").rglob("*.csv"))
    quoted = 0
    for path in written:
        with path.open(newline="", encoding="utf-8") as fh:
            for row in csv.reader(fh):
                for cell in row:
                    assert not cell.startswith(("=", "+", "@", "\t", "\r")), (path.name, cell)
                    if cell.startswith("-"):
                        float(cell)  # only numbers may start with a minus sign
                    quoted += cell.startswith(("'=", "'+", "'-", "'@"))
    assert quoted > 0, [p.name for p in written]  # the names did reach a CSV (local_times.csv)
