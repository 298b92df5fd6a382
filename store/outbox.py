"""The outbox table: every message recorded before it is sent, and its delivery status.

Statuses: ``pending`` (recorded, not yet sent, or a network error interrupted it), ``sending``
(the transfer started; found so at the next run only if the process died between the server's
reply and the mark: it is sent again, with the same bytes and Message-ID), ``sent``, ``failed``
(the server refused it; retried at the next run). Each status change is its own short
transaction, committed before the next message is attempted (``notify.outbox`` decides what to
record; ``pipeline.notify`` sends).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from store.db import Workspace

UNSENT = ("pending", "sending", "failed")

_COLUMNS = (
    "id, person_id, recipient, kind, uid, sequence, subject, message_id, status, attempts, "
    "last_error, created_at, sent_at"
)


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class Row:
    """One outbox message, as ``notify --status`` lists it."""

    id: int
    person_id: str
    recipient: str
    kind: str
    uid: str | None
    sequence: int | None
    subject: str
    message_id: str
    status: str
    attempts: int
    last_error: str | None
    created_at: str
    sent_at: str | None

    def as_json(self) -> dict[str, object]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Recorded:
    """What a recorded message told its person: its kind, event and the state it carried."""

    id: int
    person_id: str
    kind: str
    uid: str | None
    sequence: int | None
    state: Mapping[str, Any]


class Message(Protocol):
    """A message to record (``notify.compose.Outgoing`` is one)."""

    @property
    def person_id(self) -> str: ...

    @property
    def recipient(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def uid(self) -> str | None: ...

    @property
    def sequence(self) -> int | None: ...

    @property
    def content_hash(self) -> str: ...

    @property
    def message_id(self) -> str: ...

    @property
    def subject(self) -> str: ...

    @property
    def state(self) -> Mapping[str, Any]: ...

    @property
    def body(self) -> bytes: ...


def recorded(ws: Workspace) -> list[Recorded]:
    """Every recorded message, sent or not, oldest first."""
    cur = ws.connection.execute("SELECT id, person_id, kind, uid, sequence, state FROM outbox ORDER BY id")
    return [Recorded(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in cur]


def message_body(ws: Workspace, row_id: int) -> bytes:
    """The bytes of one recorded message."""
    return bytes(ws.connection.execute("SELECT body FROM outbox WHERE id = ?", (row_id,)).fetchone()[0])


def record(ws: Workspace, messages: Iterable[Message]) -> list[int]:
    """Queue ``messages`` (status ``pending``) in one transaction; returns their row ids.

    A message whose content hash is already recorded is not queued twice."""
    ids: list[int] = []
    stamp = _now()
    with ws.transaction() as con:
        for m in messages:
            try:
                cur = con.execute(
                    "INSERT INTO outbox (person_id, recipient, kind, uid, sequence, content_hash, "
                    "message_id, subject, state, body, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        m.person_id,
                        m.recipient,
                        m.kind,
                        m.uid,
                        m.sequence,
                        m.content_hash,
                        m.message_id,
                        m.subject,
                        json.dumps(m.state, sort_keys=True),
                        m.body,
                        stamp,
                    ),
                )
            except sqlite3.IntegrityError:
                continue
            ids.append(int(cur.lastrowid or 0))
    return ids


def unsent(ws: Workspace, people: Iterable[str] | None = None) -> list[tuple[Row, bytes]]:
    """Messages still to deliver (pending, interrupted or refused), oldest first, with their bytes."""
    wanted = set(people) if people is not None else None
    out = []
    for r in ws.connection.execute(
        f"SELECT {_COLUMNS}, body FROM outbox WHERE status IN (?,?,?) ORDER BY id", UNSENT
    ):
        row = Row(*tuple(r)[:-1])
        if wanted is None or row.person_id in wanted:
            out.append((row, bytes(r[-1])))
    return out


def rows(ws: Workspace) -> list[Row]:
    """Every message of the outbox, oldest first."""
    return [Row(*tuple(r)) for r in ws.connection.execute(f"SELECT {_COLUMNS} FROM outbox ORDER BY id")]


def mark(ws: Workspace, row_id: int, status: str, error: str | None = None) -> None:
    """Set one message's status in its own committed transaction (``sending`` counts an attempt)."""
    with ws.transaction() as con:
        if status == "sending":
            con.execute(
                "UPDATE outbox SET status = 'sending', attempts = attempts + 1 WHERE id = ?", (row_id,)
            )
        elif status == "sent":
            con.execute(
                "UPDATE outbox SET status = 'sent', sent_at = ?, last_error = NULL WHERE id = ?",
                (_now(), row_id),
            )
        else:
            con.execute("UPDATE outbox SET status = ?, last_error = ? WHERE id = ?", (status, error, row_id))
