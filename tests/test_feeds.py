"""Publishing: exact feeds per person, stable bytes and addresses, SEQUENCE, tokens."""

from __future__ import annotations

import csv
import dataclasses
import re
import stat
from datetime import UTC, date, datetime, time, timedelta

import pytest

from cohort.errors import StoreError, UsageError
from cohort.program import FeedSettings, Program
from feeds.publish import publish
from feeds.tokens import COORDINATOR, KEY_FILE, hash_token, revoke, rotate, rotate_all
from store.db import Workspace
from tests.feeds_support import (
    expand_ical,
    expand_icalendar,
    expected_starts,
    make_series,
    sample_cohort,
    sample_schedule,
)

T0 = datetime(2027, 1, 5, 12, 0, tzinfo=UTC)
PROGRAM = Program(feeds=FeedSettings(base_url="https://feeds.example.org/"))


@pytest.fixture
def ws(tmp_path):
    with Workspace(tmp_path / "ws") as workspace:
        yield workspace


def read_index(out) -> list[dict[str, str]]:
    with (out / "feeds" / "index.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def token_of(url: str) -> str:
    match = re.fullmatch(r"https://feeds\.example\.org/feeds/([A-Za-z0-9_-]+)\.ics", url)
    assert match, url
    return match.group(1)


def vevents(body: bytes) -> dict[str, bytes]:
    """Each VEVENT's exact bytes by UID."""
    out = {}
    for block in re.findall(rb"BEGIN:VEVENT\r\n.*?END:VEVENT\r\n", body, re.S):
        uid = re.search(rb"\r\nUID:([^\r\n]*)", block).group(1).decode()
        out[uid] = block
    return out


def files(out) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / "feeds").iterdir())}


def test_every_feed_holds_exactly_that_persons_meetings(ws, tmp_path):
    cohort, schedule = sample_cohort(), sample_schedule()
    result = publish(ws, cohort, schedule, PROGRAM, tmp_path / "out", now=T0)
    rows = read_index(tmp_path / "out")
    assert [r["id"] for r in rows] == [p.id for p in cohort.people] + [COORDINATOR]
    assert [r["email"] for r in rows[:-1]] == [p.email for p in cohort.people]
    for row in rows:
        token = token_of(row["url"])
        assert len(token) >= 22  # >= 128 bits in URL-safe base64
        name = f"coordinator-{token}.ics" if row["id"] == COORDINATOR else f"{token}.ics"
        body = (tmp_path / "out" / "feeds" / name).read_bytes()
        expected = expected_starts(schedule, None if row["id"] == COORDINATOR else row["id"])
        assert expand_icalendar(body) == expected
        assert expand_ical(body) == expected
    assert len({r["url"] for r in rows}) == len(rows)
    assert result.coordinator is not None and result.coordinator.url == rows[-1]["url"]
    assert set(result.changed_uids) == {i.uid for i in [*schedule.series, *schedule.events]}


def test_secrets_stay_out_of_the_database(ws, tmp_path):
    publish(ws, sample_cohort(), sample_schedule(), PROGRAM, tmp_path / "out", now=T0)
    key = ws.directory / KEY_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_bytes()) == 32
    ws.connection.execute("PRAGMA wal_checkpoint(FULL)")
    raw = b"".join(p.read_bytes() for p in ws.directory.glob("mentorsync.db*"))
    tokens = [token_of(r["url"]) for r in read_index(tmp_path / "out")]
    for token in tokens:
        assert token.encode() not in raw
        assert hash_token(token).encode() in raw
    assert key.read_bytes() not in raw


