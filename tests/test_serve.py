"""`mentorsync serve` for real: uvicorn on a free loopback port, checked with httpx."""

from __future__ import annotations

import logging
import socket
import threading
import time
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest

from cohort.program import FeedSettings, Program
from feeds.publish import publish
from feeds.tokens import revoke, rotate
from server import make_server
from store.db import Workspace
from tests.feeds_support import sample_cohort, sample_schedule

T0 = datetime(2027, 1, 5, 12, 0, 7, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    workspace = Workspace(tmp_path / "ws")
    program = Program(feeds=FeedSettings(base_url="http://127.0.0.1"))
    result = publish(workspace, sample_cohort(), sample_schedule(), program, tmp_path / "out", now=T0)
    port = free_port()
    server = make_server(workspace.directory, "127.0.0.1", port, max_age=120)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
        yield client, result, workspace, tmp_path
    server.should_exit = True
    thread.join(10)
    workspace.close()


def server_log(caplog, capfd) -> str:
    """Everything the server logged (the test's own httpx client logs URLs: left out)."""
    out, err = capfd.readouterr()
    records = [r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    return "\n".join(records) + out + err


def without_date(headers) -> list[tuple[str, str]]:
    return sorted((k, v) for k, v in headers.items() if k != "date")


def path_of(url: str) -> str:
    return url.split("127.0.0.1", 1)[1]


def test_serves_feeds_with_validators_and_safe_headers(served, caplog, capfd):
    client, result, _ws, tmp_path = served
    feed = next(f for f in result.feeds if f.person_id == "sam")
    response = client.get(path_of(feed.url))
    assert response.status_code == 200
    assert response.content == (tmp_path / "out" / feed.file).read_bytes()
    h = response.headers
    assert h["content-type"] == "text/calendar; charset=utf-8"
    assert h["etag"] == feed.etag and not h["etag"].startswith("W/")
    assert h["last-modified"] == format_datetime(T0, usegmt=True)
    assert h["cache-control"] == "private, max-age=120"
    assert h["referrer-policy"] == "no-referrer" and h["x-content-type-options"] == "nosniff"
    assert "server" not in h

    assert client.get(path_of(feed.url), headers={"If-None-Match": feed.etag}).status_code == 304
    assert client.get(path_of(feed.url), headers={"If-None-Match": f'"x", W/{feed.etag}'}).status_code == 304
    not_modified = client.get(path_of(feed.url), headers={"If-Modified-Since": h["last-modified"]})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified.headers["etag"] == feed.etag
    # If-None-Match takes precedence over If-Modified-Since
    assert (
        client.get(
            path_of(feed.url), headers={"If-None-Match": '"other"', "If-Modified-Since": h["last-modified"]}
        ).status_code
        == 200
    )
    assert (
        client.get(
            path_of(feed.url), headers={"If-Modified-Since": "Mon, 04 Jan 2027 00:00:00 GMT"}
        ).status_code
        == 200
    )
    assert client.get(path_of(feed.url), headers={"If-Modified-Since": "garbage"}).status_code == 200

    head = client.head(path_of(feed.url))
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(response.content))
    assert head.headers["etag"] == feed.etag

    coordinator = client.get(path_of(result.coordinator.url))
    assert coordinator.status_code == 200 and b"Mentoring: Ana Lima & Sam Lee" in coordinator.content

    tokens = [path_of(f.url)[len("/feeds/") : -len(".ics")] for f in [*result.feeds, result.coordinator]]
    logged = server_log(caplog, capfd)
    assert "/feeds/<redacted:" in logged
    for token in tokens:
        assert token not in logged


def test_one_indistinguishable_404(served, caplog, capfd):
    client, result, ws, _tmp = served
    feed = next(f for f in result.feeds if f.person_id == "ana")
    revoked = next(f for f in result.feeds if f.person_id == "dev")
    rotate(ws, "ana")
    revoke(ws, "dev")
    # no pause: the token's state is read on every request (issue 17, finding 5)
    valid_token = path_of(feed.url)[7:-4]
    probes = [
        path_of(feed.url),  # rotated
        path_of(revoked.url),  # revoked
        "/feeds/" + "A" * 32 + ".ics",  # unknown
        "/feeds/short.ics",
        "/feeds/",
        "/",
        "/feeds/../mentorsync.db",
        "/feeds/%2e%2e/feeds.key",
        "/mentorsync.db",
        "/feeds/index.csv",
        "/feeds/" + valid_token,
        "/FEEDS/" + valid_token + ".ics",
    ]
    answers = [client.get(p) for p in probes]
    first = answers[0]
    assert first.status_code == 404
    for answer in answers:
        assert answer.status_code == 404
        assert answer.content == first.content
        assert without_date(answer.headers) == without_date(first.headers)
    assert client.head(path_of(revoked.url)).status_code == 404
    assert client.post(path_of(feed.url)).status_code == 405
    logged = server_log(caplog, capfd)
    for token in (valid_token, path_of(revoked.url)[7:-4]):
        assert token not in logged


def test_binds_loopback_by_default(tmp_path):
    Workspace(tmp_path / "ws").close()
    assert make_server(tmp_path / "ws").config.host == "127.0.0.1"
