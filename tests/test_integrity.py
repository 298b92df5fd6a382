"""One commit point, no debris, deterministic re-runs, a writer lock.

The fault-injection tests run ``mentorsync`` in a subprocess that kills itself with SIGKILL at a
named point (``MENTORSYNC_CRASH_AT``, see ``store.publication``) or is killed at a random moment,
then check that the database, ``out/`` and the served feeds (``feed_documents``) all hold the old
state or all hold the new one once the next command has opened the workspace, that no staging is
left, and that re-running gives the bytes of an uninterrupted run.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sample_data.generate import main as generate
from store.db import Workspace
from store.lock import LOCK_FILE, writer_lock
from tests.cli_helpers import invoke, rows

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = ROOT / "sample_data" / "program.toml"
EPOCH = "1790000000"  # SOURCE_DATE_EPOCH: the publish clock, so re-runs are byte-comparable


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)  # in-process commands too


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MENTORSYNC_CRASH_AT", "MENTORSYNC_LOCK_WAIT")}
    return {**env, "SOURCE_DATE_EPOCH": EPOCH, "PYTHONPATH": str(ROOT), **extra}


def _cli(ws: Path, *args: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), "-q", *args],
        cwd=ws,
        env=_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _run(ws: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    proc = _cli(ws, *args, **env)
    out, err = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _cohort(path: Path, people: int, seed: int) -> Path:
    generate(["--people", str(people), "--seed", str(seed), "--out", str(path)])
    return path


def _without_timings(value: object) -> object:
    if isinstance(value, dict):
        return {
            k: _without_timings(v) for k, v in value.items() if "seconds" not in k and k != "timings_seconds"
        }
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


def outputs(out: Path) -> dict[str, bytes]:
    """Every file under ``out`` (hidden ones too), timings taken out of summary.json and the
    report (two runs of the same input differ only there)."""
    files = {}
    for path in sorted(out.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if path.name == "summary.json":
                data = json.dumps(_without_timings(json.loads(data)), indent=1).encode()
            elif path.name == "report.html":  # the report shows the solve time, to 0.01 s
                data = re.sub(rb"<tr><th>solve time</th>.*?</tr>", b"", data)
            files[str(path.relative_to(out))] = data
    return files


def db_state(ws: Path) -> tuple:
    """What the workspace decides and serves: cycles, pairs, series, served feeds and tokens."""
    con = sqlite3.connect(ws / "mentorsync.db")
    try:
        return (
            con.execute("SELECT id, start, status FROM cycles ORDER BY id").fetchall(),
            con.execute(
                "SELECT cycle_id, mentor_id, mentee_id, score FROM pairs ORDER BY 1, 2, 3"
            ).fetchall(),
            con.execute("SELECT uid, dtstart FROM series ORDER BY uid").fetchall(),
            con.execute("SELECT person_id, etag FROM feed_documents ORDER BY person_id").fetchall(),
            con.execute("SELECT token_hash, revoked_at FROM feed_tokens ORDER BY 1").fetchall(),
            con.execute("SELECT cycle_id, count(*) FROM participants GROUP BY 1 ORDER BY 1").fetchall(),
        )
    finally:
        con.close()


def debris(ws: Path, out: Path) -> list[str]:
    found = [p.name for p in out.parent.glob(f".{out.name}.staging-*")]
    found += [p.name for p in out.glob(".*.old")] if out.is_dir() else []
    con = sqlite3.connect(ws / "mentorsync.db")
    try:
        found += [f"journal {r}" for r in con.execute("SELECT stage, state FROM publications")]
    finally:
        con.close()
    return found


def _workspace(base: Path, name: str) -> Path:
    ws = base / name
    ws.mkdir(parents=True)
    shutil.copy(PROGRAM, ws / "program.toml")
    return ws


def _clone(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _recover(ws: Path) -> None:
    """Any command that opens the workspace finishes an interrupted publication: a reader here."""
    code, _, err = invoke(ws, "cycle", "list")
    assert code == 0, err


# -------------------------------- one commit point: old or new everywhere after a kill


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A finished workspace (``run`` of cohort A, an unrelated file in out/), the old and new
    states, and how long the new ``run`` of cohort B takes uninterrupted."""
    base = tmp_path_factory.mktemp("finished")
    a, b = _cohort(base / "a.csv", 60, 1), _cohort(base / "b.csv", 60, 2)
    ws = _workspace(base, "ws0")
    assert _run(ws, "run", str(a), "--out", "o").returncode == 0
    (ws / "o" / "notes.txt").write_text("the coordinator's own file\n", encoding="utf-8")
    old = (outputs(ws / "o"), db_state(ws))
    ref = _clone(ws, base / "ref")
    t = time.perf_counter()
    done = _run(ref, "run", str(b), "--out", "o")
    seconds = time.perf_counter() - t
    assert done.returncode == 0, done.stderr
    new = (outputs(ref / "o"), db_state(ref))
    assert old[0] != new[0] and old[1] != new[1]
    assert debris(ref, ref / "o") == []
    return {"base": base, "ws": ws, "a": a, "b": b, "old": old, "new": new, "seconds": seconds}


