"""Coordinator CSVs safe in a spreadsheet, the feed key never re-created silently, private file
modes, read-only workspaces, case-insensitive ids, no empty database left by a failing command,
control characters stripped."""

from __future__ import annotations

import csv
import dataclasses
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from cohort.text import DANGEROUS_START, neutralise, unneutralise, write_csv
from store.db import DB_NAME, Workspace
from tests.cli_helpers import invoke, rows
from tests.tree import source_files

ROOT = Path(__file__).resolve().parent.parent
HEADER = "id,name,email,role,timezone,availability,goals,expertise\n"


def roster(*lines: str) -> str:
    return HEADER + "".join(line + "\n" for line in lines)


HOSTILE = roster(
    '-m1,=HYPERLINK("http://evil.example"),=1+2@evil.example,mentor,UTC,Mon-Fri 09:00-17:00,,python',
    "m2,@SUM(A1),+m2@x.example,mentor,UTC,Mon-Fri 09:00-17:00,,python",
    "-e1,-2+3,-e1@x.example,mentee,Europe/London,Mon-Fri 09:00-17:00,python,",
    "e2,'quoted,'e2@x.example,mentee,America/New_York,Mon-Fri 09:00-17:00,python,",
)


def run_in(tmp_path: Path, text: str, *extra: str) -> tuple[int, str, str, Path, Path]:
    ws = tmp_path / "ws"
    ws.mkdir(exist_ok=True)
    (tmp_path / "p.csv").write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    code, stdout, err = invoke(
        tmp_path, "-q", "--workspace", str(ws), "run", str(tmp_path / "p.csv"), "--out", str(out), *extra
    )
    return code, stdout, err, ws, out


# -------------------------------------------------------------- CSV cells safe in a spreadsheet


def test_every_csv_cell_is_neutralised(tmp_path):
    code, _, err, _, out = run_in(tmp_path, HOSTILE)
    assert code == 0, err
    written = sorted(out.rglob("*.csv"))
    names = {p.relative_to(out).as_posix() for p in written}
    assert {"matches.csv", "unmatched.csv", "candidates.csv", "local_times.csv", "feeds/index.csv"} <= names
    seen_ids: set[str] = set()
    for path in written:
        with path.open(newline="", encoding="utf-8") as fh:
            for record in csv.reader(fh):
                for cell in record:
                    assert not cell.startswith(DANGEROUS_START), (path, cell)
        for row in rows(path):
            seen_ids |= {v for k, v in row.items() if k.endswith("id")}
    assert {"-m1", "-e1"} <= seen_ids  # our reader undoes the guard exactly
    index = {r["id"]: r["email"] for r in rows(out / "feeds" / "index.csv")}
    assert index["-m1"] == "=1+2@evil.example" and index["e2"] == "'e2@x.example"
    raw = (out / "feeds" / "index.csv").read_text(encoding="utf-8")
    assert "'=1+2@evil.example" in raw and "'-m1," in raw and "''e2@x.example" in raw


def test_neutralise_round_trips():
    for text in ["=1+1", "+x", "-x", "@x", "\tx", "\rx", "'x", "''=x", "ok", "", "a=b"]:
        cell = neutralise(text)
        assert not str(cell).startswith(DANGEROUS_START)
        assert unneutralise(str(cell)) == text
    assert neutralise(-5) == -5 and neutralise("a\x00b\x1b") == "ab"


def test_every_csv_writer_uses_the_one_helper():
    """No module writes CSV by itself: ``cohort.text.write_csv`` is the only ``csv.writer``."""
    offenders = []
    for path in source_files():
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(("tests/", "sample_data/", "benchmarks/")) or rel == "cohort/text.py":
            continue
        text = path.read_text(encoding="utf-8")
        if "csv.writer(" in text or "csv.DictWriter(" in text:
            offenders.append(rel)
    assert offenders == []


