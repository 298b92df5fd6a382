"""The workspace database: one SQLite file beside ``program.toml``.

Opened with WAL journaling and foreign keys on. The schema is the ordered list of SQL files in
``store/migrations`` (``0001_core.sql``, ``0002_feeds.sql``, ...); ``PRAGMA user_version`` records
how many have been applied, and opening a workspace applies the missing ones in one transaction.
"""

from __future__ import annotations

import contextlib
import sqlite3
from importlib import resources
from pathlib import Path
from typing import Iterator

from cohort.errors import StoreError

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

    def __init__(self, directory: str | Path, *, create: bool = True):
        self.directory = Path(directory)
        self.db_path = self.directory / DB_NAME
        if not create and not self.db_path.exists():
            raise StoreError(f"no workspace database at {self.db_path} (run `mentorsync import` first)")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.connection = sqlite3.connect(self.db_path, isolation_level=None, timeout=30)
        self.connection.row_factory = sqlite3.Row
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("PRAGMA foreign_keys=ON")
        self.connection.execute("PRAGMA synchronous=NORMAL")
        self._migrate()

    def close(self) -> None:
        self.connection.close()

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
        """An immediate write transaction: commits on success, rolls back on any exception."""
        con = self.connection
        if con.in_transaction:  # nested use joins the outer transaction
            yield con
            return
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        else:
            con.execute("COMMIT")


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
