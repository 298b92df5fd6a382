"""People's data benchmark: export, erase (with re-publish and VACUUM), backup and restore.

    python benchmarks/bench_privacy.py --people 2000 --mentors 600

Builds a workspace with two cycles (the first closed with feedback, the second re-matched without
one mentor of the first), then times ``person export`` and ``person erase`` of that mentor,
``backup`` and ``restore``, and prints the database size.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline import cycles  # noqa: E402
from pipeline.privacy import erase, export  # noqa: E402
from pipeline.run import run  # noqa: E402
from sample_data.generate import generate_rows, write_rows  # noqa: E402
from store.backup import backup, restore  # noqa: E402
from store.privacy import export_json  # noqa: E402

PROGRAM = """\
[cycle]
start = {start}
weeks = 26

[matching]
workers = 2
seed = 1
time_limit_seconds = 60
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--people", type=int, default=2000)
    ap.add_argument("--mentors", type=int, default=600)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    home = Path(tempfile.mkdtemp(prefix="bench-privacy-"))
    (home / "program.toml").write_text(PROGRAM.format(start="2027-02-01"), encoding="utf-8")
    rows = generate_rows(args.people, args.mentors, args.seed)
    write_rows(rows, home / "roster1.csv")
    print(f"workspace {home}; load average {os.getloadavg()}")
    t = time.perf_counter()
    first = run(home, home / "roster1.csv", home / "out1")
    print(f"first cycle (run): {time.perf_counter() - t:.1f}s, {first.summary['pairs']} pairs")
    pairs = first.plan.match.pairs
    subject = pairs[0].mentor_id
    lines = ["person_id,partner_id,continue,rating,comment"]
    for p in pairs:
        said = "no" if p.mentor_id == subject else "yes"
        lines += [f"{p.mentor_id},{p.mentee_id},{said},4,fine", f"{p.mentee_id},{p.mentor_id},yes,5,good"]
    (home / "feedback.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    cycles.close_cycle(home, home / "feedback.csv")
    (home / "program.toml").write_text(PROGRAM.format(start="2027-08-02"), encoding="utf-8")
    rest = []
    for r in rows:
        if r["id"] != subject:
            for column in ("avoid", "prefer"):
                if r.get(column):
                    r = {**r, column: ";".join(x for x in r[column].split(";") if x.strip() != subject)}
            rest.append(r)
    write_rows(rest, home / "roster2.csv")
    t = time.perf_counter()
    cycles.rematch(home, home / "roster2.csv", home / "out2")
    print(f"second cycle (rematch): {time.perf_counter() - t:.1f}s")
    size = (home / "mentorsync.db").stat().st_size
    print(f"database: {size / 1e6:.1f} MB")

    t = time.perf_counter()
    text = export_json(export(home, subject))
    print(f"person export {subject}: {time.perf_counter() - t:.2f}s, {len(text):,} bytes")
    t = time.perf_counter()
    backup(home, home / "backup.zip")
    print(f"backup: {time.perf_counter() - t:.2f}s, {(home / 'backup.zip').stat().st_size / 1e6:.1f} MB")
    t = time.perf_counter()
    result = erase(home, subject)
    print(
        f"person erase {subject}: {time.perf_counter() - t:.2f}s, {sum(result.tables.values())} rows, "
        f"{result.feeds} feeds re-published, {len(result.scrubbed_files)} output files scrubbed"
    )
    t = time.perf_counter()
    restore(home / "restored", home / "backup.zip")
    print(f"restore: {time.perf_counter() - t:.2f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
