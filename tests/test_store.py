"""The workspace store: schema and migrations, exact round trips, cycle rules, atomicity."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import string
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cohort.errors import StoreError
from cohort.feedback import FeedbackRow
from cohort.model import CADENCES, ROLES, Cohort, Person
from cohort.program import CycleSettings, Program
from cohort.progress import ProgressEvent
from matcher.model import MatchResult, Pair, Unmatched
from scheduler.codec import parse_rrule
from scheduler.model import Event, Recurrence, Schedule, Series, Unplaceable
from store import (
    Workspace,
    close_cycle,
    continuing_pairs,
    current_cycle,
    ended_pairs,
    get_cycle,
    import_cohort,
    list_cycles,
    load_cohort,
    load_feedback,
    load_match,
    load_pair_origins,
    load_pairs,
    load_program,
    load_run_summaries,
    load_schedule,
    load_unmatched,
    previous_cycle,
    save_feedback,
    save_match,
    save_run_summary,
    save_schedule,
    workspace_secret,
)
from store.db import DB_NAME, migrations
from tests.factories import make_cohort, make_person

ROOT = Path(__file__).resolve().parent.parent
HSETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def program_at(start: date, weeks: int = 4) -> Program:
    return Program(cycle=CycleSettings(start=start, weeks=weeks))


def dump(ws: Workspace) -> list[str]:
    """The database's logical content: every schema object and row, as SQL text."""
    return list(ws.connection.iterdump())


def small_cohort(prefix: str = "") -> Cohort:
    return make_cohort(
        make_person(f"{prefix}m1", role="mentor"),
        make_person(f"{prefix}m2", role="mentor"),
        make_person(f"{prefix}b1", role="both"),
        make_person(f"{prefix}e1"),
        make_person(f"{prefix}e2"),
        make_person(f"{prefix}e3"),
    )


def match_of(pairs: list[tuple[str, str]], unmatched: tuple[Unmatched, ...] = ()) -> MatchResult:
    return MatchResult(
        pairs=tuple(
            Pair(m, e, 10 + i, {"goals": 7 + i, "availability": 3}, f"reason {i}")
            for i, (m, e) in enumerate(pairs)
        ),
        unmatched=unmatched,
        candidates=(),
        matched=len(pairs),
        objective=123.0,
        bound=125.5,
        gap=0.02,
        method="flow",
        solve_seconds=0.25,
        stats={"candidates": 9, "note": "x"},
    )


def schedule_for(pairs: list[tuple[str, str]], tag: str = "") -> Schedule:
    series, events = [], []
    for i, (m, e) in enumerate(pairs):
        start = datetime(2027, 3, 2 + i, 17, 0)
        occ = tuple(datetime(2027, 3, 2 + i, 17, 0, tzinfo=UTC) + timedelta(weeks=2 * k) for k in range(3))
        series.append(
            Series(
                m,
                e,
                f"s{tag}{i}@x",
                "Europe/London",
                start,
                45,
                parse_rrule("FREQ=WEEKLY;INTERVAL=2"),
                (start + timedelta(weeks=6),),
                occ,
                "biweekly",
                "goals",
                1,
            )
        )
        events.append(
            Event(
                m,
                e,
                f"k{tag}{i}@x",
                "kickoff",
                occ[0] - timedelta(days=1),
                60,
                "Europe/London",
                "kickoff agenda",
            )
        )
    return Schedule(tuple(series), tuple(events), (), {"placed": len(series)})


@pytest.fixture
def ws(tmp_path: Path):
    with Workspace(tmp_path / "ws") as w:
        yield w


# --------------------------------------------------------------------------- schema and migrations


def test_fresh_workspace_has_latest_schema_wal_and_foreign_keys(ws: Workspace) -> None:
    assert ws.schema_version == len(migrations())
    con = ws.connection
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {
        "meta",
        "cycles",
        "participants",
        "pairs",
        "unmatched",
        "series",
        "events",
        "feedback",
        "runs",
        "results",
        "unplaceable",
    } <= tables
    assert con.execute("PRAGMA foreign_key_check").fetchall() == []


