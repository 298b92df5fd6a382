"""The outbox: every message recorded before it is sent, marked sent once the server accepted it.

Statuses: ``pending`` (recorded, not yet sent, or a network error interrupted it), ``sending``
(the transfer started; found so at the next run only if the process died between the server's
reply and the mark: it is sent again, with the same bytes and Message-ID), ``sent``, ``failed``
(the server refused it; retried at the next run). Each status change is its own short
transaction, committed before the next message is attempted.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default as default_policy
from functools import partial

from notify.compose import Outgoing, Sent, Told
from store.db import Workspace

UNSENT = ("pending", "sending", "failed")


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


_COLUMNS = (
    "id, person_id, recipient, kind, uid, sequence, subject, message_id, status, attempts, "
    "last_error, created_at, sent_at"
)


def _ics_of(body: bytes) -> bytes:
    for part in message_from_bytes(body, policy=default_policy).walk():
        if part.get_content_type() == "text/calendar":
            return bytes(part.get_payload(decode=True))
    return b""


def _stored_ics(ws: Workspace, row_id: int) -> bytes:
    """The calendar part of a recorded invitation (read only when a cancellation needs it)."""
    body = ws.connection.execute("SELECT body FROM outbox WHERE id = ?", (row_id,)).fetchone()[0]
    return _ics_of(bytes(body))


def told(ws: Workspace, people: Iterable[str] | None = None) -> dict[str, Told]:
    """What each person was last told, from every recorded message (sent or still to be sent:
    a recorded message will be delivered, so the next notice builds on it)."""
    wanted = set(people) if people is not None else None
    notices: dict[str, tuple[int, dict]] = {}
    invites: dict[str, dict[str, Sent]] = {}
    cur = ws.connection.execute("SELECT id, person_id, kind, uid, sequence, state FROM outbox ORDER BY id")
    rows = [tuple(r) for r in cur]
    for row_id, pid, kind, uid, sequence, state in rows:
        if wanted is not None and pid not in wanted:
            continue
        data = json.loads(state)
        if kind == "introduction":
            continue  # not a notice about their own pairs: the next notice builds on the last one
        if kind in ("invite", "cancel"):
            invites.setdefault(pid, {})[uid] = Sent(
                row_id, kind, sequence, data.get("fingerprint", ""), partial(_stored_ics, ws, row_id)
            )
        else:
            notices[pid] = (row_id, data)
    out: dict[str, Told] = {}
    for pid in set(notices) | set(invites):
        notice = notices.get(pid)
        out[pid] = Told(notice[0] if notice else None, notice[1] if notice else None, invites.get(pid, {}))
    return out


def record(ws: Workspace, messages: Sequence[Outgoing]) -> list[int]:
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
