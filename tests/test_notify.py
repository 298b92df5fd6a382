"""`mentorsync notify` against real SMTP servers on localhost (aiosmtpd): who gets what, exactly
once across crashes and re-runs, refused recipients, bad settings, and invitations that expand to
exactly the scheduled meetings."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
import recurring_ical_events
from icalendar import Calendar

from tests.cli_helpers import invoke, rows
from tests.smtp_support import PASSWORD, USER, Sink, free_port, make_cert, start_server

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"
SENDER = "mentoring@northwind.example"


def _email_section(port: int, security: str, login: bool = True, **extra: object) -> str:
    lines = [
        "[email]",
        'host = "127.0.0.1"',
        f"port = {port}",
        f'security = "{security}"',
        f'from = "{SENDER}"',
        'reply_to = "coordinator@northwind.example"',
        "messages_per_minute = 100000",
        "timeout_seconds = 10",
    ]
    if login:
        lines.append(f'username = "{USER}"')
    lines += [f"{k} = {json.dumps(v)}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


def configure(ws: Path, section: str) -> None:
    text = (ws / "program.toml").read_text(encoding="utf-8")
    text = text.split("\n[email]")[0].rstrip("\n") + "\n\n" + section
    (ws / "program.toml").write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace after `run` on the sample cohort, every fifth person on `calendar = invite`."""
    ws = tmp_path_factory.mktemp("base")
    shutil.copy(SAMPLE / "program.toml", ws / "program.toml")
    with (SAMPLE / "participants.csv").open(newline="", encoding="utf-8") as fh:
        people = list(csv.DictReader(fh))
    for i, row in enumerate(people):
        row["calendar"] = "invite" if i % 5 == 0 else "feed" if i % 5 == 1 else ""
    with (ws / "participants.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(people[0]))
        writer.writeheader()
        writer.writerows(people)
    code, _, err = invoke(ws, "-q", "run", "participants.csv", "--out", "out")
    assert code == 0, err
    return ws


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_cert(tmp_path_factory.mktemp("cert"))


@pytest.fixture
def ws(base: Path, tmp_path: Path) -> Path:
    target = tmp_path / "ws"
    shutil.copytree(base, target)
    return target


@pytest.fixture
def env(cert: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("MENTORSYNC_SMTP_PASSWORD", PASSWORD)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert[0]))
    return {**os.environ}


@pytest.fixture
def server(cert: tuple[Path, Path], request: pytest.FixtureRequest):
    sink = Sink()
    security = getattr(request, "param", "starttls")
    controller, port = start_server(sink, security, cert)
    yield sink, port, security
    controller.stop()


def roster(ws: Path) -> dict[str, dict[str, str]]:
    return {r["id"]: r for r in rows(ws / "participants.csv")}


def outputs(ws: Path) -> tuple[list[dict[str, str]], dict[str, str], dict]:
    pairs = rows(ws / "out" / "matches.csv")
    unmatched = {r["id"]: r["reason"] for r in rows(ws / "out" / "unmatched.csv")}
    schedule = json.loads((ws / "out" / "schedule.json").read_text(encoding="utf-8"))
    return pairs, unmatched, schedule


def text_of(msg) -> str:  # noqa: ANN001
    return msg.get_body(("plain",)).get_content() + msg.get_body(("html",)).get_content()


def calendars(msg) -> list[Calendar]:  # noqa: ANN001
    return [
        Calendar.from_ical(p.get_payload(decode=True))
        for p in msg.walk()
        if p.get_content_type() == "text/calendar"
    ]


def items_of(schedule: dict, pid: str) -> list[dict]:
    """The person's meetings: series with at least one occurrence, and events."""
    return [
        it
        for it in [*schedule["series"], *schedule["events"]]
        if pid in (it["mentor_id"], it["mentee_id"]) and it.get("occurrences", [1])
    ]


def expected_starts(item: dict) -> set[datetime]:
    if "occurrences" in item:
        return {datetime.fromisoformat(o.replace("Z", "+00:00")) for o in item["occurrences"]}
    return {datetime.fromisoformat(item["start"].replace("Z", "+00:00"))}