def test_reopening_is_a_no_op(tmp_path: Path) -> None:
    with Workspace(tmp_path) as ws:
        import_cohort(ws, small_cohort(), Program())
        before, secret = dump(ws), workspace_secret(ws)
    with Workspace(tmp_path) as ws:
        assert dump(ws) == before
        assert workspace_secret(ws) == secret
        assert ws.schema_version == len(migrations())


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    Workspace(tmp_path).close()
    con = sqlite3.connect(tmp_path / DB_NAME)
    con.execute(f"PRAGMA user_version = {len(migrations()) + 1}")
    con.close()
    with pytest.raises(StoreError, match="newer"):
        Workspace(tmp_path)


def test_not_a_database_and_missing_database(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no workspace database"):
        Workspace(tmp_path / "none", create=False)
    (tmp_path / DB_NAME).write_bytes(b"this is not sqlite, just text " * 100)
    with pytest.raises(StoreError, match="cannot use"):
        Workspace(tmp_path)


def test_secret_is_random_hex_per_workspace(tmp_path: Path) -> None:
    with Workspace(tmp_path / "a") as a, Workspace(tmp_path / "b") as b:
        sa, sb = workspace_secret(a), workspace_secret(b)
    assert re.fullmatch("[0-9a-f]{64}", sa) and re.fullmatch("[0-9a-f]{64}", sb)
    assert sa != sb


def test_foreign_keys_are_enforced(ws: Workspace) -> None:
    cid = import_cohort(ws, small_cohort(), Program())
    with pytest.raises(sqlite3.IntegrityError):
        with ws.transaction() as con:
            con.execute(
                "INSERT INTO pairs (cycle_id, mentor_id, mentee_id, ord, score, components) "
                "VALUES (?, 'm1', 'ghost', 0, 1, '{}')",
                (cid,),
            )
    before = dump(ws)
    with pytest.raises(StoreError, match="refused"):
        save_match(ws, cid, match_of([("m1", "e1"), ("m2", "nobody")]))
    assert dump(ws) == before
    with pytest.raises(sqlite3.IntegrityError):  # only one open cycle at a time
        with ws.transaction() as con:
            con.execute(
                "INSERT INTO cycles (start, last_day, program_toml, roster_sha256, created_at) "
                "VALUES ('2030-01-01', '2030-02-01', '', '', '')"
            )


# --------------------------------------------------------------------------- round trips

ids = st.text(string.ascii_letters + string.digits + "._-", min_size=1, max_size=10)
texts = st.text(max_size=16)
terms = st.lists(st.text(min_size=1, max_size=8), max_size=4, unique=True).map(tuple)
ints = st.none() | st.integers(-(2**63), 2**63 - 1)
dates = st.dates(date(1990, 1, 1), date(2100, 12, 31))


@st.composite
def people(draw: st.DrawFn) -> tuple[Person, ...]:
    pids = draw(st.lists(ids, min_size=0, max_size=12, unique=True))
    out = []
    for pid in pids:
        windows = draw(st.lists(st.tuples(st.integers(0, 10080), st.integers(0, 10080)), max_size=4))
        ranges = draw(st.lists(st.tuples(dates, dates), max_size=3))
        out.append(
            make_person(
                pid,
                role=draw(st.sampled_from(ROLES)),
                name=draw(texts),
                email=draw(texts),
                timezone=draw(st.sampled_from(["Europe/London", "Asia/Kolkata", "America/Sao_Paulo"])),
                availability=tuple(sorted((min(a, b), max(a, b)) for a, b in windows)),
                goals=draw(terms),
                expertise=draw(terms),
                interests=draw(terms),
                languages=draw(terms),
                department=draw(st.none() | texts),
                manager_id=draw(st.none() | ids),
                level=draw(ints),
                capacity=draw(ints),
                cadence=draw(st.none() | st.sampled_from(CADENCES)),
                avoid=frozenset(draw(st.lists(ids, max_size=3))),
                prefer=frozenset(draw(st.lists(ids, max_size=3))),
                unavailable=tuple((min(a, b), max(a, b)) for a, b in ranges),
                max_meetings_per_week=draw(ints),
                line=draw(st.integers(0, 10**6)),
            )
        )
    return tuple(out)


@HSETTINGS
@given(people(), people())
def test_cohort_round_trips_exactly(first: tuple[Person, ...], second: tuple[Person, ...]) -> None:
    with tempfile.TemporaryDirectory() as tmp, Workspace(tmp) as ws:
        cid = import_cohort(ws, Cohort(first, source="a.csv"), Program(), source_path="a.csv")
        loaded = load_cohort(ws, cid)
        assert loaded.people == first and loaded.source == "a.csv"
        for a, b in zip(loaded.people, first, strict=True):
            assert type(a.avoid) is frozenset and type(a.unavailable) is tuple
            assert all(type(x) is tuple for x in a.availability)
            assert a == b and hash(a) == hash(b)
        # Re-importing into the unmatched open cycle replaces the roster in place.
        assert import_cohort(ws, Cohort(second), Program()) == cid
        assert load_cohort(ws, cid).people == second
        assert get_cycle(ws, cid).people == len(second)


naive = st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1))
local_times = st.tuples(naive, st.booleans()).map(lambda t: t[0].replace(fold=int(t[1])))
utc_times = naive.map(lambda d: d.replace(tzinfo=UTC))


