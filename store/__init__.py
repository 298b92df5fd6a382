"""The workspace store: an embedded SQLite database holding the program and its history."""

from store.db import DB_NAME, Workspace, workspace_secret
from store.repo import (
    CycleInfo,
    RunInfo,
    close_cycle,
    continuing_pairs,
    current_cycle,
    ended_pairs,
    former_people,
    get_cycle,
    import_cohort,
    last_out_dir,
    latest_cycle,
    list_cycles,
    load_cohort,
    load_feedback,
    load_match,
    load_pair_origins,
    load_pairs,
    load_program,
    load_program_text,
    load_run_summaries,
    load_schedule,
    load_unmatched,
    previous_cycle,
    remember_out_dir,
    save_feedback,
    save_match,
    save_run_summary,
    save_schedule,
)

__all__ = [
    "DB_NAME", "CycleInfo", "RunInfo", "Workspace", "close_cycle", "continuing_pairs", "current_cycle",
    "ended_pairs", "former_people", "get_cycle", "import_cohort", "last_out_dir", "latest_cycle",
    "list_cycles",
    "load_cohort", "load_feedback", "load_match", "load_pair_origins", "load_pairs", "load_program",
    "load_program_text", "load_run_summaries", "load_schedule", "load_unmatched", "previous_cycle",
    "remember_out_dir",
    "save_feedback", "save_match", "save_run_summary", "save_schedule", "workspace_secret",
]
