"""The fast feed writer gives exactly icalendar's bytes, and the feed rules hold on varied cohorts.

``FeedWriter`` (what ``build_feed`` and ``publish`` use) renders lines itself; the reference
``build_feed_icalendar`` builds one icalendar ``Calendar`` and calls ``to_ical()``. Hypothesis
generates cohorts with many zones (half-hour and negative DST, zones written as UTC, a zone whose
rules need RDATEs), rule variants, extra and skipped dates, and hostile text.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar.parser import Contentline

from cohort.feedback import FeedbackRow
from cohort.program import Program
from feeds.publish import publish
from scheduler.calendar import EventState, FeedWriter, _fold, build_feed, build_feed_icalendar
from store import Workspace, import_cohort, save_feedback
from tests.feeds_support import (
    expand_icalendar,
    expected_starts,
    sample_cohort,
    sample_schedule,
)
from tests.strategies import FEED_SETTINGS as SETTINGS
from tests.strategies import feed_cohorts as cohorts


def _unfolded(body: bytes) -> list[str]:
    return body.decode("utf-8").replace("\r\n ", "").split("\r\n")


def _components(lines: list[str], name: str) -> list[list[str]]:
    out, current = [], None
    for line in lines:
        if line == f"BEGIN:{name}":
            current = []
        elif line == f"END:{name}":
            out.append(current)
            current = None
        elif current is not None:
            current.append(line)
    return out


def _prop(lines: list[str], name: str) -> list[tuple[str, str]]:
    """``(parameters, value)`` of each ``name`` line."""
    out = []
    for line in lines:
        head, _, value = line.partition(":")
        if head.split(";")[0] == name:
            out.append((head[len(name) :], value))
    return out


def _local(value: str) -> datetime:
    return datetime.strptime(value, "%Y%m%dT%H%M%S")


@SETTINGS
@given(cohorts())
def test_fast_writer_gives_icalendars_bytes(data):
    """One writer for all feeds of a schedule (shared parts cached) == icalendar's ``to_ical``."""
    cohort, schedule, state, program = data
    writer = FeedWriter(cohort.by_id, program, state)
    for owner in [*cohort.people, None]:
        fast = writer.feed(owner, schedule.series, schedule.events)
        assert fast == build_feed_icalendar(
            owner, schedule.series, schedule.events, cohort.by_id, program, state
        )
        assert fast == build_feed(owner, schedule.series, schedule.events, cohort.by_id, program, state)


@SETTINGS
@given(cohorts())
def test_feed_rules_hold(data):
    """UNTIL in UTC; one VTIMEZONE per TZID used and none unused; EXDATEs are real instances."""
    cohort, schedule, state, program = data
    writer = FeedWriter(cohort.by_id, program, state)
    occurrences = {s.uid: set(s.occurrences) for s in schedule.series}
    for owner in [*cohort.people, None]:
        body = writer.feed(owner, schedule.series, schedule.events)
        lines = _unfolded(body)
        zones = [dict(_prop(tz, "TZID"))[""] for tz in _components(lines, "VTIMEZONE")]
        used = set()
        for ev in _components(lines, "VEVENT"):
            for name in ("DTSTART", "DTEND", "EXDATE", "RDATE"):
                for params, value in _prop(ev, name):
                    match = re.fullmatch(r";TZID=([^;:]+)", params)
                    if match:
                        used.add(match.group(1))
                        assert all(re.fullmatch(r"\d{8}T\d{6}", v) for v in value.split(","))
                    else:  # no TZID: UTC
                        assert params == ""
                        assert all(re.fullmatch(r"\d{8}T\d{6}Z", v) for v in value.split(","))
            rules = _prop(ev, "RRULE")
            if not rules:
                continue
            rule = rules[0][1]
            assert "UNTIL=" in rule or "COUNT=" in rule
            assert re.search(r"UNTIL=(\d{8}T\d{6}Z)(;|$)", rule) or "UNTIL=" not in rule
            assert "WKST=MO" in rule
            ((params, start),) = _prop(ev, "DTSTART")
            zone = ZoneInfo(params.removeprefix(";TZID=")) if params else UTC
            dtstart = _local(start.rstrip("Z")).replace(tzinfo=zone)
            instances = {i.astimezone(UTC) for i in [dtstart, *rrulestr(rule, dtstart=dtstart)]}
            uid = re.sub(r"\\(.)", r"\1", dict(_prop(ev, "UID"))[""])
            wanted = occurrences[uid]
            for _params, values in _prop(ev, "EXDATE"):
                for v in values.split(","):
                    moment = _local(v.rstrip("Z")).replace(tzinfo=zone).astimezone(UTC)
                    assert moment in instances and moment not in wanted
        assert zones == sorted(set(zones)), "one VTIMEZONE per TZID, in order"
        assert set(zones) == used, "a VTIMEZONE for each TZID used, and none unused"
        assert not {"UTC", "Etc/UTC", "GMT"} & set(zones)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(st.sampled_from(["\\", "^", "é", "你", "👩🏽‍💻", "\\\\", ",", " "]), st.text(max_size=40)),
        max_size=30,
    ).map("".join)
)
def test_folding_is_icalendars(text):
    line = "DESCRIPTION:" + text.replace("\n", "").replace("\r", "")
    assert _fold(line).encode("utf-8") == Contentline(line).to_ical()


