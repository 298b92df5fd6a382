"""Benchmark: the whole ``mentorsync run`` on generated cohorts, stage by stage (issue 28).

    python benchmarks/bench_run.py --sizes 2000,4000,20000
    python benchmarks/bench_run.py --sizes 2000,4000,20000 --baseline /work/base_checkout
    python benchmarks/bench_run.py --sizes 20000 --save today.json      # keep the figures
    python benchmarks/bench_run.py --sizes 20000 --baseline-figures today.json

Cohorts come from ``sample_data/generate.py`` (seed 1): ordinary hours below ``--broad-from``
people (mentors: 30% of the people, as ``bench_joint.py``), broad hours from there on (mentors:
25%: at 20,000 people 5,000 mentors and about 15,000 mentees, where nearly every pair shares
hours: some 60 million pairs pass the rules and the best-K limit keeps 1.5 million). Every size
runs in its own process: ``python cli.py --workspace WS run FILE --out OUT`` in a fresh workspace
holding only ``sample_data/program.toml``, so the figures are those of the command users run.

Printed per size and stage (``summary.json``'s ``timings_seconds``): seconds, then the process's
peak memory (RSS), the wall-clock time of the process, matched pairs and the objective (score).
With ``--baseline CHECKOUT`` (a checkout of an older commit, run with the same Python from its own
directory, so that it imports its own modules) the same cohort runs there too, side by side in
the same benchmark run, and each figure gets its ratio (this checkout / baseline); the SHA-256 of
``candidates.csv`` and ``matches.csv`` on both sides says whether the outputs are the same bytes.
``--baseline-figures FILE`` compares against figures kept by an earlier ``--save FILE`` instead;
``--figures FILE`` prints kept figures without running anything (e.g. two runs made apart).
Last, the schedule stage's least-squares line over the sizes (seconds against matched pairs),
with its R^2 and the log-log slope between the smallest and the largest size (1.0: linear).
The machine may be shared: its load average is printed with every run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("load", "candidates", "match", "schedule", "lns", "explain", "bound", "publish", "report", "total")


def cohort_file(people: int, hours: str, mentors: int, seed: int, path: Path) -> None:
    """Write the generated cohort with this checkout's generator (both sides read the same file)."""
    cmd = [sys.executable, str(ROOT / "sample_data" / "generate.py"), "--people", str(people)]
    cmd += ["--mentors", str(mentors), "--seed", str(seed), "--hours", hours, "--out", str(path)]
    subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "-"


