"""Writes a run's circle files (built by ``planner.circles.outputs`` and ``report.circles``), only
when someone asked for a circle: ``circles.csv``, circle reasons in ``unmatched.csv``, the circles
section of ``report.html`` and the ``circles`` figures of ``summary.json``. The circles' meetings are in
``schedule.json`` and in their people's feeds, from the store (``pipeline.run.write_outputs``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from cohort.model import Cohort
from matcher.model import MatchResult
from matcher.outputs import write_unmatched
from planner.circles.model import CirclePlan
from planner.circles.outputs import (
    circle_summary,
    unmatched_with_circles,
    write_circles_csv,
)
from report.circles import with_circles


def circle_writer(cohort: Cohort, match: MatchResult, plan: CirclePlan) -> Callable[[Path], dict[str, Any]]:
    """``write_outputs``'s ``extra``: writes the circle outputs into the stage, returns the
    summary's additions."""

    def write(stage: Path) -> dict[str, Any]:
        write_circles_csv(stage / "circles.csv", plan.circles)
        write_unmatched(stage / "unmatched.csv", unmatched_with_circles(match.unmatched, plan))
        report = stage / "report.html"
        report.write_text(with_circles(report.read_text(encoding="utf-8"), cohort, plan), encoding="utf-8")
        return circle_summary(plan)

    return write
