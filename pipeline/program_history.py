"""``mentorsync history``: the program over its cycles, and the introductions at a cycle's end.

Read-only on the workspace, like ``cycle list``: it never takes the writer lock. The stored
cycles are read into ``history.figures.CycleRecord`` values (pairs, circles, meetings, feedback,
check-ins, pairs a mid-cycle re-match ended and who left), the figures are computed from them
(``history.figures``), and ``--out DIR`` gets, written whole and moved into place file by file:

* ``history.html``: a self-contained page (inline CSS and SVG charts, no external requests);
* ``history.csv`` (``cycle, start, figure, detail, value``) and ``history.json``: the same figures;
* ``introductions.csv`` (mode 0600, for the coordinator: names and emails): the introductions
  proposed at the end of the last closed cycle (``history.introductions``).

Nothing in the first three names anyone; small groups are suppressed (``[history] min_group``).
The page carries a date only when ``SOURCE_DATE_EPOCH`` is set, so a re-run gives the same bytes.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cohort.errors import UsageError
from cohort.feedback import FeedbackRow
from cohort.model import Person, PersonId
from cohort.program import Program
from cohort.program import load_program as load_program_file
from cohort.text import write_csv
from history.figures import CSV_HEADER, CycleRecord, EndedEarly, HistoryFigures, history_figures
from history.introductions import Introduction, Network, propose
from pages.views import checkin_points
from pipeline.history import ENDED_KIND
from pipeline.progress import publish_clock
from pipeline.workspace import open_workspace
from scheduler.codec import event_from_dict, series_from_dict
from scheduler.model import CircleRecord, Event, Schedule, Series
from store import (
    CycleInfo,
    Workspace,
    list_cycles,
    load_checkins,
    load_circle_feedback,
    load_circles,
    load_cohort,
    load_feedback,
    load_pairs,
    load_program,
    load_run_summaries,
    load_schedule,
)
from store import serialize as sz
from store.privacy import is_erased

PAGE, FIGURES_CSV, FIGURES_JSON, INTRODUCTIONS_CSV = (
    "history.html",
    "history.csv",
    "history.json",
    "introductions.csv",
)
INTRODUCTIONS_HEADER = (
    "cycle",
    "person_id",
    "person_name",
    "person_email",
    "other_id",
    "other_name",
    "other_email",
    "shared_goals",
    "via_partners",
)


@dataclass(frozen=True)
class HistoryOutcome:
    """What ``history`` computed, and the files it wrote (none without ``out_dir``)."""

    figures: HistoryFigures
    introductions: tuple[Introduction, ...]
    people: Mapping[PersonId, Person]  # the latest record of everyone introduced
    files: tuple[str, ...] = ()


# --------------------------------------------------------------------------- reading the cycles


def _ended(
    ws: Workspace, cycle: CycleInfo, pairs: set[tuple[PersonId, PersonId]]
) -> tuple[list[Series], list[Event], list[EndedEarly], dict[PersonId, Person]]:
    """The cycle's mid-cycle records: cut series and events, the pairs they ended and why, leavers."""
    series: dict[str, Series] = {}
    events: dict[str, Event] = {}
    left: dict[PersonId, Person] = {}
    decode = sz.person_decoder()
    for run in load_run_summaries(ws, cycle_id=cycle.id, kind=ENDED_KIND):
        series.update({d["uid"]: series_from_dict(d) for d in run.summary.get("series", [])})
        events.update({d["uid"]: event_from_dict(d) for d in run.summary.get("events", [])})
        left.update({row[0]: decode(tuple(row)) for row in run.summary.get("people", [])})
    keys = {(s.mentor_id, s.mentee_id) for s in series.values()}
    keys |= {(e.mentor_id, e.mentee_id) for e in events.values() if e.mentee_id}
    gone = set(left)
    ended = []
    for mentor, mentee in sorted(keys - pairs):
        out = (mentor in gone, mentee in gone)
        reason = {(True, True): "both left", (True, False): "mentor left", (False, True): "mentee left"}
        ended.append(EndedEarly(mentor, mentee, reason.get(out, "rules or calendars")))
    return list(series.values()), list(events.values()), ended, left


def _record(ws: Workspace, cycle: CycleInfo, now: datetime) -> CycleRecord:
    cohort = load_cohort(ws, cycle.id)
    program = load_program(ws, cycle.id)
    pairs = tuple((p.mentor_id, p.mentee_id) for p in load_pairs(ws, cycle.id))
    stored = load_schedule(ws, cycle.id) or Schedule((), ())
    cut_series, cut_events, ended, left = _ended(ws, cycle, set(pairs))
    uids = {s.uid for s in stored.series} | {e.uid for e in stored.events}
    schedule = Schedule(
        stored.series + tuple(s for s in cut_series if s.uid not in uids),
        stored.events + tuple(e for e in cut_events if e.uid not in uids),
    )
    return CycleRecord(
        id=cycle.id,
        start=cycle.start,
        last_day=cycle.last_day,
        status=cycle.status,
        cohort=cohort,
        pairs=pairs,
        circles=load_circles(ws, cycle.id),
        schedule=schedule,
        feedback=load_feedback(ws, cycle.id),
        circle_feedback=load_circle_feedback(ws, cycle.id),
        checkins=load_checkins(ws, cycle.id),
        points=checkin_points(schedule, program),
        ended_early=tuple(ended),
        left={pid: p for pid, p in left.items() if pid not in cohort},
        zone=program.program.timezone,
        as_of=None if cycle.status == "closed" else now,
    )


def cycle_records(ws: Workspace, now: datetime | None = None) -> list[CycleRecord]:
    """Every stored cycle as the history reads it, oldest first."""
    now = (now or publish_clock()).astimezone(UTC)
    return [_record(ws, c, now) for c in list_cycles(ws)]