def test_republishing_unchanged_gives_identical_bytes_and_addresses(ws, tmp_path):
    cohort, schedule = sample_cohort(), sample_schedule()
    publish(ws, cohort, schedule, PROGRAM, tmp_path / "a", now=T0)
    ws.close()
    with Workspace(ws.directory) as again:  # a later run: new connection, later clock
        result = publish(again, cohort, schedule, PROGRAM, tmp_path / "b", now=T0 + timedelta(days=9))
        docs = again.connection.execute("SELECT last_modified FROM feed_documents").fetchall()
    assert files(tmp_path / "a") == files(tmp_path / "b")
    assert result.changed_uids == () and not any(f.changed for f in result.feeds)
    assert {d[0] for d in docs} == {T0.isoformat()}
    # stored bodies were reused: they equal a fresh build in a new workspace (other tokens)
    with Workspace(tmp_path / "fresh") as fresh:
        rebuilt = publish(fresh, cohort, schedule, PROGRAM, tmp_path / "c", now=T0)
    for old, new in zip(result.feeds, rebuilt.feeds, strict=True):
        assert (tmp_path / "b" / old.file).read_bytes() == (tmp_path / "c" / new.file).read_bytes()


def test_moving_one_pair_changes_only_that_pairs_events(ws, tmp_path):
    cohort, schedule = sample_cohort(), sample_schedule()
    publish(ws, cohort, schedule, PROGRAM, tmp_path / "a", now=T0)
    old = schedule.series[0]  # ana & sam, New York
    moved = make_series(
        "ana",
        "sam",
        "America/New_York",
        date(2027, 2, 3),
        time(15, 30),
        until=date(2027, 12, 10),
        skip=(4,),
        uid=old.uid,
    )
    later = T0 + timedelta(days=3)
    new_schedule = dataclasses.replace(schedule, series=(moved, *schedule.series[1:]))
    result = publish(ws, cohort, new_schedule, PROGRAM, tmp_path / "b", now=later)
    assert result.changed_uids == (old.uid,)
    before, after = files(tmp_path / "a"), files(tmp_path / "b")
    assert before.keys() == after.keys()
    for name in before:
        if name == "index.csv":
            continue
        a, b = vevents(before[name]), vevents(after[name])
        assert a.keys() == b.keys()
        for uid in a:
            assert (a[uid] == b[uid]) == (uid != old.uid), (name, uid)
        if old.uid in b:
            assert b"SEQUENCE:1\r\n" in b[old.uid] and b"SEQUENCE:0\r\n" in a[old.uid]
            assert later.strftime("DTSTAMP:%Y%m%dT%H%M%SZ").encode() in b[old.uid]
            assert later.strftime("LAST-MODIFIED:%Y%m%dT%H%M%SZ").encode() in b[old.uid]
    untouched = [f for f in result.feeds if f.person_id not in ("ana", "sam")]
    assert untouched and not any(f.changed for f in untouched)
    assert all(f.changed for f in result.feeds if f.person_id in ("ana", "sam"))
    # and the moved feed still expands exactly
    sam = next(f for f in result.feeds if f.person_id == "sam")
    body = (tmp_path / "b" / sam.file).read_bytes()
    assert expand_ical(body) == expected_starts(new_schedule, "sam")


def test_address_survives_a_new_cycle(ws, tmp_path):
    cohort, schedule = sample_cohort(), sample_schedule()
    first = {f.person_id: f.url for f in publish(ws, cohort, schedule, PROGRAM, tmp_path / "a", now=T0).feeds}
    next_cycle = dataclasses.replace(schedule, series=schedule.series[1:], events=())
    second = publish(ws, cohort, next_cycle, PROGRAM, tmp_path / "b", now=T0 + timedelta(days=200))
    assert {f.person_id: f.url for f in second.feeds} == first


