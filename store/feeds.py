"""The feed tables: token hashes, each event's published state, the served documents.

``feeds.tokens`` decides tokens, ``feeds.publish`` builds documents and the server answers with
them; the SQL they need is here (``0002_feeds.sql`` has the schema). Person ids are plain text
without foreign keys: a feed address outlives cycles. Writes run inside the caller's
``ws.transaction()``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from scheduler.calendar import EventState
from store.db import Workspace

_TOKEN_COLUMNS = "person_id, generation, token_hash, created_at, revoked_at"
# the valid token of an owner is its highest generation, unless that row is revoked
_VALID = (
    "t.token_hash = ? AND t.revoked_at IS NULL "
    "AND t.generation = (SELECT MAX(g.generation) FROM feed_tokens g WHERE g.person_id = t.person_id)"
)


@dataclass(frozen=True)
class TokenRecord:
    """One issued token: whose, which generation, its hash, and when it was issued or revoked."""

    person_id: str
    generation: int
    token_hash: str
    created_at: str
    revoked_at: str | None


@dataclass(frozen=True)
class ServedFeed:
    """What the server needs to answer for a token: the owner and the document's validators."""

    person_id: str
    etag: str
    last_modified: str  # UTC ISO-8601


# --------------------------------------------------------------------------- tokens


def newest_issued_token(ws: Workspace) -> TokenRecord | None:
    """The newest valid token row (any row when all are revoked; None: nothing issued yet)."""
    con = ws.connection
    row = con.execute(
        f"SELECT {_TOKEN_COLUMNS} FROM feed_tokens WHERE revoked_at IS NULL ORDER BY rowid DESC LIMIT 1"
    ).fetchone()
    if row is None:
        row = con.execute(f"SELECT {_TOKEN_COLUMNS} FROM feed_tokens LIMIT 1").fetchone()
    return TokenRecord(*row) if row else None


def current_token(ws: Workspace, person_id: str) -> TokenRecord | None:
    """The newest token row of ``person_id``, revoked or not; None if never issued."""
    row = ws.connection.execute(
        f"SELECT {_TOKEN_COLUMNS} FROM feed_tokens WHERE person_id = ? ORDER BY generation DESC LIMIT 1",
        (person_id,),
    ).fetchone()
    return TokenRecord(*row) if row else None


def current_tokens(ws: Workspace) -> dict[str, TokenRecord]:
    """The newest token row of every owner ever issued one."""
    latest: dict[str, TokenRecord] = {}
    for row in ws.connection.execute(f"SELECT {_TOKEN_COLUMNS} FROM feed_tokens"):
        record = TokenRecord(*row)
        old = latest.get(record.person_id)
        if old is None or record.generation > old.generation:
            latest[record.person_id] = record
    return latest


def last_generations(ws: Workspace, prefix: str) -> dict[str, int]:
    """The highest generation of each owner whose id starts with ``prefix`` (erased people's
    pseudonyms keep their revoked rows)."""
    rows = ws.connection.execute(
        "SELECT person_id, MAX(generation) FROM feed_tokens WHERE person_id LIKE ? GROUP BY person_id",
        (prefix + "%",),
    )
    return {str(r[0]): int(r[1]) for r in rows}


def insert_tokens(ws: Workspace, records: Iterable[TokenRecord]) -> None:
    """Store newly issued tokens (their hashes only)."""
    ws.connection.executemany(
        "INSERT INTO feed_tokens (token_hash, person_id, generation, created_at) VALUES (?,?,?,?)",
        [(r.token_hash, r.person_id, r.generation, r.created_at) for r in records],
    )


def revoke_tokens(ws: Workspace, token_hashes: Iterable[str], stamp: str) -> None:
    """Mark tokens revoked at ``stamp``: they stop working at once."""
    ws.connection.executemany(
        "UPDATE feed_tokens SET revoked_at = ? WHERE token_hash = ?", [(stamp, h) for h in token_hashes]
    )


def token_owner(ws: Workspace, token_hash: str) -> str | None:
    """Whose valid token has this hash (None: unknown, superseded or revoked, alike)."""
    row = ws.connection.execute(
        f"SELECT t.person_id FROM feed_tokens t WHERE {_VALID}", (token_hash,)
    ).fetchone()
    return None if row is None else str(row[0])


