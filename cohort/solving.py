"""How every CP-SAT model of mentorsync is run: seed, workers, time limit, determinism.

With ``[matching] deterministic = true`` (the default) the same input gives the same answer on any
machine load: several workers search in lockstep (``interleave_search``, deterministic for any
worker count) and the time limit counts CP-SAT's *deterministic* time (work done, about one unit a
second on a typical core), so a busy machine does not stop the search at another point. A
wall-clock cap of ``WALL_CLOCK_FACTOR`` times the limit still guards against runaway searches.
With ``deterministic = false`` workers run freely and the limit is wall-clock time (faster on many
cores, but ties between equally good answers may then be broken differently from run to run).
"""

from __future__ import annotations

from typing import Any

WALL_CLOCK_FACTOR = 10.0


def configure(params: Any, *, deterministic: bool, time_limit: float, workers: int, seed: int) -> None:
    """Set a CP-SAT ``SatParameters`` message (``solver.parameters``) for one solve."""
    params.num_workers = workers
    params.random_seed = seed
    if deterministic:
        params.max_deterministic_time = time_limit
        params.max_time_in_seconds = time_limit * WALL_CLOCK_FACTOR
        if workers > 1:
            params.interleave_search = True
    else:
        params.max_time_in_seconds = time_limit
