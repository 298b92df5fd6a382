"""What every request of ``mentorsync serve`` shares: the read-only database, caches, limits, clock.

Token state is read from the database on every request (one indexed lookup of the token's hash),
so ``feeds rotate`` and ``feeds revoke`` take effect before the command returns. Feed bodies are
cached in memory by ``(owner, etag)`` (bounded, least recently used first) and the cycle's roster,
pairs and schedule by a cheap signature of the database, so neither cache can serve a stale token.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from cohort.checkins import CheckIn
from cohort.model import Cohort
from cohort.program import Program
from matcher.model import Pair
from scheduler.model import Schedule
from store.db import ReadOnlyWorkspace, Workspace, stored_secret
from store.feeds import document_body, served_feed, token_owner
from store.repo import (
    change_signature,
    latest_cycle,
    load_cohort,
    load_pairs,
    load_program,
    load_schedule,
    save_checkin,
)

BODY_TIMEOUT = 10.0  # seconds for a request's body to arrive
POSTS_PER_WINDOW = 10
POST_WINDOW_SECONDS = 600.0

# what every response of the app carries
SECURITY_HEADERS = [
    ("referrer-policy", "no-referrer"),
    ("x-content-type-options", "nosniff"),
    ("x-robots-tag", "noindex, nofollow"),
]


@dataclass(frozen=True)
class Document:
    """A feed ready to send: body, and the headers of a 200 and of a 304."""

    body: bytes
    etag: str
    last_modified: datetime  # whole seconds, UTC
    headers: dict[str, str]
    headers_304: dict[str, str]


def document(body: bytes, etag: str, last_modified: str, max_age: int) -> Document:
    """A ``Document`` with its validators and caching headers (``max_age`` seconds, private)."""
    modified = datetime.fromisoformat(last_modified).astimezone(UTC).replace(microsecond=0)
    common = {
        "etag": etag,
        "last-modified": format_datetime(modified, usegmt=True),
        "cache-control": f"private, max-age={max_age}",
        **dict(SECURITY_HEADERS),
    }
    headers = {"content-type": "text/calendar; charset=utf-8", "content-length": str(len(body)), **common}
    return Document(bytes(body), etag, modified, headers, common)


@dataclass(frozen=True)
class CycleData:
    """What every page of the latest cycle is built from (cached while the database agrees)."""

    cycle_id: int
    is_open: bool
    cohort: Cohort
    pairs: tuple[Pair, ...]
    schedule: Schedule
    program: Program


class Site:
    """State shared by the routes: the read-only database, caches, rate limits, the clock."""

    def __init__(
        self,
        workspace_dir: str | Path,
        *,
        max_age: int = 300,
        cache_bytes: int = 128 << 20,
        clock: Callable[[], datetime] | None = None,
        body_timeout: float = BODY_TIMEOUT,
    ):
        self.directory = Path(workspace_dir)
        self.body_timeout = body_timeout
        self.max_age = max_age
        self.cache_bytes = cache_bytes
        self.clock = clock or (lambda: datetime.now(UTC))
        self._ws: ReadOnlyWorkspace | None = None
        self._cache: collections.OrderedDict[tuple[str, str], Document] = collections.OrderedDict()
        self._cached_bytes = 0
        self._cycle: tuple[tuple[Any, ...], CycleData | None] | None = None
        self._posts: dict[str, collections.deque[float]] = {}
        self._secret: bytes | None = None

    @property
    def ws(self) -> ReadOnlyWorkspace:
        if self._ws is None:
            self._ws = ReadOnlyWorkspace(self.directory)
        return self._ws

    def close(self) -> None:
        if self._ws is not None:
            self._ws.close()
            self._ws = None

    def lookup(self, token_hash: str) -> Document | None:
        """The current document for a token hash, or None (unknown, rotated, revoked: alike)."""
        served = served_feed(self.ws, token_hash)
        if served is None:
            return None
        key = (served.person_id, served.etag)
        doc = self._cache.get(key)
        if doc is not None:
            self._cache.move_to_end(key)
            return doc
        body = document_body(self.ws, *key)
        if body is None:  # replaced between the two reads: the next request sees the new one
            return None
        doc = document(body, served.etag, served.last_modified, self.max_age)
        self._cache[key] = doc
        self._cached_bytes += len(doc.body)
        while self._cached_bytes > self.cache_bytes and len(self._cache) > 1:
            _, old = self._cache.popitem(last=False)
            self._cached_bytes -= len(old.body)
        return doc

    def owner(self, token_hash: str) -> str | None:
        """Whose page a token hash opens (None: unknown, rotated, revoked: alike)."""
        return token_owner(self.ws, token_hash)

    def cycle(self) -> CycleData | None:
        """The latest cycle's roster, pairs, schedule and program, reloaded when they change."""
        signature = change_signature(self.ws)
        if self._cycle is not None and self._cycle[0] == signature:
            return self._cycle[1]
        info = latest_cycle(self.ws)
        data = None
        if info is not None:
            data = CycleData(
                info.id,
                info.is_open,
                load_cohort(self.ws, info.id),
                load_pairs(self.ws, info.id),
                load_schedule(self.ws, info.id) or Schedule((), ()),
                load_program(self.ws, info.id),
            )
        self._cycle = (signature, data)
        return data

    def csrf(self, token_hash: str) -> str:
        """The form token of the page of ``token_hash`` (an HMAC with the workspace secret)."""
        if self._secret is None:
            self._secret = (stored_secret(self.ws) or "").encode()
        return hmac.new(self._secret, f"csrf:{token_hash}".encode(), hashlib.sha256).hexdigest()

    def allow_post(self, token_hash: str) -> bool:
        """The per-token rate limit on posts (a sliding window)."""
        now = time.monotonic()
        recent = self._posts.setdefault(token_hash, collections.deque())
        while recent and now - recent[0] > POST_WINDOW_SECONDS:
            recent.popleft()
        if len(recent) >= POSTS_PER_WINDOW:
            return False
        recent.append(now)
        if len(self._posts) > 100_000:  # forget idle tokens
            for key in [k for k, v in self._posts.items() if not v or now - v[-1] > POST_WINDOW_SECONDS]:
                del self._posts[key]
        return True

    def save(self, checkin: CheckIn) -> None:
        """Store a check-in through a writable connection of its own (the site's is read-only)."""
        with Workspace(self.directory, create=False) as ws:
            save_checkin(ws, checkin)
