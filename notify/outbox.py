"""What each person was last told, from the outbox (``store.outbox`` holds the messages).

Every message is recorded before it is sent, so the next notice builds on what was recorded:
a recorded message will be delivered.
"""

from __future__ import annotations

from collections.abc import Iterable
from email import message_from_bytes
from email.policy import default as default_policy
from functools import partial

from notify.compose import Sent, Told
from store.db import Workspace
from store.outbox import message_body, recorded


def _ics_of(body: bytes) -> bytes:
    for part in message_from_bytes(body, policy=default_policy).walk():
        if part.get_content_type() == "text/calendar":
            return bytes(part.get_payload(decode=True))
    return b""


def _stored_ics(ws: Workspace, row_id: int) -> bytes:
    """The calendar part of a recorded invitation (read only when a cancellation needs it)."""
    return _ics_of(message_body(ws, row_id))


def told(ws: Workspace, people: Iterable[str] | None = None) -> dict[str, Told]:
    """What each person was last told, from every recorded message (sent or still to be sent:
    a recorded message will be delivered, so the next notice builds on it)."""
    wanted = set(people) if people is not None else None
    notices: dict[str, tuple[int, dict]] = {}
    invites: dict[str, dict[str, Sent]] = {}
    for m in recorded(ws):
        if wanted is not None and m.person_id not in wanted:
            continue
        if m.kind == "introduction":
            continue  # not a notice about their own pairs: the next notice builds on the last one
        if m.kind in ("invite", "cancel"):
            invites.setdefault(m.person_id, {})[m.uid or ""] = Sent(
                m.id, m.kind, m.sequence or 0, m.state.get("fingerprint", ""), partial(_stored_ics, ws, m.id)
            )
        else:
            notices[m.person_id] = (m.id, dict(m.state))
    out: dict[str, Told] = {}
    for pid in set(notices) | set(invites):
        notice = notices.get(pid)
        out[pid] = Told(notice[0] if notice else None, notice[1] if notice else None, invites.get(pid, {}))
    return out
