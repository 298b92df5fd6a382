"""``mentorsync serve``: the feeds and the participants' private pages, on Starlette and uvicorn.

Routes:

* ``GET``/``HEAD /feeds/<token>.ics``: the owner's current feed with a strong ETag and
  Last-Modified, and 304 on a matching ``If-None-Match`` (which takes precedence) or a not-newer
  ``If-Modified-Since``.
* ``GET``/``HEAD /p/<token>``: the private page of the person with that (feed) token; the
  coordinator's token shows every pair and its check-ins. ``POST /p/<token>`` stores a check-in.
* ``GET /static/page.css``: the pages' one stylesheet (the CSP allows no inline style or script).

Every unknown, malformed, rotated or revoked token, and every other path, gets the same 404 from
the same code; methods other than GET, HEAD and POST get 405 whatever the path, and so does a POST
to a feed.

Token state is read from the database on every request (one indexed lookup of the token's hash),
so ``feeds rotate`` and ``feeds revoke`` take effect before the command returns. Feed bodies are
cached in memory by ``(owner, etag)`` (bounded, least recently used first) and the cycle's roster,
pairs and schedule by a cheap signature of the database, so neither cache can serve a stale token.

Forms: a CSRF token bound to the person's token (an HMAC with the workspace secret), an
``Origin`` (or ``Sec-Fetch-Site``/``Referer``) check, a per-token limit of ``POSTS_PER_WINDOW``
posts per ``POST_WINDOW_SECONDS``, bodies of at most ``MAX_BODY`` bytes read within
``BODY_TIMEOUT`` seconds. Request headers must arrive within ``HEADER_TIMEOUT`` seconds of the
connection opening (or of the previous response) and be at most ``MAX_HEADER_BYTES``: a
half-open request is closed, never held.

uvicorn's access log is off; this app logs one line per request with the token replaced by
``<redacted:abcdef>`` (the first six hex digits of the token's sha256). The default bind address
is 127.0.0.1: put a TLS reverse proxy in front to publish beyond the machine.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import hmac
import logging
import re
import sqlite3
import time
import urllib.parse
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cohort.checkins import CheckIn, open_point, summarise, validate_answer
from cohort.errors import MentorsyncError, StoreError
from cohort.model import Cohort
from cohort.program import Program
from feeds.tokens import COORDINATOR, feed_url, hash_token
from matcher.model import Pair
from scheduler.model import Schedule
from store.db import DB_NAME, ReadOnlyWorkspace, Workspace
from web import page as pages

log = logging.getLogger("mentorsync.serve")

_FEED = re.compile(r"([A-Za-z0-9_-]{16,128})\.ics")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,128}")
_LOOKUP = (
    "SELECT t.person_id, d.etag, d.last_modified FROM feed_tokens t "
    "JOIN feed_documents d ON d.person_id = t.person_id "
    "WHERE t.token_hash = ? AND t.revoked_at IS NULL "
    "AND t.generation = (SELECT MAX(g.generation) FROM feed_tokens g WHERE g.person_id = t.person_id)"
)
_OWNER = (
    "SELECT t.person_id FROM feed_tokens t WHERE t.token_hash = ? AND t.revoked_at IS NULL "
    "AND t.generation = (SELECT MAX(g.generation) FROM feed_tokens g WHERE g.person_id = t.person_id)"
)
_SIGNATURE = (
    "SELECT (SELECT MAX(id) FROM cycles), (SELECT status || roster_sha256 FROM cycles "
    "ORDER BY id DESC LIMIT 1), (SELECT MAX(id) FROM runs)"
)

MAX_BODY = 8192  # bytes of a check-in form post
MAX_HEADER_BYTES = 16384
HEADER_TIMEOUT = 10.0  # seconds for a request's headers to arrive
BODY_TIMEOUT = 10.0  # seconds for a request's body to arrive
POSTS_PER_WINDOW = 10
POST_WINDOW_SECONDS = 600.0

_SECURITY = [
    ("referrer-policy", "no-referrer"),
    ("x-content-type-options", "nosniff"),
    ("x-robots-tag", "noindex, nofollow"),
]
_PAGE_SECURITY = [
    (
        "content-security-policy",
        "default-src 'none'; style-src 'self'; img-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    ),
    # same-origin, not no-referrer: a form post must carry its real Origin for the CSRF check.
    ("referrer-policy", "same-origin"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("x-robots-tag", "noindex, nofollow"),
    ("cache-control", "no-store"),
]
_NOT_FOUND_BODY = b"Not found\n"
_NOT_ALLOWED_BODY = b"Method not allowed\n"
_METHODS = ("GET", "HEAD", "POST")


def _plain(status: int, body: bytes, extra: list[tuple[str, str]] = ()) -> Response:  # type: ignore[assignment]
    headers = {
        "content-type": "text/plain; charset=utf-8",
        "content-length": str(len(body)),
        **dict(extra),
        "cache-control": "no-store",
        **dict(_SECURITY),
    }
    return Response(body, status, headers=headers)


def not_found() -> Response:
    """The one 404: unknown, malformed, rotated and revoked tokens and every other path alike."""
    return _plain(404, _NOT_FOUND_BODY)


def not_allowed() -> Response:
    return _plain(405, _NOT_ALLOWED_BODY, [("allow", "GET, HEAD")])


@dataclass(frozen=True)
class Document:
    """A feed ready to send: body, and the headers of a 200 and of a 304."""

    body: bytes
    etag: str
    last_modified: datetime  # whole seconds, UTC
    headers: dict[str, str]
    headers_304: dict[str, str]


def _document(body: bytes, etag: str, last_modified: str, max_age: int) -> Document:
    modified = datetime.fromisoformat(last_modified).astimezone(UTC).replace(microsecond=0)
    common = {
        "etag": etag,
        "last-modified": format_datetime(modified, usegmt=True),
        "cache-control": f"private, max-age={max_age}",
        **dict(_SECURITY),
    }
    headers = {"content-type": "text/calendar; charset=utf-8", "content-length": str(len(body)), **common}
    return Document(bytes(body), etag, modified, headers, common)


def _not_modified(doc: Document, request: Request) -> bool:
    """RFC 9110 §13.2.2: If-None-Match (weak comparison) decides; else If-Modified-Since."""
    inm = request.headers.get("if-none-match")
    if inm is not None:
        tags = [t.strip().removeprefix("W/") for t in inm.split(",")]
        return "*" in tags or doc.etag in tags
    ims = request.headers.get("if-modified-since")
    if ims is not None:
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError, IndexError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return doc.last_modified <= since
    return False


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

    # ---- feeds

    def lookup(self, token_hash: str) -> Document | None:
        """The current document for a token hash, or None (unknown, rotated, revoked: alike)."""
        con = self.ws.connection
        row = con.execute(_LOOKUP, (token_hash,)).fetchone()
        if row is None:
            return None
        key = (row[0], row[1])
        doc = self._cache.get(key)
        if doc is not None:
            self._cache.move_to_end(key)
            return doc
        body = con.execute("SELECT body FROM feed_documents WHERE person_id = ? AND etag = ?", key).fetchone()
        if body is None:  # replaced between the two reads: the next request sees the new one
            return None
        doc = _document(body[0], row[1], row[2], self.max_age)
        self._cache[key] = doc
        self._cached_bytes += len(doc.body)
        while self._cached_bytes > self.cache_bytes and len(self._cache) > 1:
            _, old = self._cache.popitem(last=False)
            self._cached_bytes -= len(old.body)
        return doc

    # ---- pages

    def owner(self, token_hash: str) -> str | None:
        row = self.ws.connection.execute(_OWNER, (token_hash,)).fetchone()
        return None if row is None else str(row[0])

    def cycle(self) -> CycleData | None:
        """The latest cycle's roster, pairs, schedule and program, reloaded when they change."""
        from store.repo import latest_cycle, load_cohort, load_pairs, load_program, load_schedule

        signature = tuple(self.ws.connection.execute(_SIGNATURE).fetchone())
        if self._cycle is not None and self._cycle[0] == signature:
            return self._cycle[1]
        info = latest_cycle(self.ws)
        data = None
        if info is not None:
            schedule = load_schedule(self.ws, info.id) or Schedule((), ())
            data = CycleData(
                info.id,
                info.is_open,
                load_cohort(self.ws, info.id),
                load_pairs(self.ws, info.id),
                schedule,
                load_program(self.ws, info.id),
            )
        self._cycle = (signature, data)
        return data

    def csrf(self, token_hash: str) -> str:
        if self._secret is None:
            row = self.ws.connection.execute("SELECT value FROM meta WHERE key = 'secret'").fetchone()
            self._secret = str(row[0] if row else "").encode()
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
        from store.repo import save_checkin

        with Workspace(self.directory, create=False) as ws:
            save_checkin(ws, checkin)


