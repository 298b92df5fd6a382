"""The participants' private pages on a real `serve` (uvicorn on a free port), checked with httpx."""

from __future__ import annotations

import html as htmlmod
import json
import re
import socket
import time

import httpx
import pytest

from feeds.tokens import revoke, rotate
from store import Workspace, latest_cycle, load_checkins
from tests.cli_helpers import invoke
from tests.pages_support import Built, build, form_fields, paired, serving


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build(tmp_path_factory.mktemp("pages"))


def strip_secrets(page: str) -> str:
    """The page without its hidden CSRF values and its own address (random hex could match an id)."""
    page = re.sub(r'name="csrf" value="[0-9a-f]+"', "", page)
    return re.sub(r"/p/[A-Za-z0-9_-]+|/feeds/[A-Za-z0-9_-]+\.ics|%2Ffeeds%2F[A-Za-z0-9_-]+\.ics", "", page)


def test_page_shows_partner_and_nothing_about_anyone_else(built: Built):
    people = {r["id"]: r for r in built.people}
    partners: dict[str, set[str]] = {}
    for mentor, mentee in paired(built):
        partners.setdefault(mentor, set()).add(mentee)
        partners.setdefault(mentee, set()).add(mentor)
    with serving(built.workspace) as base, httpx.Client(base_url=base, timeout=10) as client:
        for pid, mine in sorted(partners.items()):
            response = client.get(built.page_path(pid))
            assert response.status_code == 200
            page = strip_secrets(response.text)
            text = htmlmod.unescape(page)
            assert people[pid]["name"] in text
            for partner in mine:
                assert people[partner]["name"] in text
                assert people[partner]["timezone"] in text
            allowed = {pid, *mine}
            for other, row in people.items():
                if other in allowed:
                    continue
                if any(row["name"] in people[a]["name"] for a in allowed):
                    continue  # a name inside an allowed name (not the case with these seeds)
                assert row["name"] not in text, (pid, other)
                assert row["email"].lower() not in text.lower(), (pid, other)
                assert not re.search(rf"\b{re.escape(other)}\b", page), (pid, other)
            assert "score" not in text.lower()
            assert "<script" not in page.lower() and "style=" not in page.lower()
            # subscribe links of the person's own feed
            feed = next(r for r in built.index if r["id"] == pid)["url"]
            assert f'href="webcal://{feed.split("://", 1)[1]}"' in response.text
            assert "https://calendar.google.com/calendar/r?cid=webcal%3A%2F%2F" in response.text
            assert "https://outlook.live.com/calendar/0/addfromweb?url=http%3A%2F%2F" in response.text
            assert "never shown to your partner" in text


