"""Backup while `serve` answers requests, restore, retention of private comments."""

from __future__ import annotations

import csv
import shutil
import socket
import sqlite3
import threading
import time
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from pipeline.steps import do_publish
from server import make_server
from store import Workspace
from store.privacy import apply_retention
from tests.cli_helpers import invoke, rows

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"
T1 = datetime(2027, 3, 1, 9, 30, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = tmp_path_factory.mktemp("orig")
    shutil.copy(SAMPLE / "program.toml", ws / "program.toml")
    code, _, err = invoke(ws, "-q", "run", str(SAMPLE / "participants.csv"), "--out", "out")
    assert code == 0, err
    return ws


def test_backup_taken_while_serve_is_hammered_restores_byte_identical(
    workspace: Path, tmp_path: Path
) -> None:
    urls = [r["url"] for r in rows(workspace / "out" / "feeds" / "index.csv")]
    port = free_port()
    server = make_server(workspace, "127.0.0.1", port, max_age=0, log_level="warning")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    stop = threading.Event()
    answered: list[int] = []

    def hammer() -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            i = 0
            while not stop.is_set():
                url = urls[i % len(urls)]
                answered.append(client.get("/feeds/" + url.rsplit("/feeds/", 1)[1]).status_code)
                i += 1

    hammers = [threading.Thread(target=hammer) for _ in range(2)]
    for h in hammers:
        h.start()
    try:
        while len(answered) < 20:
            time.sleep(0.01)
        served_before = len(answered)
        code, out, err = invoke(workspace, "backup", str(tmp_path / "b" / "ws.zip"))
        assert code == 0, err
        # and a publish (a writer) between two backups: each backup is one consistent moment
        do_publish(workspace, tmp_path / "pub-mid", now=T1)
        code, _, err = invoke(workspace, "backup", str(tmp_path / "b" / "ws2.zip"))
        assert code == 0, err
        assert len(answered) > served_before  # serve kept answering during the backups
        served = {
            u: httpx.get(f"http://127.0.0.1:{port}/feeds/" + u.rsplit("/feeds/", 1)[1]).content for u in urls
        }
    finally:
        stop.set()
        for h in hammers:
            h.join(10)
        server.should_exit = True
        thread.join(10)
    assert set(answered) == {200}

    with zipfile.ZipFile(tmp_path / "b" / "ws.zip") as zf:
        assert sorted(zf.namelist()) == ["feeds.key", "manifest.json", "mentorsync.db", "program.toml"]
    assert (tmp_path / "b" / "ws.zip").stat().st_mode & 0o777 == 0o600

    restored = tmp_path / "restored"
    code, _, err = invoke(tmp_path, "--workspace", str(restored), "restore", str(tmp_path / "b" / "ws2.zip"))
    assert code == 0, err
    assert (restored / "feeds.key").read_bytes() == (workspace / "feeds.key").read_bytes()
    # re-publishing both gives the same bytes: feeds, addresses, index
    do_publish(workspace, tmp_path / "pub-a", now=T1 + timedelta(days=1))
    do_publish(restored, tmp_path / "pub-b", now=T1 + timedelta(days=1))
    a, b = tree(tmp_path / "pub-a"), tree(tmp_path / "pub-b")
    assert a == b and len(a) > 10
    # and a whole re-run of the same roster too
    code, _, err = invoke(restored, "-q", "run", str(SAMPLE / "participants.csv"), "--out", "out")
    assert code == 0, err
    code, _, err = invoke(workspace, "-q", "run", str(SAMPLE / "participants.csv"), "--out", "out2")
    assert code == 0, err
    ra, rb = tree(workspace / "out2"), tree(restored / "out")
    volatile = {"summary.json", "report.html"}  # carry timings and the generation time
    assert {k: v for k, v in ra.items() if k not in volatile} == {
        k: v for k, v in rb.items() if k not in volatile
    }
    # the restored workspace serves the same documents at the same addresses
    port = free_port()
    server = make_server(restored, "127.0.0.1", port, max_age=0, log_level="warning")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.02)
        for url, body in served.items():
            r = httpx.get(f"http://127.0.0.1:{port}/feeds/" + url.rsplit("/feeds/", 1)[1])
            assert r.status_code == 200 and r.content == body
    finally:
        server.should_exit = True
        thread.join(10)