@HSETTINGS
@given(st.data())
def test_match_and_schedule_round_trip_exactly(data: st.DataObject) -> None:
    cohort = small_cohort()
    pairs = [("m1", "e1"), ("m1", "e2"), ("b1", "e3"), ("m2", "b1")]
    chosen = data.draw(st.lists(st.sampled_from(pairs), unique=True, max_size=4))
    result = MatchResult(
        pairs=tuple(
            Pair(
                m,
                e,
                data.draw(st.integers(-(10**9), 10**9)),
                data.draw(st.dictionaries(st.text(max_size=8), st.integers(-(10**6), 10**6))),
                data.draw(texts),
            )
            for m, e in chosen
        ),
        unmatched=tuple(
            Unmatched(p, r, data.draw(texts))
            for p, r in data.draw(
                st.lists(
                    st.sampled_from([("m2", "mentor"), ("e3", "mentee"), ("b1", "mentor"), ("b1", "mentee")]),
                    unique=True,
                )
            )
        ),
        candidates=(),
        matched=len(chosen),
        objective=data.draw(st.floats(allow_nan=False)),
        bound=data.draw(st.floats(allow_nan=False)),
        gap=0.5,
        method="cp-sat",
        solve_seconds=1.5,
        stats={"k": [1, 2], "s": "t"},
    )
    whole = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1)).map(
        lambda d: d.replace(microsecond=0)
    )
    recurrences = st.builds(
        Recurrence,
        st.sampled_from(["WEEKLY", "MONTHLY"]),
        st.integers(1, 4),
        st.lists(st.tuples(st.integers(0, 4), st.integers(0, 6)), max_size=2).map(tuple),
        st.one_of(st.none(), st.integers(0, 6)),
        st.one_of(st.none(), st.integers(1, 60)),
        st.one_of(
            st.none(), whole, whole.map(lambda d: d.replace(tzinfo=UTC)), whole.map(lambda d: d.date())
        ),
    )
    series = tuple(
        Series(
            m,
            e,
            f"uid-{i}",
            data.draw(st.sampled_from(["Europe/London", "Australia/Sydney"])),
            data.draw(local_times),
            data.draw(st.integers(1, 600)),
            data.draw(recurrences),
            tuple(data.draw(st.lists(local_times, max_size=4))),
            tuple(data.draw(st.lists(utc_times, max_size=6))),
            data.draw(st.sampled_from(CADENCES)),
            data.draw(texts),
            data.draw(st.integers(0, 99)),
        )
        for i, (m, e) in enumerate(chosen)
    )
    events = tuple(
        Event(
            m,
            e,
            f"ev-{i}-{k}",
            data.draw(st.sampled_from(["kickoff", "review"])),
            data.draw(utc_times),
            data.draw(st.integers(1, 600)),
            "Asia/Kolkata",
            data.draw(texts),
            data.draw(st.integers(0, 5)),
        )
        for i, (m, e) in enumerate(chosen)
        for k in range(data.draw(st.integers(0, 2)))
    )
    schedule = Schedule(
        series, events, (Unplaceable("m2", "e1", "no common slot after DST"),), {"placed": len(series)}
    )
    with tempfile.TemporaryDirectory() as tmp, Workspace(tmp) as ws:
        cid = import_cohort(ws, cohort, Program())
        save_match(ws, cid, result)
        save_schedule(ws, cid, schedule)
        assert load_pairs(ws, cid) == result.pairs
        assert load_unmatched(ws, cid) == result.unmatched
        assert load_match(ws, cid) == replace(result, candidates=())
        loaded = load_schedule(ws, cid)
        assert loaded == schedule
        for s, orig in zip(loaded.series, schedule.series, strict=True):
            assert s.dtstart.tzinfo is None and s.dtstart.fold == orig.dtstart.fold
            assert [d.fold for d in s.exdates] == [d.fold for d in orig.exdates]
            assert all(d.tzinfo is UTC for d in s.occurrences)
        assert all(e.start.tzinfo is UTC for e in loaded.events)


