"""``mentorsync suggest``: shortlists of eligible mentors for every mentee, to rank.

Reads the participants file given, or else the workspace's latest roster; writes only
``suggestions.csv`` into the output directory (nothing in the workspace changes).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cohort.errors import UsageError
from cohort.load import load_participants
from cohort.model import Cohort
from cohort.text import write_csv
from pipeline.workspace import open_workspace, workspace_program
from planner import choices
from store import latest_cycle, load_cohort

HEADER = ["mentee_id", "rank", "mentor_id", "reasons"]


def _roster(workspace: Path, participants: Path | None, program: Any) -> tuple[Cohort, list]:
    if participants is not None:
        return load_participants(participants, program)
    with open_workspace(workspace, program) as ws:
        cycle = latest_cycle(ws)
        if cycle is None:
            raise UsageError(
                "no roster in this workspace yet: give a participants FILE, or `mentorsync import` one"
            )
        return load_cohort(ws, cycle.id), []


def suggest(workspace: Path, out_dir: Path, *, top: int, participants: Path | None = None) -> dict[str, Any]:
    """Write ``suggestions.csv`` (mentee_id, rank, mentor_id, reasons); returns a summary."""
    if top < 1:
        raise UsageError("--top must be at least 1")
    program, _ = workspace_program(workspace)
    cohort, warnings = _roster(workspace, participants, program)
    found = choices.suggest(cohort, program, top)
    # one file, no workspace change: written beside its place and renamed over it (atomic)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    part = out / ".suggestions.csv.part"
    try:
        write_csv(part, HEADER, ([s.mentee_id, s.rank, s.mentor_id, s.reasons] for s in found.suggestions))
        os.replace(part, out / "suggestions.csv")
    finally:
        part.unlink(missing_ok=True)
    return {
        "file": str(Path(out_dir) / "suggestions.csv"),
        **found.figures,
        "warnings": [str(w) for w in warnings],
    }
