"""The HTTP app of ``mentorsync serve``: the feeds and the participants' private pages.

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

Forms: a CSRF token bound to the person's token (an HMAC with the workspace secret), an
``Origin`` (or ``Sec-Fetch-Site``/``Referer``) check, a per-token limit of ``POSTS_PER_WINDOW``
posts per ``POST_WINDOW_SECONDS``, bodies of at most ``MAX_BODY`` bytes read within
``BODY_TIMEOUT`` seconds (``server.site``).

This app logs one line per request with the token replaced by ``<redacted:abcdef>`` (the first
six hex digits of the token's sha256); uvicorn's own access log is off (``server.listener``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import sqlite3
import time
import urllib.parse
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cohort.checkins import CheckIn, open_point, summarise, validate_answer
from cohort.errors import MentorsyncError, StoreError
from cohort.program import Program
from feeds.tokens import COORDINATOR, feed_url, hash_token
from pages import views as pages
from server.site import BODY_TIMEOUT, SECURITY_HEADERS, CycleData, Document, Site
from store.db import DB_NAME, Workspace
from store.repo import load_checkins

log = logging.getLogger("mentorsync.serve")

_FEED = re.compile(r"([A-Za-z0-9_-]{16,128})\.ics")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,128}")

MAX_BODY = 8192  # bytes of a check-in form post

_SECURITY = SECURITY_HEADERS
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


class Routes:
    """The app's endpoints over one ``Site`` (bound methods: Starlette calls them with the request)."""

    def __init__(self, site: Site):
        self.site = site

    async def feed(self, request: Request) -> Response:
        match = _FEED.fullmatch(request.path_params["name"])
        doc = self.site.lookup(hash_token(match.group(1))) if match else None
        if doc is None:
            return not_found()
        if _not_modified(doc, request):
            return Response(b"", 304, headers=doc.headers_304)
        return Response(b"" if request.method == "HEAD" else doc.body, 200, headers=doc.headers)

    async def stylesheet(self, request: Request) -> Response:
        body = pages.STYLESHEET
        headers = {
            "content-type": "text/css; charset=utf-8",
            "content-length": str(len(body)),
            "cache-control": "public, max-age=3600",
            **dict(_SECURITY),
        }
        return Response(b"" if request.method == "HEAD" else body, 200, headers=headers)

    async def person_page(self, request: Request) -> Response:
        token = request.path_params["token"]
        if not _TOKEN.fullmatch(token):
            return not_found()
        digest = hash_token(token)
        owner = self.site.owner(digest)
        if owner is None:
            return not_found()
        head = request.method == "HEAD"
        now = self.site.clock()
        data = self.site.cycle()
        if data is None:
            message = pages.render_message("Nothing here yet", "The program has not started yet.")
            return _html(message, head=head)
        if owner == COORDINATOR:
            return not_allowed() if request.method == "POST" else self.coordinator_page(data, now, head)
        if owner not in data.cohort.by_id:
            message = pages.render_message(
                "Not in this cycle", "You are not part of the current cycle of the program."
            )
            return _html(message, head=head)
        errors: list[str] = []
        if request.method == "POST":
            outcome = await _post_checkin(request, self.site, data, owner, digest, now)
            if isinstance(outcome, Response):
                return outcome
            errors = outcome
        return self.participant_page(request, data, owner, token, now, errors)

    def coordinator_page(self, data: CycleData, now: datetime, head: bool) -> Response:
        points = pages.checkin_points(data.schedule, data.program)
        pairs = [(p.mentor_id, p.mentee_id) for p in data.pairs]
        summary = summarise(pairs, points, load_checkins(self.site.ws, data.cycle_id), now)
        view = pages.coordinator_view(data.cohort, summary, data.program)
        return _html(pages.render_coordinator(view), head=head)

    def participant_page(
        self, request: Request, data: CycleData, owner: str, token: str, now: datetime, errors: list[str]
    ) -> Response:
        """The participant's page; with ``errors`` (a refused post) as a 400 that lists them."""
        view = pages.participant_view(
            data.cohort[owner],
            data.cohort,
            data.pairs,
            data.schedule,
            data.program,
            load_checkins(self.site.ws, data.cycle_id, owner),
            now,
            feed_url(data.program.feeds.base_url, token),
        )
        saved = request.query_params.get("saved") == "1" and not errors
        csrf = self.site.csrf(hash_token(token))
        html = pages.render_participant(view, csrf=csrf, action=f"/p/{token}", saved=saved, errors=errors)
        return _html(html, 400 if errors else 200, head=request.method == "HEAD")


def _replayed(request: Request, body: bytes) -> Request:
    """The request again, its body the one already read (and bounded): what the form parser reads."""

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(request.scope, receive)


def build_app(site: Site) -> Starlette:
    """The Starlette application over a ``Site``."""
    routes = Routes(site)

    async def on_404(request: Request, exc: Exception) -> Response:
        return not_found()

    async def on_405(request: Request, exc: Exception) -> Response:
        return not_allowed()

    return Starlette(
        routes=[
            Route("/feeds/{name}", routes.feed, methods=["GET", "HEAD"]),
            Route("/p/{token}", routes.person_page, methods=["GET", "HEAD", "POST"]),
            Route("/static/page.css", routes.stylesheet, methods=["GET", "HEAD"]),
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
    form = await _replayed(request, body).form(max_files=0, max_fields=16)
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
