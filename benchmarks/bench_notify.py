"""Benchmark `mentorsync notify`: compose, record and send to a local SMTP server.

    python benchmarks/bench_notify.py [--people 2000] [--invite-every 5]

Generates a synthetic cohort (every ``--invite-every``-th person on ``calendar = invite``), runs
``mentorsync run``, then times ``notify --dry-run`` (composing every message and writing .eml
files), ``notify`` against an aiosmtpd server on 127.0.0.1 (plain SMTP, no rate limit to speak
of), and a second ``notify`` (nothing new: nothing sent). Prints messages and seconds.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.smtp_support import Sink, start_server  # noqa: E402


def cli(ws: Path, *args: str) -> tuple[float, str]:
    t = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "-q", "-w", str(ws), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"{args}: exit {done.returncode}\n{done.stderr}")
    return time.perf_counter() - t, done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--invite-every", type=int, default=5)
    args = parser.parse_args()
    sink = Sink()
    controller, port = start_server(sink, "none", None)
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp)
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "sample_data" / "generate.py"),
                "--people",
                str(args.people),
                "--out",
                str(ws / "gen.csv"),
            ],
            check=True,
            capture_output=True,
        )
        with (ws / "gen.csv").open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        for i, row in enumerate(rows):
            row["calendar"] = "invite" if i % args.invite_every == 0 else "feed"
        with (ws / "p.csv").open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        (ws / "program.toml").write_text(
            f'[email]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\nfrom = "m@example.org"\n'
            "messages_per_minute = 100000\n",
            encoding="utf-8",
        )
        seconds, _ = cli(ws, "run", str(ws / "p.csv"), "--out", str(ws / "out"))
        print(f"people {args.people}: run {seconds:.1f} s")
        seconds, out = cli(ws, "notify", "--dry-run", "--out", str(ws / "eml"))
        print(f"notify --dry-run: {seconds:.1f} s ({out})")
        seconds, out = cli(ws, "notify")
        print(f"notify: {seconds:.1f} s, {len(sink.received)} messages received ({out})")
        seconds, out = cli(ws, "notify")
        print(f"notify again: {seconds:.1f} s, {len(sink.received)} messages received in all ({out})")
    controller.stop()


if __name__ == "__main__":
    main()
