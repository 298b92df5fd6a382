"""History benchmark: ``mentorsync history`` over many cycles of a generated program.

    python benchmarks/bench_history.py --people 2000 --cycles 10 [--workspace DIR]

Builds the program through the real commands (``run``, check-ins stored as the participants'
pages store them, ``cycle close`` with synthetic feedback, 10% churn with joiners back to
``--people``, ``rematch``; about one mentee in ten leaves in the middle of every third cycle),
unless ``--workspace`` names one built before (it is then reused; a new one is kept and its path
printed). Then times ``history`` (the
figures and the introductions) and ``history --out`` (also the page, CSV and JSON), best of
``--repeat``, and prints the peak memory.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cohort.checkins import CheckIn  # noqa: E402
from cohort.program import load_program  # noqa: E402
from pages.views import checkin_points  # noqa: E402
from pipeline import cycles  # noqa: E402
from pipeline.program_history import history  # noqa: E402
from pipeline.run import run  # noqa: E402
from sample_data.generate import generate_rows, write_rows  # noqa: E402
from store import Workspace, current_cycle, load_pairs, save_checkin  # noqa: E402
from store import load_program as stored_program  # noqa: E402
from store import load_schedule as stored_schedule  # noqa: E402

PROGRAM = """\
[cycle]
start = {start}
weeks = {weeks}

[matching]
workers = 2
seed = 1
time_limit_seconds = 60
"""


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _answer_checkins(ws_dir: Path, rng: random.Random, until: datetime | None = None) -> int:
    """Answers to the open cycle's check-ins (opened by ``until``; all: None): 70% answer."""
    n = 0
    with Workspace(ws_dir, create=False) as ws, ws.transaction():
        cycle = current_cycle(ws)
        assert cycle is not None
        schedule = stored_schedule(ws, cycle.id)
        assert schedule is not None
        for (mentor, mentee), points in checkin_points(schedule, stored_program(ws, cycle.id)).items():
            for p in points:
                if until is not None and p.opens > until:
                    continue
                for pid, other in ((mentor, mentee), (mentee, mentor)):
                    if rng.random() < 0.3:
                        continue
                    met = "yes" if rng.random() < 0.8 else rng.choice(("no", "rescheduled"))
                    wants = rng.choice(("yes", "yes", "yes", "unsure", "no"))
                    stamp = p.opens.astimezone(UTC).isoformat()
                    save_checkin(
                        ws, CheckIn(cycle.id, pid, other, p.number, met, rng.randint(2, 5), wants, "", stamp)
                    )
                    n += 1
    return n


