"""What the outbox already holds of introductions (``mentorsync notify --introductions``)."""

from __future__ import annotations

from store.db import Workspace


def introductions_recorded(ws: Workspace) -> set[tuple[str, str]]:
    """``(person_id, uid)`` of every introduction message recorded (sent or still to send)."""
    rows = ws.connection.execute(
        "SELECT person_id, uid FROM outbox WHERE kind = 'introduction' AND uid IS NOT NULL"
    ).fetchall()
    return {(r[0], r[1]) for r in rows}


__all__ = ["introductions_recorded"]