def test_schedule_converts_aware_times_to_utc_and_rejects_wrong_kinds(ws: Workspace) -> None:
    cid = import_cohort(ws, small_cohort(), Program())
    save_match(ws, cid, match_of([("m1", "e1")]))
    sydney = datetime(2027, 4, 6, 9, 0, tzinfo=ZoneInfo("Australia/Sydney"))  # the day after DST ends
    base = schedule_for([("m1", "e1")])
    s = replace(base.series[0], occurrences=(sydney,))
    save_schedule(ws, cid, replace(base, series=(s,)))
    (got,) = load_schedule(ws, cid).series[0].occurrences
    assert got == datetime(2027, 4, 5, 23, 0, tzinfo=UTC) and got.tzinfo is UTC
    before = dump(ws)
    with pytest.raises(StoreError, match="aware"):
        save_schedule(ws, cid, replace(base, series=(replace(s, occurrences=(datetime(2027, 4, 6),)),)))
    with pytest.raises(StoreError, match="naive"):
        save_schedule(ws, cid, replace(base, series=(replace(s, dtstart=sydney),)))
    with pytest.raises(StoreError, match="twice"):
        save_schedule(ws, cid, replace(base, events=(replace(base.events[0], uid=s.uid),)))
    assert dump(ws) == before


def test_both_person_decoders_give_the_stored_people(ws: Workspace) -> None:
    import store.serialize as sz

    people = small_cohort().people + (
        make_person(
            "z", unavailable=((date(2027, 1, 1), date(2027, 1, 9)),), avoid=frozenset({"m1"}), level=3
        ),
    )
    calls: list[tuple[int, int]] = []
    cid = import_cohort(
        ws,
        Cohort(people),
        Program(),
        progress=lambda e: calls.append((e.values["written"], e.values["total"])),
    )
    assert calls[-1] == (len(people), len(people))
    assert sz.FAST_PERSON and load_cohort(ws, cid).people == people
    encode = sz.person_encoder()
    rows = [encode(i, p) for i, p in enumerate(people)]
    for fast in (True, False):
        decode = sz.person_decoder(fast=fast)
        assert [decode(r) for r in rows] == list(people), fast


def test_nothing_saved_yet_reads_as_empty(ws: Workspace) -> None:
    cid = import_cohort(ws, small_cohort(), Program())
    assert load_pairs(ws, cid) == () and load_unmatched(ws, cid) == ()
    assert load_match(ws, cid) is None and load_schedule(ws, cid) is None
    assert load_feedback(ws, cid) == ()
    with pytest.raises(StoreError, match="no cycle 99"):
        load_cohort(ws, 99)


# --------------------------------------------------------------------------- cycle rules


