"""Ranked choices at scale: seconds, peak memory and the rank profile per `[matching] preferences`.

A generated cohort (default 20,000 people, 5,000 mentors); every mentee ranks 5 mentors drawn
from their 25 best candidates with a popularity skew (popular mentors are ranked by many, as in
real programs). Times the candidate build (ranked pairs protected from the best-K limit) and the
exact lexicographic solve of each mode; the slot filter is left out, as in bench_match.py.

    python benchmarks/bench_ranks.py [--people 20000] [--mentors 5000] [--ranks 5] [--seed 0]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, default=20000)
    ap.add_argument("--mentors", type=int, default=5000)
    ap.add_argument("--ranks", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--modes", default="rank-maximal,worst-rank,score")
    args = ap.parse_args()

    from cohort.model import Cohort
    from cohort.program import Program
    from matcher.candidates import build_candidates
    from matcher.ranks import rank_profile, ranked_pairs, solve_ranked, with_rank_scores
    from matcher.solve import solve
    from sample_data.generate import generate_cohort

    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    cohort = generate_cohort(args.people, args.mentors, args.seed)
    base = build_candidates(cohort, Program())
    popularity = {m.id: rng.paretovariate(1.2) for m in cohort.mentors}
    ranks = {}
    for p in cohort.mentees:
        options = [
            c
            for c in (base.encoder.mentor_ids[base.mentor[k]] for k in base.of_mentee(p.id)[:25])
            if c != p.id
        ]
        chosen: list[str] = []
        while options and len(chosen) < args.ranks:
            pick = rng.choices(options, weights=[popularity[o] for o in options])[0]
            chosen.append(pick)
            options.remove(pick)
        ranks[p.id] = tuple(chosen)
    cohort = Cohort(
        tuple(dataclasses.replace(p, ranks=ranks.get(p.id, ())) if p.is_mentee else p for p in cohort.people),
        source="generated",
    )
    prep = time.perf_counter() - t0
    print(
        f"cohort {len(cohort):,} people, {len(cohort.mentors):,} mentors, {len(cohort.mentees):,} mentees, "
        f"{sum(map(len, ranks.values())):,} ranks; prepared in {prep:.1f} s",
        flush=True,
    )
    out = {}
    for mode in args.modes.split(","):
        program = dataclasses.replace(
            Program(), matching=dataclasses.replace(Program().matching, preferences=mode)
        )
        t0 = time.perf_counter()
        cs = build_candidates(cohort, program, protect=ranked_pairs(cohort))
        t_cand = time.perf_counter() - t0
        t0 = time.perf_counter()
        if mode == "score":
            result = solve(cohort, program, with_rank_scores(cohort, program, cs))
        else:
            result = solve_ranked(cohort, program, cs)
        t_solve = time.perf_counter() - t0
        profile = rank_profile(cohort, [(p.mentor_id, p.mentee_id) for p in result.pairs])
        out[mode] = {
            "candidates": len(cs),
            "candidates_s": round(t_cand, 1),
            "solve_s": round(t_solve, 1),
            "matched": result.matched,
            "total_score": int(result.objective),
            "by_rank": profile["by_rank"],
            "unranked": profile["unranked"],
            "unmatched": profile["unmatched"],
            "worst_rank": profile["worst_rank"],
            "levels": result.stats.get("rank_levels"),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        }
        print(mode, json.dumps(out[mode]), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
