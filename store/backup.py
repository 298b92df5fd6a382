"""``mentorsync backup FILE`` / ``restore FILE``: the workspace in one zip file.

A backup holds ``mentorsync.db`` (a consistent copy made with SQLite's online backup API, so
``serve`` or another reader may keep running), ``feeds.key`` (without it every feed address
changes at the next publish) and ``program.toml`` when present, plus ``manifest.json`` with the
schema version and each file's size and SHA-256. The file is written beside its final name and
moved into place, mode 0600 (it holds the feed key).

``restore`` checks the manifest and every checksum, refuses a backup from a newer schema than
this mentorsync knows (``PRAGMA user_version``), refuses to overwrite a workspace that already
holds any of these files unless ``force``, and moves each file into place only once all of them
are written and checked. A backup from an older schema is upgraded at the next open. The
restored workspace forgets the output directory the original last wrote to (``person erase``
would otherwise re-write the original's files).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cohort.errors import StoreError, UsageError
from store.db import DB_NAME, migrations
from store.lock import writer_lock

FORMAT = "mentorsync-backup"
KEY_FILE = "feeds.key"  # feeds.tokens.KEY_FILE (store does not import feeds)
PROGRAM_FILE = "program.toml"
MANIFEST = "manifest.json"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # zip member times: the manifest holds the real one


@dataclass(frozen=True)
class BackupInfo:
    file: Path
    schema_version: int
    files: dict[str, int]  # name -> bytes
    created_at: str


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _atomic_write(path: Path, data: bytes, mode: int = 0o600) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _snapshot(db_path: Path) -> bytes:
    """A consistent copy of the database, through SQLite's online backup (readers and writers
    may go on; the copy is one point in time)."""
    src = sqlite3.connect(f"file:{db_path.resolve()}?mode=ro", uri=True, timeout=30)
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / DB_NAME
        dst = sqlite3.connect(copy)
        try:
            src.backup(dst)  # all pages in one step: one read transaction, one snapshot
            dst.execute("PRAGMA journal_mode=DELETE")  # a self-contained file, no -wal beside it
        finally:
            dst.close()
            src.close()
        return copy.read_bytes()


def _user_version(data: bytes, where: str) -> int:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / DB_NAME
        path.write_bytes(data)
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            version = int(con.execute("PRAGMA user_version").fetchone()[0])
            check = con.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{where}: the database in the backup cannot be read ({exc})") from exc
        finally:
            con.close()
    if check != "ok":
        raise StoreError(f"{where}: the database in the backup is damaged ({check})")
    return version


def backup(workspace: str | Path, file: str | Path, *, now: datetime | None = None) -> BackupInfo:
    """Write the workspace's database, feed key and ``program.toml`` into the zip ``file``."""
    directory = Path(workspace)
    db_path = directory / DB_NAME
    if not db_path.exists():
        raise StoreError(f"no workspace database at {db_path}: nothing to back up")
    members: dict[str, bytes] = {DB_NAME: _snapshot(db_path)}
    for name in (KEY_FILE, PROGRAM_FILE):
        if (directory / name).exists():
            members[name] = (directory / name).read_bytes()
    version = _user_version(members[DB_NAME], str(db_path))
    created = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0).isoformat()
    manifest = {
        "format": FORMAT,
        "version": 1,
        "schema_version": version,
        "created_at": created,
        "files": {
            name: {"bytes": len(data), "sha256": _sha256(data)} for name, data in sorted(members.items())
        },
    }
    target = Path(file)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, data in [
                (MANIFEST, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()),
                *sorted(members.items()),
            ]:
                zf.writestr(zipfile.ZipInfo(name, _FIXED_TIME), data, compress_type=zipfile.ZIP_DEFLATED)
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return BackupInfo(target, version, {n: len(d) for n, d in members.items()}, created)


def read_backup(file: str | Path) -> tuple[dict, dict[str, bytes]]:
    """The manifest and the files of a backup, every checksum verified; ``StoreError`` if not."""
    path = Path(file)
    try:
        with zipfile.ZipFile(path) as zf:
            manifest = json.loads(zf.read(MANIFEST))
            if manifest.get("format") != FORMAT:
                raise StoreError(
                    f"{path}: not a mentorsync backup (manifest format {manifest.get('format')!r})"
                )
            files = {name: zf.read(name) for name in manifest["files"]}
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise StoreError(f"{path}: not a readable mentorsync backup ({exc})") from exc
    for name, data in files.items():
        want = manifest["files"][name]
        if len(data) != want["bytes"] or _sha256(data) != want["sha256"]:
            raise StoreError(
                f"{path}: {name} does not match its checksum in the manifest (the backup is damaged)"
            )
    if DB_NAME not in files:
        raise StoreError(f"{path}: the backup holds no {DB_NAME}")
    return manifest, files


def restore(workspace: str | Path, file: str | Path, *, force: bool = False) -> BackupInfo:
    """Restore a backup into ``workspace`` (see the module doc)."""
    manifest, files = read_backup(file)
    version = _user_version(files[DB_NAME], str(file))
    known = len(migrations())
    if version > known:
        raise StoreError(
            f"{file} comes from a newer mentorsync (schema version {version}; this one knows up to "
            f"{known}): upgrade mentorsync, then restore it"
        )
    directory = Path(workspace)
    directory.mkdir(parents=True, exist_ok=True)
    present = [n for n in (DB_NAME, KEY_FILE, PROGRAM_FILE) if (directory / n).exists()]
    if present and not force:
        raise UsageError(
            f"{directory} is not empty (it holds {', '.join(present)}); restore into an "
            "empty directory, or add --force to replace it"
        )
    with writer_lock(directory, "restore"):  # no writing command runs meanwhile
        staged: list[tuple[Path, Path]] = []
        try:
            for name in (DB_NAME, KEY_FILE, PROGRAM_FILE):
                if name in files:
                    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".restore", dir=directory)
                    with os.fdopen(fd, "wb") as fh:
                        fh.write(files[name])
                        fh.flush()
                        os.fsync(fh.fileno())
                    os.chmod(tmp, 0o600 if name != PROGRAM_FILE else 0o644)
                    if name == DB_NAME:  # the output directory recorded there belongs to the original
                        con = sqlite3.connect(tmp)
                        try:
                            con.execute("DELETE FROM meta WHERE key = 'last_out_dir'")
                            # the original's unfinished publications name its own folders
                            has = "SELECT 1 FROM sqlite_master WHERE name = 'publications'"
                            if con.execute(has).fetchone():
                                con.execute("DELETE FROM publications")
                            con.commit()
                        finally:
                            con.close()
                    staged.append((Path(tmp), directory / name))
            # the old database's WAL must not be replayed onto the restored file
            for suffix in ("-wal", "-shm", "-journal"):
                (directory / (DB_NAME + suffix)).unlink(missing_ok=True)
            for staged_file, target in staged:
                os.replace(staged_file, target)
            for name in (KEY_FILE, PROGRAM_FILE):
                if name not in files:
                    (directory / name).unlink(missing_ok=True)
        except BaseException:
            for staged_file, _ in staged:
                staged_file.unlink(missing_ok=True)
            raise
    return BackupInfo(
        Path(file), version, {n: len(d) for n, d in files.items()}, str(manifest.get("created_at", ""))
    )