def test_rotate_and_revoke(ws, tmp_path):
    cohort, schedule = sample_cohort(), sample_schedule()
    first = {f.person_id: f for f in publish(ws, cohort, schedule, PROGRAM, tmp_path / "a", now=T0).feeds}
    new_token = rotate(ws, "sam")
    old_token = token_of(first["sam"].url)
    assert new_token != old_token
    rows = dict(
        ws.connection.execute(
            "SELECT token_hash, revoked_at IS NULL FROM feed_tokens WHERE person_id = 'sam'"
        ).fetchall()
    )
    assert rows == {hash_token(old_token): 0, hash_token(new_token): 1}

    second = {f.person_id: f for f in publish(ws, cohort, schedule, PROGRAM, tmp_path / "b", now=T0).feeds}
    assert token_of(second["sam"].url) == new_token
    assert all(second[p].url == first[p].url for p in first if p != "sam")
    assert not (tmp_path / "b" / "feeds" / f"{old_token}.ics").exists()

    assert revoke(ws, "dev") is True and revoke(ws, "dev") is False
    served = ws.connection.execute("SELECT COUNT(*) FROM feed_documents WHERE person_id = 'dev'")
    assert served.fetchone()[0] == 0
    third = publish(ws, cohort, schedule, PROGRAM, tmp_path / "c", now=T0)
    assert third.revoked == ("dev",)
    assert "dev" not in [r["id"] for r in read_index(tmp_path / "c")]
    assert token_of(first["dev"].url) + ".ics" not in files(tmp_path / "c")

    reissued = rotate(ws, "dev")
    fourth = {f.person_id: f for f in publish(ws, cohort, schedule, PROGRAM, tmp_path / "d", now=T0).feeds}
    assert token_of(fourth["dev"].url) == reissued != token_of(first["dev"].url)

    with pytest.raises(UsageError):
        rotate(ws, "nobody")
    with pytest.raises(UsageError):
        revoke(ws, "nobody")


def test_a_lost_key_is_an_error_until_rotate_all(ws, tmp_path):
    cohort, schedule = sample_cohort(), sample_schedule()
    first = publish(ws, cohort, schedule, PROGRAM, tmp_path / "a", now=T0)
    (ws.directory / KEY_FILE).unlink()
    with pytest.raises(StoreError, match=r"feeds\.key.*rotate --all"):
        publish(ws, cohort, schedule, PROGRAM, tmp_path / "b", now=T0)
    assert not (ws.directory / KEY_FILE).exists()  # not re-created silently
    (ws.directory / KEY_FILE).write_bytes(b"x" * 32)  # a different key: same error
    with pytest.raises(StoreError, match="does not match"):
        publish(ws, cohort, schedule, PROGRAM, tmp_path / "b", now=T0)
    issued = rotate_all(ws)
    assert issued == len(cohort.people) + 1
    assert stat.S_IMODE((ws.directory / KEY_FILE).stat().st_mode) == 0o600
    second = publish(ws, cohort, schedule, PROGRAM, tmp_path / "b", now=T0)
    assert second.reissued == ()
    assert not {f.url for f in first.feeds} & {f.url for f in second.feeds}
    query = "SELECT token_hash FROM feed_tokens WHERE revoked_at IS NULL"
    valid = {r[0] for r in ws.connection.execute(query)}
    assert valid == {hash_token(token_of(f.url)) for f in [*second.feeds, second.coordinator]}


def test_people_who_left_lose_their_served_feed(ws, tmp_path):
    cohort, schedule = sample_cohort(), sample_schedule()
    publish(ws, cohort, schedule, PROGRAM, tmp_path / "a", now=T0)
    smaller = dataclasses.replace(cohort, people=tuple(p for p in cohort.people if p.id != "zed"))
    publish(ws, type(cohort)(smaller.people, cohort.source), schedule, PROGRAM, tmp_path / "b", now=T0)
    owners = {r[0] for r in ws.connection.execute("SELECT person_id FROM feed_documents")}
    assert "zed" not in owners and {"ana", COORDINATOR} <= owners


def test_failed_publish_changes_nothing(ws, tmp_path):
    cohort, schedule = sample_cohort(), sample_schedule()
    result = publish(ws, cohort, schedule, PROGRAM, tmp_path / "a", now=T0)
    before = ws.connection.execute("SELECT * FROM event_state ORDER BY uid").fetchall()
    moved = dataclasses.replace(schedule.series[0], duration_minutes=60)
    # the third feed cannot be written (a directory stands where its file goes): publish fails
    # half-way, after the event history and two feeds were computed
    (tmp_path / "b" / result.feeds[2].file).mkdir(parents=True)
    with pytest.raises(IsADirectoryError):
        publish(
            ws,
            cohort,
            dataclasses.replace(schedule, series=(moved, *schedule.series[1:])),
            PROGRAM,
            tmp_path / "b",
            now=T0 + timedelta(days=1),
        )
    assert ws.connection.execute("SELECT * FROM event_state ORDER BY uid").fetchall() == before
