"""Circles in the store: exact round trips, replaced whole, dropped with a new match, frozen when
the cycle closes, stored by `run` in the same commit as the pairs, exported and erased."""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given

from cohort.errors import StoreError
from cohort.model import Cohort
from cohort.program import Program
from matcher.model import MatchResult
from planner.circles.forming import form_circles
from planner.circles.outputs import circle_records
from store import (
    Workspace,
    circles_of_person,
    close_cycle,
    import_cohort,
    latest_cycle,
    load_circles,
    save_circles,
    save_match,
    workspace_secret,
)
from store.privacy import erase_person, export_person, pseudonym_of
from tests.cli_helpers import invoke, rows
from tests.test_circles import CASES, cohorts

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "participants_circles.csv"
EMPTY_MATCH = MatchResult((), (), (), 0, 0.0, 0.0, 0.0, "none", 0.0, {})


@CASES
@given(st_case=cohorts("peer") | cohorts("mentor-led"))
def test_circles_round_trip_exactly(st_case: tuple[Cohort, Program]) -> None:
    cohort, prog = st_case
    records = circle_records(form_circles(cohort, prog), prog, "salt")
    with tempfile.TemporaryDirectory() as tmp, Workspace(Path(tmp)) as ws:
        cycle_id = import_cohort(ws, cohort, prog)
        save_match(ws, cycle_id, EMPTY_MATCH)
        save_circles(ws, cycle_id, records)
        assert load_circles(ws, cycle_id) == records
        for c in records:
            for pid in c.people:
                assert c.circle_id in circles_of_person(ws, cycle_id, pid)
        save_circles(ws, cycle_id, records[1:])  # replaced whole
        assert load_circles(ws, cycle_id) == records[1:]


def _stored(tmp_path: Path) -> tuple[Path, int]:
    shutil.copy(ROOT / "sample_data" / "program.toml", tmp_path / "program.toml")
    code, _, err = invoke(tmp_path, "run", str(SAMPLE), "--out", "out")
    assert code == 0, err
    with Workspace(tmp_path, create=False) as ws:
        cycle = latest_cycle(ws)
        assert cycle is not None
        return tmp_path, cycle.id


def test_run_stores_the_circles_it_writes(tmp_path: Path) -> None:
    ws_dir, cycle_id = _stored(tmp_path)
    written = rows(ws_dir / "out" / "circles.csv")
    with Workspace(ws_dir, create=False) as ws:
        stored = load_circles(ws, cycle_id)
        assert [
            (c.circle_id, c.mentor_id or "", ";".join(c.member_ids), str(c.score), c.reasons) for c in stored
        ] == [(r["circle_id"], r["mentor_id"], r["member_ids"], r["score"], r["reasons"]) for r in written]
        schedule = json.loads((ws_dir / "out" / "schedule.json").read_text(encoding="utf-8"))
        uids = {s["uid"] for s in schedule["series"]} | {e["uid"] for e in schedule["events"]}
        for c in stored:
            assert c.series.uid in uids and all(e.uid in uids for e in c.events)
            assert c.series.occurrences and c.kind in ("mentor-led", "peer")
        # a bad circle is refused whole: the stored ones stay
        bad = replace(stored[0], member_ids=(*stored[0].member_ids, "nobody"))
        bad = replace(bad, series=replace(bad.series, member_ids=bad.member_ids), events=())
        with pytest.raises(StoreError):
            save_circles(ws, cycle_id, [*stored[1:], bad])
        assert load_circles(ws, cycle_id) == stored
        with pytest.raises(StoreError, match="used twice"):
            save_circles(ws, cycle_id, [stored[0], stored[0]])
        # a re-run of the same input keeps them, byte for byte
    code, _, err = invoke(ws_dir, "run", str(SAMPLE), "--out", "out")
    assert code == 0, err
    with Workspace(ws_dir, create=False) as ws:
        assert load_circles(ws, cycle_id) == stored
        save_match(ws, cycle_id, EMPTY_MATCH)  # a new match: the circles were placed around the old
        assert load_circles(ws, cycle_id) == ()
        save_circles(ws, cycle_id, stored[:0])
        close_cycle(ws, cycle_id)
        with pytest.raises(StoreError, match="closed"):
            save_circles(ws, cycle_id, stored)


def test_export_lists_a_persons_circles_and_erase_pseudonymises_them(tmp_path: Path) -> None:
    ws_dir, cycle_id = _stored(tmp_path)
    with Workspace(ws_dir, create=False) as ws:
        stored = load_circles(ws, cycle_id)
        circle = stored[0]
        member = circle.member_ids[0]
        export = export_person(ws, member)
        assert {(r["cycle_id"], r["circle_id"]) for r in export["tables"]["circle_members"]} == {
            (cycle_id, circle.circle_id)
        }
        if circle.mentor_id:
            led = export_person(ws, circle.mentor_id)["tables"]["circles"]
            assert circle.circle_id in {r["circle_id"] for r in led}
        erase_person(ws, member)
        pseudo = pseudonym_of(workspace_secret(ws), member)
        after = load_circles(ws, cycle_id)
        again = next(c for c in after if c.circle_id == circle.circle_id)
        assert member not in again.people and pseudo in again.member_ids
        assert again.series.occurrences == circle.series.occurrences
        assert circles_of_person(ws, cycle_id, member) == ()