def test_write_csv_private_mode(tmp_path):
    path = tmp_path / "x.csv"
    write_csv(path, ["a"], [["=1"]], private=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes() == b"a\r\n'=1\r\n"


# ---------------------------------------------------- the feed key is never re-created silently


def test_lost_key_stops_publish_until_rotate_all(tmp_path):
    code, _, err, ws, out = run_in(tmp_path, HOSTILE)
    assert code == 0, err  # the first publish creates the key by itself
    key = ws / "feeds.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    before = {r["id"]: r["url"] for r in rows(out / "feeds" / "index.csv")}
    key.unlink()
    code, _, err = invoke(tmp_path, "--workspace", str(ws), "publish", "--out", str(out))
    assert code == 2 and "feeds.key" in err and "rotate --all" in err and "backup" in err, err
    assert not key.exists()
    assert {r["id"]: r["url"] for r in rows(out / "feeds" / "index.csv")} == before  # nothing written
    code, _, err = invoke(tmp_path, "--workspace", str(ws), "feeds", "rotate", "--", "-m1")
    assert code == 2 and "rotate --all" in err
    code, stdout, err = invoke(tmp_path, "--workspace", str(ws), "feeds", "rotate", "--all")
    assert code == 0 and f"{len(before)} new feed URLs" in stdout, err
    code, stdout, err = invoke(tmp_path, "--workspace", str(ws), "publish", "--out", str(out))
    assert code == 0, err
    after = {r["id"]: r["url"] for r in rows(out / "feeds" / "index.csv")}
    assert after.keys() == before.keys() and not set(after.values()) & set(before.values())
    code, _, err = invoke(tmp_path, "--workspace", str(ws), "feeds", "rotate")
    assert code == 2 and "PERSON_ID or --all" in err


# ------------------------------------- ids, file modes, read-only workspaces, control characters


def test_ids_differing_only_in_case(tmp_path):
    text = roster(
        "Ana,Ana,ana@x.example,mentor,UTC,Mon 09:00-12:00,,python",
        "ana,Ann,ann@x.example,mentee,UTC,Mon 09:00-12:00,python,",
    )
    (tmp_path / "p.csv").write_text(text)
    code, _, err = invoke(tmp_path, "--workspace", str(tmp_path), "validate", str(tmp_path / "p.csv"))
    assert code == 65
    assert f"{tmp_path / 'p.csv'}:3: column 'id': id 'ana' differs only in case from 'Ana'" in err


def test_private_modes(tmp_path):
    code, _, err, ws, out = run_in(tmp_path, HOSTILE)
    assert code == 0, err
    for path in [
        ws / DB_NAME,
        ws / f"{DB_NAME}-wal",
        ws / f"{DB_NAME}-shm",
        ws / "feeds.key",
        out / "feeds" / "index.csv",
    ]:
        if path.exists() or path.name == DB_NAME:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE((out / "feeds").stat().st_mode) == 0o700
    with Workspace(ws) as w:  # the side files while open, too
        w.connection.execute("SELECT 1").fetchone()
        for suffix in ("-wal", "-shm"):
            side = ws / f"{DB_NAME}{suffix}"
            if side.exists():
                assert stat.S_IMODE(side.stat().st_mode) == 0o600
    (ws / DB_NAME).chmod(0o644)  # a workspace made before the rule is tightened on open
    Workspace(ws, create=False).close()
    assert stat.S_IMODE((ws / DB_NAME).stat().st_mode) == 0o600


def test_failing_command_leaves_no_database(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "program.toml").write_text('[matching]\npins = [["m2", "nobody"]]\n')
    code, _, err, ws, out = run_in(tmp_path, HOSTILE)
    assert code in (2, 65, 69), err
    assert not list(ws.glob(f"{DB_NAME}*")), list(ws.iterdir())
    new = tmp_path / "fresh"
    with pytest.raises(RuntimeError), Workspace(new):
        raise RuntimeError("a command failed")
    assert not new.exists()


def test_control_characters_stripped_with_a_warning(tmp_path):
    text = roster(
        "m1,An\x00a\x07 \x1b[31mRed,ana@x.example,mentor,UTC,Mon-Fri 09:00-17:00,,py\x1bthon",
        "e1,B\x9bo,bo@x.example,mentee,UTC,Mon-Fri 09:00-17:00,python,",
    )
    path = tmp_path / "p.csv"
    path.write_text(text, encoding="utf-8")
    code, _, err = invoke(tmp_path, "--workspace", str(tmp_path), "validate", str(path))
    assert code == 0, err
    assert f"{path}:2: column 'name': warning: control characters removed" in err
    assert f"{path}:2: column 'expertise': warning: control characters removed" in err
    assert f"{path}:3: column 'name': warning: control characters removed" in err
    code, _, err, ws, out = run_in(tmp_path, text)
    assert code == 0, err
    for file in [*out.rglob("*.csv"), *out.rglob("*.ics"), out / "report.html", out / "schedule.json"]:
        body = file.read_text(encoding="utf-8")
        assert not any(c in body for c in "\x00\x07\x1b\x9b"), file
    assert "Ana [31mRed" in (out / "report.html").read_text(encoding="utf-8")


def test_report_strings_are_length_limited():
    from report import render_report
    from tests.test_report import demo

    cohort, program, match, schedule = demo()
    huge = "N" * 10_000_000
    people = tuple(dataclasses.replace(p, name=huge + p.id + "\x07") for p in cohort.people)
    cohort = dataclasses.replace(cohort, people=people)
    t = time.perf_counter()
    page = render_report(cohort, program, match, schedule)
    assert time.perf_counter() - t < 60
    assert len(page) < 2_000_000 and "N" * 300 not in page and "\x07" not in page


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root to act as another user"
)
def test_read_only_workspace_serves_lists_and_explains():
    home = Path(tempfile.mkdtemp(prefix="ms-ro-"))
    try:
        home.chmod(0o755)
        code, _, err, ws, out = run_in(home, HOSTILE)
        assert code == 0, err
        url = rows(out / "feeds" / "index.csv")[0]["url"]
        # Another user owns nothing here: to them the workspace is read-only (as a read-only mount).
        for path in [home, *home.rglob("*")]:
            if path.is_dir():
                path.chmod(0o755)
            else:
                path.chmod(0o644)
        as_nobody = [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            sys.executable,
            str(ROOT / "cli.py"),
            "--workspace",
            str(ws),
        ]
        env = {**os.environ, "HOME": str(home), "PYTHONDONTWRITEBYTECODE": "1"}
        probe = subprocess.run([*as_nobody[:6], "--help"], capture_output=True, text=True, env=env)
        if probe.returncode != 0:  # e.g. the checkout or its virtual environment in a 0700 folder
            pytest.skip(f"another user cannot run this checkout's Python here: {probe.stderr.strip()[-200:]}")
        listed = subprocess.run(
            [*as_nobody, "cycle", "list"], capture_output=True, text=True, env=env, timeout=120
        )
        assert listed.returncode == 0 and "open" in listed.stdout, listed.stderr
        explained = subprocess.run(
            [*as_nobody, "explain", "--", "-e1"], capture_output=True, text=True, env=env, timeout=120
        )
        assert explained.returncode == 0 and "-e1" in explained.stdout, explained.stderr
        writer = subprocess.run(
            [*as_nobody, "import", str(home / "p.csv")], capture_output=True, text=True, env=env, timeout=120
        )
        assert writer.returncode == 2 and "read-only" in writer.stderr and "Traceback" not in writer.stderr
        port = _free_port()
        server = subprocess.Popen(
            [*as_nobody, "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            path = url.split("/feeds/", 1)[1]
            body = b""
            for _ in range(100):
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/feeds/{path}", timeout=5) as r:
                        body = r.read()
                    break
                except OSError:
                    if server.poll() is not None:
                        break
                    time.sleep(0.2)
            assert body.startswith(b"BEGIN:VCALENDAR"), (
                server.stderr.read() if server.poll() is not None else ""
            )
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=30)
        assert not (ws / f"{DB_NAME}-journal").exists()
    finally:
        shutil.rmtree(home, ignore_errors=True)
