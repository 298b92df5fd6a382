"""The commands' work, end to end: import, plan, store, and write every output of ``docs/interface.md`` §4.

Every step validates first and writes last. Database writes happen in one transaction and output
files are staged and moved into place only when everything succeeded, so a failing command
leaves the workspace and the output directory as they were.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cohort.checkins import summarise as summarise_checkins
from cohort.errors import Problem, UsageError
from cohort.load import load_participants
from cohort.model import Cohort
from cohort.program import Program, example_toml
from cohort.text import write_csv
from feeds.publish import PublishResult, publish
from matcher.model import MatchResult
from matcher.outputs import summary as match_summary
from matcher.outputs import write_candidates, write_matches, write_unmatched
from pages.views import checkin_points
from pipeline.circles import circle_writer
from pipeline.history import feed_view, with_circles
from pipeline.progress import Progress, ProgressEvent, null_progress, publish_clock
from pipeline.staging import staged_output
from pipeline.workspace import open_workspace, workspace_program
from planner import Continuity, Plan, choices, plan
from planner import continuity as policy
from planner.circles.forming import plan_circles
from planner.circles.outputs import circle_record, circle_records
from planner.circles.pool import pair_cohort
from planner.continuity import StoredPlan
from report.analysis import series_view, unmatched_categories
from report.html import render_report
from scheduler.model import CircleRecord, Schedule
from scheduler.outputs import dst_notes, write_schedule_json
from store import (
    Workspace,
    current_cycle,
    import_cohort,
    load_checkins,
    load_cohort,
    load_match,
    load_pairs,
    load_program_text,
    load_run_summaries,
    load_schedule,
    remember_out_dir,
    save_circles,
    save_match,
    save_run_summary,
    save_schedule,
    workspace_secret,
)


@dataclass(frozen=True)
class RunOutcome:
    """What ``run`` did, for the CLI's summary table."""

    cycle_id: int
    plan: Plan
    published: PublishResult
    summary: Mapping[str, Any]
    warnings: tuple[Problem, ...] = ()
    out_dir: Path = Path("out")
    files: tuple[str, ...] = field(default_factory=tuple)


def load_input(workspace: Path, participants: Path) -> tuple[Program, str, Cohort, list[Problem]]:
    """Validate the program and the participants file; raises ``InputError`` with every problem."""
    program, text = workspace_program(workspace)
    cohort, warnings = load_roster(participants, program)
    return program, text, cohort, warnings


def load_roster(participants: Path, program: Program) -> tuple[Cohort, list[Problem]]:
    """Validate the participants file under ``program``; raises ``InputError`` with every problem."""
    if not Path(participants).exists():
        raise UsageError(f"{participants}: no such file")
    return load_participants(participants, program)


def stored_plan(ws: Workspace, cycle_id: int, program_text: str, cohort: Cohort) -> StoredPlan | None:
    """The cycle's stored match, schedule and repair figures when they were planned from exactly
    this program and roster (a re-run of the same cycle keeps them whole), else ``None``."""
    schedule = load_schedule(ws, cycle_id)
    if schedule is None or load_program_text(ws, cycle_id) != program_text:
        return None
    if load_cohort(ws, cycle_id) != cohort:
        return None
    match = load_match(ws, cycle_id)
    if match is None:
        return None
    runs = [r for r in load_run_summaries(ws, cycle_id) if "repair" in r.summary]
    return StoredPlan(match, schedule, dict(runs[-1].summary["repair"]) if runs else {})


def previous_plan(ws: Workspace, program: Program, program_text: str, cohort: Cohort) -> Continuity:
    """What a re-run of the open cycle must respect: its stored slots and pairs, so calendars stay
    as they are (``planner.continuity.rerun``).

    Solvers may pick any of several equally good slots; keeping the stored one when it is still
    valid makes re-running ``run`` on the same input give the same pairs, slots, UIDs and bytes.
    When the roster and program are exactly those stored, the stored plan is kept whole.
    """
    cycle = current_cycle(ws)
    if cycle is None or cycle.start != program.cycle.start:
        return Continuity()
    previous = load_schedule(ws, cycle.id)
    pairs = [(p.mentor_id, p.mentee_id) for p in load_pairs(ws, cycle.id)]
    return policy.rerun(previous, pairs, reuse=stored_plan(ws, cycle.id, program_text, cohort))


