"""Publishing: event history, one feed per participant plus the coordinator's, stored and written.

``publish`` keeps, per event UID, a fingerprint of its content: when it changes, SEQUENCE goes
up by one and DTSTAMP/LAST-MODIFIED become the publish clock (``now``); when it does not, both
are kept, so re-publishing an unchanged schedule gives byte-identical feeds. The documents are
stored in the workspace database (``feed_documents``, what ``mentorsync serve`` answers with)
and written to ``OUT/feeds/<token>.ics``, with ``OUT/feeds/index.csv`` (``id, email, url,
page_url``: the private page ``/p/<token>``, same token) and the coordinator's feed as
``OUT/feeds/coordinator-<token>.ics``, listed in the index under the id ``*coordinator*``.
Whoever's feed is revoked (the coordinator's too) gets no file and no index row. Stored feeds of
people no longer in the cohort are dropped (their address then answers 404). A person on
``calendar = invite`` gets a feed without their pair meetings (they come as email invitations
from ``mentorsync notify``); everyone else's feed is unchanged by that column. Circle meetings
(items with a ``circle_id``) are in the feed of the circle's mentor and of every member, and in
the coordinator's, listing the circle's people by name only.

All database changes happen in one transaction: a failure leaves the workspace as it was.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cohort.model import Cohort, Person, PersonId
from cohort.program import Program
from cohort.progress import Progress, ProgressEvent, null_progress
from cohort.text import write_csv
from feeds.tokens import COORDINATOR, ensure_tokens, feed_url, load_key, page_url
from scheduler.calendar import PRODID, WRITER_VERSION, EventState, FeedWriter, fingerprint
from scheduler.model import Event, Schedule, Series
from store.db import Workspace


@dataclass(frozen=True)
class PublishedFeed:
    """One written feed: whose, where it is served, which file, and whether its bytes changed."""

    person_id: PersonId  # COORDINATOR for the coordinator's feed
    email: str
    url: str
    file: str  # relative to the output directory
    etag: str
    changed: bool
    page_url: str = ""  # the private page at /p/<token>, same token


@dataclass(frozen=True)
class PublishResult:
    feeds: tuple[PublishedFeed, ...]
    coordinator: PublishedFeed | None  # None while the coordinator's feed is revoked
    changed_uids: tuple[str, ...]  # events whose content (and SEQUENCE) changed, new ones included
    revoked: tuple[PersonId, ...]  # people left out because their feed is revoked
    reissued: tuple[PersonId, ...]  # tokens re-issued because the key file changed
    index_file: str


def etag_of(body: bytes) -> str:
    """A strong ETag (quotes included) from the bytes."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def update_states(
    previous: dict[str, EventState], fingerprints: dict[str, tuple[str, int]], now: datetime
) -> dict[str, EventState]:
    """The new state of each UID: kept when its fingerprint is unchanged, else SEQUENCE + 1.

    ``fingerprints`` maps a UID to ``(fingerprint, scheduler's sequence)``; a new UID starts at
    the scheduler's sequence, and SEQUENCE never goes below it.
    """
    out = {}
    for uid, (fp, floor) in fingerprints.items():
        old = previous.get(uid)
        if old is not None and old.fingerprint == fp and old.sequence >= floor:
            out[uid] = old
        elif old is None:
            out[uid] = EventState(uid, fp, floor, now)
        else:
            out[uid] = EventState(uid, fp, max(old.sequence + 1, floor), now)
    return out