def test_cycle_lifecycle_and_history(ws: Workspace) -> None:
    assert current_cycle(ws) is None and list_cycles(ws) == ()
    p1 = program_at(date(2027, 2, 1))
    c1 = import_cohort(ws, small_cohort(), p1, "[cycle]\nstart = 2027-02-01\nweeks = 4\n")
    info = current_cycle(ws)
    assert info.id == c1 and info.is_open and info.start == date(2027, 2, 1)
    assert info.last_day == date(2027, 2, 28) and info.people == 6 and not info.matched
    assert load_program(ws, c1).cycle.weeks == 4

    # Before a match, a re-import replaces the roster and follows the program's new dates.
    c1b = import_cohort(ws, small_cohort(), program_at(date(2027, 2, 8)))
    assert c1b == c1 and get_cycle(ws, c1).start == date(2027, 2, 8)

    save_match(ws, c1, match_of([("m1", "e1"), ("m2", "e2"), ("b1", "e3")]))
    save_schedule(ws, c1, schedule_for([("m1", "e1"), ("m2", "e2"), ("b1", "e3")]))
    assert get_cycle(ws, c1).matched and get_cycle(ws, c1).scheduled and get_cycle(ws, c1).pairs == 3

    # Same roster and program again (re-running `run`): nothing changes.
    before = dump(ws)
    assert import_cohort(ws, small_cohort(), program_at(date(2027, 2, 8))) == c1
    assert dump(ws) == before
    # A different roster into a matched cycle is refused unless asked for (mid-cycle).
    changed = make_cohort(*small_cohort().people[:-1])
    with pytest.raises(StoreError, match="already matched"):
        import_cohort(ws, changed, program_at(date(2027, 2, 8)))
    assert dump(ws) == before

    save_feedback(
        ws,
        c1,
        [
            FeedbackRow("m1", "e1", True, 5, "great"),
            FeedbackRow("e1", "m1", True),
            FeedbackRow("m2", "e2", True),
            FeedbackRow("e2", "m2", False, 2, "private"),
            FeedbackRow("b1", "e3", True),
        ],
    )
    closed = close_cycle(ws, c1)
    assert closed.status == "closed" and closed.closed_at is not None and current_cycle(ws) is None
    with pytest.raises(StoreError, match="closed"):
        save_match(ws, c1, match_of([]))
    with pytest.raises(StoreError, match="closed"):
        save_feedback(ws, c1, [])
    with pytest.raises(StoreError, match="closed"):
        close_cycle(ws, c1)

    # The next cycle may not overlap the closed one, nor go back in time.
    with pytest.raises(StoreError, match="does not start after closed cycle"):
        import_cohort(ws, small_cohort(), program_at(date(2027, 3, 1)))
    with pytest.raises(StoreError, match="move \\[cycle\\] start"):
        import_cohort(ws, small_cohort(), program_at(date(2026, 1, 1)))
    assert current_cycle(ws) is None
    c2 = import_cohort(ws, small_cohort(), program_at(date(2027, 3, 8)))
    assert c2 != c1 and previous_cycle(ws, c2).id == c1 and previous_cycle(ws, c1) is None
    assert [c.id for c in list_cycles(ws)] == [c1, c2]

    assert continuing_pairs(ws, c1) == {("m1", "e1")}
    assert ended_pairs(ws) == {("m2", "e2")}
    save_match(ws, c2, match_of([("m1", "e1"), ("m2", "e3")]))
    assert load_pair_origins(ws, c2) == {("m1", "e1"): "continued", ("m2", "e3"): "new"}
    assert load_pairs(ws, c1)[0].mentor_id == "m1"  # history kept


def test_replace_matched_drops_the_cycles_derived_rows(ws: Workspace) -> None:
    cid = import_cohort(ws, small_cohort(), Program())
    save_match(ws, cid, match_of([("m1", "e1"), ("m2", "e2")]))
    save_schedule(ws, cid, schedule_for([("m1", "e1"), ("m2", "e2")]))
    leaver_gone = make_cohort(*(p for p in small_cohort().people if p.id != "e2"))
    assert import_cohort(ws, leaver_gone, Program(), replace_matched=True) == cid
    assert "e2" not in load_cohort(ws, cid) and load_pairs(ws, cid) == ()
    assert load_schedule(ws, cid) is None and not get_cycle(ws, cid).matched