def summarise(
    plan: Plan, cycle_id: int, published: PublishResult | None, timings: Mapping[str, float]
) -> dict[str, Any]:
    """``summary.json``: counts, objective, best bound, gap and solve times."""
    cohort, match, sched, program = plan.cohort, plan.match, plan.schedule, plan.program
    categories = Counter(unmatched_categories(cohort, program, match).values())
    notes = dst_notes(sched, cohort)
    exception_weeks: set[tuple[int, int]] = set()
    for s in sched.series:
        exception_weeks |= series_view(s, cohort).exception_weeks
    meetings = sum(len(s.occurrences) for s in sched.series) + len(sched.events)
    scores = [p.score for p in match.pairs]
    return {
        "program": program.program.name,
        "cycle": {
            "id": cycle_id,
            "start": program.cycle.start.isoformat(),
            "last_day": program.cycle.last_day.isoformat(),
        },
        "people": len(cohort),
        "mentors": len(cohort.mentors),
        "mentees": len(cohort.mentees),
        "candidates": len(plan.candidates),
        "pairs": len(match.pairs),
        "mean_score": round(sum(scores) / len(scores), 2) if scores else 0.0,
        "unmatched_by_reason": dict(sorted(categories.items())),
        "meetings": meetings,
        "series": len(sched.series),
        "milestone_events": len(sched.events),
        "weeks_with_dst_exceptions": len(exception_weeks),
        "people_with_dst_exceptions": len(notes),
        "repair": plan.repair.as_dict(),
        "feeds": {"dir": "feeds", "count": len(published.feeds) if published else 0},
        **match_summary(match),
        **time_bound_summary(plan),
        **choices.rank_summary(plan),
        "timings_seconds": {k: round(v, 3) for k, v in timings.items()},
    }


def time_bound_summary(plan: Plan) -> dict[str, Any]:
    """The bounds that count time (``planner.bound``): mentees matched at most (and the gap of the
    matched count to it), the total score at most, and the mentees matched at most without time."""
    bound = plan.time_bound
    if bound is None:
        return {}
    matched = plan.match.matched
    return {
        "bound_time_aware": bound.matched,
        "gap_time_aware": round((bound.matched - matched) / max(1, bound.matched), 4),
        "bound_score_time_aware": bound.score,
        "bound_matched_schedule_free": bound.schedule_free_matched,
    }


def write_match_files(
    stage: Path, cohort: Cohort, match: MatchResult, candidates: Iterable[tuple[str, str, int]]
) -> list[str]:
    """``matches.csv``, ``unmatched.csv`` and ``candidates.csv`` (``candidates``: the rows of the
    candidate set): the one writer of ``match``, ``schedule``, ``run`` and ``rematch``."""
    write_matches(stage / "matches.csv", match.pairs, ranks=choices.mentee_rank_column(cohort, match))
    write_unmatched(stage / "unmatched.csv", match.unmatched)
    write_candidates(stage / "candidates.csv", candidates)
    return ["matches.csv", "unmatched.csv", "candidates.csv"]


def write_local_time_notes(path: Path, cohort: Cohort, schedule: Schedule) -> None:
    """``local_times.csv``: per person, in plain words, the weeks their meeting moves in local time."""
    notes = sorted(dst_notes(schedule, cohort).items())
    rows = ([pid, cohort[pid].name, note] for pid, ns in notes for note in ns)
    write_csv(path, ["id", "name", "note"], rows)


@dataclass(frozen=True)
class Step:
    """A command writing its outputs: its kind (that of its stored run summary), the publish
    clock, its progress, when it started, and its stage timings (filled in as it goes)."""

    kind: str
    now: datetime
    progress: Progress
    started: float
    timings: dict[str, float] = field(default_factory=dict)