def _html(text: str, status: int = 200, head: bool = False) -> Response:
    body = text.encode("utf-8")
    headers = {
        "content-type": "text/html; charset=utf-8",
        "content-length": str(len(body)),
        **dict(_PAGE_SECURITY),
    }
    return Response(b"" if head else body, status, headers=headers)


def _origin_of(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _same_origin(request: Request, program: Program) -> bool:
    """Whether a post comes from this site: its Origin (or Referer) is this host or the base URL."""
    allowed = {_origin_of(program.feeds.base_url)}
    host = request.headers.get("host")
    if host:
        allowed.add(f"{request.url.scheme}://{host}".lower())
    origin = request.headers.get("origin")
    if origin is not None:
        return origin.lower() in allowed
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    referer = request.headers.get("referer")
    return referer is None or _origin_of(referer) in allowed


async def _read_body(request: Request, timeout: float) -> bytes | Response:
    """The request body, at most ``MAX_BODY`` bytes, within ``BODY_TIMEOUT`` seconds."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
        return _plain(413, b"Request too large\n")

    async def read() -> bytes | None:
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    try:
        body = await asyncio.wait_for(read(), timeout)
    except TimeoutError:
        return _plain(408, b"Request timeout\n", [("connection", "close")])
    if body is None:
        return _plain(413, b"Request too large\n")
    return body


def build_app(site: Site) -> Starlette:
    """The Starlette application over a ``Site``."""

    async def feed(request: Request) -> Response:
        match = _FEED.fullmatch(request.path_params["name"])
        doc = site.lookup(hash_token(match.group(1))) if match else None
        if doc is None:
            return not_found()
        head = request.method == "HEAD"
        if _not_modified(doc, request):
            return Response(b"", 304, headers=doc.headers_304)
        return Response(b"" if head else doc.body, 200, headers=doc.headers)

    async def stylesheet(request: Request) -> Response:
        body = pages.STYLESHEET
        return Response(
            b"" if request.method == "HEAD" else body,
            200,
            headers={
                "content-type": "text/css; charset=utf-8",
                "content-length": str(len(body)),
                "cache-control": "public, max-age=3600",
                **dict(_SECURITY),
            },
        )

    async def person_page(request: Request) -> Response:
        token = request.path_params["token"]
        if not _TOKEN.fullmatch(token):
            return not_found()
        digest = hash_token(token)
        owner = site.owner(digest)
        if owner is None:
            return not_found()
        head = request.method == "HEAD"
        data = site.cycle()
        if data is None:
            return _html(
                pages.render_message("Nothing here yet", "The program has not started yet."), head=head
            )
        now = site.clock()
        if owner == COORDINATOR:
            if request.method == "POST":
                return not_allowed()
            from store.repo import load_checkins

            points = pages.checkin_points(data.schedule, data.program)
            summary = summarise(
                [(p.mentor_id, p.mentee_id) for p in data.pairs],
                points,
                load_checkins(site.ws, data.cycle_id),
                now,
            )
            return _html(
                pages.render_coordinator(pages.coordinator_view(data.cohort, summary, data.program)),
                head=head,
            )
        person = data.cohort.by_id.get(owner)
        if person is None:
            return _html(
                pages.render_message(
                    "Not in this cycle", "You are not part of the current cycle of the program."
                ),
                head=head,
            )
        errors: list[str] = []
        status = 200
        if request.method == "POST":
            outcome = await _post_checkin(request, site, data, owner, digest, now)
            if isinstance(outcome, Response):
                return outcome
            errors, status = outcome, 400
        from store.repo import load_checkins

        view = pages.participant_view(
            person,
            data.cohort,
            data.pairs,
            data.schedule,
            data.program,
            load_checkins(site.ws, data.cycle_id, owner),
            now,
            feed_url(data.program.feeds.base_url, token),
        )
        saved = request.query_params.get("saved") == "1" and not errors
        return _html(
            pages.render_participant(
                view, csrf=site.csrf(digest), action=f"/p/{token}", saved=saved, errors=errors
            ),
            status,
            head=head,
        )

    async def on_404(request: Request, exc: Exception) -> Response:
        return not_found()

    async def on_405(request: Request, exc: Exception) -> Response:
        return not_allowed()

    return Starlette(
        routes=[
            Route("/feeds/{name}", feed, methods=["GET", "HEAD"]),
            Route("/p/{token}", person_page, methods=["GET", "HEAD", "POST"]),
            Route("/static/page.css", stylesheet, methods=["GET", "HEAD"]),
        ],
        exception_handlers={404: on_404, 405: on_405, HTTPException: on_404},
    )


async def _post_checkin(
    request: Request, site: Site, data: CycleData, owner: str, digest: str, now: datetime
) -> list[str] | Response:
    """Store a check-in; a redirect on success, the problems to show, or a refusal."""
    if not _same_origin(request, data.program):
        return _plain(403, b"Forbidden: cross-site form post refused\n")
    if not site.allow_post(digest):
        return _plain(429, b"Too many check-ins from this page; try again later\n", [("retry-after", "600")])
    body = await _read_body(request, site.body_timeout)
    if isinstance(body, Response):
        return body
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        return _plain(415, b"Unsupported form encoding\n")
    request._body = body  # the form parser reads the body already read (and bounded) above
    form = await request.form(max_files=0, max_fields=16)
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    if not hmac.compare_digest(fields.get("csrf", ""), site.csrf(digest)):
        return _plain(403, b"Forbidden: the form has expired; reload the page and try again\n")
    if not data.is_open:
        return ["this cycle is closed; check-ins can no longer change"]
    partner = fields.get("partner", "")
    pair = next((p for p in data.pairs if {p.mentor_id, p.mentee_id} == {owner, partner}), None)
    if pair is None or partner == owner:
        return ["this check-in is not about one of your partners"]
    point = open_point(
        pages.checkin_points(data.schedule, data.program).get((pair.mentor_id, pair.mentee_id), ()), now
    )
    if point is None or fields.get("number") != str(point.number):
        return ["this check-in is closed: the next one has opened, please answer that one"]
    note = pages.clip(fields.get("note", "").replace("\r\n", "\n"))
    problems = validate_answer(
        fields.get("met", ""), fields.get("rating", ""), fields.get("continue", ""), fields.get("note", "")
    )
    if problems:
        return problems
    checkin = CheckIn(
        data.cycle_id,
        owner,
        partner,
        point.number,
        fields["met"],
        int(fields["rating"]),
        fields["continue"],
        note,
        now.astimezone(UTC).replace(microsecond=0).isoformat(),
    )
    try:  # in a worker thread: a busy database (a `run` committing) must not stall other requests
        await asyncio.to_thread(site.save, checkin)
    except (MentorsyncError, sqlite3.Error):
        return _plain(503, b"Check-ins cannot be saved right now; please try again later\n")
    return Response(
        b"",
        303,
        headers={
            "location": f"/p/{request.path_params['token']}?saved=1",
            "content-length": "0",
            **dict(_PAGE_SECURITY),
        },
    )


Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def _redact(path: str) -> str:
    if path.startswith("/feeds/"):
        digest = hashlib.sha256(path[7:].removesuffix(".ics").encode("utf-8", "surrogateescape")).hexdigest()
        if _FEED.fullmatch(path[7:]):
            return f"/feeds/<redacted:{hash_token(path[7:-4])[:6]}>.ics"
        return f"<other path:{digest[:6]}>"
    if path.startswith("/p/") and _TOKEN.fullmatch(path[3:]):
        return f"/p/<redacted:{hash_token(path[3:])[:6]}>"
    if path == "/static/page.css":
        return path
    return f"<other path:{hashlib.sha256(path.encode('utf-8', 'surrogateescape')).hexdigest()[:6]}>"


class FeedApp:
    """The ASGI entry point: method filter, redacted access log, lifespan, then Starlette."""

    def __init__(self, site: Site):
        self.site = site
        self.app = build_app(site)

    def close(self) -> None:
        self.site.close()

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
        status, size = 0, 0

        async def logged_send(message: MutableMapping[str, Any]) -> None:
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))
            await send(message)

        if scope["method"] not in _METHODS:
            await not_allowed()(scope, receive, logged_send)
        else:
            await self.app(scope, receive, logged_send)
        if log.isEnabledFor(logging.INFO):
            client = scope.get("client") or ("-", 0)
            log.info(
                '%s "%s %s" %d %d %.1fms',
                client[0],
                scope["method"],
                _redact(scope["path"]),
                status,
                size,
                1000 * (time.perf_counter() - started),
            )


class _DropAll(logging.Filter):
    """Drops every record: this app writes its own, redacted, access log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return False


def create_app(
    workspace_dir: str | Path,
    *,
    max_age: int = 300,
    clock: Callable[[], datetime] | None = None,
    body_timeout: float = BODY_TIMEOUT,
) -> FeedApp:
    """The app for a workspace; applies pending migrations first so the tables exist."""
    db = Path(workspace_dir) / DB_NAME
    if not db.exists():
        raise StoreError(f"no workspace database at {db} (run `mentorsync publish` first)")
    try:
        Workspace(workspace_dir, create=False).close()
    except (StoreError, sqlite3.Error):  # a read-only workspace still serves what it has
        pass
    return FeedApp(Site(workspace_dir, max_age=max_age, clock=clock, body_timeout=body_timeout))


class _HeaderDeadline:
    """Closes a connection whose next request's headers do not arrive within ``HEADER_TIMEOUT``.

    uvicorn arms no timer before the first request, and cancels its keep-alive timer on any byte,
    so a client sending half a request line would hold the connection forever. The deadline is
    armed when the connection opens and after each response; a request that arrived in time is
    left alone (its body has its own timeout in the app).
    """

    header_timeout = HEADER_TIMEOUT
    transport: Any
    loop: Any
    cycle: Any

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        timer = getattr(self, "_deadline", None)
        if timer is not None:
            timer.cancel()
        super().connection_lost(exc)  # type: ignore[misc]

    def _arm(self) -> None:
        timer = getattr(self, "_deadline", None)
        if timer is not None:
            timer.cancel()
        if self.transport.is_closing():
            return
        self._armed_for = self.cycle
        self._deadline = self.loop.call_later(self.header_timeout, self._expire)

    def _expire(self) -> None:
        if self.cycle is not self._armed_for:  # a new request arrived in time
            return
        if not self.transport.is_closing():
            self.transport.close()


def protocol_class(header_timeout: float = HEADER_TIMEOUT) -> type:
    """uvicorn's fastest available HTTP/1.1 protocol with the header deadline."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as base
    except ImportError:  # pragma: no cover - httptools comes with uvicorn[standard]
        from uvicorn.protocols.http.h11_impl import H11Protocol as base  # type: ignore[assignment]
    return type("DeadlineProtocol", (_HeaderDeadline, base), {"header_timeout": header_timeout})


def make_server(
    workspace_dir: str | Path,
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    max_age: int = 300,
    log_level: str = "info",
    clock: Callable[[], datetime] | None = None,
    header_timeout: float = HEADER_TIMEOUT,
    body_timeout: float = BODY_TIMEOUT,
) -> Any:
    """A ``uvicorn.Server`` for the workspace (call ``.run()``; tests run it in a thread).

    ``clock`` replaces the wall clock for the pages (tests), the timeouts are in seconds."""
    import uvicorn

    # uvicorn logs access lines whenever its access logger has a handler (a test harness or a
    # logging config can attach one); those lines carry the token, so they are dropped at source.
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _DropAll) for f in access.filters):
        access.addFilter(_DropAll())
    config = uvicorn.Config(
        create_app(workspace_dir, max_age=max_age, clock=clock, body_timeout=body_timeout),
        host=host,
        port=port,
        access_log=False,
        server_header=False,
        lifespan="on",
        log_level=log_level,
        timeout_keep_alive=5,
        http=protocol_class(header_timeout),
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
    )
    return uvicorn.Server(config)


def serve(
    workspace_dir: str | Path, host: str = "127.0.0.1", port: int = 8080, *, max_age: int = 300
) -> None:
    """Serve the workspace's feeds and pages until interrupted (binds loopback unless told otherwise)."""
    if not log.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    make_server(workspace_dir, host, port, max_age=max_age).run()