def _crashed_run(finished: dict, name: str, **env: str) -> Path:
    ws = _clone(finished["ws"], finished["base"] / name)
    done = _run(ws, "run", str(finished["b"]), "--out", "o", **env)
    assert done.returncode == -signal.SIGKILL, done.stderr
    return ws


def _state(ws: Path) -> tuple:
    return outputs(ws / "o"), db_state(ws)


def differences(got: tuple, want: tuple) -> list[str]:
    """Which output files and database parts differ (empty: the same state)."""
    files = sorted(k for k in {*got[0], *want[0]} if got[0].get(k) != want[0].get(k))
    parts = ["cycles", "pairs", "series", "feed_documents", "feed_tokens", "participants"]
    return files + [f"db:{n}" for n, x, y in zip(parts, got[1], want[1], strict=True) if x != y]


@pytest.mark.parametrize(
    "point, expected",
    [
        ("commit", "old"),
        ("committed", "new"),
        ("move:1", "new"),
        ("move:2", "new"),
        ("move:3", "new"),
        ("move:9", "new"),
        ("swapped", "new"),
    ],
)
def test_a_kill_before_each_move_leaves_old_or_new_everywhere(
    finished: dict, point: str, expected: str
) -> None:
    ws = _crashed_run(finished, f"crash-{point.replace(':', '-')}", MENTORSYNC_CRASH_AT=point)
    _recover(ws)
    assert differences(_state(ws), finished[expected]) == []
    assert debris(ws, ws / "o") == []
    if point in ("commit", "move:2"):  # a re-run is byte-identical to an uninterrupted one
        code, _, err = invoke(ws, "-q", "run", str(finished["b"]), "--out", "o")
        assert code == 0, err
        assert differences(_state(ws), finished["new"]) == []
        assert debris(ws, ws / "o") == []


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("feeds_kind", ["folder", "file"])
def test_a_swap_killed_before_any_move_is_redone_by_the_next_command(tmp_path: Path, feeds_kind: str) -> None:
    """Every rename of the swap, one kill each (a forked child: no solver needed)."""
    from store import Workspace, publication

    names = {"a.csv": b"new a\n", "feeds/x.ics": b"new x\n", "z.json": b"new z\n"}
    moves = 0
    for n in range(1, 10):
        base = tmp_path / f"kill-{n}"
        out = base / "o"
        (out / "sub").mkdir(parents=True)
        (out / "notes.txt").write_bytes(b"mine\n")
        (out / "a.csv").write_bytes(b"old a\n")
        if feeds_kind == "folder":
            (out / "feeds").mkdir()
            (out / "feeds" / "y.ics").write_bytes(b"old y\n")
        else:
            (out / "feeds").write_bytes(b"a regular file\n")
        Workspace(base / "ws").close()
        pid = os.fork()
        if pid == 0:  # the child: stage, commit and swap, killed before the n-th rename
            with Workspace(base / "ws", writer="test") as ws:
                with ws.transaction() as con:
                    pub_id, stage = publication.register(con, out)
                for name, data in names.items():
                    (stage / name).parent.mkdir(exist_ok=True)
                    (stage / name).write_bytes(data)
                items = sorted(p.name for p in stage.iterdir())
                with ws.transaction() as con:
                    publication.mark_committed(con, pub_id, items)
                os.environ[publication.CRASH_ENV] = f"move:{n}"
                publication.swap(stage, out, items)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status):
            assert os.WTERMSIG(status) == signal.SIGKILL
            moves = n
        Workspace(base / "ws", create=False).close()  # the next command rolls forward
        assert _files(out) == {"notes.txt": b"mine\n", **names}
        assert not list(base.glob(".o.staging-*")) and not list(out.glob(".*.old"))
    assert moves == 4  # a.csv, feeds aside, feeds in, z.json: every one was hit


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_kills_of_run_leave_old_or_new_everywhere(finished: dict, seed: int) -> None:
    ws = _clone(finished["ws"], finished["base"] / f"random-{seed}")
    proc = _cli(ws, "run", str(finished["b"]), "--out", "o")
    time.sleep(random.Random(seed).uniform(0.3, finished["seconds"]))
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    _recover(ws)
    assert _state(ws) in (finished["old"], finished["new"])
    assert debris(ws, ws / "o") == []


