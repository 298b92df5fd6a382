"""``mentorsync serve``: the feeds over HTTP, as a small ASGI app run by uvicorn.

One route, ``GET``/``HEAD /feeds/<token>.ics``. The token is hashed and looked up in the workspace
database (``feed_tokens`` joined to ``feed_documents``); the answer is the owner's current feed
with a strong ETag and Last-Modified, and 304 on a matching ``If-None-Match`` (which takes
precedence) or a not-newer ``If-Modified-Since``. Every other request, and every unknown, rotated
or revoked token, gets the same 404 from the same code path; methods other than GET and HEAD
get 405 whatever the path.

Documents are cached in memory by token hash (bounded, least recently used first) and the cache
is dropped when the database changed (``PRAGMA data_version``, checked at most once a second),
so ``publish``, ``rotate`` and ``revoke`` take effect within a second without a restart.

uvicorn's access log is off; this app logs one line per request with the token replaced by
``<redacted:abcdef>`` (the first six hex digits of the token's sha256, enough to correlate
requests, useless to rebuild an address). The default bind address is 127.0.0.1: put a TLS
reverse proxy in front to publish feeds beyond the machine.
"""

from __future__ import annotations

import collections
import hashlib
import logging
import re
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any

from cohort.errors import StoreError
from feeds.tokens import hash_token
from store.db import DB_NAME, Workspace, connect_readonly

log = logging.getLogger("mentorsync.serve")

_ROUTE = re.compile(r"/feeds/([A-Za-z0-9_-]{16,128})\.ics")
_LOOKUP = (
    "SELECT d.body, d.etag, d.last_modified FROM feed_tokens t "
    "JOIN feed_documents d ON d.person_id = t.person_id "
    "WHERE t.token_hash = ? AND t.revoked_at IS NULL "
    "AND t.generation = (SELECT MAX(g.generation) FROM feed_tokens g WHERE g.person_id = t.person_id)"
)
_SECURITY = [
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-robots-tag", b"noindex, nofollow"),
]
_NOT_FOUND_BODY = b"Not found\n"
_NOT_FOUND = [
    (b"content-type", b"text/plain; charset=utf-8"),
    (b"content-length", str(len(_NOT_FOUND_BODY)).encode()),
    (b"cache-control", b"no-store"),
    *_SECURITY,
]
_NOT_ALLOWED_BODY = b"Method not allowed\n"
_NOT_ALLOWED = [
    (b"content-type", b"text/plain; charset=utf-8"),
    (b"content-length", str(len(_NOT_ALLOWED_BODY)).encode()),
    (b"allow", b"GET, HEAD"),
    (b"cache-control", b"no-store"),
    *_SECURITY,
]

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class Document:
    """A feed ready to send: body, and the headers of a 200 and of a 304."""

    body: bytes
    etag: str
    last_modified: datetime  # whole seconds, UTC
    headers: list[tuple[bytes, bytes]]
    headers_304: list[tuple[bytes, bytes]]


def _document(body: bytes, etag: str, last_modified: str, max_age: int) -> Document:
    modified = datetime.fromisoformat(last_modified).astimezone(UTC).replace(microsecond=0)
    common = [
        (b"etag", etag.encode()),
        (b"last-modified", format_datetime(modified, usegmt=True).encode()),
        (b"cache-control", f"private, max-age={max_age}".encode()),
        *_SECURITY,
    ]
    headers = [(b"content-type", b"text/calendar; charset=utf-8"),
               (b"content-length", str(len(body)).encode()), *common]
    return Document(bytes(body), etag, modified, headers, common)


