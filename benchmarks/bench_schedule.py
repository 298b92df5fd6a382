"""Benchmark: match a generated cohort (slot-aware) and schedule every pair.

    python benchmarks/bench_schedule.py --people 2000 --mentors 500
    python benchmarks/bench_schedule.py --people 20000 --mentors 5000

Prints pairs placed, pairs unplaceable, the wall and CPU time of each step (the machine may be
shared: CPU time does not grow with other load), the peak memory (RSS) and the load average.
Targets: 2,000 people in at most 30 s, 20,000 in at most 5 minutes, on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cohort.program import Program  # noqa: E402
from scheduler.assign import Effort, schedule  # noqa: E402
from scheduler.slots import SlotContext  # noqa: E402


def _pairs_stand_in(cohort, program, ctx):  # type: ignore[no-untyped-def]
    """Stand-in matching when ``matcher`` is unavailable: min-cost flow over has_slot pairs."""
    from ortools.graph.python import min_cost_flow

    mentors, mentees = cohort.mentors, cohort.mentees
    mids = [m.id for m in mentors for _ in mentees]
    eids = [e.id for _ in mentors for e in mentees]
    ok = ctx.has_slot(mids, eids)
    flow = min_cost_flow.SimpleMinCostFlow()
    src, dst = 0, 1
    node = {p.id: i + 2 for i, p in enumerate(mentors)}
    enode = {p.id: i + 2 + len(mentors) for i, p in enumerate(mentees)}
    for m in mentors:
        flow.add_arc_with_capacity_and_unit_cost(
            src, node[m.id], m.capacity or program.rules.default_capacity, 0
        )
    for e in mentees:
        flow.add_arc_with_capacity_and_unit_cost(enode[e.id], dst, 1, 0)
    arcs = [(m, e) for m, e, k in zip(mids, eids, ok, strict=True) if k]
    for m, e in arcs:
        flow.add_arc_with_capacity_and_unit_cost(node[m], enode[e], 1, -1)
    flow.add_arc_with_capacity_and_unit_cost(src, dst, len(mentees), 0)
    flow.set_node_supply(src, len(mentees))
    flow.set_node_supply(dst, -len(mentees))
    flow.solve()
    first = len(mentors) + len(mentees)  # pair arcs come after the source and sink arcs
    return [arcs[i] for i in range(len(arcs)) if flow.flow(first + i) > 0]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--people", type=int, default=2000)
    ap.add_argument("--mentors", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--time-limit", type=float, default=20.0, help="CP-SAT seconds for scheduling")
    args = ap.parse_args(argv)
    program = Program()
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    try:
        from sample_data.generate import generate_cohort

        cohort = generate_cohort(args.people, args.mentors, args.seed, program)
    except ImportError as exc:  # pragma: no cover - the generator ships with the project
        raise SystemExit(f"sample_data.generate is missing: {exc}") from exc
    t_gen = time.perf_counter() - t0
    cpu1 = time.process_time()
    t1 = time.perf_counter()
    ctx = SlotContext(cohort, program)
    try:
        from matcher.candidates import build_candidates
        from matcher.solve import solve

        cs = build_candidates(cohort, program, slot_filter=ctx.has_slot)
        result = solve(cohort, program, cs)
        pairs = [(p.mentor_id, p.mentee_id) for p in result.pairs]
        how = f"matcher.solve ({len(cs)} candidates)"
    except ImportError:
        pairs = _pairs_stand_in(cohort, program, ctx)
        how = "stand-in min-cost flow"
    t_match = time.perf_counter() - t1
    cpu_match = time.process_time() - cpu1
    t2, cpu2 = time.perf_counter(), time.process_time()
    sched = schedule(
        cohort, program, pairs, uid_salt="bench", ctx=ctx, effort=Effort(time_limit=args.time_limit)
    )
    t_sched = time.perf_counter() - t2
    cpu_sched = time.process_time() - cpu2
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"people={len(cohort)} mentors={len(cohort.mentors)} mentees={len(cohort.mentees)}")
    print(
        f"matching: {how}: {len(pairs)} pairs in {t_match:.1f} s, CPU {cpu_match:.1f} s "
        f"(slot filter included)"
    )
    print(
        f"pairs placed: {len(sched.series)}  unplaceable: {len(sched.unplaceable)}  "
        f"events: {len(sched.events)}"
    )
    st = sched.stats
    print(
        f"schedule: {t_sched:.1f} s, CPU {cpu_sched:.1f} s (options {st['options_seconds']} s, "
        f"assignment {st['solve_seconds']} s, status {st['status']})"
    )
    print(
        f"components: {st['components']} (largest {st['largest_component']} pairs; "
        f"{st['components_direct']} solved without CP-SAT, {st['components_solved']} by CP-SAT, "
        f"{st['components_at_time_limit']} stopped at the time limit)"
    )
    print(
        f"total without generation: {t_match + t_sched:.1f} s; generation {t_gen:.1f} s; "
        f"peak memory {peak_mb:.0f} MiB"
    )
    print(f"machine load average (1 min): {load_before:.2f} before, {os.getloadavg()[0]:.2f} after")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
