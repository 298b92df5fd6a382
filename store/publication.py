"""One commit point for the database and the output directory.

A command that writes ``--out DIR`` works in four steps:

1. **register** a staging directory ``.<DIR>.staging-*`` (mode 0700, a sibling of ``DIR`` so every
   move is a rename on one file system; inside ``DIR`` when ``DIR`` is a mount point) in the
   ``publications`` journal, state ``staging``, in a transaction of its own;
2. write every output into it;
3. in the command's one database transaction, store the new state *and* mark the journal row
   ``committed`` with the list of names to move: this COMMIT is the commit point;
4. **swap**: move each name from the staging directory into ``DIR`` (a file with one
   ``os.replace``; a directory, or anything in the way of one, through ``DIR/.<name>.old``), then
   delete the staging directory and the journal row.

Every step of the swap can be redone from any point, so a command killed at any instant leaves a
journal row that the next command to open the workspace (``serve`` and readers too, when no writer
holds the lock) acts on first: a ``committed`` row is rolled forward, a ``staging`` row is rolled
back (its directory deleted). Either way no staging directory (it holds the private feed URLs)
survives, and the database, ``DIR`` and the served feeds (``feed_documents``) all show the old
state or all show the new one.

``MENTORSYNC_CRASH_AT`` (tests only) names a point where the process kills itself with SIGKILL:
``commit`` (just before the commit point), ``committed`` (just after), ``move:N`` (before the
N-th rename of the swap, from 1), ``swapped`` (after the last rename, before clean-up).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sqlite3
import tempfile
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from cohort.errors import UsageError

CRASH_ENV = "MENTORSYNC_CRASH_AT"
_live: set[int] = set()  # journal rows of this process's command in progress (never recovered)


def crash_point(name: str) -> None:
    """Kill this process with SIGKILL when ``MENTORSYNC_CRASH_AT`` names this point (tests)."""
    wanted = os.environ.get(CRASH_ENV)
    if wanted and wanted == name:
        os.kill(os.getpid(), signal.SIGKILL)


def staging_base(out: Path) -> Path:
    """Where the staging directory of ``out`` goes: beside it, or inside it on another device."""
    out = Path(out).absolute()
    if out.is_dir():
        with contextlib.suppress(OSError):
            if out.stat().st_dev != out.parent.stat().st_dev:
                return out
    return out.parent


def check_out_dir(out: Path) -> None:
    """``UsageError`` when ``out`` cannot become a directory (checked before anything is stored)."""
    out = Path(out)
    if os.path.lexists(out) and not out.is_dir():
        raise UsageError(f"{out}: exists and is not a directory (give another --out)")
    parent = out.absolute().parent
    for p in (parent, *parent.parents):
        if os.path.lexists(p):
            if not p.is_dir():
                raise UsageError(f"{out}: {p} is not a directory (give another --out)")
            break


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def register(con: sqlite3.Connection, out: Path) -> tuple[int, Path]:
    """Create a staging directory for ``out`` and journal it (``staging``); committed by the caller."""
    out = Path(out).absolute()
    base = staging_base(out)
    base.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-", dir=base))  # mode 0700
    cur = con.execute(
        "INSERT INTO publications (stage, out, state, created_at) VALUES (?, ?, 'staging', ?)",
        (str(stage), str(out), _now()),
    )
    _live.add(int(cur.lastrowid or 0))
    return int(cur.lastrowid or 0), stage


def mark_committed(con: sqlite3.Connection, pub_id: int, items: Iterable[str]) -> None:
    """Inside the command's transaction: from its COMMIT on, the outputs must be moved into place."""
    con.execute(
        "UPDATE publications SET state = 'committed', items = ? WHERE id = ?",
        (json.dumps(sorted(items)), pub_id),
    )


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
        if os.path.lexists(path):  # e.g. a read-only subtree: let the error surface
            shutil.rmtree(path)
    elif os.path.lexists(path):
        path.unlink()


def swap(stage: Path, out: Path, items: Iterable[str]) -> None:
    """Move ``items`` from ``stage`` into ``out``; safe to call again after an interruption."""
    stage, out = Path(stage), Path(out)
    names = sorted(items)
    if any(os.path.lexists(stage / n) for n in names):
        out.mkdir(parents=True, exist_ok=True)
    renames = 0

    def rename(source: Path, destination: Path) -> None:
        nonlocal renames
        renames += 1
        crash_point(f"move:{renames}")
        os.replace(source, destination)

    for name in names:
        item, target, aside = stage / name, out / name, out / f".{name}.old"
        if not os.path.lexists(item):  # moved before the interruption
            continue
        if item.is_dir() or (target.is_dir() and not target.is_symlink()):
            if os.path.lexists(target):
                _remove(aside)
                rename(target, aside)
        rename(item, target)
    crash_point("swapped")
    for name in names:
        _remove(out / f".{name}.old")


def finish(
    con: sqlite3.Connection, pub_id: int, stage: Path, out: Path, state: str, items: list[str]
) -> None:
    """Roll a journal row forward (``committed``) or back (``staging``), then forget it."""
    if state == "committed":
        swap(stage, out, items)
    _remove(stage)
    con.execute("DELETE FROM publications WHERE id = ?", (pub_id,))
    _live.discard(pub_id)


def pending(con: sqlite3.Connection) -> list[tuple[int, Path, Path, str, list[str]]]:
    """Journal rows left by an interrupted command, oldest first."""
    try:
        rows = con.execute("SELECT id, stage, out, state, items FROM publications ORDER BY id").fetchall()
    except sqlite3.OperationalError:  # a database older than the journal
        return []
    return [(int(r[0]), Path(r[1]), Path(r[2]), str(r[3]), list(json.loads(r[4]))) for r in rows]


def recover(con: sqlite3.Connection) -> int:
    """Finish every interrupted publication (the caller holds the writer lock); how many."""
    rows = [r for r in pending(con) if r[0] not in _live]
    for pub_id, stage, out, state, items in rows:
        con.execute("BEGIN IMMEDIATE")
        try:
            finish(con, pub_id, stage, out, state, items)
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
    return len(rows)
