"""Matching benchmark on generated cohorts, against baselines on the same candidates.

    python benchmarks/bench_match.py                      # 2,000 and 20,000 people
    python benchmarks/bench_match.py --sizes 2000,20000,200000
    python benchmarks/bench_match.py --sizes 20000 --method pairs   # the pair-by-pair reference path

Each size runs in its own process so that the peak memory (ru_maxrss) is that size's. Printed per
size: people, mentors, candidates (and how many the best-K limit dropped), seconds for candidates /
solve / explanations, peak memory, matched, objective, bound, gap; then the baselines on the same
candidates: OR-Tools min-cost flow alone, and a greedy (best score first).

The best-K limit (``matching.auto_candidates_per_mentee`` above ``auto_limit_pairs`` possible pairs)
has a cost, measured here: up to ``--exhaustive-upto`` people the benchmark also builds *every*
candidate (no limit) and solves the same objective over them with the min-cost flow, printing
matched and total score with and without the limit. The machine's load average is printed with
each size: the machine may be shared, and the seconds are wall-clock.
Targets on 2 cores: 2,000 people <= 5 s; 20,000 (5,000 mentors) <= 20 s with gap <= 0.1%;
200,000 <= 3 min and 6 GiB.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def greedy(cs, capacity) -> tuple[int, int]:
    """Best score first, as long as the mentee is free and the mentor has a seat."""
    import numpy as np

    order = np.argsort(-cs.score, kind="stable")
    seats = capacity.copy()
    taken = np.zeros(len(cs.arrays.mentees), dtype=bool)
    matched = total = 0
    for k in order.tolist():
        m, e = cs.mentor[k], cs.mentee[k]
        if not taken[e] and seats[m] > 0:
            taken[e] = True
            seats[m] -= 1
            matched += 1
            total += int(cs.score[k])
    return matched, total


def run_one(people: int, mentors: int, seed: int, method: str, exhaustive: bool) -> dict[str, object]:
    import dataclasses
    import os

    import numpy as np

    from cohort.program import Program
    from matcher.candidates import build_candidates
    from matcher.solve import flow_assignment, solve
    from sample_data.generate import generate_cohort

    program = Program()
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    cohort = generate_cohort(people, mentors, seed)
    t_gen = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    cs = build_candidates(cohort, program, method=method)
    t_cand, c_cand = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    result = solve(cohort, program, cs)
    t_total, c_total = time.perf_counter() - t0, time.process_time() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    flow = flow_assignment(cs, np.arange(len(cs)), cs.arrays.capacity)
    t_flow = time.perf_counter() - t0
    t0 = time.perf_counter()
    g_matched, g_total = greedy(cs, cs.arrays.capacity)
    t_greedy = time.perf_counter() - t0
    full = None
    if exhaustive:
        no_limit = dataclasses.replace(
            program, matching=dataclasses.replace(program.matching, auto_limit_pairs=10**15)
        )
        t0 = time.perf_counter()
        every = build_candidates(cohort, no_limit)
        t_every = time.perf_counter() - t0
        t0 = time.perf_counter()
        best = flow_assignment(every, np.arange(len(every)), every.arrays.capacity)
        full = {
            "candidates": len(every),
            "matched": int(len(best)),
            "total": int(every.score[best].sum()),
            "candidates_s": round(t_every, 2),
            "flow_s": round(time.perf_counter() - t0, 2),
        }
        del every
    return {
        "load": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "cand_method": cs.stats.get("method", method),
        "passing": cs.stats.get("passing_pairs"),
        "scored": cs.stats.get("scored_pairs"),
        "exhaustive": full,
        "people": len(cohort),
        "mentors": len(cohort.mentors),
        "mentees": len(cohort.mentees),
        "candidates": len(cs),
        "dropped": cs.dropped,
        "kept_per_mentee": cs.kept_per_mentee,
        "generate_s": round(t_gen, 2),
        "candidates_s": round(t_cand, 2),
        "solve_s": round(result.solve_seconds, 2),
        "explain_s": result.stats["explain_seconds"],
        "solve_call_s": round(t_total, 2),
        "total_s": round(t_cand + t_total, 2),
        "peak_mib": round(peak),
        "cpu_s": round(c_cand + c_total, 1),
        "matched": result.matched,
        "objective": result.objective,
        "bound": result.bound,
        "gap": result.gap,
        "method": result.method,
        "flow_alone": {"matched": int(len(flow)), "total": int(cs.score[flow].sum()), "s": round(t_flow, 2)},
        "greedy": {"matched": g_matched, "total": g_total, "s": round(t_greedy, 2)},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,20000", help="comma-separated people counts")
    parser.add_argument("--mentor-share", type=float, default=0.25, help="share of mentors (20,000 -> 5,000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--method", default="blocks", choices=("blocks", "pairs"), help="candidate path")
    parser.add_argument(
        "--exhaustive-upto", type=int, default=20000, help="also solve over every candidate up to this size"
    )
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        r = run_one(
            args.one,
            int(args.one * args.mentor_share),
            args.seed,
            args.method,
            args.one <= args.exhaustive_upto,
        )
        print(json.dumps(r))
        return 0
    for size in (int(s) for s in args.sizes.split(",")):
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--one",
                str(size),
                "--mentor-share",
                str(args.mentor_share),
                "--seed",
                str(args.seed),
                "--method",
                args.method,
                "--exhaustive-upto",
                str(args.exhaustive_upto),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode:
            print(f"{size}: failed\n{out.stderr[-2000:]}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"people {r['people']:,} ({r['mentors']:,} mentors, {r['mentees']:,} mentees)"
            f"  [candidates by {r['cand_method']}; load average {r['load'][0]} -> {r['load'][1]} on 2 cores]"
        )
        kept = (
            f" (best {r['kept_per_mentee']} per mentee kept, {r['dropped']:,} dropped)"
            if r["dropped"]
            else ""
        )
        print(f"  candidates {r['candidates']:,}{kept}")
        if r["passing"] is not None:
            print(f"  pairs passing every hard rule {r['passing']:,}; scored exactly {r['scored']:,}")
        print(
            f"  seconds: candidates {r['candidates_s']} / solve {r['solve_s']} / explain {r['explain_s']}"
            f"  (total {r['total_s']}, CPU {r['cpu_s']}; generating the cohort {r['generate_s']})"
        )
        print(f"  peak memory {r['peak_mib']:,} MiB (after solve and explanations, before baselines)")
        print(
            f"  matched {r['matched']:,}  objective {r['objective']:,.0f}  bound {r['bound']:,.0f}  "
            f"gap {r['gap']:.4%}  [{r['method']}]"
        )
        f, g = r["flow_alone"], r["greedy"]
        print(f"  baseline min-cost flow alone: matched {f['matched']:,} total {f['total']:,} in {f['s']} s")
        print(f"  baseline greedy:              matched {g['matched']:,} total {g['total']:,} in {g['s']} s")
        x = r["exhaustive"]
        if x:
            cost = (x["total"] - r["objective"]) / max(1, x["total"])
            limit = f"best-{r['kept_per_mentee']}" if r["kept_per_mentee"] else "no limit"
            print(
                f"  {limit} vs every candidate ({x['candidates']:,}, built in {x['candidates_s']} s, "
                f"flow {x['flow_s']} s): matched {r['matched']:,} vs {x['matched']:,}, "
                f"total {r['objective']:,.0f} vs {x['total']:,} ({cost:.4%} lower)"
            )
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
