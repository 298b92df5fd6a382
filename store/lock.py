"""The workspace writer lock: one writing command at a time, readers never wait.

Every command that changes the workspace (``run``, ``import``, ``match``, ``schedule``,
``publish``, ``rematch``, ``cycle close``, ``feeds rotate``/``revoke``) holds an exclusive
``fcntl.flock`` on ``.mentorsync.lock`` in the workspace for its whole duration. The file holds
the holder's pid, command and start time, so a second writer that waited in vain
(``MENTORSYNC_LOCK_WAIT`` seconds, default 30) names it. Readers (``serve``, ``explain``,
``cycle list``/``show``, ``diff``) never take the lock: SQLite's WAL gives them a consistent
snapshot while a writer works.

The lock is per process and re-entrant: nested ``writer_lock`` calls on one workspace share the
first one's lock. The kernel releases it when the process dies, so a killed writer never leaves
the workspace locked.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from cohort.errors import StoreError

LOCK_FILE = ".mentorsync.lock"
WAIT_ENV = "MENTORSYNC_LOCK_WAIT"
DEFAULT_WAIT_SECONDS = 30.0
POLL_SECONDS = 0.05

_held: dict[Path, tuple[int, int]] = {}  # resolved workspace -> (fd, depth)


def _key(directory: Path) -> Path:
    return Path(directory).resolve()


def lock_wait_seconds() -> float:
    """How long a writer waits for the lock (``MENTORSYNC_LOCK_WAIT``, seconds)."""
    raw = os.environ.get(WAIT_ENV, "")
    try:
        return max(0.0, float(raw)) if raw else DEFAULT_WAIT_SECONDS
    except ValueError:
        return DEFAULT_WAIT_SECONDS


def holds_lock(directory: Path) -> bool:
    """Whether this process holds the writer lock of ``directory``."""
    return _key(directory) in _held


def holder(directory: Path) -> str:
    """The current holder in words (pid, command, start time), or ``unknown``."""
    try:
        info = json.loads((Path(directory) / LOCK_FILE).read_text(encoding="utf-8") or "{}")
        return f"pid {info['pid']} (`mentorsync {info['command']}`, started {info['started']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


def _acquire(directory: Path, command: str, wait: float) -> int | None:
    """The locked file descriptor, or ``None`` when ``wait`` ran out."""
    path = Path(directory) / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                return None
            time.sleep(POLL_SECONDS)
    info = {
        "pid": os.getpid(),
        "command": command,
        "started": datetime.now(UTC).replace(microsecond=0).isoformat(),
    }
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
    return fd


@contextlib.contextmanager
def writer_lock(directory: str | Path, command: str, *, wait: float | None = None) -> Iterator[None]:
    """Hold the workspace's writer lock; ``StoreError`` (exit 2) naming the holder after ``wait``."""
    directory = Path(directory)
    key = _key(directory)
    if key in _held:
        fd, depth = _held[key]
        _held[key] = (fd, depth + 1)
        try:
            yield
        finally:
            fd, depth = _held[key]
            _held[key] = (fd, depth - 1)
        return
    directory.mkdir(parents=True, exist_ok=True)
    wait = lock_wait_seconds() if wait is None else wait
    try:
        got = _acquire(directory, command, wait)
    except OSError as exc:
        raise StoreError(f"cannot lock the workspace {directory} for writing: {exc.strerror}") from exc
    if got is None:
        raise StoreError(
            f"the workspace {directory} is in use by {holder(directory)}; waited "
            f"{wait:g} s (try again when it has finished, or set {WAIT_ENV} to wait longer)"
        )
    fd = got
    _held[key] = (fd, 1)
    try:
        yield
    finally:
        del _held[key]
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # closing the descriptor releases the flock


@contextlib.contextmanager
def try_writer_lock(directory: str | Path, command: str) -> Iterator[bool]:
    """The writer lock if it is free right now (``True``), else ``False`` without waiting.

    Used by readers to finish an interrupted publication; a read-only workspace gives ``False``.
    """
    directory = Path(directory)
    if holds_lock(directory):
        yield True
        return
    try:
        fd = _acquire(directory, command, 0.0)
    except OSError:
        fd = None
    if fd is None:
        yield False
        return
    _held[_key(directory)] = (fd, 1)
    try:
        yield True
    finally:
        del _held[_key(directory)]
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)
