"""The workspace database: one SQLite file beside ``program.toml``.

Opened with WAL journaling and foreign keys on. The schema is the ordered list of SQL files in
``store/migrations`` (``0001_core.sql``, ``0002_feeds.sql``, ...); ``PRAGMA user_version`` records
how many have been applied, and opening a workspace applies the missing ones in one transaction.

Private: the database holds feedback comments, so it and its ``-wal``/``-shm`` files are mode
0600 (created so, and tightened when an older workspace is opened). A workspace whose directory
or database is not writable (a read-only mount, another user's files) is opened read-only, so
reader commands (``serve``, ``cycle list``, ``explain``) still work; any write then fails with a
clear ``StoreError``. A database created by a command that then failed, storing nothing, is
removed when it is closed, so a failing command in a new workspace leaves no empty database behind.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
import stat
import sys
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from urllib.parse import quote

from cohort.errors import StoreError
from store import publication
from store.lock import try_writer_lock, writer_lock

DB_NAME = "mentorsync.db"


def migrations() -> list[tuple[int, str, str]]:
    """``(version, name, sql)`` for every migration file, in order; versions start at 1."""
    files = sorted(
        (f for f in resources.files("store.migrations").iterdir() if f.name.endswith(".sql")),
        key=lambda f: f.name,
    )
    out = []
    for f in files:
        version = int(f.name.split("_", 1)[0])
        out.append((version, f.name, f.read_text(encoding="utf-8")))
    expected = list(range(1, len(out) + 1))
    if [v for v, _, _ in out] != expected:
        raise StoreError(f"migration files are not numbered 1..n: {[n for _, n, _ in out]}")
    return out


class Workspace:
    """A workspace directory and its database connection.

    Use ``with ws.transaction() as con:`` for every write: either all of it lands or none does.
    """

    def __init__(
        self,
        directory: str | Path,
        *,
        create: bool = True,
        readonly: bool | None = None,
        writer: str | None = None,
    ):
        """Open (or with ``create``, create) the workspace database.

        ``readonly``: None (the default) opens read-only when the directory or the database is
        not writable; True always opens read-only (for commands that only read). ``writer``:
        the command's name; writers hold the workspace lock (``store.lock``) until ``close``.
        The program's retention is applied by the commands (``pipeline.workspace``).
        """
        self.directory = Path(directory)
        self.db_path = self.directory / DB_NAME
        self._depth = 0
        self._created = False
        self._made_directory = False
        self._lock = contextlib.ExitStack()
        exists = self.db_path.exists()
        if not create and not exists:
            raise StoreError(f"no workspace database at {self.db_path} (run `mentorsync import` first)")
        if readonly is None:
            readonly = exists and not (_writable(self.directory) and _writable(self.db_path))
        self.readonly = bool(readonly)
        if self.readonly:
            self.connection = connect_readonly(self.db_path)
        else:
            try:
                if not self.directory.exists():
                    self.directory.mkdir(parents=True, exist_ok=True)
                    self._made_directory = True
                if writer is not None:  # held until close(): the whole command
                    self._lock.enter_context(writer_lock(self.directory, writer))
                self._created = _create_private(self.db_path)
                self.connection = sqlite3.connect(self.db_path, isolation_level=None, timeout=30)
            except (OSError, sqlite3.Error) as exc:
                self._lock.close()
                raise StoreError(
                    f"{self.db_path}: cannot create or open the workspace database: "
                    f"{getattr(exc, 'strerror', None) or exc}"
                ) from None
            except BaseException:
                self._lock.close()
                raise
        self.connection.row_factory = sqlite3.Row
        try:
            if self.readonly:
                self.connection.execute("PRAGMA query_only=ON")
                if self.schema_version != len(migrations()):
                    raise StoreError(
                        f"{self.db_path} is read-only and needs an upgrade (schema {self.schema_version}, "
                        f"this mentorsync has {len(migrations())}); run a command that writes where the "
                        f"workspace is writable"
                    )
            else:
                self.connection.execute("PRAGMA journal_mode=WAL")
                self.connection.execute("PRAGMA foreign_keys=ON")
                self.connection.execute("PRAGMA synchronous=NORMAL")
                self._migrate()
                workspace_secret(self)  # created on first open, so every later read is a pure read
                _tighten(self.db_path)
                self._recover()
        except sqlite3.DatabaseError as exc:  # not a database, or a corrupt one
            self.close()
            raise StoreError(f"{self.db_path}: cannot use the workspace database: {exc}") from exc
        except BaseException:
            self.close()
            raise

    def _recover(self) -> None:
        """Finish a publication an interrupted command left (``store.publication``).

        A writer holds the lock already; a reader finishes it only when no writer is running
        (a running writer's journal rows are its own), and never waits."""
        if not publication.pending(self.connection):
            return
        with try_writer_lock(self.directory, "recover") as locked:
            if locked:
                publication.recover(self.connection)

    def close(self, *, failed: bool | None = None) -> None:
        """Close the connection. When the command failed (``failed``; by default: an exception is
        propagating) and this object created the database and nothing was stored in it, the
        database goes too, so a failing command in a new workspace leaves none behind."""
        if failed is None:
            failed = sys.exc_info()[0] is not None
        try:
            empty = failed and self._created and not self.readonly and _holds_nothing(self.connection)
        except sqlite3.Error:
            empty = False
        try:
            self.connection.close()
        finally:
            self._lock.close()
        if empty:
            for suffix in ("", "-wal", "-shm", "-journal"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f"{self.db_path}{suffix}")
            self._created = False
            if self._made_directory:
                with contextlib.suppress(OSError):
                    self.directory.rmdir()  # only if empty

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.close(failed=exc_type is not None)

    @property
    def schema_version(self) -> int:
        return int(self.connection.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        current = self.schema_version
        pending = [m for m in migrations() if m[0] > current]
        known = len(migrations())
        if current > known:
            raise StoreError(
                f"{self.db_path} has schema version {current}, newer than this mentorsync knows "
                f"({known}); upgrade mentorsync"
            )
        if not pending:
            return
        with self.transaction() as con:
            for version, _name, sql in pending:
                for statement in _split_sql(sql):
                    con.execute(statement)
                con.execute(f"PRAGMA user_version = {version}")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An immediate write transaction: commits on success, rolls back on any exception.

        Nested use joins the outer transaction through a savepoint: an exception inside the inner
        block undoes just that block's writes (and still propagates), so every store function is
        all-or-nothing on its own and when composed into a larger transaction.
        """
        con = self.connection
        if self.readonly:
            raise StoreError(
                f"{self.db_path} is read-only here (the workspace directory or database is "
                "not writable); this command writes: run it where the workspace is writable"
            )
        if con.in_transaction:
            self._depth += 1
            name = f"ms_sp{self._depth}"
            con.execute(f"SAVEPOINT {name}")
            try:
                yield con
            except BaseException:
                if con.in_transaction:  # SQLite may already have rolled everything back (disk full)
                    con.execute(f"ROLLBACK TO {name}")
                    con.execute(f"RELEASE {name}")
                raise
            else:
                con.execute(f"RELEASE {name}")
            finally:
                self._depth -= 1
            return
        try:
            con.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StoreError(f"{self.db_path} is busy ({exc}); is another mentorsync running?") from exc
        try:
            yield con
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        try:
            con.execute("COMMIT")
        except BaseException:  # e.g. a deferred constraint or a full disk: leave nothing half-open
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise


class ReadOnlyWorkspace(Workspace):
    """A workspace opened for reading only (``mentorsync serve``): no migration, no writes.

    Every ``store`` loader works on it; a write raises ``sqlite3.OperationalError``. The
    connection may be used from another thread than the one that opened it (the server's).
    """

    def __init__(self, directory: str | Path):
        super().__init__(directory, create=False, readonly=True)


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK)


def connect_readonly(db_path: Path) -> sqlite3.Connection:
    """A read-only connection; ``immutable`` when SQLite cannot even create the shared-memory file
    a WAL reader needs (a read-only directory), which is safe because nobody can write there."""
    base = "file:" + quote(str(db_path.resolve()))
    con = sqlite3.connect(
        base + "?mode=ro", uri=True, isolation_level=None, timeout=30, check_same_thread=False
    )
    try:
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return con
    except sqlite3.OperationalError:
        con.close()
    con = sqlite3.connect(
        base + "?mode=ro&immutable=1", uri=True, isolation_level=None, check_same_thread=False
    )
    try:
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        con.close()
        raise StoreError(f"{db_path}: cannot read the workspace database: {exc}") from exc
    return con


def _create_private(db_path: Path) -> bool:
    """Create an empty database file with mode 0600 (SQLite gives ``-wal``/``-shm`` the same
    mode); True when this call created it."""
    try:
        fd = os.open(db_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def _tighten(db_path: Path) -> None:
    """Mode 0600 for the database and its side files (workspaces made before this rule)."""
    for suffix in ("", "-wal", "-shm"):
        path = Path(f"{db_path}{suffix}")
        with contextlib.suppress(OSError):
            if stat.S_IMODE(path.stat().st_mode) & 0o077:
                path.chmod(0o600)


def _holds_nothing(con: sqlite3.Connection) -> bool:
    """Whether every table but ``meta`` is empty (a database no command stored anything in)."""
    tables = [
        r[0]
        for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' AND name != 'meta'"
        )
    ]
    return not any(con.execute(f'SELECT 1 FROM "{t}" LIMIT 1').fetchone() for t in tables)


def stored_secret(ws: Workspace) -> str | None:
    """The workspace's secret if it has one (a pure read, for read-only workspaces)."""
    row = ws.connection.execute("SELECT value FROM meta WHERE key = 'secret'").fetchone()
    return None if row is None else str(row[0])


def workspace_secret(ws: Workspace) -> str:
    """The workspace's random secret (64 hex characters), created the first time it is asked for.

    Private, deterministic identifiers (feed tokens, calendar UIDs) are derived from it with a
    keyed hash, so they are stable across runs yet unguessable from the people's ids.
    """
    secret = stored_secret(ws)
    if secret is not None:
        return secret
    with ws.transaction() as con:
        con.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('secret', ?)", (secrets.token_hex(32),))
        row = con.execute("SELECT value FROM meta WHERE key = 'secret'").fetchone()
    return str(row[0])


def _split_sql(sql: str) -> list[str]:
    """Split a migration into statements (``executescript`` would commit our transaction)."""
    statements, buf = [], []
    for line in sql.splitlines():
        buf.append(line)
        if sqlite3.complete_statement("\n".join(buf)):
            text = "\n".join(buf).strip()
            if text.strip(";").strip():
                statements.append(text)
            buf = []
    if "".join(buf).strip():
        statements.append("\n".join(buf))
    return statements
