"""Circle meetings in the private feeds: every circle person's feed (as stored and served) expands
to exactly their circles' occurrences and milestones plus their pair meetings, lists the circle's
people by name and nothing else about them, re-publishes byte-identically, and leaves the feeds
of people without a circle byte-identical; erase removes an erased member's name from the others'
feeds and export lists their circles."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from hypothesis import given

from cohort.model import Cohort
from cohort.program import Program
from feeds.publish import publish
from matcher.model import MatchResult
from pipeline.history import feed_view
from planner.circles.forming import form_circles
from planner.circles.outputs import circle_records
from scheduler.model import CircleRecord, Schedule
from server import make_server
from store import Workspace, import_cohort, latest_cycle, load_circles, load_cohort, save_circles, save_match
from tests.cli_helpers import invoke, rows
from tests.feeds_support import expand_ical, expand_icalendar
from tests.test_circles import CASES, cohorts
from tests.test_privacy import move_cycle, write_feedback
from tests.test_serve import free_port

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "participants_circles.csv"
EMPTY_MATCH = MatchResult((), (), (), 0, 0.0, 0.0, 0.0, "none", 0.0, {})
T0 = datetime(2027, 1, 5, 12, 0, 7, tzinfo=UTC)


def documents(ws: Workspace) -> dict[str, bytes]:
    return {r[0]: bytes(r[1]) for r in ws.connection.execute("SELECT person_id, body FROM feed_documents")}


def unfold(body: bytes) -> str:
    return re.sub(r"\r\n[ \t]", "", body.decode("utf-8")).replace("\\,", ",")


def circle_meetings(records: list[CircleRecord]) -> list[tuple[datetime, int]]:
    return sorted(
        [(t, r.series.duration_minutes) for r in records for t in r.series.occurrences]
        + [(e.start, e.duration_minutes) for r in records for e in r.events]
    )


@CASES
@given(case=cohorts("peer") | cohorts("mentor-led"))
def test_circle_feeds_hold_exactly_the_circle_meetings_and_names_only(case: tuple[Cohort, Program]) -> None:
    cohort, prog = case
    # names and emails that occur nowhere by chance, so finding one in a feed means it was put there
    cohort = Cohort(
        tuple(replace(p, name=f"Zq{p.id}Name", email=f"zq{p.id}@mail.example") for p in cohort.people)
    )
    records = circle_records(form_circles(cohort, prog), prog, "salt")
    with tempfile.TemporaryDirectory() as tmp, Workspace(Path(tmp) / "ws") as ws:
        cycle_id = import_cohort(ws, cohort, prog)
        save_match(ws, cycle_id, EMPTY_MATCH)
        publish(ws, cohort, Schedule((), ()), prog, Path(tmp) / "out0", now=T0)
        without = documents(ws)
        save_circles(ws, cycle_id, records)
        view = feed_view(ws, cohort, Schedule((), ()), cycle_id)
        first = publish(ws, cohort, view.schedule, prog, Path(tmp) / "out1", now=T0 + timedelta(days=1))
        bodies = documents(ws)
        for person in cohort.people:
            mine = [r for r in records if person.id in r.people]
            body = bodies[person.id]
            if not mine:
                assert body == without[person.id]  # no circle: the feed is as it was
                continue
            assert expand_icalendar(body) == expand_ical(body) == circle_meetings(mine)
            text = unfold(body)
            together = {q for r in mine for q in r.people}
            for other in cohort.people:
                assert (other.name in text) == (other.id in together), (person.id, other.id)
                assert other.email not in text  # names only
        coordinator = bodies["*coordinator*"]
        assert expand_icalendar(coordinator) == circle_meetings(list(records))
        again = publish(ws, cohort, view.schedule, prog, Path(tmp) / "out2", now=T0 + timedelta(days=2))
        assert documents(ws) == bodies and not any(f.changed for f in again.feeds)
        for f in first.feeds:
            assert (Path(tmp) / "out2" / f.file).read_bytes() == bodies[f.person_id]


def _feeds(out: Path) -> dict[str, str]:
    return {r["id"]: r["url"] for r in rows(out / "feeds" / "index.csv")}


def _pair_meetings(schedule: dict, pid: str) -> list[tuple[datetime, int]]:
    """(UTC start, minutes) of every pair meeting of ``pid`` in a schedule.json document."""
    out = []
    for s in schedule["series"]:
        if not s.get("circle_id") and pid in (s["mentor_id"], s["mentee_id"]):
            out += [(_utc(t), s["duration_minutes"]) for t in s["occurrences"]]
    for e in schedule["events"]:
        if not e.get("circle_id") and pid in (e["mentor_id"], e["mentee_id"]):
            out.append((_utc(e["start"]), e["duration_minutes"]))
    return out


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_served_feeds_of_a_run_with_circles(tmp_path: Path) -> None:
    shutil.copy(ROOT / "sample_data" / "program.toml", tmp_path / "program.toml")
    code, _, err = invoke(tmp_path, "run", str(SAMPLE), "--out", "out")
    assert code == 0, err
    schedule = json.loads((tmp_path / "out" / "schedule.json").read_text(encoding="utf-8"))
    circles = [s for s in schedule["series"] if s.get("circle_id")]
    assert circles
    with Workspace(tmp_path, create=False) as ws:
        cycle = latest_cycle(ws)
        assert cycle is not None
        cohort = load_cohort(ws, cycle.id)
        stored = load_circles(ws, cycle.id)
    urls = _feeds(tmp_path / "out")
    port = free_port()
    server = make_server(tmp_path, "127.0.0.1", port, max_age=60)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            served = {pid: client.get("/feeds/" + url.rsplit("/feeds/", 1)[1]) for pid, url in urls.items()}
    finally:
        server.should_exit = True
        thread.join(10)
    for record in stored:
        for pid in record.people:
            response = served[pid]
            assert response.status_code == 200
            body = response.content
            expected = sorted(_pair_meetings(schedule, pid) + circle_meetings([record]))
            assert expand_icalendar(body) == expected
            text = unfold(body)
            assert all(cohort[q].name in text for q in record.people)
            assert not any(cohort[q].email.lower() in text.lower() for q in record.people if q != pid)
    # re-publishing changes nothing, byte for byte
    code, _, err = invoke(tmp_path, "publish", "--out", "out2")
    assert code == 0, err
    for pid, url in _feeds(tmp_path / "out2").items():
        name = ("coordinator-" if pid == "*coordinator*" else "") + url.rsplit("/feeds/", 1)[1]
        assert (tmp_path / "out2" / "feeds" / name).read_bytes() == served[pid].content

    # next cycle without one member (cycle 1 closed): the others' feeds keep the circle's history
    record = stored[0]
    member = record.member_ids[0]
    pairs = [(r["mentor_id"], r["mentee_id"]) for r in rows(tmp_path / "out" / "matches.csv")]
    write_feedback(tmp_path / "fb.csv", pairs, set())
    code, _, err = invoke(tmp_path, "cycle", "close", "--feedback", str(tmp_path / "fb.csv"))
    assert code == 0, err
    move_cycle(tmp_path, "2027-08-02")
    lines = SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
    (tmp_path / "p2.csv").write_text("".join(x for x in lines if not x.startswith(member + ",")), "utf-8")
    code, _, err = invoke(tmp_path, "rematch", str(tmp_path / "p2.csv"), "--out", "c2")
    assert code == 0, err
    with Workspace(tmp_path, create=False) as ws:
        for pid in record.people:
            if pid != member:
                assert set(circle_meetings([record])) <= set(expand_icalendar(documents(ws)[pid]))
    # export lists the member's circle; erase leaves their name in no one's feed
    code, out, err = invoke(tmp_path, "person", "export", member)
    assert code == 0, err
    export = json.loads(out)
    assert [r["circle_id"] for r in export["tables"]["circle_members"]] == [record.circle_id]
    name = cohort[member].name
    code, _, err = invoke(tmp_path, "person", "erase", member, "--yes", "--out", "out", "--out", "c2")
    assert code == 0, err
    with Workspace(tmp_path, create=False) as ws:
        docs = documents(ws)
        after = next(c for c in load_circles(ws, cycle.id) if c.circle_id == record.circle_id)
    assert member not in after.people and len(after.member_ids) == len(record.member_ids)
    assert member not in docs
    for pid in record.people:
        if pid != member:
            text = unfold(docs[pid])
            assert name not in text and "Former participant" in text
            assert set(circle_meetings([record])) <= set(expand_icalendar(docs[pid]))
    for f in (tmp_path / "c2" / "feeds").glob("*.ics"):
        assert name not in unfold(f.read_bytes())
