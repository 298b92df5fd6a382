"""Orchestration: the steps of a run (import, match, schedule, publish, report) end to end."""