def test_sample_feeds_expand_exactly_and_match_the_reference():
    """The hand-made sample (four zones, DST crossings) through both writers and a real expansion."""
    cohort, schedule = sample_cohort(), sample_schedule()
    state = {
        i.uid: EventState(i.uid, "fp", 2, datetime(2027, 1, 3, tzinfo=UTC))
        for i in [*schedule.series, *schedule.events]
    }
    writer = FeedWriter(cohort.by_id, Program(), state)
    for owner in [*cohort.people, None]:
        body = writer.feed(owner, schedule.series, schedule.events)
        assert body == build_feed_icalendar(
            owner, schedule.series, schedule.events, cohort.by_id, Program(), state
        )
        assert expand_icalendar(body) == expected_starts(schedule, owner.id if owner else None)


def test_no_rating_or_comment_reaches_a_feed(tmp_path):
    """Feedback stored in the same workspace never reaches a published or served feed."""
    cohort, schedule = sample_cohort(), sample_schedule()
    with Workspace(tmp_path / "ws") as ws:
        cycle = import_cohort(ws, cohort, Program())
        save_feedback(
            ws,
            cycle,
            [
                FeedbackRow("ana", "sam", True, 1, "ZQXJ-private-remark"),
                FeedbackRow("sam", "ana", False, 5, "WVKQ secret; comment"),
            ],
        )
        result = publish(
            ws, cohort, schedule, Program(), tmp_path / "out", now=datetime(2027, 1, 5, tzinfo=UTC)
        )
        bodies = [bytes(row[0]) for row in ws.connection.execute("SELECT body FROM feed_documents")]
    files = [(tmp_path / "out" / f.file).read_bytes() for f in [*result.feeds, result.coordinator]]
    assert len(bodies) == len(files) == len(cohort.people) + 1
    for body in [*bodies, *files]:
        text = _unfolded(body)
        joined = "\n".join(text).lower()
        for word in ("zqxj", "wvkq", "private-remark", "rating", "comment", "continue"):
            assert word not in joined
        assert not any(
            line.split(":")[0].split(";")[0] in {"X-RATING", "COMMENT", "ATTENDEE"} for line in text
        )


def test_batched_tokens_agree_with_one_at_a_time(tmp_path):
    """``ensure_tokens`` (publish's batch) gives what ``ensure_token`` gives, person by person."""
    from feeds.tokens import ensure_token, ensure_tokens, key_path, revoke, rotate

    now = datetime(2027, 1, 5, tzinfo=UTC)
    results = []
    for batched in (True, False):
        with Workspace(tmp_path / f"ws{batched}") as ws:
            key = bytes(range(32))
            key_path(ws).write_bytes(key)  # the same key in both workspaces: comparable rows
            with ws.transaction():
                for pid in ("kept", "rotated", "revoked", "rekeyed"):
                    ensure_token(ws, key, pid, now=now)
            rotate(ws, "rotated", now=now)
            revoke(ws, "revoked", now=now)
            with ws.transaction() as con:  # a token issued under another key: re-issued
                con.execute("UPDATE feed_tokens SET token_hash = 'x' WHERE person_id = 'rekeyed'")
            ids = ["kept", "rotated", "revoked", "rekeyed", "new", "new"]
            with ws.transaction() as con:
                if batched:
                    got = ensure_tokens(ws, key, ids, now=now)
                else:
                    got = {pid: ensure_token(ws, key, pid, now=now) for pid in dict.fromkeys(ids)}
                query = "SELECT * FROM feed_tokens ORDER BY person_id, generation"
                rows = [tuple(r) for r in con.execute(query)]
            results.append((got, rows))
    assert results[0] == results[1]
    got = results[0][0]
    assert got["revoked"] == (None, False) and got["rekeyed"][1] and not got["new"][1]
    assert len({got[p][0] for p in ("kept", "rotated", "rekeyed", "new")}) == 4