def served_feed(ws: Workspace, token_hash: str) -> ServedFeed | None:
    """The owner and current document of a valid token (None: unknown, superseded, revoked or
    nothing published, alike)."""
    row = ws.connection.execute(
        "SELECT t.person_id, d.etag, d.last_modified FROM feed_tokens t "
        f"JOIN feed_documents d ON d.person_id = t.person_id WHERE {_VALID}",
        (token_hash,),
    ).fetchone()
    return None if row is None else ServedFeed(str(row[0]), str(row[1]), str(row[2]))


# --------------------------------------------------------------------------- documents


def document_body(ws: Workspace, person_id: str, etag: str) -> bytes | None:
    """The body of ``person_id``'s document if it still has ``etag`` (None: replaced since)."""
    row = ws.connection.execute(
        "SELECT body FROM feed_documents WHERE person_id = ? AND etag = ?", (person_id, etag)
    ).fetchone()
    return None if row is None else bytes(row[0])


def document_bodies(ws: Workspace) -> dict[str, bytes]:
    """Every stored document's body, by owner."""
    return {
        str(r[0]): bytes(r[1]) for r in ws.connection.execute("SELECT person_id, body FROM feed_documents")
    }


def document_versions(ws: Workspace) -> dict[str, tuple[str, str]]:
    """``owner -> (etag, inputs hash)`` of every stored document."""
    rows = ws.connection.execute("SELECT person_id, etag, inputs FROM feed_documents")
    return {str(r[0]): (str(r[1]), str(r[2])) for r in rows}


def save_documents(ws: Workspace, rows: Iterable[tuple[str, bytes, str, str, str]]) -> None:
    """Store ``(owner, body, etag, inputs, stamp)`` documents; ``stamp`` is their last change."""
    ws.connection.executemany(
        "INSERT INTO feed_documents (person_id, body, etag, last_modified, published_at, inputs) "
        "VALUES (?,?,?,?,?,?) ON CONFLICT(person_id) DO UPDATE SET body = excluded.body, "
        "etag = excluded.etag, last_modified = excluded.last_modified, "
        "published_at = excluded.published_at, inputs = excluded.inputs",
        [(owner, body, etag, stamp, stamp, inputs) for owner, body, etag, inputs, stamp in rows],
    )


def set_document_inputs(ws: Workspace, inputs: Mapping[str, str]) -> None:
    """Record a new inputs hash for documents whose bytes did not change."""
    ws.connection.executemany(
        "UPDATE feed_documents SET inputs = ? WHERE person_id = ?",
        [(h, owner) for owner, h in inputs.items()],
    )


def delete_documents(ws: Workspace, owners: Iterable[str]) -> None:
    """Stop serving these owners' documents (their address then answers 404)."""
    ws.connection.executemany("DELETE FROM feed_documents WHERE person_id = ?", [(o,) for o in owners])


# --------------------------------------------------------------------------- event history


def event_states(ws: Workspace) -> dict[str, EventState]:
    """The published SEQUENCE, fingerprint and last change of every event UID."""
    return {
        str(r[0]): EventState(str(r[0]), str(r[1]), int(r[2]), datetime.fromisoformat(r[3]))
        for r in ws.connection.execute("SELECT uid, fingerprint, sequence, last_modified FROM event_state")
    }


def save_event_states(ws: Workspace, states: Iterable[EventState]) -> None:
    """Store new or changed event states (``last_modified`` in UTC, whole seconds)."""
    ws.connection.executemany(
        "INSERT INTO event_state (uid, fingerprint, sequence, last_modified) VALUES (?,?,?,?) "
        "ON CONFLICT(uid) DO UPDATE SET fingerprint = excluded.fingerprint, "
        "sequence = excluded.sequence, last_modified = excluded.last_modified",
        [(s.uid, s.fingerprint, s.sequence, _utc_text(s.last_modified)) for s in states],
    )


def refingerprint_events(ws: Workspace, changes: Mapping[str, tuple[str, str]]) -> None:
    """``uid -> (old, new)``: a new fingerprint where the stored one is still ``old``, keeping
    SEQUENCE and DTSTAMP (a relabelled event is not a new meeting)."""
    ws.connection.executemany(
        "UPDATE event_state SET fingerprint = ? WHERE uid = ? AND fingerprint = ?",
        [(new, uid, old) for uid, (old, new) in changes.items()],
    )


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()