def test_serve_finishes_an_interrupted_publication(finished: dict) -> None:
    from server import create_app

    ws = _crashed_run(finished, "serve", MENTORSYNC_CRASH_AT="move:2")
    create_app(ws)  # what `mentorsync serve` does before it listens
    assert differences(_state(ws), finished["new"]) == []
    assert debris(ws, ws / "o") == []


def test_feeds_as_a_regular_file_is_replaced_at_once(finished: dict) -> None:
    ws = _clone(finished["ws"], finished["base"] / "feeds-file")
    shutil.rmtree(ws / "o" / "feeds")
    (ws / "o" / "feeds").write_text("not a folder\n", encoding="utf-8")
    done = _run(ws, "run", str(finished["b"]), "--out", "o", MENTORSYNC_CRASH_AT="move:1")
    assert done.returncode == -signal.SIGKILL
    _recover(ws)
    assert differences(_state(ws), finished["new"]) == []
    assert debris(ws, ws / "o") == []


def test_out_being_a_file_is_a_usage_error_and_changes_nothing(finished: dict) -> None:
    ws = _clone(finished["ws"], finished["base"] / "out-file")
    (ws / "x").write_text("a file\n", encoding="utf-8")
    before = db_state(ws)
    code, _, err = invoke(ws, "-q", "run", str(finished["b"]), "--out", "x")  # click refuses it
    assert code == 2 and "is a file" in err
    code, _, err = invoke(ws, "-q", "run", str(finished["b"]), "--out", "x/o")
    assert code == 2 and "not a directory" in err
    assert db_state(ws) == before and debris(ws, ws / "x") == []


