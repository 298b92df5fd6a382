"""Benchmark: form and schedule circles for a generated cohort of circle members.

    python benchmarks/bench_circles.py --members 2000 --mentors 400
    python benchmarks/bench_circles.py --members 2000 --kind peer

Everyone of the generated cohort (``sample_data/generate.py``) gets ``format = circle``; with
``--kind mentor-led`` the generated mentors lead circles. Prints seconds (candidate search and
total), candidate circles, people placed, the bound on people placed over the candidate circles,
the gap, the method ("exact": complete enumeration; "seeded": bounded search per person) and the
peak memory.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cohort.model import Cohort  # noqa: E402
from cohort.program import Circles, Matching, Program  # noqa: E402
from planner.circles import form_circles  # noqa: E402
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