def test_new_match_replaces_pairs_and_drops_the_stale_schedule(ws: Workspace) -> None:
    cid = import_cohort(ws, small_cohort(), Program())
    save_match(ws, cid, match_of([("m1", "e1"), ("m2", "e2")]))
    save_schedule(ws, cid, schedule_for([("m1", "e1"), ("m2", "e2")]))
    save_match(ws, cid, match_of([("m1", "e3")]))
    assert [(p.mentor_id, p.mentee_id) for p in load_pairs(ws, cid)] == [("m1", "e3")]
    assert load_schedule(ws, cid) is None
    save_schedule(ws, cid, schedule_for([("m1", "e3")], "b"))
    save_schedule(ws, cid, schedule_for([("m1", "e3")], "c"))  # replaces, no UID clash
    assert [s.uid for s in load_schedule(ws, cid).series] == ["sc0@x"]


def test_feedback_verdicts_across_cycles(ws: Workspace) -> None:
    c1 = import_cohort(ws, small_cohort(), program_at(date(2027, 1, 4)))
    save_match(ws, c1, match_of([("m1", "e1"), ("m2", "e2"), ("b1", "e3"), ("m1", "b1")]))
    rows = [
        FeedbackRow("m1", "e1", True, 4, "ok", 2),
        FeedbackRow("e1", "m1", True, None, None, 3),
        FeedbackRow("e2", "m2", False, 1, "no", 4),  # one no, other side silent: ended
        FeedbackRow("b1", "e3", True, line=5),  # one yes, other silent: neither
        FeedbackRow("b1", "m1", False, line=6),  # the mentee of a pair says no: ended
        FeedbackRow("m2", "e3", False, line=7),  # not partners: counts for no pair
    ]
    save_feedback(ws, c1, rows)
    assert load_feedback(ws, c1) == tuple(rows)
    assert continuing_pairs(ws, c1) == {("m1", "e1")}
    assert ended_pairs(ws) == {("m2", "e2"), ("m1", "b1")}
    close_cycle(ws, c1)
    c2 = import_cohort(ws, small_cohort(), program_at(date(2027, 3, 1)))
    save_match(ws, c2, match_of([("m1", "e1"), ("b1", "e3")]))
    save_feedback(ws, c2, [FeedbackRow("e1", "m1", False)])
    assert ended_pairs(ws) == {("m2", "e2"), ("m1", "b1"), ("m1", "e1")}
    assert continuing_pairs(ws, c2) == set() and continuing_pairs(ws, c1) == {("m1", "e1")}


def test_run_summaries(ws: Workspace) -> None:
    cid = import_cohort(ws, small_cohort(), Program())
    r1 = save_run_summary(ws, cid, "match", {"matched": 3, "gap": 0.0})
    r2 = save_run_summary(ws, None, "validate", {"people": 6})
    close_cycle(ws, cid)
    save_run_summary(ws, cid, "close", {"feedback": 0})  # a log: allowed after closing
    runs = load_run_summaries(ws, cid)
    assert [r.kind for r in runs] == ["match", "close"] and runs[0].id == r1
    assert runs[0].summary == {"matched": 3, "gap": 0.0}
    assert [r.id for r in load_run_summaries(ws, kind="validate")] == [r2]


# --------------------------------------------------------------------------- atomicity


def test_import_failing_half_way_changes_nothing(ws: Workspace) -> None:
    big = make_cohort(*(make_person(f"x{i}") for i in range(20)))

    def boom(event: ProgressEvent) -> None:
        if event.values["written"] >= 9:
            raise RuntimeError("disk on fire")

    for setup in ("empty", "open cycle with a roster"):
        if setup != "empty":
            import_cohort(ws, small_cohort(), Program())
        before = dump(ws)
        with pytest.raises(RuntimeError, match="disk on fire"):
            import_cohort(ws, big, Program(), progress=boom, batch_rows=3)
        assert dump(ws) == before
        assert not ws.connection.in_transaction