@pytest.fixture(scope="module")
def rematched(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A workspace whose second cycle was re-matched (finished), then a re-match with a roster
    where five people left: old and new states."""
    base = tmp_path_factory.mktemp("rematched")
    a = _cohort(base / "a.csv", 60, 3)
    ws = _workspace(base, "ws0")
    assert _run(ws, "run", str(a), "--out", "o").returncode == 0
    pairs = rows(ws / "o" / "matches.csv")
    lines = ["person_id,partner_id,continue"]
    for i, p in enumerate(pairs):
        answer = ("yes", "no", "yes")[i % 3]
        lines += [f"{p['mentor_id']},{p['mentee_id']},{answer}", f"{p['mentee_id']},{p['mentor_id']},yes"]
    (base / "fb.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, _, err = invoke(ws, "-q", "cycle", "close", "--feedback", str(base / "fb.csv"))
    assert code == 0, err
    toml = ws / "program.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace("start = 2027-02-01", "start = 2027-08-02"), encoding="utf-8"
    )
    assert _run(ws, "rematch", str(a), "--out", "o").returncode == 0
    text = a.read_text(encoding="utf-8").splitlines()
    b = base / "b.csv"
    b.write_text("\n".join(text[:-5]) + "\n", encoding="utf-8")
    old = (outputs(ws / "o"), db_state(ws))
    ref = _clone(ws, base / "ref")
    t = time.perf_counter()
    assert _run(ref, "rematch", str(b), "--out", "o").returncode == 0
    seconds = time.perf_counter() - t
    new = (outputs(ref / "o"), db_state(ref))
    assert old != new
    return {"base": base, "ws": ws, "b": b, "old": old, "new": new, "seconds": seconds}


@pytest.mark.parametrize("point, expected", [("commit", "old"), ("move:2", "new"), ("swapped", "new")])
def test_a_kill_of_rematch_leaves_old_or_new_everywhere(rematched: dict, point: str, expected: str) -> None:
    ws = _clone(rematched["ws"], rematched["base"] / f"crash-{point.replace(':', '-')}")
    done = _run(ws, "rematch", str(rematched["b"]), "--out", "o", MENTORSYNC_CRASH_AT=point)
    assert done.returncode == -signal.SIGKILL
    _recover(ws)
    assert differences(_state(ws), rematched[expected]) == []
    assert debris(ws, ws / "o") == []
    code, _, err = invoke(ws, "-q", "rematch", str(rematched["b"]), "--out", "o")
    assert code == 0, err
    assert differences(_state(ws), rematched["new"]) == []


@pytest.mark.parametrize("seed", [4, 5])
def test_random_kills_of_rematch_leave_old_or_new_everywhere(rematched: dict, seed: int) -> None:
    ws = _clone(rematched["ws"], rematched["base"] / f"random-{seed}")
    proc = _cli(ws, "rematch", str(rematched["b"]), "--out", "o")
    time.sleep(random.Random(seed).uniform(0.3, rematched["seconds"]))
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    _recover(ws)
    assert _state(ws) in (rematched["old"], rematched["new"])
    assert debris(ws, ws / "o") == []


# ------------------------------------------------------------------- no staging debris


def test_staging_is_private_and_removed_by_the_next_command(finished: dict) -> None:
    ws = _crashed_run(finished, "debris", MENTORSYNC_CRASH_AT="commit")
    stages = list(ws.glob(".o.staging-*"))
    assert len(stages) == 1 and (stages[0].stat().st_mode & 0o777) == 0o700
    assert (stages[0] / "feeds" / "index.csv").exists()  # the private URLs: why it must go
    _recover(ws)
    assert debris(ws, ws / "o") == []
    assert _state(ws) == finished["old"]


def test_a_successful_rerun_leaves_no_staging_and_no_old_feeds(finished: dict) -> None:
    ws = _clone(finished["ws"], finished["base"] / "leftovers")
    (ws / "o" / ".feeds.old").mkdir()  # left by an older mentorsync
    (ws / "o" / ".feeds.old" / "x.ics").write_text("old\n", encoding="utf-8")
    code, _, err = invoke(ws, "-q", "run", str(finished["b"]), "--out", "o")
    assert code == 0, err
    assert debris(ws, ws / "o") == []
    assert (ws / "o" / "notes.txt").exists()  # other files in out/ stay


# --------------------------------------------------------------- deterministic re-runs


def _twice(ws: Path, *args: str) -> tuple[dict[str, bytes], dict[str, bytes]]:
    code, _, err = invoke(ws, "-q", *args)
    assert code == 0, err
    first = outputs(ws / "o")
    code, _, err = invoke(ws, "-q", *args)
    assert code == 0, err
    return first, outputs(ws / "o")


def test_run_and_rematch_again_on_1500_people_change_no_byte(tmp_path: Path) -> None:
    people = _cohort(tmp_path / "p.csv", 1500, 11)
    ws = _workspace(tmp_path, "ws")
    first, again = _twice(ws, "run", str(people), "--out", "o")
    summary = json.loads(first["summary.json"])
    assert summary["repair"].get("augmented", 0) > 0  # the large-cohort repair (the final pass) ran
    assert first == again
    pairs = rows(ws / "o" / "matches.csv")
    lines = ["person_id,partner_id,continue"]
    for i, p in enumerate(pairs):
        answer = ("yes", "no", "yes", "")[i % 4]
        if answer:
            lines += [f"{p['mentor_id']},{p['mentee_id']},{answer}", f"{p['mentee_id']},{p['mentor_id']},yes"]
    (tmp_path / "fb.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, _, err = invoke(ws, "-q", "cycle", "close", "--feedback", str(tmp_path / "fb.csv"))
    assert code == 0, err
    toml = ws / "program.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace("start = 2027-02-01", "start = 2027-08-02"), encoding="utf-8"
    )
    first, again = _twice(ws, "rematch", str(people), "--out", "o")
    assert first == again


def test_equal_inputs_in_two_workspaces_give_equal_plans(tmp_path: Path) -> None:
    """No dependence on the previous run, set order or machine load: two fresh workspaces agree
    on every output that does not carry the workspace's private ids (tokens, UIDs)."""
    people = _cohort(tmp_path / "p.csv", 120, 12)
    got = []
    for name in ("one", "two"):
        ws = _workspace(tmp_path, name)
        code, _, err = invoke(ws, "-q", "run", str(people), "--out", "o")
        assert code == 0, err
        files = outputs(ws / "o")
        got.append({k: files[k] for k in ("matches.csv", "unmatched.csv", "candidates.csv", "summary.json")})
    assert got[0] == got[1]


@pytest.mark.slow
def test_no_output_depends_on_the_string_hash_seed(tmp_path: Path) -> None:
    """Two processes with different ``PYTHONHASHSEED`` (so different set orders of ids), the same
    workspace secret and feed key: every output byte is the same but timings. On this cohort a set
    of person ids once ordered the schedule model's constraints, and two equally good slots
    swapped between runs."""
    people = _cohort(tmp_path / "p.csv", 2000, 1)
    got = []
    key = None
    for seed in ("1", "2"):
        ws = _workspace(tmp_path, f"seed{seed}")
        workspace = Workspace(ws)
        with workspace.transaction() as c:
            c.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('secret', ?)", ("s" * 32,))
        workspace.close()
        if key is not None:
            (ws / "feeds.key").write_bytes(key)
        done = _run(ws, "run", str(people), "--out", "o", PYTHONHASHSEED=seed)
        assert done.returncode == 0, done.stderr
        key = (ws / "feeds.key").read_bytes()
        got.append(outputs(ws / "o"))
    assert got[0].keys() == got[1].keys()
    assert [k for k in got[0] if got[0][k] != got[1][k]] == []


def test_the_step_commands_again_change_no_byte(tmp_path: Path) -> None:
    people = _cohort(tmp_path / "p.csv", 80, 13)
    ws = _workspace(tmp_path, "ws")
    code, _, err = invoke(ws, "-q", "import", str(people))
    assert code == 0, err
    for step in ("match", "schedule", "publish"):
        first, again = _twice(ws, step, "--out", "o")
        assert first == again, step


# ---------------------------------------------------------------- one writer at a time


_HOLDER = """
import sys, time
sys.path.insert(0, sys.argv[2])
from store.lock import writer_lock
with writer_lock(sys.argv[1], "run"):
    print("held", flush=True)
    sys.stdin.read()
"""


def test_a_second_writer_fails_naming_the_holder_and_readers_go_on(finished: dict) -> None:
    ws = _clone(finished["ws"], finished["base"] / "locked")
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(ws), str(ROOT)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        before = _state(ws)
        for args in (("run", str(finished["b"]), "--out", "o"), ("import", str(finished["b"]))):
            t = time.perf_counter()
            done = _run(ws, *args, MENTORSYNC_LOCK_WAIT="1")
            assert done.returncode == 2, done.stderr
            assert f"pid {holder.pid}" in done.stderr and "mentorsync run" in done.stderr
            assert time.perf_counter() - t >= 1.0
        assert _state(ws) == before
        # readers are never blocked
        for args in (
            ("cycle", "list"),
            ("cycle", "show", "1"),
            ("explain", rows(ws / "o" / "matches.csv")[0]["mentor_id"]),
        ):
            code, _, err = invoke(ws, *args)
            assert code == 0, (args, err)
        waiting = _cli(ws, "run", str(finished["b"]), "--out", "o", MENTORSYNC_LOCK_WAIT="60")
        time.sleep(0.5)
        assert waiting.poll() is None
    finally:
        holder.communicate("")  # releases the lock
    out, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, err
    assert differences(_state(ws), finished["new"]) == []


def test_two_concurrent_runs_never_both_succeed_silently(
    finished: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = _clone(finished["ws"], finished["base"] / "concurrent")
    first = _cli(ws, "run", str(finished["b"]), "--out", "o")
    lock = ws / LOCK_FILE
    deadline = time.monotonic() + 60
    while f'"pid": {first.pid}' not in (lock.read_text(encoding="utf-8") if lock.exists() else ""):
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.01)
    monkeypatch.setenv("MENTORSYNC_LOCK_WAIT", "0")
    code, _, err = invoke(ws, "-q", "run", str(finished["a"]), "--out", "o")
    assert code == 2 and f"pid {first.pid}" in err and "mentorsync run" in err
    _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert differences(_state(ws), finished["new"]) == []


def test_the_lock_is_reentrant_and_released(tmp_path: Path) -> None:
    with writer_lock(tmp_path, "run"), writer_lock(tmp_path, "publish"):
        assert json.loads((tmp_path / LOCK_FILE).read_text(encoding="utf-8"))["command"] == "run"
    with writer_lock(tmp_path, "import", wait=0):
        pass
