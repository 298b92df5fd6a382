"""Helpers for the page tests: a real workspace from a generated cohort, and `serve` on a free port."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pipeline.run import run
from sample_data.generate import generate_rows, write_rows
from tests.cli_helpers import rows

PROGRAM = """\
[program]
name = "Test Mentoring"
timezone = "Europe/London"

[cycle]
start = 2027-02-01
weeks = 26

[solver]
workers = 1
seed = 0
match_seconds = 20
schedule_seconds = 20

[feeds]
base_url = "http://127.0.0.1:8080"

[charter]
goals = "Grow together <b>safely</b>."
"""
RUN_AT = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
CLOCK = datetime(2027, 3, 31, 12, 0, tzinfo=UTC)  # every pair's first check-in is open


@dataclass(frozen=True)
class Built:
    workspace: Path
    out: Path
    people: list[dict[str, str]]  # the participants file's rows
    index: list[dict[str, str]]  # feeds/index.csv

    def page_path(self, person_id: str) -> str:
        row = next(r for r in self.index if r["id"] == person_id)
        return "/p/" + row["page_url"].rsplit("/", 1)[1]

    @property
    def coordinator_path(self) -> str:
        return self.page_path("*coordinator*")


def build(
    tmp: Path,
    people: int = 30,
    mentors: int = 10,
    seed: int = 3,
    edit: Callable[[list[dict[str, str]]], None] | None = None,
) -> Built:
    """A workspace with a generated cohort, matched, scheduled and published by `run`."""
    ws = tmp / "ws"
    ws.mkdir(parents=True)
    (ws / "program.toml").write_text(PROGRAM, encoding="utf-8")
    people_rows = generate_rows(people, mentors, seed)
    if edit:
        edit(people_rows)
    write_rows(people_rows, tmp / "people.csv")
    run(ws, tmp / "people.csv", tmp / "out", now=RUN_AT)
    return Built(ws, tmp / "out", people_rows, rows(tmp / "out" / "feeds" / "index.csv"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(workspace: Path, clock: datetime | None = CLOCK, **options: object) -> Iterator[str]:
    """`serve` for the workspace in a thread; yields its base URL."""
    from server import make_server

    port = free_port()
    server = make_server(
        workspace, "127.0.0.1", port, log_level="warning", clock=(lambda: clock) if clock else None, **options
    )  # type: ignore[arg-type]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def form_fields(html: str, index: int = 0) -> dict[str, str]:
    """The hidden fields of the page's ``index``-th check-in form."""
    forms = re.findall(r"<form.*?</form>", html, flags=re.S)
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', forms[index]))


def paired(built: Built) -> list[tuple[str, str]]:
    """(mentor_id, mentee_id) of every pair."""
    return [(r["mentor_id"], r["mentee_id"]) for r in rows(built.out / "matches.csv")]