def expand(cal: Calendar) -> set[datetime]:
    events = recurring_ical_events.of(cal).between(datetime(2000, 1, 1), datetime(2100, 1, 1))
    return {e["DTSTART"].dt.astimezone(UTC) for e in events}


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("server", ["starttls", "tls"], indirect=True)
def test_right_people_get_the_right_messages_once(ws: Path, env: dict, server) -> None:  # noqa: ANN001
    sink, port, security = server
    configure(ws, _email_section(port, security))
    code, out, err = invoke(ws, "notify")
    assert code == 0, err
    people = roster(ws)
    pairs, unmatched, schedule = outputs(ws)
    partners: dict[str, set[str]] = {}
    for p in pairs:
        partners.setdefault(p["mentor_id"], set()).add(p["mentee_id"])
        partners.setdefault(p["mentee_id"], set()).add(p["mentor_id"])
    by_email = {r["email"].lower(): pid for pid, r in people.items()}
    got: dict[str, Counter] = {}
    for (mail_from, rcpts, _), msg in zip(sink.received, sink.messages(), strict=True):
        assert mail_from == SENDER
        assert len(rcpts) == 1 and msg["To"].addresses[0].addr_spec.lower() == rcpts[0].lower()
        pid = by_email[rcpts[0].lower()]
        got.setdefault(pid, Counter())[msg["X-Mentorsync-Kind"]] += 1
        # names no other participant but a partner
        body = text_of(msg) + "".join(c.to_ical().decode() for c in calendars(msg))
        allowed = {pid} | partners.get(pid, set())
        for other, row in people.items():
            if other not in allowed:
                assert row["name"] not in body and row["email"] not in body, (pid, other)
    for pid, row in people.items():
        kinds = got.get(pid, Counter())
        if pid in partners:
            assert kinds["intro"] == 1, pid
        elif pid in unmatched:
            assert kinds["unmatched"] == 1, pid
        invited = row["calendar"] == "invite"
        assert kinds["invite"] == (len(items_of(schedule, pid)) if invited else 0), pid
    n = len(sink.received)
    assert n > 0
    code, out, err = invoke(ws, "notify")
    assert code == 0, err
    assert len(sink.received) == n  # a second notify sends nothing
    code, out, _ = invoke(ws, "notify", "--status", "--json")
    assert code == 0 and {r["status"] for r in json.loads(out)} == {"sent"}


def test_invitations_expand_to_exactly_the_schedule(ws: Path, env: dict, server) -> None:  # noqa: ANN001
    sink, port, security = server
    configure(ws, _email_section(port, security))
    assert invoke(ws, "notify")[0] == 0
    people = roster(ws)
    _, _, schedule = outputs(ws)
    uids = {it["uid"]: it for it in [*schedule["series"], *schedule["events"]]}
    seen: dict[str, set[str]] = {}
    for msg in sink.messages():
        cals = calendars(msg)
        if msg["X-Mentorsync-Kind"] != "invite":
            assert not cals
            continue
        assert len(cals) == 1
        (cal,) = cals
        assert str(cal["METHOD"]) == "REQUEST"
        (ev,) = cal.walk("VEVENT")
        pid = {r["email"]: k for k, r in people.items()}[msg["To"].addresses[0].addr_spec]
        assert str(ev["ORGANIZER"]) == f"mailto:{SENDER}"
        attendees = ev.get("ATTENDEE")
        assert not isinstance(attendees, list) and str(attendees) == f"mailto:{people[pid]['email']}"
        uid = str(ev["UID"])
        assert expand(cal) == expected_starts(uids[uid])  # recurring_ical_events
        seen.setdefault(pid, set()).add(uid)
        # an independent parser: the `ical` package reads the same VEVENT
        from ical.calendar_stream import IcsCalendarStream

        parsed = IcsCalendarStream.calendar_from_ics(cal.to_ical().decode())
        assert [e.uid for e in parsed.events] == [uid]
        starts = {o.dtstart.astimezone(UTC) for o in parsed.timeline}
        assert starts == expected_starts(uids[uid])
    invitees = [pid for pid, r in people.items() if r["calendar"] == "invite" and items_of(schedule, pid)]
    assert invitees
    for pid in invitees:
        assert seen[pid] == {i["uid"] for i in items_of(schedule, pid)}


