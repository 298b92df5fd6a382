"""Benchmark: who meets whom and when on generated cohorts (issue 11).

    python benchmarks/bench_joint.py                 # 2,000 and 4,000 people
    python benchmarks/bench_joint.py --sizes 2000,4000,20000
    python benchmarks/bench_joint.py --lns 10         # the search's budget ([matching] lns_seconds)

Each size runs in its own process: ``sample_data/generate.py``-style cohort (mentors = 30% of the
people, seed 1) under ``sample_data/program.toml``, then ``planner.plan`` (what ``run`` does).
Printed: matched mentees, the schedule-free bound (``summary.json``'s ``bound``, a score), the
gap, the most mentees any plan could match without time and with time counted
(``bound_matched_schedule_free``, ``bound_time_aware``: ``planner.bound``) and the gap of the
matched count to the latter, the time-aware bound on the score, how many unmatched mentees a
plain first fit could still add (a free seat among their candidate mentors and a slot option that
fits both calendars with buffers and weekly limits: must be 0), the augmentation's share
(``repair.augmented``), seconds and peak memory (RSS), and
what the large-neighbourhood search (``planner.lns``) gained: ``lns`` is ``repair.lns``
(neighbourhoods tried and improved, matched and score gained against the same plan without it,
budget spent) and ``lns_wall`` its wall-clock seconds; ``--lns 0`` runs without it.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def one(people: int, lns: float | None) -> dict[str, object]:
    sys.path.insert(0, str(ROOT))
    from dataclasses import replace

    from cohort.program import load_program
    from planner.continuity import Continuity
    from planner.fit import Calendars
    from planner.instance import capacities
    from planner.plan import plan
    from sample_data.generate import generate_cohort
    from scheduler.slots import SlotContext, iter_slot_options

    program = load_program(ROOT / "sample_data" / "program.toml")
    if lns is not None:
        program = replace(program, matching=replace(program.matching, lns_seconds=lns))
    cohort = generate_cohort(people, int(people * 0.3), seed=1, program=program)
    t = time.perf_counter()
    result = plan(cohort, program, Continuity(), uid_salt="bench")
    seconds = time.perf_counter() - t
    m = result.match
    tb = result.time_bound
    pairs = [(p.mentor_id, p.mentee_id) for p in m.pairs]
    cap = capacities(cohort, program)
    used = Counter(mentor for mentor, _ in pairs)
    matched = {e for _, e in pairs}
    formed = set(pairs)
    calendars = Calendars(SlotContext(cohort, program), result.schedule)
    ctx = calendars.ctx
    cs = result.candidates
    enc = cs.encoder
    addable = 0
    for mentee in cohort.mentees:
        if mentee.id in matched:
            continue
        for k in cs.of_mentee(mentee.id).tolist():
            mentor = enc.mentor_ids[cs.mentor[k]]
            if used[mentor] >= cap[mentor] or (mentee.id, mentor) in formed:
                continue
            if any(calendars.fits(o) for o in iter_slot_options(cohort[mentor], mentee, ctx)):
                addable += 1
                break
    return {
        "people": people,
        "mentees": len(cohort.mentees),
        "matched": m.matched,
        "bound": m.bound,
        "gap": round(m.gap, 4),
        "bound_matched_schedule_free": tb.schedule_free_matched if tb else None,
        "bound_time_aware": tb.matched if tb else None,
        "gap_time_aware": round((tb.matched - m.matched) / max(1, tb.matched), 4) if tb else None,
        "bound_score_time_aware": tb.score if tb else None,
        "addable_by_first_fit": addable,
        "augmented": result.repair.as_dict().get("augmented", 0),
        "repair": result.repair.as_dict().get("method"),
        "lns": result.repair.as_dict().get("lns"),
        "lns_wall": round(result.timings.get("lns", 0.0), 1),
        "seconds": round(seconds, 1),
        "explain_seconds": round(result.timings.get("explain", 0.0), 1),  # the unmatched reasons
        "bound_seconds": round(result.timings.get("bound", 0.0), 1),
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="2000,4000")
    ap.add_argument("--lns", type=float, default=None, help="[matching] lns_seconds (default: the program's)")
    ap.add_argument("--one", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.lns)))
        return 0
    extra = [] if args.lns is None else ["--lns", str(args.lns)]
    for size in (int(s) for s in args.sizes.split(",")):
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(size), *extra], capture_output=True, text=True, check=True
        )
        row = json.loads(out.stdout.strip().splitlines()[-1])
        print("  ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