def _not_modified(doc: Document, headers: dict[bytes, bytes]) -> bool:
    """RFC 9110 §13.2.2: If-None-Match (weak comparison) decides; else If-Modified-Since."""
    inm = headers.get(b"if-none-match")
    if inm is not None:
        tags = [t.strip().removeprefix("W/") for t in inm.decode("latin-1").split(",")]
        return "*" in tags or doc.etag in tags
    ims = headers.get(b"if-modified-since")
    if ims is not None:
        try:
            since = parsedate_to_datetime(ims.decode("latin-1"))
        except (TypeError, ValueError, IndexError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return doc.last_modified <= since
    return False


class FeedApp:
    """The ASGI application: token lookup, conditional requests, redacted logging."""

    def __init__(self, db_path: str | Path, *, max_age: int = 300, cache_bytes: int = 128 << 20,
                 check_interval: float = 1.0):
        self.db_path = Path(db_path)
        self.max_age = max_age
        self.cache_bytes = cache_bytes
        self.check_interval = check_interval
        self._con: sqlite3.Connection | None = None
        self._version: int | None = None
        self._checked = 0.0
        self._cache: collections.OrderedDict[str, Document] = collections.OrderedDict()
        self._cached_bytes = 0

    def _connection(self) -> sqlite3.Connection:
        if self._con is None:
            self._con = connect_readonly(self.db_path)  # immutable in a read-only directory
        return self._con

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def _refresh(self) -> None:
        now = time.monotonic()
        if now - self._checked < self.check_interval:
            return
        self._checked = now
        version = self._connection().execute("PRAGMA data_version").fetchone()[0]
        if version != self._version:
            self._version = version
            self._cache.clear()
            self._cached_bytes = 0

    def lookup(self, token_hash: str) -> Document | None:
        """The current document for a token hash, or None (unknown, rotated, revoked: alike)."""
        self._refresh()
        doc = self._cache.get(token_hash)
        if doc is not None:
            self._cache.move_to_end(token_hash)
            return doc
        row = self._connection().execute(_LOOKUP, (token_hash,)).fetchone()
        if row is None:
            return None
        doc = _document(row[0], row[1], row[2], self.max_age)
        self._cache[token_hash] = doc
        self._cached_bytes += len(doc.body)
        while self._cached_bytes > self.cache_bytes and len(self._cache) > 1:
            _, old = self._cache.popitem(last=False)
            self._cached_bytes -= len(old.body)
        return doc

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    self.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        started = time.perf_counter()
        method = scope["method"]
        path = scope["path"]
        match = _ROUTE.fullmatch(path)
        digest = hash_token(match.group(1)) if match else hashlib.sha256(path.encode(
            "utf-8", "surrogateescape")).hexdigest()
        shown = f"/feeds/<redacted:{digest[:6]}>.ics" if match else f"<other path:{digest[:6]}>"
        if method not in ("GET", "HEAD"):
            status, headers, body = 405, _NOT_ALLOWED, _NOT_ALLOWED_BODY
        else:
            doc = self.lookup(digest) if match else None
            if doc is None:
                status, headers, body = 404, _NOT_FOUND, _NOT_FOUND_BODY
            elif _not_modified(doc, dict(scope["headers"])):
                status, headers, body = 304, doc.headers_304, b""
            else:
                status, headers, body = 200, doc.headers, doc.body
        if method == "HEAD":
            body = b""
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        if log.isEnabledFor(logging.INFO):
            client = scope.get("client") or ("-", 0)
            log.info('%s "%s %s" %d %d %.1fms', client[0], method, shown, status, len(body),
                     1000 * (time.perf_counter() - started))


class _DropAll(logging.Filter):
    """Drops every record: this app writes its own, redacted, access log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return False


def create_app(workspace_dir: str | Path, *, max_age: int = 300) -> FeedApp:
    """The app for a workspace; applies pending migrations first so the tables exist."""
    db = Path(workspace_dir) / DB_NAME
    if not db.exists():
        raise StoreError(f"no workspace database at {db} (run `mentorsync publish` first)")
    Workspace(workspace_dir, create=False).close()
    return FeedApp(db, max_age=max_age)


def make_server(workspace_dir: str | Path, host: str = "127.0.0.1", port: int = 8080, *,
                max_age: int = 300, log_level: str = "info") -> Any:
    """A ``uvicorn.Server`` for the workspace (call ``.run()``; tests run it in a thread)."""
    import uvicorn

    # uvicorn logs access lines whenever its access logger has a handler (a test harness or a
    # logging config can attach one); those lines carry the token, so they are dropped at source.
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _DropAll) for f in access.filters):
        access.addFilter(_DropAll())
    config = uvicorn.Config(create_app(workspace_dir, max_age=max_age), host=host, port=port,
                            access_log=False, server_header=False, lifespan="on",
                            log_level=log_level, timeout_keep_alive=30)
    return uvicorn.Server(config)


def serve(workspace_dir: str | Path, host: str = "127.0.0.1", port: int = 8080, *,
          max_age: int = 300) -> None:
    """Serve the workspace's feeds until interrupted (binds loopback unless told otherwise)."""
    if not log.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    make_server(workspace_dir, host, port, max_age=max_age).run()