def _feedback(ws_dir: Path, path: Path, rng: random.Random) -> Path:
    with Workspace(ws_dir, create=False) as ws:
        cycle = current_cycle(ws)
        assert cycle is not None
        pairs = load_pairs(ws, cycle.id)
    lines = ["person_id,partner_id,continue,rating,comment"]
    for p in pairs:
        r, m, e = rng.random(), p.mentor_id, p.mentee_id
        if r < 0.5:
            lines += [f"{m},{e},yes,5,", f"{e},{m},yes,4,"]
        elif r < 0.65:
            lines += [f"{m},{e},yes,3,", f"{e},{m},no,2,not a fit"]
        elif r < 0.85:
            lines += [f"{m},{e},yes,4,"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _churn(
    rows: list[dict[str, str]], rng: random.Random, share: float, n: int, people: int, mentors: int
) -> list[dict]:
    """``share`` of the people leave; joiners bring the roster back to ``people``."""
    keep = rng.sample(rows, len(rows) - int(share * len(rows)))
    joining = people - len(keep)
    fresh = generate_rows(joining, max(1, mentors * joining // people), 1000 + n)
    for i, row in enumerate(fresh):
        row["id"] = f"c{n:02d}n{i:05d}"
        row["email"] = f"c{n:02d}n{i:05d}@example.org"
        row["manager_id"] = row["avoid"] = row["prefer"] = ""
        row["introductions"] = "yes" if rng.random() < 0.6 else ""
    return _only_participants(keep) + fresh


def _only_participants(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """``avoid`` and ``prefer`` may only name participants: drop the ids of people who left."""
    staying = {r["id"] for r in rows}
    for row in rows:
        for col in ("avoid", "prefer"):
            row[col] = "; ".join(x.strip() for x in row.get(col, "").split(";") if x.strip() in staying)
    return rows


def build(home: Path, people: int, mentors: int, n_cycles: int, weeks: int, seed: int) -> None:
    rng = random.Random(seed)
    start = datetime(2027, 2, 1).date()
    (home / "program.toml").write_text(PROGRAM.format(start=start, weeks=weeks), encoding="utf-8")
    rows = generate_rows(people, mentors, seed)
    for row in rows:
        row["introductions"] = "yes" if rng.random() < 0.6 else ""
    for n in range(1, n_cycles + 1):
        t = time.perf_counter()
        roster = home / f"roster{n}.csv"
        write_rows(rows, roster)
        if n == 1:
            run(home, roster, home / f"out{n}")
        else:
            cycles.rematch(home, roster, home / f"out{n}")
        program = load_program(home / "program.toml")
        if n % 3 == 2:  # someone leaves in the middle of the cycle
            middle = datetime.combine(
                program.cycle.start + timedelta(weeks=weeks // 2), datetime.min.time(), UTC
            )
            answered = _answer_checkins(home, rng, middle)
            rows = _only_participants([r for r in rows if rng.random() > 0.1 or r["role"] != "mentee"])
            write_rows(rows, home / f"roster{n}b.csv")
            cycles.rematch(home, home / f"roster{n}b.csv", home / f"out{n}b", now=middle, mid_cycle=True)
        answered = _answer_checkins(home, rng)
        cycles.close_cycle(home, _feedback(home, home / f"feedback{n}.csv", rng))
        print(
            f"cycle {n}: {len(rows)} people, {answered} check-ins, {time.perf_counter() - t:.1f}s", flush=True
        )
        if n < n_cycles:
            rows = _churn(rows, rng, 0.1, n, people, mentors)
            next_start = program.cycle.last_day + timedelta(days=1)
            (home / "program.toml").write_text(
                PROGRAM.format(start=next_start, weeks=weeks), encoding="utf-8"
            )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--people", type=int, default=2000)
    ap.add_argument("--mentors", type=int, default=0, help="default: 30%% of --people")
    ap.add_argument("--cycles", type=int, default=10)
    ap.add_argument("--weeks", type=int, default=26)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workspace", type=Path, help="a workspace built before (reused)")
    args = ap.parse_args(argv)
    home = args.workspace
    if home is None or not (home / "mentorsync.db").exists():
        home = home or Path(tempfile.mkdtemp(prefix="bench-history-"))
        home.mkdir(parents=True, exist_ok=True)
        print(f"building {args.cycles} cycles of {args.people} people in {home}", flush=True)
        t = time.perf_counter()
        build(home, args.people, args.mentors or args.people * 3 // 10, args.cycles, args.weeks, args.seed)
        print(f"built in {time.perf_counter() - t:.0f}s (reuse it with --workspace {home})")
    figures_only, with_files = [], []
    for _ in range(args.repeat):
        t = time.perf_counter()
        outcome = history(home)
        figures_only.append(time.perf_counter() - t)
        t = time.perf_counter()
        history(home, home / "history")
        with_files.append(time.perf_counter() - t)
    people = outcome.figures.overall
    total = next(f.value for f in people if f.name == "people" and not f.detail)
    print(
        f"history over {len(outcome.figures.cycles)} cycles ({total} people in all): "
        f"{min(figures_only):.2f}s figures and introductions ({len(outcome.introductions)} proposed), "
        f"{min(with_files):.2f}s with --out (page, CSV, JSON); peak {peak_mb():.0f} MB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
