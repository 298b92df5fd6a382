"""Benchmark `mentorsync serve`: publish N synthetic feeds, then load the server on loopback.

    python benchmarks/bench_serve.py [--people 10000] [--requests 20000] [--seconds 20]
                                     [--clients 2] [--connections 16] [--publish-only]

The server runs in its own process (uvicorn, as `mentorsync serve` runs it); the load comes from
``--clients`` processes, each keeping ``--connections`` HTTP/1.1 keep-alive connections busy
with raw-socket requests for random feeds (one in ten conditional with If-None-Match, one in
twenty for an unknown token). The load stops after ``--requests`` requests or ``--seconds``
seconds, whichever comes first, and talks to 127.0.0.1 only. Prints requests per second and
latency percentiles.

The first publish of the ``--people`` feeds is timed on its own (wall and CPU seconds, with the
load average, since the machine may be shared); ``--publish-only`` stops there, and
``--republish`` also times a second, unchanged publish (stored documents reused).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cohort.model import Cohort, Person  # noqa: E402
from cohort.program import Program  # noqa: E402
from scheduler.model import Event, Schedule, Series  # noqa: E402

ZONES = (
    "America/New_York",
    "Europe/London",
    "Australia/Sydney",
    "Asia/Kolkata",
    "America/Sao_Paulo",
    "Europe/Berlin",
    "Asia/Tokyo",
    "America/Los_Angeles",
)
DAYS = ("MO", "TU", "WE", "TH", "FR")


def synthetic(people: int) -> tuple[Cohort, Schedule]:
    """``people`` participants in mentor/mentee pairs, each pair a biweekly series plus milestones."""
    persons, series, events = [], [], []
    week = tuple((d * 1440 + 540, d * 1440 + 1020) for d in range(5))
    until = date(2027, 7, 30)
    for n in range(people // 2):
        zone_name = ZONES[n % len(ZONES)]
        zone = ZoneInfo(zone_name)
        mentor, mentee = f"m{n:05d}", f"e{n:05d}"
        for pid, role in ((mentor, "mentor"), (mentee, "mentee")):
            persons.append(
                Person(pid, f"Person {pid}", f"{pid}@example.org", role, zone_name, week, languages=("en",))
            )
        first = date(2027, 2, 1) + timedelta(days=n % 5)
        at = dtime(9 + n % 8, 15 * (n % 4))
        local, starts = first, []
        while local <= until:
            starts.append(datetime.combine(local, at))
            local += timedelta(weeks=2)
        last = datetime.combine(until, dtime(23, 59, 59), zone).astimezone(UTC)
        rule = f"FREQ=WEEKLY;INTERVAL=2;BYDAY={DAYS[first.weekday()]};WKST=MO;UNTIL={last:%Y%m%dT%H%M%SZ}"
        skip = {3}
        series.append(
            Series(
                mentor,
                mentee,
                f"s{n}@bench",
                zone_name,
                starts[0],
                45,
                rule,
                tuple(starts[i] for i in skip),
                tuple(s.replace(tzinfo=zone).astimezone(UTC) for i, s in enumerate(starts) if i not in skip),
                agenda="Goals, progress; next steps",
            )
        )
        for k, (kind, day) in enumerate(
            (
                ("kickoff", date(2027, 2, 1)),
                ("checkin", date(2027, 3, 15)),
                ("checkin", date(2027, 5, 17)),
                ("closing", date(2027, 7, 26)),
            )
        ):
            start = datetime.combine(day, dtime(16), zone).astimezone(UTC)
            events.append(Event(mentor, mentee, f"{kind}{k}-{n}@bench", kind, start, 60, timezone=zone_name))
    return Cohort(tuple(persons), "bench"), Schedule(tuple(series), tuple(events))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _connection(
    port: int,
    paths: list[tuple[bytes, bytes]],
    quota: list[int],
    deadline: float,
    latencies: list[float],
    statuses: dict[int, int],
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    rng = random.Random()
    try:
        while quota[0] > 0 and time.monotonic() < deadline:
            quota[0] -= 1
            path, etag = rng.choice(paths)
            roll = rng.random()
            extra = b""
            if roll < 0.05:
                path = b"/feeds/" + b"x" * 32 + b".ics"
            elif roll < 0.15:
                extra = b"If-None-Match: " + etag + b"\r\n"
            request = b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + b"\r\n"
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            status = int(head[9:12])
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


def _client(
    port: int,
    paths: list[tuple[bytes, bytes]],
    requests: int,
    seconds: float,
    connections: int,
    queue: mp.Queue,
) -> None:
    async def main() -> tuple[list[float], dict[int, int]]:
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        quota = [requests]
        deadline = time.monotonic() + seconds
        await asyncio.gather(
            *[_connection(port, paths, quota, deadline, latencies, statuses) for _ in range(connections)]
        )
        return latencies, statuses

    queue.put(asyncio.run(main()))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=20_000, help="total, across all clients")
    parser.add_argument("--seconds", type=float, default=20.0, help="time limit of the load")
    parser.add_argument("--clients", type=int, default=2, help="load processes")
    parser.add_argument("--connections", type=int, default=16, help="keep-alive connections per client")
    parser.add_argument("--publish-only", action="store_true", help="time publishing, start no server")
    parser.add_argument("--republish", action="store_true", help="also time an unchanged second publish")
    args = parser.parse_args()

    from feeds.publish import publish
    from store.db import Workspace

    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        cohort, schedule = synthetic(args.people)
        load = os.getloadavg()[0]
        t0, c0 = time.perf_counter(), time.process_time()
        with Workspace(Path(tmp) / "ws") as ws:
            result = publish(ws, cohort, schedule, Program(), Path(tmp) / "out")
        took, cpu = time.perf_counter() - t0, time.process_time() - c0
        sample = result.feeds[:200]
        size = sum(len((Path(tmp) / "out" / f.file).read_bytes()) for f in sample) / max(1, len(sample))
        print(
            f"published {len(result.feeds):,} feeds (+ coordinator, {len(schedule.series):,} series, "
            f"{len(schedule.events):,} events) in {took:.2f}s wall, {cpu:.2f}s CPU; "
            f"mean feed {size / 1024:.1f} KiB; load average before {load:.2f}, cpu count {os.cpu_count()}"
        )
        if args.republish:
            t0, c0 = time.perf_counter(), time.process_time()
            with Workspace(Path(tmp) / "ws") as ws:
                again = publish(ws, cohort, schedule, Program(), Path(tmp) / "out")
            changed = sum(f.changed for f in again.feeds)
            print(
                f"re-published unchanged in {time.perf_counter() - t0:.2f}s wall, "
                f"{time.process_time() - c0:.2f}s CPU ({changed} feeds changed)"
            )
        if args.publish_only:
            return
        paths = [(f"/feeds/{f.url.rsplit('/', 1)[1]}".encode(), f.etag.encode()) for f in result.feeds]

        port = free_port()
        log_file = Path(tmp) / "serve.log"
        code = (
            "import logging, sys; from server import serve; "
            f"logging.basicConfig(filename={str(log_file)!r}, level=logging.INFO, format='%(message)s'); "
            f"serve({str(Path(tmp) / 'ws')!r}, '127.0.0.1', {port})"
        )
        server = subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise SystemExit("the server did not start") from None
                    time.sleep(0.1)
            queue: mp.Queue = mp.Queue()
            per_client = args.requests // args.clients
            started = time.perf_counter()
            procs = [
                mp.Process(
                    target=_client, args=(port, paths, per_client, args.seconds, args.connections, queue)
                )
                for _ in range(args.clients)
            ]
            for p in procs:
                p.start()
            results = [queue.get(timeout=args.seconds + 60) for _ in procs]
            elapsed = time.perf_counter() - started
            for p in procs:
                p.join()
        finally:
            server.terminate()
            server.wait(10)
        latencies = sorted(x for lat, _ in results for x in lat)
        statuses: dict[int, int] = {}
        for _, st in results:
            for k, v in st.items():
                statuses[k] = statuses.get(k, 0) + v
        log_lines = log_file.read_text().splitlines() if log_file.exists() else []
        leaked = sum(1 for line in log_lines if any(p.decode() in line for p, _ in paths[:50]))

        def pct(q: float) -> float:
            return 1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))]

        print(
            f"load: {args.clients} client processes x {args.connections} keep-alive connections, "
            f"cpu count {os.cpu_count()}"
        )
        print(
            f"{len(latencies):,} requests in {elapsed:.2f}s = {len(latencies) / elapsed:,.0f} req/s; "
            f"statuses {dict(sorted(statuses.items()))}"
        )
        print(
            f"latency ms: p50 {pct(0.50):.2f}  p90 {pct(0.90):.2f}  p99 {pct(0.99):.2f}  "
            f"max {1000 * latencies[-1]:.2f}  mean {1000 * statistics.fmean(latencies):.2f}"
        )
        print(f"server log: {len(log_lines):,} lines, {leaked} with a token")


if __name__ == "__main__":
    main()
