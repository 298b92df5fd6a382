"""The workspace database: one SQLite file beside ``program.toml``.

Opened with WAL journaling and foreign keys on. The schema is the ordered list of SQL files in
``store/migrations`` (``0001_core.sql``, ``0002_feeds.sql``, ...); ``PRAGMA user_version`` records
how many have been applied, and opening a workspace applies the missing ones in one transaction.
"""

from __future__ import annotations

import contextlib
import secrets
import sqlite3
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

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

    def __init__(self, directory: str | Path, *, create: bool = True, writer: str | None = None):
        self.directory = Path(directory)
        self.db_path = self.directory / DB_NAME
        if not create and not self.db_path.exists():
            raise StoreError(f"no workspace database at {self.db_path} (run `mentorsync import` first)")
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = contextlib.ExitStack()
        if writer is not None:  # held until close(): the whole command
            self._lock.enter_context(writer_lock(self.directory, writer))
        try:
            self.connection = sqlite3.connect(self.db_path, isolation_level=None, timeout=30)
        except BaseException:
            self._lock.close()
            raise
        self.connection.row_factory = sqlite3.Row
        self._depth = 0
        try:
            self.connection.execute("PRAGMA journal_mode=WAL")
            self.connection.execute("PRAGMA foreign_keys=ON")
            self.connection.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
            workspace_secret(self)  # created on first open, so every later read is a pure read
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

    def close(self) -> None:
        try:
            self.connection.close()
        finally:
            self._lock.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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


def workspace_secret(ws: Workspace) -> str:
    """The workspace's random secret (64 hex characters), created the first time it is asked for.

    Private, deterministic identifiers (feed tokens, calendar UIDs) are derived from it with a
    keyed hash, so they are stable across runs yet unguessable from the people's ids.
    """
    row = ws.connection.execute("SELECT value FROM meta WHERE key = 'secret'").fetchone()
    if row is not None:
        return str(row[0])
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