def test_invitees_feeds_leave_the_invited_meetings_out(ws: Path) -> None:
    people = roster(ws)
    index = {r["id"]: r for r in rows(ws / "out" / "feeds" / "index.csv")}
    _, _, schedule = outputs(ws)
    for pid, row in people.items():
        token = index[pid]["url"].rsplit("/", 1)[1]
        body = (ws / "out" / "feeds" / token).read_bytes()
        n = body.count(b"BEGIN:VEVENT")
        assert n == (0 if row["calendar"] == "invite" else len(items_of(schedule, pid))), pid


def test_dry_run_writes_eml_files_and_sends_nothing(ws: Path, env: dict) -> None:
    configure(ws, _email_section(free_port(), "starttls"))  # nobody listens: a dry run never connects
    code, out, err = invoke(ws, "notify", "--dry-run", "--out", "eml")
    assert code == 0, err
    files = sorted((ws / "eml").glob("*.eml"))
    assert files and "nothing sent" in out
    people = roster(ws)
    for f in files:
        msg = message_from_bytes(f.read_bytes(), policy=default)
        assert msg.get_content_type() == "multipart/alternative"
        parts = [p.get_content_type() for p in msg.iter_parts()]
        pid = f.name.split("-", 1)[1].rsplit("-", 1)[0]
        if msg["X-Mentorsync-Kind"] == "invite":
            assert people[pid]["calendar"] == "invite"
            assert parts == ["text/plain", "text/html", "text/calendar"]
            cal_part = list(msg.iter_parts())[2]
            assert cal_part.get_param("method") == "REQUEST"
        else:
            assert parts == ["text/plain", "text/html"]
        assert msg["Message-ID"] and msg["Subject"] and msg["From"].addresses[0].addr_spec == SENDER
    code, out, _ = invoke(ws, "notify", "--status", "--json")
    assert code == 0 and json.loads(out) == []  # nothing recorded


def _run_cli(ws: Path, env: dict, *args: str, crash: str | None = None) -> subprocess.CompletedProcess:
    e = {**env, **({"MENTORSYNC_NOTIFY_CRASH_AFTER": crash} if crash else {})}
    e.pop("MENTORSYNC_NOTIFY_CRASH_AFTER", None) if crash is None else None
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "-w", str(ws), *args],
        env=e,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_killed_sender_then_rerun_delivers_each_message_exactly_once(ws: Path, env: dict, server) -> None:  # noqa: ANN001
    sink, port, security = server
    configure(ws, _email_section(port, security))
    done = _run_cli(ws, env, "notify", crash="7")
    assert done.returncode == -9, done.stderr  # SIGKILL after 7 messages were sent and marked
    assert len(sink.received) == 7
    again = _run_cli(ws, env, "notify")
    assert again.returncode == 0, again.stderr
    ids = Counter(m["Message-ID"] for m in sink.messages())
    assert ids and max(ids.values()) == 1  # every message exactly once
    status = json.loads(_run_cli(ws, env, "notify", "--status", "--json").stdout)
    assert {r["status"] for r in status} == {"sent"} and len(status) == len(ids)
    # the same messages as one uninterrupted run would send
    fresh = ws.parent / "fresh"
    shutil.copytree(ws, fresh)
    dry = _run_cli(fresh, env, "notify", "--dry-run", "--out", str(fresh / "eml"))
    assert dry.returncode == 0 and not list((fresh / "eml").glob("*.eml"))