def write_outputs(
    ws: Workspace,
    stage: Path,
    cycle_id: int,
    plan: Plan,
    step: Step,
    *,
    extra: Callable[[Path], dict[str, Any]] | None = None,
    circles: Sequence[CircleRecord] = (),
    roster: Cohort | None = None,
) -> tuple[PublishResult, dict[str, Any], list[str]]:
    """Store a plan and write every output of interface §4 into ``stage`` (inside the caller's
    transaction). Feeds hold the history too (``pipeline.history.feed_view``);
    ``extra(stage)`` writes further files and returns additions to the summary. ``circles``:
    the cycle's circles, stored with the pairs (same transaction); ``roster``: everyone imported
    (the plan's cohort leaves out people who chose only a circle), who all get a feed."""
    cohort, program = plan.cohort, plan.program
    now, progress, timings = step.now, step.progress, step.timings
    save_match(ws, cycle_id, plan.match)  # drops the cycle's earlier schedule and circles
    save_schedule(ws, cycle_id, plan.schedule)
    if circles:
        save_circles(ws, cycle_id, circles)
    files = write_match_files(stage, plan.cohort, plan.match, plan.candidates.rows())
    write_schedule_json(with_circles(plan.schedule, circles), stage / "schedule.json")
    write_local_time_notes(stage / "local_times.csv", cohort, plan.schedule)
    t = time.perf_counter()
    everyone = roster if roster is not None else cohort
    view = feed_view(ws, everyone, plan.schedule, cycle_id)
    published = publish(
        ws, everyone, view.schedule, program, stage, now=now, progress=progress, former=view.former
    )
    timings["publish"] = time.perf_counter() - t
    t = time.perf_counter()
    progress(ProgressEvent("report", "start"))
    answers = load_checkins(ws, cycle_id)
    checkins = None
    if answers:
        points = checkin_points(plan.schedule, program)
        pairs = [(p.mentor_id, p.mentee_id) for p in plan.match.pairs]
        checkins = summarise_checkins(pairs, points, answers, now)
    html = render_report(
        cohort,
        program,
        plan.match,
        plan.schedule,
        dst_notes=dst_notes(plan.schedule, cohort),
        generated_at=now,
        checkins=checkins,
        bounds=time_bound_summary(plan),
    )
    (stage / "report.html").write_text(html, encoding="utf-8")
    additions = extra(stage) if extra else {}
    timings["report"] = time.perf_counter() - t
    progress(ProgressEvent("report", "done"))
    timings["total"] = time.perf_counter() - step.started
    summary = summarise(plan, cycle_id, published, timings) | additions
    (stage / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    save_run_summary(ws, cycle_id, step.kind, summary)
    files += ["schedule.json", "local_times.csv", "feeds/", "report.html", "summary.json"]
    return published, summary, files


def run(
    workspace: Path,
    participants: Path,
    out_dir: Path,
    *,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> RunOutcome:
    """Validate, import, match, schedule, publish and report in one step (``mentorsync run``)."""
    progress = progress or null_progress
    now = (now or publish_clock()).replace(microsecond=0)
    started = time.perf_counter()
    timings: dict[str, float] = {}

    t = time.perf_counter()
    progress(ProgressEvent("validate", "start", str(participants)))
    program, program_text, cohort, warnings = load_input(workspace, participants)
    timings["load"] = time.perf_counter() - t
    progress(ProgressEvent("validate", "done", f"{len(cohort)} people"))

    ws = open_workspace(workspace, program, create=True, writer="run")
    try:
        salt = workspace_secret(ws)
        text = program_text or example_toml(program)
        pairs_cohort = pair_cohort(cohort)  # the cohort itself unless someone chose `format = circle`
        planned = plan(
            pairs_cohort,
            program,
            previous_plan(ws, program, text, pairs_cohort),
            uid_salt=salt,
            progress=progress,
        )
        circles = plan_circles(
            cohort, program, [(p.mentor_id, p.mentee_id) for p in planned.match.pairs], planned.schedule
        )
        timings.update(planned.timings)
        warnings = [*warnings, *choices.rank_warnings(planned)]
        with staged_output(ws, out_dir) as stage:
            cycle_id = import_cohort(ws, cohort, program, text, participants, replace_matched=True)
            remember_out_dir(ws, out_dir)
            published, summary, files = write_outputs(
                ws,
                stage,
                cycle_id,
                planned,
                Step("run", now, progress, started, timings),
                extra=circle_writer(cohort, planned.match, circles) if circles.pool else None,
                circles=circle_records(circles, program, salt),
                roster=cohort,
            )
            if circles.pool:
                files += ["circles.csv"]
                save_run_summary(ws, cycle_id, "circles", circle_record(circles))
    finally:
        ws.close()
    return RunOutcome(cycle_id, planned, published, summary, tuple(warnings), Path(out_dir), tuple(files))
