"""Introduction emails (``mentorsync notify --introductions``): one to each of the two people.

Pure: from the proposed introductions (``history.introductions``) and the people they name to the
messages to queue. Each message carries an opaque UID per introduction (keyed with the workspace
secret, so it says nothing about who is in it); a person who was already sent (or queued) the
message of a UID is never sent it again, whatever the wording became since: once per person and
introduction, through the outbox like every other message.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection, Iterable, Mapping

from cohort.model import Person, PersonId
from cohort.program import Program
from history.introductions import Introduction
from notify.compose import Outgoing
from notify.mime import Draft, Envelope, Renderer, build, content_hash

KIND = "introduction"


def introduction_uid(secret: str, found: Introduction) -> str:
    """The introduction's opaque UID: the same for both people and on every run."""
    a, b = sorted((found.person_id, found.other_id))
    digest = hmac.new(secret.encode(), f"introduction:{found.cycle_id}:{a}:{b}".encode(), hashlib.sha256)
    return "intro-" + digest.hexdigest()[:32]


def _message(
    program: Program, renderer: Renderer, to: Person, other: Person, shared: tuple[str, ...], uid: str
) -> Outgoing:
    sender = program.email.sender
    subject, text, html = renderer.render(
        KIND,
        {
            "program_name": program.program.name,
            "coordinator_email": program.email.reply_to or sender,
            "name": to.name,
            "email": to.email,
            "other_name": other.name,
            "other_email": other.email,
            "shared": list(shared),
        },
    )
    digest = content_hash(
        {
            "to": to.email,
            "kind": KIND,
            "uid": uid,
            "subject": subject,
            "text": text,
            "html": html,
            "from": sender,
        }
    )
    body, message_id = build(
        Envelope(sender, program.program.name, program.email.reply_to, to.name, to.email),
        Draft(KIND, subject, text, html),
        digest,
    )
    return Outgoing(
        to.id, to.email, KIND, uid, None, subject, {"introduction": uid}, body, digest, message_id
    )


def compose_introductions(
    found: Iterable[Introduction],
    people: Mapping[PersonId, Person],
    program: Program,
    renderer: Renderer,
    secret: str,
    recorded: Collection[tuple[PersonId, str]],
    only: Iterable[PersonId] | None = None,
) -> list[Outgoing]:
    """The introduction messages not yet recorded: for each introduction, one to each person.

    ``recorded``: ``(person_id, uid)`` of the introduction messages already in the outbox."""
    wanted = set(only) if only is not None else None
    out = []
    for i in found:
        uid = introduction_uid(secret, i)
        for me, them in ((i.person_id, i.other_id), (i.other_id, i.person_id)):
            if (me, uid) in recorded or (wanted is not None and me not in wanted):
                continue
            out.append(_message(program, renderer, people[me], people[them], i.shared, uid))
    return out


__all__ = ["KIND", "compose_introductions", "introduction_uid"]