def test_restore_refuses_a_newer_schema_and_a_non_empty_workspace(workspace: Path, tmp_path: Path) -> None:
    code, _, err = invoke(workspace, "backup", str(tmp_path / "ws.zip"))
    assert code == 0, err
    target = tmp_path / "t"
    target.mkdir()
    (target / "program.toml").write_text("# mine\n", encoding="utf-8")
    code, _, err = invoke(tmp_path, "-w", str(target), "restore", str(tmp_path / "ws.zip"))
    assert code == 2 and "not empty" in err and "--force" in err
    assert (target / "program.toml").read_text(encoding="utf-8") == "# mine\n"
    code, _, err = invoke(tmp_path, "-w", str(target), "restore", str(tmp_path / "ws.zip"), "--force")
    assert code == 0, err
    assert (target / "program.toml").read_bytes() == (workspace / "program.toml").read_bytes()

    # a backup from a newer mentorsync
    newer = tmp_path / "newer"
    shutil.copytree(workspace, newer, ignore=shutil.ignore_patterns("out*"))
    con = sqlite3.connect(newer / "mentorsync.db")
    con.execute("PRAGMA user_version = 999")
    con.close()
    from store.backup import backup

    backup(newer, tmp_path / "newer.zip")
    empty = tmp_path / "empty"
    code, _, err = invoke(tmp_path, "-w", str(empty), "restore", str(tmp_path / "newer.zip"))
    assert code == 2 and "newer mentorsync" in err and "999" in err
    assert not (empty / "mentorsync.db").exists()

    # a damaged backup
    data = bytearray((tmp_path / "ws.zip").read_bytes())
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(tmp_path / "ws.zip") as zf, zipfile.ZipFile(broken, "w") as out:
        for name in zf.namelist():
            body = zf.read(name)
            out.writestr(name, body + b"x" if name == "program.toml" else body)
    assert data
    code, _, err = invoke(tmp_path, "-w", str(tmp_path / "e2"), "restore", str(broken))
    assert code == 2 and "checksum" in err


# --------------------------------------------------------------------------- retention


def closed_workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    shutil.copy(SAMPLE / "program.toml", ws / "program.toml")
    code, _, err = invoke(ws, "-q", "run", str(SAMPLE / "participants.csv"), "--out", "out")
    assert code == 0, err
    fb = ws / "fb.csv"
    with fb.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["person_id", "partner_id", "continue", "rating", "comment"])
        for r in rows(ws / "out" / "matches.csv"):
            w.writerow([r["mentor_id"], r["mentee_id"], "yes", "5", "RETAIN-ME-UNTIL-DUE"])
    code, _, err = invoke(ws, "cycle", "close", "--feedback", str(fb))
    assert code == 0, err
    return ws


def comments(ws: Path) -> list[str | None]:
    con = sqlite3.connect(ws / "mentorsync.db")
    try:
        return [r[0] for r in con.execute("SELECT comment FROM feedback")]
    finally:
        con.close()


def test_retention_erases_comments_once_due_on_any_open(tmp_path: Path) -> None:
    ws = closed_workspace(tmp_path)
    assert set(comments(ws)) == {"RETAIN-ME-UNTIL-DUE"}
    with Workspace(ws) as w:  # opening the store applies no retention: commands do
        assert apply_retention(w, 30, now=datetime.now(UTC) + timedelta(days=29)) == {}
        assert set(comments(ws)) == {"RETAIN-ME-UNTIL-DUE"}
        cleared = apply_retention(w, 30, now=datetime.now(UTC) + timedelta(days=31))
        assert cleared == {"feedback": len(comments(ws))}
    assert set(comments(ws)) == {None}


def test_retention_setting_applies_when_a_command_opens_the_workspace(tmp_path: Path) -> None:
    ws = closed_workspace(tmp_path)
    toml = (ws / "program.toml").read_text(encoding="utf-8")
    (ws / "program.toml").write_text(toml + "\n[retention]\ncomments_days = 400\n", encoding="utf-8")
    code, _, err = invoke(ws, "cycle", "list")
    assert code == 0, err
    assert set(comments(ws)) == {"RETAIN-ME-UNTIL-DUE"}  # not due yet
    (ws / "program.toml").write_text(toml + "\n[retention]\ncomments_days = 0\n", encoding="utf-8")
    code, _, err = invoke(ws, "cycle", "list")
    assert code == 0, err
    assert set(comments(ws)) == {None}
    with Workspace(ws) as w:  # ratings and verdicts stay: only the free text goes
        assert w.connection.execute("SELECT count(*) FROM feedback WHERE rating = 5").fetchone()[0] > 0
    for f in ws.iterdir():
        if f.name.startswith("mentorsync.db"):
            assert b"RETAIN-ME-UNTIL-DUE" not in f.read_bytes(), f.name