# --------------------------------------------------------------------------- introductions


def _circle_noes(circles: Sequence[CircleRecord], rows: Iterable[FeedbackRow]) -> set[frozenset[PersonId]]:
    """A no about a circle is a no to each of its people (as ``planner.circle_continuity``)."""
    people = {c.circle_id: c.people for c in circles}
    return {
        frozenset((r.person_id, other))
        for r in rows
        if not r.wants_continue
        for other in people.get(r.partner_id, ())
        if other != r.person_id
    }


def network(records: Sequence[CycleRecord], target: int, program: Program) -> Network:
    """Who met whom and every boundary, from the stored cycles (see ``history.introductions``)."""
    latest: dict[PersonId, Person] = {}
    avoid: dict[PersonId, set[PersonId]] = {}
    said_no: set[frozenset[PersonId]] = set()
    met: set[frozenset[PersonId]] = set()
    cycles = []
    for c in records:
        for person in [*c.left.values(), *c.cohort.people]:
            latest[person.id] = person
            avoid.setdefault(person.id, set()).update(person.avoid)
        pairs = tuple(c.pairs) + tuple((e.mentor_id, e.mentee_id) for e in c.ended_early)
        cycles.append((c.id, pairs))
        met |= {frozenset(k) for k in pairs}
        met |= {
            frozenset((a, b)) for circle in c.circles for a in circle.people for b in circle.people if a != b
        }
        said_no |= {frozenset((r.person_id, r.partner_id)) for r in c.feedback if not r.wants_continue}
        said_no |= _circle_noes(c.circles, c.circle_feedback)
    return Network(
        target=target,
        cycles=tuple(cycles),
        people={pid: p for pid, p in latest.items() if not is_erased(pid)},
        avoid={pid: frozenset(ids) for pid, ids in avoid.items()},
        said_no=frozenset(said_no),
        met=frozenset(met),
        reporting_line=program.rules.reporting_line,
        reporting_line_depth=program.rules.reporting_line_depth,
    )


def proposed(
    records: Sequence[CycleRecord], program: Program
) -> tuple[tuple[Introduction, ...], Network | None]:
    """The introductions at the end of the last closed cycle (none before a cycle is closed)."""
    closed = [c for c in records if c.status == "closed"]
    if not closed or program.history.introductions == 0:
        return (), None
    net = network(records, closed[-1].id, program)
    return propose(net, program.history.introductions), net


def introductions(workspace: Path) -> tuple[tuple[Introduction, ...], Mapping[PersonId, Person]]:
    """``notify --introductions``: the introductions of the last closed cycle and who they name."""
    program = _program(workspace)
    with open_workspace(workspace, program) as ws:
        records = cycle_records(ws)
    found, net = proposed(records, program)
    return found, net.people if net else {}


# --------------------------------------------------------------------------- the command


def _program(workspace: Path) -> Program:
    """The workspace's ``program.toml`` (defaults when there is none), without the planner's
    imports (``pipeline.run.workspace_program`` loads the planner: seconds for a reader)."""
    path = Path(workspace) / "program.toml"
    return load_program_file(path) if path.exists() else Program()


def _generated_at() -> datetime | None:
    """The page's date: only from ``SOURCE_DATE_EPOCH`` (a re-run gives the same bytes)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    return datetime.fromtimestamp(int(epoch), UTC) if epoch.isdigit() else None


def _introduction_rows(found: Iterable[Introduction], people: Mapping[PersonId, Person]) -> list[list[Any]]:
    rows = []
    for i in found:
        a, b = people[i.person_id], people[i.other_id]
        rows.append([i.cycle_id, a.id, a.name, a.email, b.id, b.name, b.email, "; ".join(i.shared), i.via])
    return rows


def _write(
    out_dir: Path, program: Program, figures: HistoryFigures, rows: list[list[Any]]
) -> tuple[str, ...]:
    """Write every file into a private staging folder beside ``out_dir``, then move each into
    place (other files in ``out_dir`` stay): a failure leaves the old files as they were."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.history-", dir=out_dir.parent))
    from report.history_page import render_history  # matplotlib: only when a page is written

    try:
        page = render_history(figures, program.program.name, generated_at=_generated_at())
        (stage / PAGE).write_text(page, encoding="utf-8")
        write_csv(stage / FIGURES_CSV, CSV_HEADER, figures.csv_rows())
        (stage / FIGURES_JSON).write_text(
            json.dumps(figures.as_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        write_csv(stage / INTRODUCTIONS_CSV, INTRODUCTIONS_HEADER, rows, private=True)
        names = (PAGE, FIGURES_CSV, FIGURES_JSON, INTRODUCTIONS_CSV)
        for name in names:
            os.replace(stage / name, out_dir / name)
        return names
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def history(workspace: Path, out_dir: Path | None = None, *, now: datetime | None = None) -> HistoryOutcome:
    """The figures of every cycle and the introductions; with ``out_dir``, the files too.

    ``UsageError`` when the workspace holds no cycle yet."""
    program = _program(workspace)
    with open_workspace(workspace, program) as ws:
        records = cycle_records(ws, now)
    if not records:
        raise UsageError("no cycle yet: run `mentorsync run FILE --out DIR` first")
    figures = history_figures(records, program.history.min_group)
    found, net = proposed(records, program)
    people = net.people if net else {}
    files: tuple[str, ...] = ()
    if out_dir is not None:
        files = _write(Path(out_dir), program, figures, _introduction_rows(found, people))
    return HistoryOutcome(figures, found, people, files)


__all__ = ["HistoryOutcome", "cycle_records", "history", "introductions", "network", "proposed"]
