"""Benchmark: form and schedule circles for a generated cohort of circle members.

    python benchmarks/bench_circles.py --members 2000 --mentors 400
    python benchmarks/bench_circles.py --members 2000 --kind peer
    python benchmarks/bench_circles.py --members 2000 --second-cycle


Everyone of the generated cohort (``sample_data/generate.py``) gets ``format = circle``; with
``--kind mentor-led`` the generated mentors lead circles. Prints seconds (candidate search and
total), candidate circles, people placed, the bound on people placed over the candidate circles,
the gap, the method ("exact": complete enumeration; "seeded": bounded search per person) and the
peak memory. ``--second-cycle``: then the next cycle with continuity (``planner.circles.continuity``)
from generated answers (everyone of a circle: 80% yes, 10% no, 10% silent) and 5% of the people
gone; prints its seconds, people placed, and the circles continued, in their old slot, dissolved.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import resource
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cohort.feedback import FeedbackRow  # noqa: E402
from cohort.model import Cohort  # noqa: E402
from cohort.program import Circles, Matching, Program  # noqa: E402
from planner.circles.continuity import next_cycle_circles  # noqa: E402
from planner.circles.forming import form_circles  # noqa: E402
from planner.circles.model import CirclePlan  # noqa: E402
from planner.circles.outputs import circle_records  # noqa: E402
from sample_data.generate import generate_cohort  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=2000)
    ap.add_argument("--mentors", type=int, default=400)
    ap.add_argument("--kind", choices=("mentor-led", "peer"), default="mentor-led")
    ap.add_argument("--min-size", type=int, default=3)
    ap.add_argument("--max-size", type=int, default=6)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--second-cycle", action="store_true")
    args = ap.parse_args(argv)
    mentors = args.mentors if args.kind == "mentor-led" else 0
    program = Program(
        matching=Matching(workers=2, seed=0),
        circles=Circles(
            kind=args.kind, min_size=args.min_size, max_size=args.max_size, mentor_capacity_per_circle=1
        ),
    )
    generated = generate_cohort(args.members + mentors, mentors, seed=args.seed)
    people = []
    for p in generated.people:
        if args.kind == "peer":
            p = dataclasses.replace(p, role="mentee", goals=p.goals or p.expertise)
        elif p.role == "both":
            p = dataclasses.replace(p, role="mentor" if p.expertise else "mentee")
        people.append(dataclasses.replace(p, format="circle"))
    cohort = Cohort(tuple(people), source="generated")
    members = sum(1 for p in cohort.people if p.role != "mentor")
    t = time.perf_counter()
    plan = form_circles(cohort, program, time_limit=args.time_limit)
    wall = time.perf_counter() - t
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"kind={args.kind} members={members} leaders={len(cohort.people) - members} "
        f"sizes={args.min_size}-{args.max_size}"
    )
    print(
        f"candidates={plan.candidates} method={plan.method} "
        f"candidate_seconds={plan.stats['candidate_seconds']:.1f}"
    )
    print(f"circles={len(plan.circles)} placed={plan.placed} of pool={plan.pool}")
    print(f"bound={plan.bound:.0f} gap={plan.gap:.2%} seconds={wall:.1f} peak_mb={peak_mb:.0f}")
    if args.second_cycle:
        second_cycle(cohort, program, plan, args)
    return 0


def second_cycle(cohort: Cohort, program: Program, plan: CirclePlan, args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    rows = []
    for c in plan.circles:
        for pid in c.people:
            said = rng.random()
            if said < 0.9:
                rows.append(FeedbackRow(pid, c.id, said < 0.8))
    ids = sorted(p.id for p in cohort.people)
    gone = set(rng.sample(ids, len(ids) // 20))
    people = [
        dataclasses.replace(p, manager_id=None if p.manager_id in gone else p.manager_id)
        for p in cohort.people
        if p.id not in gone
    ]
    roster = Cohort(tuple(people), source="generated")
    start = program.cycle.start + timedelta(weeks=program.cycle.weeks)
    nxt = dataclasses.replace(program, cycle=dataclasses.replace(program.cycle, start=start))
    t = time.perf_counter()
    continuity = next_cycle_circles(circle_records(plan, program, "bench"), rows, roster, nxt)
    second = form_circles(roster, nxt, time_limit=args.time_limit, continuity=continuity)
    wall = time.perf_counter() - t
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"second cycle: answers={len(rows)} gone={len(gone)} continuing={len(continuity.kept)} "
        f"continued={len(second.continued)} same_slot={len(second.same_slot)} "
        f"dissolved={len(second.dissolved)}"
    )
    print(
        f"second cycle: circles={len(second.circles)} placed={second.placed} of pool={second.pool} "
        f"bound={second.bound:.0f} gap={second.gap:.2%} candidates={second.candidates} "
        f"method={second.method} seconds={wall:.1f} peak_mb={peak_mb:.0f}"
    )


if __name__ == "__main__":
    sys.exit(main())
