"""Re-matching benchmark: a generated cohort, a first cycle, synthetic feedback, churn, ``rematch``.

    python benchmarks/bench_rematch.py --people 20000 --mentors 5000 --churn 0.3 --seed 1

Prints seconds per stage (first run, close, rematch and its inner stages) and the peak memory.
Target (issue 7): the re-match of 20,000 people with 30% churn within 5 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cohort.program import load_program  # noqa: E402
from pipeline import cycles  # noqa: E402
from pipeline.run import run  # noqa: E402
from sample_data.generate import generate_rows, write_rows  # noqa: E402

PROGRAM = """\
[cycle]
start = {start}
weeks = 26

[matching]
workers = 2
seed = 1
time_limit_seconds = 60
"""


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--people", type=int, default=20000)
    ap.add_argument("--mentors", type=int, default=5000)
    ap.add_argument("--churn", type=float, default=0.3)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    home = Path(tempfile.mkdtemp(prefix="bench-rematch-"))
    start = datetime(2027, 2, 1).date()
    (home / "program.toml").write_text(PROGRAM.format(start=start), encoding="utf-8")
    rows = generate_rows(args.people, args.mentors, args.seed)
    write_rows(rows, home / "roster1.csv")
    print(f"workspace {home}; load average {os.getloadavg()}")

    def live(event) -> None:  # the first cycle's stages, as they happen
        if event.status in ("start", "done"):
            print(
                f"  [{time.perf_counter() - t:7.1f}s] first run: {event.stage} {event.status} "
                f"{event.message}",
                file=sys.stderr,
                flush=True,
            )

    t = time.perf_counter()
    first = run(home, home / "roster1.csv", home / "out1", progress=live)
    print(f"first cycle (run): {time.perf_counter() - t:.1f}s, {first.summary['pairs']} pairs")

    # Synthetic feedback: 50% yes/yes, 15% one no, 20% one yes only, rest silent.
    lines = ["person_id,partner_id,continue,rating"]
    for p in first.plan.match.pairs:
        r = rng.random()
        m, e = p.mentor_id, p.mentee_id
        if r < 0.5:
            lines += [f"{m},{e},yes,5", f"{e},{m},yes,4"]
        elif r < 0.65:
            lines += [f"{m},{e},yes,3", f"{e},{m},no,2"]
        elif r < 0.85:
            lines += [f"{m},{e},yes,4"]
    (home / "feedback.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    t = time.perf_counter()
    cycles.close_cycle(home, home / "feedback.csv")
    print(f"cycle close: {time.perf_counter() - t:.1f}s")

    # Churn: leavers drop out, joiners (new ids, fresh generated people) take their places.
    leave = int(args.churn * len(rows))
    keep = rng.sample(rows, len(rows) - leave)
    fresh = generate_rows(leave, max(1, args.mentors * leave // args.people), args.seed + 1)
    for i, row in enumerate(fresh):
        row["id"] = f"new{i:06d}"
        row["email"] = f"new{i:06d}@example.org"
        row["manager_id"] = ""
        row["avoid"] = row["prefer"] = ""
    staying = {r["id"] for r in keep}
    for row in keep:  # avoid/prefer may only name participants
        for col in ("avoid", "prefer"):
            row[col] = "; ".join(x.strip() for x in row.get(col, "").split(";") if x.strip() in staying)
    write_rows(keep + fresh, home / "roster2.csv")
    last = load_program(home / "program.toml").cycle.last_day
    (home / "program.toml").write_text(PROGRAM.format(start=last + timedelta(days=3)), encoding="utf-8")

    stages: dict[str, float] = {}

    def progress(event) -> None:
        if event.status in ("start", "done"):  # live, so a slow stage shows while it runs
            print(
                f"  [{time.perf_counter() - t:7.1f}s] {event.stage} {event.status} {event.message}",
                file=sys.stderr,
                flush=True,
            )
        if event.status == "start":
            stages.setdefault("_t_" + event.stage, time.perf_counter())
        elif event.status == "done" and "_t_" + event.stage in stages:
            took = time.perf_counter() - stages.pop("_t_" + event.stage)
            stages[event.stage] = stages.get(event.stage, 0.0) + took

    t = time.perf_counter()
    outcome = cycles.rematch(
        home, home / "roster2.csv", home / "out2", progress=progress, now=datetime.now(UTC)
    )
    total = time.perf_counter() - t
    ch = outcome.summary["changes"]
    print(
        f"rematch: {total:.1f}s total; {outcome.summary['pairs']} pairs; kept {ch['kept']}, "
        f"ended {ch['ended']}, new {ch['new']}, joined {ch['joined']}, left {ch['left']}"
    )
    for k, v in sorted(outcome.summary["timings_seconds"].items()):
        print(f"  {k:<12} {v:8.1f}s")
    print(f"peak memory (RSS): {peak_mb():.0f} MB; load average {os.getloadavg()}")
    return 0 if total <= 300 else 1


if __name__ == "__main__":
    raise SystemExit(main())