def run_checkout(checkout: Path, roster: Path, program: Path, work: Path) -> dict[str, Any]:
    """``mentorsync run`` of ``checkout`` on ``roster`` in a fresh workspace: its figures."""
    ws, out = work / "ws", work / "out"
    shutil.rmtree(work, ignore_errors=True)
    ws.mkdir(parents=True)
    shutil.copy(program, ws / "program.toml")
    cmd = [sys.executable, "cli.py", "-q", "--workspace", str(ws), "run", str(roster), "--out", str(out)]
    load = os.getloadavg()[0]
    started = time.perf_counter()
    child = subprocess.Popen(cmd, cwd=checkout, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert child.stderr is not None
    err = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if child.returncode != 0:
        raise RuntimeError(f"{checkout}: run exited {child.returncode}: {err.decode()[-2000:]}")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return {
        "timings": summary.get("timings_seconds", {}),
        "peak_mb": usage.ru_maxrss / 1024,
        "wall": wall,
        "load": load,
        "matched": summary.get("matched"),
        "objective": summary.get("objective"),
        "pairs": summary.get("pairs"),
        "candidates": summary.get("candidates"),
        "candidates_sha256": _sha256(out / "candidates.csv"),
        "matches_sha256": _sha256(out / "matches.csv"),
    }


def _ratio(new: float | None, old: float | None) -> str:
    if new is None or old is None or old <= 0:
        return ""
    return f"{new / old:.2f}x"


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def print_size(people: int, label: str, new: dict[str, Any], old: dict[str, Any] | None) -> None:
    """One size's table: stages, memory, wall time, matched and score (with ratios)."""
    print(f"\n{people:,} people ({label}): {new['candidates']:,} candidates, load average {new['load']:.1f}")
    head = f"  {'':12} {'seconds':>10}"
    if old is not None:
        head += f" {'baseline':>10} {'ratio':>7}"
    print(head)
    stages = [s for s in STAGES if s in new["timings"] or (old and s in old["timings"])]
    stages += sorted(set(new["timings"]) - set(stages))
    rows: list[tuple[str, float | None, float | None, int]] = [
        (s, new["timings"].get(s), old["timings"].get(s) if old else None, 1) for s in stages
    ]
    rows += [("wall", new["wall"], old["wall"] if old else None, 1)]
    rows += [("peak MB", new["peak_mb"], old["peak_mb"] if old else None, 0)]
    rows += [("matched", new["matched"], old["matched"] if old else None, 0)]
    rows += [("score", new["objective"], old["objective"] if old else None, 0)]
    for name, a, b, digits in rows:
        line = f"  {name:12} {_num(a, digits):>10}"
        if old is not None:
            line += f" {_num(b, digits):>10} {_ratio(a, b):>7}"
        print(line)
    if old is not None:
        for key in ("candidates_sha256", "matches_sha256"):
            same = "same bytes" if new[key] == old[key] else "DIFFERENT"
            print(f"  {key.split('_')[0]}.csv sha256 {new[key][:16]} vs {old[key][:16]}: {same}")


def linear_fit(points: list[tuple[float, float]]) -> tuple[float, float, float, float | None]:
    """Least squares ``seconds = a + b * pairs``: (a, b, R^2, log-log slope first to last)."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    sxy = sum((x - mx) * (y - my) for x, y in points)
    b = sxy / sxx if sxx else 0.0
    a = my - b * mx
    ss_tot = sum((y - my) ** 2 for _, y in points)
    ss_res = sum((y - a - b * x) ** 2 for x, y in points)
    r2 = 1 - ss_res / ss_tot if ss_tot else 1.0
    (x0, y0), (x1, y1) = min(points), max(points)
    slope = math.log(y1 / y0) / math.log(x1 / x0) if min(x0, y0, x1, y1) > 0 and x1 != x0 else None
    return a, b, r2, slope


def print_fit(name: str, figures: dict[int, dict[str, Any]]) -> None:
    points = [
        (float(f["pairs"]), float(f["timings"]["schedule"]))
        for f in figures.values()
        if f.get("pairs") and "schedule" in f["timings"]
    ]
    if len(points) < 2:
        return
    a, b, r2, slope = linear_fit(points)
    per = ", ".join(f"{int(x):,} pairs {y:.1f} s" for x, y in sorted(points))
    exponent = "-" if slope is None else f"{slope:.2f}"
    print(
        f"  {name}: schedule seconds = {a:.2f} + {b * 1000:.3f} ms x pairs (R^2 {r2:.3f}; "
        f"log-log slope {exponent}); {per}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="2000,4000,20000", help="people per cohort, comma-separated")
    parser.add_argument("--broad-from", type=int, default=10_000, help="broad hours from this many people")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--program", type=Path, default=ROOT / "sample_data" / "program.toml")
    parser.add_argument("--baseline", type=Path, help="a checkout of an older commit, run side by side")
    parser.add_argument("--baseline-figures", type=Path, help="figures kept by an earlier --save")
    parser.add_argument("--save", type=Path, help="write this run's figures (JSON) here")
    parser.add_argument("--keep", type=Path, help="keep cohorts and outputs under this directory")
    parser.add_argument("--figures", type=Path, help="print these kept figures instead of running")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    kept: dict[str, dict[str, Any]] = {}
    if args.baseline_figures:
        kept = json.loads(args.baseline_figures.read_text(encoding="utf-8"))
    new_figs: dict[int, dict[str, Any]] = {}
    old_figs: dict[int, dict[str, Any]] = {}
    if args.figures:
        shown = json.loads(args.figures.read_text(encoding="utf-8"))
        for people in sizes:
            if str(people) in shown:
                new_figs[people] = shown[str(people)]
                old = kept.get(str(people))
                if old is not None:
                    old_figs[people] = old
                print_size(people, shown[str(people)].get("label", "kept figures"), new_figs[people], old)
        sizes = []
    base = args.keep or Path(tempfile.mkdtemp(prefix="bench_run-"))
    try:
        for people in sizes:
            broad = people >= args.broad_from
            hours = "broad" if broad else "ordinary"
            mentors = round(people * (0.25 if broad else 0.3))
            roster = base / f"cohort-{people}-{hours}.csv"
            base.mkdir(parents=True, exist_ok=True)
            cohort_file(people, hours, mentors, args.seed, roster)
            label = f"{hours} hours, {mentors:,} mentors, seed {args.seed}"
            new = run_checkout(ROOT, roster, args.program, base / f"new-{people}") | {"label": label}
            old: dict[str, Any] | None = None
            if args.baseline:
                old = run_checkout(args.baseline.resolve(), roster, args.program, base / f"base-{people}")
                old["label"] = label
            elif str(people) in kept:
                old = kept[str(people)]
            new_figs[people] = new
            if old is not None:
                old_figs[people] = old
            print_size(people, label, new, old)
            sys.stdout.flush()
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    print("\nschedule stage, linear fit over sizes:")
    print_fit("this checkout", new_figs)
    if old_figs:
        print_fit("baseline", old_figs)
    if args.save and not args.figures:
        args.save.write_text(json.dumps({str(k): v for k, v in new_figs.items()}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