def test_page_headers_are_strict(built: Built):
    pid = paired(built)[0][1]
    with serving(built.workspace) as base, httpx.Client(base_url=base, timeout=10) as client:
        response = client.get(built.page_path(pid))
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src" not in csp and "'unsafe-inline'" not in csp
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-frame-options"] == "DENY"
        css = client.get("/static/page.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_injected_markup_is_shown_as_text(tmp_path):
    def edit(rows: list[dict[str, str]]) -> None:
        for row in rows:
            row["name"] = "<script>alert(1)</script> " + row["name"]
            if row["goals"]:
                row["goals"] = "<img src=x onerror=alert(2)>;" + row["goals"]

    built = build(tmp_path, people=12, mentors=4, edit=edit)
    mentor, mentee = paired(built)[0]
    with serving(built.workspace) as base, httpx.Client(base_url=base, timeout=10) as client:
        for pid in (mentor, mentee, "*coordinator*"):
            page = client.get(built.page_path(pid)).text
            assert "<script" not in page and "<img" not in page
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
            assert "<b>" not in page
            if pid != "*coordinator*":
                assert "&lt;b&gt;safely&lt;/b&gt;" in page  # the charter too
        assert "&lt;img src=x onerror=alert(2)&gt;" in client.get(built.page_path(mentor)).text


def _post(client: httpx.Client, path: str, fields: dict[str, str], **headers: str) -> httpx.Response:
    return client.post(path, data=fields, headers={"origin": str(client.base_url).rstrip("/"), **headers})


def test_checkin_round_trip_and_refusals(tmp_path):
    built = build(tmp_path, people=16, mentors=5)
    mentor, mentee = paired(built)[0]
    path = built.page_path(mentee)
    with serving(built.workspace) as base, httpx.Client(base_url=base, timeout=10) as client:
        page = client.get(path).text
        hidden = form_fields(page)
        answer = {**hidden, "met": "yes", "rating": "4", "continue": "unsure", "note": "Going <well>"}

        cross = client.post(path, data=answer, headers={"origin": "https://evil.example"})
        assert cross.status_code == 403
        assert _post(client, path, answer, **{"origin": "null"}).status_code == 403
        no_origin = client.post(path, data=answer, headers={"sec-fetch-site": "cross-site"})
        assert no_origin.status_code == 403
        assert _post(client, path, {**answer, "csrf": "0" * 64}).status_code == 403
        other = built.page_path(mentor)  # the partner's CSRF token does not work on this page
        other_csrf = form_fields(client.get(other).text)["csrf"]
        assert _post(client, path, {**answer, "csrf": other_csrf}).status_code == 403
        assert _post(client, path, {**answer, "note": "x" * 9000}).status_code == 413
        bad = _post(client, path, {**answer, "rating": "9"})
        assert bad.status_code == 400 and "from 1 to 5" in bad.text
        with Workspace(built.workspace, create=False) as ws:
            assert load_checkins(ws, latest_cycle(ws).id) == ()

        saved = _post(client, path, answer)
        assert saved.status_code == 303 and saved.headers["location"] == path + "?saved=1"
        again = client.get(path + "?saved=1").text
        assert "your check-in is saved" in again
        assert "Going &lt;well&gt;" in again and 'value="unsure" required checked' in again
        # the partner's page never shows it
        assert "Going" not in client.get(built.page_path(mentor)).text
        # editable: a second answer replaces the first
        assert _post(client, path, {**answer, "continue": "no", "note": ""}).status_code == 303
        coordinator = client.get(built.coordinator_path).text
        assert "would not like to continue" in coordinator

    with Workspace(built.workspace, create=False) as ws:
        (row,) = load_checkins(ws, latest_cycle(ws).id)
    assert (row.person_id, row.partner_id, row.met, row.rating, row.wants_continue, row.note) == (
        mentee,
        mentor,
        "yes",
        4,
        "no",
        "",
    )
    code, out, _ = invoke(built.workspace, "checkins", "--json")
    assert code == 0
    report = json.loads(out)
    (stop,) = report["wants_to_stop"]
    assert stop == {"person_id": mentee, "partner_id": mentor}
    assert any(p["mentee_id"] == mentee and p["risks"] for p in report["at_risk"])


def test_posts_are_rate_limited_per_token(tmp_path):
    built = build(tmp_path, people=16, mentors=5)
    (mentor, mentee), *_ = paired(built)
    with serving(built.workspace) as base, httpx.Client(base_url=base, timeout=10) as client:
        hidden = form_fields(client.get(built.page_path(mentee)).text)
        answer = {**hidden, "met": "no", "rating": "3", "continue": "yes"}
        codes = [_post(client, built.page_path(mentee), answer).status_code for _ in range(12)]
        assert codes[:10] == [303] * 10 and codes[10:] == [429, 429]
        partner = form_fields(client.get(built.page_path(mentor)).text)
        assert (
            _post(
                client, built.page_path(mentor), {**partner, "met": "no", "rating": "3", "continue": "yes"}
            ).status_code
            == 303
        )


def test_rotated_and_revoked_stop_before_the_command_returns(tmp_path):
    """Finding 5 of issue 17: no grace period, not even the old one second."""
    built = build(tmp_path, people=12, mentors=4)
    mentor, mentee = paired(built)[0]
    feed_of = {r["id"]: "/feeds/" + r["url"].rsplit("/", 1)[1] for r in built.index}
    with serving(built.workspace) as base, httpx.Client(base_url=base, timeout=10) as client:
        for path in (built.page_path(mentee), feed_of[mentee], built.page_path(mentor), feed_of[mentor]):
            assert client.get(path).status_code == 200  # warm every cache
        unknown = client.get("/p/" + "A" * 32)
        with Workspace(built.workspace, create=False) as ws:
            new = rotate(ws, mentee)
            revoke(ws, mentor)
        for path in (built.page_path(mentee), feed_of[mentee], built.page_path(mentor), feed_of[mentor]):
            gone = client.get(path)
            assert gone.status_code == 404 and gone.content == unknown.content
            assert sorted((k, v) for k, v in gone.headers.items() if k != "date") == sorted(
                (k, v) for k, v in unknown.headers.items() if k != "date"
            )
        assert client.get(f"/p/{new}").status_code == 200
        assert client.put(f"/p/{new}").status_code == 405


def test_half_open_requests_are_closed(tmp_path):
    """Finding 10 of issue 17: header and body timeouts."""
    built = build(tmp_path, people=12, mentors=4)
    pid = paired(built)[0][1]
    with serving(built.workspace, header_timeout=0.5, body_timeout=0.5) as base:
        port = int(base.rsplit(":", 1)[1])
        for opening in (b"", b"GET /feeds/abc", b"GET / HTTP/1.1\r\nHost: x\r\n"):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(opening)
                started = time.monotonic()
                assert s.recv(1024) == b""  # closed by the server, not by our timeout
                assert time.monotonic() - started < 3
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(
                f"POST {built.page_path(pid)} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: {base}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nmet=".encode()
            )
            answer = s.recv(1024)
            assert answer.startswith(b"HTTP/1.1 408")
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:  # a whole request still works
            s.sendall(b"GET /static/page.css HTTP/1.1\r\nHost: x\r\n\r\n")
            assert s.recv(1024).startswith(b"HTTP/1.1 200")


def test_coordinator_page_lists_every_pair(built: Built):
    names = {r["id"]: r["name"] for r in built.people}
    with serving(built.workspace) as base, httpx.Client(base_url=base, timeout=10) as client:
        page = htmlmod.unescape(client.get(built.coordinator_path).text)
        assert client.post(built.coordinator_path, data={}).status_code == 405
    for mentor, mentee in paired(built):
        assert f"{names[mentor]} & {names[mentee]}" in page


def test_nothing_personal_in_the_log(built: Built, caplog, capfd):
    import logging

    caplog.set_level(logging.INFO)
    mentor, mentee = paired(built)[0]
    path = built.page_path(mentee)
    with serving(built.workspace) as base, httpx.Client(base_url=base, timeout=10) as client:
        hidden = form_fields(client.get(path).text)
        client.post(
            path,
            data={**hidden, "met": "yes", "rating": "5", "continue": "yes", "note": "secret-note"},
            headers={"origin": base},
        )
        client.get(built.coordinator_path)
    out, err = capfd.readouterr()
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore")))
    logged += out + err
    assert "/p/<redacted:" in logged
    names = {r["id"]: r for r in built.people}
    for secret in (
        path[3:],
        built.coordinator_path[3:],
        "secret-note",
        names[mentee]["name"],
        names[mentee]["email"],
        hidden["csrf"],
    ):
        assert secret not in logged
