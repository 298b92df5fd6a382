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
from collections.abc import Callable, Iterable, Mapping
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
from store.feeds import (
    delete_documents,
    document_bodies,
    document_versions,
    event_states,
    save_documents,
    save_event_states,
    set_document_inputs,
)


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


class _Documents:
    """The stored documents during one publish: reused when built from the same inputs, and the
    writes collected for one batch at the end."""

    def __init__(self, ws: Workspace, stamp: str):
        self.ws, self.stamp = ws, stamp
        self.old = document_versions(ws)
        self._bodies: dict[PersonId, bytes] | None = None
        self.writes: list[tuple[str, bytes, str, str, str]] = []
        self.new_inputs: dict[PersonId, str] = {}

    def reuse(self, owner: PersonId, inputs: str) -> bytes | None:
        """The stored body when it was built from the same inputs (re-publishing is cheap)."""
        old = self.old.get(owner)
        if old is None or old[1] != inputs:
            return None
        if self._bodies is None:  # one query for all, at the first reuse
            self._bodies = document_bodies(self.ws)
        return self._bodies[owner]

    def store(self, owner: PersonId, body: bytes, inputs: str) -> tuple[str, bool]:
        """``(etag, changed)`` of ``owner``'s new document, queued for ``flush``."""
        etag = etag_of(body)
        old = self.old.get(owner)
        if old and old[0] == etag:
            if old[1] != inputs:
                self.new_inputs[owner] = inputs
            return etag, False
        self.writes.append((owner, body, etag, inputs, self.stamp))
        return etag, True

    def flush(self, keep: set[PersonId]) -> None:
        """Write the queued documents and drop those of owners not in ``keep``."""
        save_documents(self.ws, self.writes)
        set_document_inputs(self.ws, self.new_inputs)
        delete_documents(self.ws, [owner for owner in self.old if owner not in keep])


@dataclass
class _Feeds:
    """What building every feed of one publish shares."""

    program: Program
    out_dir: Path
    state: dict[str, EventState]
    writer: FeedWriter
    documents: _Documents
    by_person: dict[PersonId, list]

    def write(
        self, owner: tuple[str, ...], name: str, build: Callable[[], bytes], items: list
    ) -> tuple[str, bool]:
        """Build (or reuse) one feed, write it as ``name`` and queue it: ``(etag, changed)``."""
        inputs = inputs_hash(owner, items, self.state, self.program)
        body = self.documents.reuse(owner[0], inputs) or build()
        (self.out_dir / name).write_bytes(body)
        return self.documents.store(owner[0], body, inputs)

    def person(self, person: Person, token: str) -> PublishedFeed:
        # People on `calendar = invite` get their meetings as email invitations (notify/): their
        # feed leaves them out, so nobody sees a meeting twice. Circle meetings stay in the feed:
        # invitations are sent for pairs only.
        invited = person.calendar == "invite"
        mine = self.by_person.get(person.id, [])
        if invited:
            mine = [i for i in mine if i.circle_id]
        owner = (person.id, person.name, person.email, *(("invite",) if invited else ()))
        series = [i for i in mine if isinstance(i, Series)]
        events = [i for i in mine if isinstance(i, Event)]
        name = f"feeds/{token}.ics"
        etag, changed = self.write(owner, name, lambda: self.writer.feed(person, series, events), mine)
        base = self.program.feeds.base_url
        return PublishedFeed(
            person.id, person.email, feed_url(base, token), name, etag, changed, page_url(base, token)
        )

    def coordinator(self, token: str, schedule: Schedule) -> PublishedFeed:
        name = f"feeds/coordinator-{token}.ics"
        items = [*schedule.series, *schedule.events]
        etag, changed = self.write(
            (COORDINATOR,), name, lambda: self.writer.feed(None, schedule.series, schedule.events), items
        )
        base = self.program.feeds.base_url
        return PublishedFeed(
            COORDINATOR, "", feed_url(base, token), name, etag, changed, page_url(base, token)
        )


def _event_history(
    ws: Workspace, items: list[Series | Event], people: Mapping[PersonId, Person], now: datetime
) -> tuple[dict[str, EventState], tuple[str, ...]]:
    """Every item's state after this publish, and the UIDs whose content (and SEQUENCE) changed;
    the changed states are stored."""
    uids = [it.uid for it in items]
    if len(set(uids)) != len(uids):
        dupes = sorted({u for u in uids if uids.count(u) > 1})
        raise ValueError(f"duplicate event UIDs in the schedule: {dupes[:5]}")
    fingerprints = {it.uid: (fingerprint(it, people), it.sequence) for it in items}
    previous = {uid: st for uid, st in event_states(ws).items() if uid in fingerprints}
    state = update_states(previous, fingerprints, now)
    changed = tuple(sorted(u for u in state if previous.get(u) is not state[u]))
    save_event_states(ws, [state[u] for u in changed])
    return state, changed


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

    One database transaction covers tokens, event history and every feed, so that a failure
    leaves the workspace untouched. ``former``: people of earlier cycles who are no longer in
    ``cohort``, so a history meeting with them still names them (they get no feed of their own)."""
    progress = progress or null_progress
    progress(ProgressEvent("publish", "start", f"{len(cohort)} feeds"))
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    people = {**(former or {}), **cohort.by_id}
    key = load_key(ws)
    feeds_dir = Path(out_dir) / "feeds"
    feeds_dir.mkdir(parents=True, exist_ok=True)
    feeds_dir.chmod(0o700)  # private URLs inside: not listable by others
    with ws.transaction():
        state, changed = _event_history(ws, [*schedule.series, *schedule.events], people, now)
        feeds = _Feeds(
            program,
            Path(out_dir),
            state,
            FeedWriter(people, program, state),
            _Documents(ws, _iso(now)),
            _index_items(schedule.series, schedule.events),
        )
        tokens = ensure_tokens(ws, key, [*(p.id for p in cohort.people), COORDINATOR], now=now)
        reissued = [pid for pid, (_, again) in tokens.items() if again]
        revoked = [pid for pid, (token, _) in tokens.items() if token is None]
        published = []
        for n, person in enumerate(cohort.people):
            token = tokens[person.id][0]
            if token is not None:
                published.append(feeds.person(person, token))
            if n % 500 == 499:
                progress(ProgressEvent("publish", "info", f"{n + 1} feeds built"))
        token = tokens[COORDINATOR][0]
        coordinator = None if token is None else feeds.coordinator(token, schedule)
        written = [*published, *([coordinator] if coordinator else [])]
        feeds.documents.flush({f.person_id for f in written})
        rows = ([feed.person_id, feed.email, feed.url, feed.page_url] for feed in written)
        write_csv(feeds_dir / "index.csv", ["id", "email", "url", "page_url"], rows, private=True)
    progress(ProgressEvent("publish", "done", f"{len(published)} feeds, {len(changed)} events changed"))
    return PublishResult(
        tuple(published), coordinator, changed, tuple(revoked), tuple(reissued), "feeds/index.csv"
    )