def test_kill_between_acceptance_and_mark_resends_only_that_message(ws: Path, env: dict, server) -> None:  # noqa: ANN001
    """The documented residual window: accepted by the server, killed before the mark. The next
    run sends that one message again, with the same Message-ID; nothing else twice."""
    sink, port, security = server
    configure(ws, _email_section(port, security))
    done = _run_cli(ws, env, "notify", crash="4:accepted")
    assert done.returncode == -9
    assert len(sink.received) == 4
    again = _run_cli(ws, env, "notify")
    assert again.returncode == 0, again.stderr
    assert "resent after an interruption" in again.stderr
    ids = Counter(m["Message-ID"] for m in sink.messages())
    assert sorted(ids.values(), reverse=True)[:2] == [2, 1]  # exactly one message twice
    fourth = sink.messages()[3]["Message-ID"]
    assert ids[fourth] == 2
    assert (
        message_from_bytes(sink.received[3][2], policy=default).get_body(("plain",)).get_content()
        == message_from_bytes(sink.received[4][2], policy=default).get_body(("plain",)).get_content()
    )


def test_refused_recipients_stay_in_the_outbox_and_are_reported(ws: Path, env: dict, server) -> None:  # noqa: ANN001
    sink, port, security = server
    people = roster(ws)
    refused = sorted(r["email"] for r in people.values())[:3]
    sink.refuse.update(refused)
    configure(ws, _email_section(port, security))
    code, out, err = invoke(ws, "notify")
    assert code == 69
    for address in refused:
        assert address in err
    assert "notify` again" in err
    delivered = {r[1][0] for r in sink.received}
    assert not delivered & set(refused)
    status = json.loads(invoke(ws, "notify", "--status", "--json")[1])
    failed = {r["recipient"] for r in status if r["status"] == "failed"}
    assert failed == set(refused)
    assert all(r["status"] == "sent" for r in status if r["recipient"] not in refused)
    n = len(sink.received)
    sink.refuse.clear()
    code, _, err = invoke(ws, "notify")
    assert code == 0, err
    assert {r[1][0] for r in sink.received[n:]} == set(refused)  # only the refused ones, now
    assert {r["status"] for r in json.loads(invoke(ws, "notify", "--status", "--json")[1])} == {"sent"}


def test_bad_settings_and_unreachable_server_mark_nothing(ws: Path, env: dict, server, monkeypatch) -> None:  # noqa: ANN001
    sink, port, security = server
    configure(ws, _email_section(port, security).replace(f'from = "{SENDER}"', 'from = "nobody"'))
    code, _, err = invoke(ws, "notify")
    assert code == 65
    line = next(
        i for i, t in enumerate((ws / "program.toml").read_text().splitlines(), 1) if t.startswith("from =")
    )
    assert f"program.toml:{line}: column 'email.from'" in err
    configure(ws, _email_section(port, security))
    monkeypatch.setenv("MENTORSYNC_SMTP_PASSWORD", "wrong")
    code, _, err = invoke(ws, "notify")
    assert code == 65 and "column 'email.username'" in err and "refused the login" in err
    monkeypatch.delenv("MENTORSYNC_SMTP_PASSWORD")
    code, _, err = invoke(ws, "notify")
    assert code == 65 and "MENTORSYNC_SMTP_PASSWORD" in err
    monkeypatch.setenv("MENTORSYNC_SMTP_PASSWORD", PASSWORD)
    configure(ws, _email_section(free_port(), security))
    settings = (ws / "program.toml").read_bytes()
    code, _, err = invoke(ws, "notify")
    assert code == 69 and "cannot reach the SMTP server" in err and "email.host" in err
    assert sink.received == []
    assert json.loads(invoke(ws, "notify", "--status", "--json")[1]) == []
    assert (ws / "program.toml").read_bytes() == settings  # the password is never written back
    assert PASSWORD.encode() not in b"".join(p.read_bytes() for p in ws.rglob("*") if p.is_file())


def test_only_limits_to_the_named_people(ws: Path, env: dict, server) -> None:  # noqa: ANN001
    sink, port, security = server
    configure(ws, _email_section(port, security))
    pid = next(p for p, r in roster(ws).items() if r["calendar"] == "invite")
    code, _, err = invoke(ws, "notify", "--only", pid)
    assert code == 0, err
    assert {r[1][0] for r in sink.received} == {roster(ws)[pid]["email"]}
    code, _, err = invoke(ws, "notify", "--only", "nobody-here")
    assert code == 2 and "nobody-here" in err


