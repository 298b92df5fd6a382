"""Running the app: uvicorn with a header deadline, no access log of its own, loopback by default.

Request headers must arrive within ``HEADER_TIMEOUT`` seconds of the connection opening (or of the
previous response) and be at most ``MAX_HEADER_BYTES``: a half-open request is closed, never held.
uvicorn's access log is off (its lines would carry the token); the app logs its own, redacted
(``server.app``). The default bind address is 127.0.0.1: put a TLS reverse proxy in front to
publish beyond the machine.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from server.app import create_app, log
from server.site import BODY_TIMEOUT

MAX_HEADER_BYTES = 16384
HEADER_TIMEOUT = 10.0  # seconds for a request's headers to arrive


class _DropAll(logging.Filter):
    """Drops every record: this app writes its own, redacted, access log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return False


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