def inputs_hash(
    owner: tuple[str, ...], items: Iterable[Series | Event], state: dict[str, EventState], program: Program
) -> str:
    """A hash of everything a feed is built from: equal hashes mean equal bytes (same writer)."""
    parts = [PRODID, WRITER_VERSION, repr(owner), program.program.name, str(program.feeds.refresh_minutes)]
    for item in sorted(items, key=lambda it: it.uid):
        st = state[item.uid]
        parts.append(f"{item.uid}|{st.fingerprint}|{st.sequence}|{st.last_modified.isoformat()}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _index_items(series: Iterable[Series], events: Iterable[Event]) -> dict[PersonId, list]:
    by_person: dict[PersonId, list] = {}
    every: list[Series | Event] = [*series, *events]
    for item in every:
        for pid in item.people:  # mentor and mentee, or a circle's mentor and members
            by_person.setdefault(pid, []).append(item)
    return by_person


def publish(
    ws: Workspace,
    cohort: Cohort,
    schedule: Schedule,
    program: Program,
    out_dir: str | Path,
    *,
    now: datetime | None = None,
    progress: Progress | None = None,
    former: Mapping[PersonId, Person] | None = None,
) -> PublishResult:
    """Compute event history, build every feed, store them and write ``out_dir/feeds``.

    ``former``: people of earlier cycles who are no longer in ``cohort``, so a history meeting
    with them still names them (they get no feed of their own)."""
    # Long on purpose: one database transaction covers tokens, event history and every feed,
    # so that a failure leaves the workspace untouched.
    progress = progress or null_progress
    progress(ProgressEvent("publish", "start", f"{len(cohort)} feeds"))
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    stamp = _iso(now)
    people = {**(former or {}), **cohort.by_id}
    items: list[Series | Event] = [*schedule.series, *schedule.events]
    uids = [it.uid for it in items]
    if len(set(uids)) != len(uids):
        dupes = sorted({u for u in uids if uids.count(u) > 1})
        raise ValueError(f"duplicate event UIDs in the schedule: {dupes[:5]}")
    fingerprints = {it.uid: (fingerprint(it, people), it.sequence) for it in items}
    key = load_key(ws)
    feeds_dir = Path(out_dir) / "feeds"
    feeds_dir.mkdir(parents=True, exist_ok=True)
    feeds_dir.chmod(0o700)  # private URLs inside: not listable by others
    by_person = _index_items(schedule.series, schedule.events)

    with ws.transaction() as con:
        previous = {}
        for row in con.execute("SELECT uid, fingerprint, sequence, last_modified FROM event_state"):
            if row[0] in fingerprints:
                previous[row[0]] = EventState(row[0], row[1], row[2], datetime.fromisoformat(row[3]))
        state = update_states(previous, fingerprints, now)
        changed = tuple(sorted(u for u in state if previous.get(u) is not state[u]))
        con.executemany(
            "INSERT INTO event_state (uid, fingerprint, sequence, last_modified) VALUES (?,?,?,?) "
            "ON CONFLICT(uid) DO UPDATE SET fingerprint = excluded.fingerprint, "
            "sequence = excluded.sequence, last_modified = excluded.last_modified",
            [
                (state[u].uid, state[u].fingerprint, state[u].sequence, _iso(state[u].last_modified))
                for u in changed
            ],
        )
        old_docs = {
            row[0]: (row[1], row[2])
            for row in con.execute("SELECT person_id, etag, inputs FROM feed_documents")
        }

        stored_bodies: dict[PersonId, bytes] | None = None

        def reuse(owner_id: PersonId, inputs: str) -> bytes | None:
            """The stored body when it was built from the same inputs (re-publishing is cheap)."""
            nonlocal stored_bodies
            old = old_docs.get(owner_id)
            if old is None or old[1] != inputs:
                return None
            if stored_bodies is None:  # one query for all, at the first reuse
                stored_bodies = {
                    row[0]: bytes(row[1]) for row in con.execute("SELECT person_id, body FROM feed_documents")
                }
            return stored_bodies[owner_id]

        writes: list[tuple] = []  # feed_documents rows, written at once
        new_inputs: list[tuple[str, PersonId]] = []

        def store(owner_id: PersonId, body: bytes, inputs: str) -> tuple[str, bool]:
            etag = etag_of(body)
            old = old_docs.get(owner_id)
            if old and old[0] == etag:
                if old[1] != inputs:
                    new_inputs.append((inputs, owner_id))
                return etag, False
            writes.append((owner_id, body, etag, stamp, stamp, inputs))
            return etag, True

        feed_writer = FeedWriter(people, program, state)
        tokens = ensure_tokens(con, key, [*(p.id for p in cohort.people), COORDINATOR], now=now)
        published, revoked, reissued = [], [], []
        for n, person in enumerate(cohort.people):
            token, again = tokens[person.id]
            if again:
                reissued.append(person.id)
            if token is None:
                revoked.append(person.id)
                continue
            # People on `calendar = invite` get their meetings as email invitations (notify/):
            # their feed leaves them out, so nobody sees a meeting twice.
            # Circle meetings stay in the feed: invitations are sent for pairs only.
            invited = person.calendar == "invite"
            mine = by_person.get(person.id, [])
            if invited:
                mine = [i for i in mine if i.circle_id]
            owner = (person.id, person.name, person.email, *(("invite",) if invited else ()))
            inputs = inputs_hash(owner, mine, state, program)
            body = reuse(person.id, inputs) or feed_writer.feed(
                person, [i for i in mine if isinstance(i, Series)], [i for i in mine if isinstance(i, Event)]
            )
            name = f"feeds/{token}.ics"
            (Path(out_dir) / name).write_bytes(body)
            etag, was_changed = store(person.id, body, inputs)
            published.append(
                PublishedFeed(
                    person.id,
                    person.email,
                    feed_url(program.feeds.base_url, token),
                    name,
                    etag,
                    was_changed,
                    page_url(program.feeds.base_url, token),
                )
            )
            if n % 500 == 499:
                progress(ProgressEvent("publish", "info", f"{n + 1} feeds built"))

        token, again = tokens[COORDINATOR]
        if again:
            reissued.append(COORDINATOR)
        coordinator = None
        if token is None:
            revoked.append(COORDINATOR)
        else:
            inputs = inputs_hash((COORDINATOR,), items, state, program)
            body = reuse(COORDINATOR, inputs) or feed_writer.feed(None, schedule.series, schedule.events)
            name = f"feeds/coordinator-{token}.ics"
            (Path(out_dir) / name).write_bytes(body)
            etag, was_changed = store(COORDINATOR, body, inputs)
            coordinator = PublishedFeed(
                COORDINATOR,
                "",
                feed_url(program.feeds.base_url, token),
                name,
                etag,
                was_changed,
                page_url(program.feeds.base_url, token),
            )

        con.executemany(
            "INSERT INTO feed_documents (person_id, body, etag, last_modified, published_at, inputs) "
            "VALUES (?,?,?,?,?,?) ON CONFLICT(person_id) DO UPDATE SET body = excluded.body, "
            "etag = excluded.etag, last_modified = excluded.last_modified, "
            "published_at = excluded.published_at, inputs = excluded.inputs",
            writes,
        )
        con.executemany("UPDATE feed_documents SET inputs = ? WHERE person_id = ?", new_inputs)
        keep = {f.person_id for f in published} | ({COORDINATOR} if coordinator else set())
        gone = [pid for pid in old_docs if pid not in keep]
        con.executemany("DELETE FROM feed_documents WHERE person_id = ?", [(pid,) for pid in gone])

        index = feeds_dir / "index.csv"
        rows = (
            [feed.person_id, feed.email, feed.url, feed.page_url]
            for feed in [*published, *([coordinator] if coordinator else [])]
        )
        write_csv(index, ["id", "email", "url", "page_url"], rows, private=True)

    progress(ProgressEvent("publish", "done", f"{len(published)} feeds, {len(changed)} events changed"))
    return PublishResult(
        tuple(published), coordinator, changed, tuple(revoked), tuple(reissued), "feeds/index.csv"
    )