def test_mid_cycle_change_tells_only_the_affected_people(ws: Path, env: dict, server) -> None:  # noqa: ANN001
    sink, port, security = server
    configure(ws, _email_section(port, security))
    assert invoke(ws, "notify")[0] == 0
    pairs, _, schedule = outputs(ws)
    people = roster(ws)
    # a mentor leaves whose mentee gets invitations
    pair = next(p for p in pairs if people[p["mentee_id"]]["calendar"] == "invite")
    leaver, left_behind = pair["mentor_id"], pair["mentee_id"]
    old_uids = {i["uid"]: i for i in items_of(schedule, left_behind)}
    with (ws / "participants.csv").open(newline="", encoding="utf-8") as fh:
        table = list(csv.DictReader(fh))
    with (ws / "roster2.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(r for r in table if r["id"] != leaver)
    n = len(sink.received)
    code, _, err = invoke(ws, "-q", "rematch", "roster2.csv", "--mid-cycle", "--out", "out2")
    assert code == 0, err
    code, _, err = invoke(ws, "notify")
    assert code == 0, err
    new = list(zip(sink.received[n:], sink.messages()[n:], strict=True))
    by_email = {r["email"]: k for k, r in people.items()}
    told = {by_email[env_[1][0]] for env_, _ in new}
    changes = {r["id"] for r in rows(ws / "out2" / "changes.csv")}
    assert left_behind in told and leaver not in told
    assert told <= changes | {left_behind}
    mine = [m for e, m in new if by_email[e[1][0]] == left_behind]
    kinds = Counter(m["X-Mentorsync-Kind"] for m in mine)
    assert kinds["change"] == 1 or kinds["intro"] == 1
    notice = next(m for m in mine if m["X-Mentorsync-Kind"] in ("change", "intro"))
    assert people[leaver]["name"] in text_of(notice)  # says who ended
    resent = {}
    for m in mine:
        for cal in calendars(m):
            (ev,) = cal.walk("VEVENT")
            resent[str(ev["UID"])] = (str(cal["METHOD"]), int(ev["SEQUENCE"]))
    # the cycle has not begun yet (its meetings are all ahead): every old meeting is cancelled,
    # same UID, higher SEQUENCE; meetings with a new partner (new UIDs) are invited
    for uid in old_uids:
        assert resent[uid][0] == "CANCEL" and resent[uid][1] > 0, uid
    for uid, (method, _) in resent.items():
        assert method == ("CANCEL" if uid in old_uids else "REQUEST")
    assert invoke(ws, "notify")[0] == 0
    assert len(sink.received) == n + len(new)  # and nothing more


def test_bad_calendar_cell_is_reported_with_line_and_column(tmp_path: Path) -> None:
    src = (SAMPLE / "participants.csv").read_text(encoding="utf-8").splitlines()
    src[0] += ",calendar"
    src[1] += ",invitation"
    src[2] += ",INVITE"
    (tmp_path / "p.csv").write_text("\n".join(src) + "\n", encoding="utf-8")
    code, _, err = invoke(tmp_path, "validate", "p.csv")
    assert code == 65
    assert re.search(
        r"p\.csv:2: column 'calendar': unknown calendar 'invitation' \(did you mean 'invite'\?\)", err
    )
    assert ":3: column 'calendar'" not in err


def test_a_moved_meeting_is_re_sent_with_a_higher_sequence_and_the_same_uid(
    ws: Path, env: dict, server
) -> None:  # noqa: ANN001
    sink, port, security = server
    configure(ws, _email_section(port, security))
    assert invoke(ws, "notify")[0] == 0
    first: dict[str, tuple[set[str], int]] = {}  # uid -> (its invitation's recipients, SEQUENCE)
    for m in sink.messages():
        for cal in calendars(m):
            (ev,) = cal.walk("VEVENT")
            to, seq = first.setdefault(str(ev["UID"]), (set(), int(ev["SEQUENCE"])))
            to.add(m["To"].addresses[0].addr_spec)
    # UIDs carry the workspace's random salt: whichever pair sorts first, both of its people may
    # be on `calendar = invite`, and then each gets the update
    uid = sorted(first)[0]
    # what `publish` records when a meeting moves: a new fingerprint and SEQUENCE + 1
    import sqlite3

    con = sqlite3.connect(ws / "mentorsync.db")
    con.execute("UPDATE event_state SET sequence = sequence + 1, fingerprint = 'moved' WHERE uid = ?", (uid,))
    con.commit()
    con.close()
    n = len(sink.received)
    assert invoke(ws, "notify")[0] == 0
    again = sink.messages()[n:]
    recipients, sequence = first[uid]
    assert sorted(m["To"].addresses[0].addr_spec for m in again) == sorted(recipients)
    for m in again:
        (cal,) = calendars(m)
        (ev,) = cal.walk("VEVENT")
        assert str(cal["METHOD"]) == "REQUEST" and str(ev["UID"]) == uid
        assert int(ev["SEQUENCE"]) == sequence + 1
        assert m["Subject"].startswith("Updated invitation")


def test_rate_limit_spaces_the_messages(ws: Path, env: dict, server) -> None:  # noqa: ANN001
    import time

    sink, port, security = server
    section = _email_section(port, security).replace(
        "messages_per_minute = 100000", "messages_per_minute = 300"
    )
    configure(ws, section)
    pid = next(p for p, r in roster(ws).items() if r["calendar"] == "invite")
    started = time.monotonic()
    assert invoke(ws, "notify", "--only", pid)[0] == 0
    n = len(sink.received)
    assert n >= 3
    assert time.monotonic() - started >= (n - 1) * 60 / 300  # one message every 0.2 s at most


def test_after_a_rematch_only_people_whose_partner_or_slot_changed_are_told(
    ws: Path, env: dict, server
) -> None:  # noqa: ANN001
    sink, port, security = server
    configure(ws, _email_section(port, security))
    assert invoke(ws, "notify")[0] == 0
    pairs, _, _ = outputs(ws)
    with (ws / "feedback.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["person_id", "partner_id", "continue"])
        for i, p in enumerate(pairs):
            w.writerow([p["mentor_id"], p["mentee_id"], "no" if i % 3 == 0 else "yes"])
            w.writerow([p["mentee_id"], p["mentor_id"], "yes"])
    assert invoke(ws, "cycle", "close", "--feedback", "feedback.csv")[0] == 0
    toml = (ws / "program.toml").read_text(encoding="utf-8")
    (ws / "program.toml").write_text(
        toml.replace("start = 2027-02-01", "start = 2027-08-02"), encoding="utf-8"
    )
    code, _, err = invoke(ws, "-q", "rematch", "participants.csv", "--out", "c2")
    assert code == 0, err
    n = len(sink.received)
    code, _, err = invoke(ws, "notify")
    assert code == 0, err
    people = roster(ws)
    by_email = {r["email"]: k for k, r in people.items()}
    notices: Counter = Counter()
    invited: dict[str, list[tuple[str, str]]] = {}
    for (_, rcpts, _), msg in zip(sink.received[n:], sink.messages()[n:], strict=True):
        pid = by_email[rcpts[0]]
        if msg["X-Mentorsync-Kind"] in ("intro", "change", "unmatched"):
            notices[pid] += 1
        for cal in calendars(msg):
            (ev,) = cal.walk("VEVENT")
            invited.setdefault(pid, []).append((str(cal["METHOD"]), str(ev["UID"])))
    assert max(notices.values()) == 1
    schedule2 = json.loads((ws / "c2" / "schedule.json").read_text(encoding="utf-8"))
    for row in rows(ws / "c2" / "changes.csv"):
        lines = row["change"].split("; ")
        quiet = all(re.match(r"same .*unchanged", line) or line == "no partner this cycle" for line in lines)
        assert notices[row["id"]] == (0 if quiet else 1), (row["id"], lines)
        if people[row["id"]]["calendar"] == "invite":
            mine = {i["uid"] for i in items_of(schedule2, row["id"])}
            assert set(invited.get(row["id"], [])) == {("REQUEST", uid) for uid in mine}
        else:
            assert row["id"] not in invited
    assert 0 < sum(notices.values()) < len(people)  # some told, some left alone
    total = len(sink.received)
    assert invoke(ws, "notify")[0] == 0 and len(sink.received) == total
