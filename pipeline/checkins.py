"""Check-ins for the coordinator: ``mentorsync checkins`` and the check-ins ``cycle close`` uses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cohort.checkins import CheckIn, CheckInSummary, summarise
from cohort.errors import UsageError
from cohort.model import Cohort
from pages.views import checkin_points
from pipeline.workspace import open_workspace
from store import Workspace, latest_cycle, load_checkins, load_cohort, load_pairs, load_program, load_schedule


@dataclass(frozen=True)
class CheckInReport:
    cycle_id: int
    cohort: Cohort
    checkins: tuple[CheckIn, ...]
    summary: CheckInSummary


def cycle_checkins(ws: Workspace, cycle_id: int, now: datetime | None = None) -> CheckInReport:
    """The check-ins of one cycle and what they add up to at ``now``."""
    now = now or datetime.now(UTC)
    schedule = load_schedule(ws, cycle_id)
    program = load_program(ws, cycle_id)
    pairs = [(p.mentor_id, p.mentee_id) for p in load_pairs(ws, cycle_id)]
    points = checkin_points(schedule, program) if schedule is not None else {}
    rows = load_checkins(ws, cycle_id)
    return CheckInReport(cycle_id, load_cohort(ws, cycle_id), rows, summarise(pairs, points, rows, now))


def checkins(workspace: Path, now: datetime | None = None) -> CheckInReport:
    """``mentorsync checkins``: the latest cycle's check-ins (open, or the last closed one)."""
    with open_workspace(workspace) as ws:
        cycle = latest_cycle(ws)
        if cycle is None or not cycle.matched:
            raise UsageError("no matched cycle yet: run `mentorsync run FILE` first")
        return cycle_checkins(ws, cycle.id, now)