def test_import_with_a_constraint_violation_changes_nothing(ws: Workspace) -> None:
    import_cohort(ws, small_cohort(), Program())
    before = dump(ws)
    duplicate = make_cohort(make_person("a"), make_person("b"), make_person("a"))
    with pytest.raises(StoreError, match="UNIQUE"):
        import_cohort(ws, duplicate, Program())
    bad_role = make_cohort(make_person("a"), make_person("z", role="boss"))
    with pytest.raises(StoreError, match="CHECK"):
        import_cohort(ws, bad_role, Program())
    assert dump(ws) == before


def test_failed_schedule_keeps_the_previous_one(ws: Workspace) -> None:
    cid = import_cohort(ws, small_cohort(), Program())
    save_match(ws, cid, match_of([("m1", "e1"), ("m2", "e2")]))
    save_schedule(ws, cid, schedule_for([("m1", "e1"), ("m2", "e2")]))
    before = dump(ws)
    with pytest.raises(StoreError, match="FOREIGN KEY"):  # the last series is not a pair
        save_schedule(ws, cid, schedule_for([("m1", "e1"), ("m2", "e2"), ("m1", "e3")], "n"))
    assert dump(ws) == before


def test_composed_transactions(ws: Workspace) -> None:
    cid = import_cohort(ws, small_cohort(), Program())
    before = dump(ws)
    with pytest.raises(RuntimeError):  # a failing step rolls back the steps before it
        with ws.transaction():
            save_match(ws, cid, match_of([("m1", "e1")]))
            raise RuntimeError("schedule failed")
    assert dump(ws) == before
    good = schedule_for([("m1", "e1")])
    with ws.transaction():  # a caught inner failure undoes only that inner step
        save_match(ws, cid, match_of([("m1", "e1")]))
        save_schedule(ws, cid, good)
        with pytest.raises(StoreError):  # deletes the good schedule, then fails on its 2nd series
            save_schedule(ws, cid, schedule_for([("m1", "e1"), ("m1", "e2")], "n"))
        save_run_summary(ws, cid, "match", {"matched": 1})
    assert len(load_pairs(ws, cid)) == 1 and load_schedule(ws, cid) == good
    assert len(load_run_summaries(ws, cid)) == 1


KILL_SCRIPT = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {root!r})
    from store import Workspace, import_cohort
    from cohort.program import Program
    from tests.factories import make_cohort, make_person

    ws = Workspace(sys.argv[1])
    ws.connection.execute("PRAGMA cache_size = 8")  # spill pages: uncommitted frames reach the WAL
    cohort = make_cohort(*(make_person(f"k{{i}}", goals=("x" * 50,)) for i in range(4000)))

    def progress(event):
        if event.values["written"] >= 2000:
            print("inside", flush=True)
            time.sleep(120)

    import_cohort(ws, cohort, Program(), progress=progress, batch_rows=200)
    print("finished", flush=True)
""")


def test_killed_import_leaves_the_database_intact(tmp_path: Path) -> None:
    """SIGKILL in the middle of an import that replaces the open cycle's roster: after reopening,
    the old roster is there, unchanged, and the file passes SQLite's integrity check."""
    with Workspace(tmp_path) as ws:
        cid = import_cohort(ws, small_cohort(), Program())
        save_run_summary(ws, cid, "import", {"people": 6})
        before = dump(ws)
    child = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT.format(root=str(ROOT)), str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = child.stdout.readline()
        assert line.strip() == "inside", child.stderr.read()
        wal = tmp_path / (DB_NAME + "-wal")
        assert wal.stat().st_size > 0  # the child really wrote uncommitted pages before dying
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    with Workspace(tmp_path) as ws:
        assert ws.connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert dump(ws) == before
        assert load_cohort(ws, cid) == small_cohort()
