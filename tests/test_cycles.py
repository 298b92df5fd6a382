"""Cycles end to end: close with feedback, re-match at the boundary and mid-cycle, feeds with history.

One scenario drives three cycles (joiners, leavers, mixed feedback, one mid-cycle departure)
through the library and checks properties after every step, never one exact pairing.
"""

from __future__ import annotations

import csv
import itertools
import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import recurring_ical_events
from icalendar import Calendar

from cohort.errors import InputError
from cohort.program import load_program
from matcher.candidates import build_candidates
from pipeline import cycles, steps
from pipeline.run import run
from sample_data.generate import write_rows
from scheduler.codec import parse_rrule, rrule_text
from scheduler.slots import SlotContext
from tests.checker import check as check_schedule

SECRET = "SECRET-COMMENT-7f3a"

PROGRAM = """\
[program]
name = "Cycle test"

[cycle]
start = {start}
weeks = 6
cadence = "biweekly"
duration_minutes = 45
buffer_minutes = 15

[rules]
default_capacity = 2

[solver]
workers = 1
seed = 1
match_seconds = 5
schedule_seconds = 5
slot_options_per_pair = 6

[milestones]
checkins = false
review = false

[feeds]
base_url = "https://feeds.example.org"
"""

TOPICS = ["leadership", "writing", "system design", "negotiation"]


def person(pid: str, role: str, n: int, capacity: str = "") -> dict[str, str]:
    zone = ["Europe/London", "Europe/Berlin", "America/New_York"][n % 3]
    hours = "Mon,Tue,Wed,Thu,Fri " + ("08:00-13:00" if zone == "America/New_York" else "09:00-17:00")
    topic = TOPICS[n % len(TOPICS)]
    return {
        "id": pid,
        "name": pid.upper(),
        "email": f"{pid}@example.org",
        "role": role,
        "timezone": zone,
        "availability": hours,
        "goals": topic if role == "mentee" else "",
        "expertise": f"{topic}; {TOPICS[(n + 1) % len(TOPICS)]}" if role == "mentor" else "",
        "capacity": capacity,
        "languages": "en",
    }


def write_roster(path: Path, people: list[dict[str, str]]) -> Path:
    write_rows(people, path)
    return path


def set_start(ws: Path, start: date) -> None:
    (ws / "program.toml").write_text(PROGRAM.format(start=start.isoformat()), encoding="utf-8")


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def meetings(doc: dict, pid: str) -> set[datetime]:
    """Every meeting start of ``pid`` in a schedule.json document."""
    out = set()
    for s in doc["series"]:
        if pid in (s["mentor_id"], s["mentee_id"]):
            out |= {datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC) for t in s["occurrences"]}
    for e in doc["events"]:
        if pid in (e["mentor_id"], e["mentee_id"]):
            out.add(datetime.strptime(e["start"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC))
    return out


def feed_starts(path: Path) -> list[datetime]:
    cal = Calendar.from_ical(path.read_bytes())
    found = recurring_ical_events.of(cal).between(datetime(2026, 1, 1), datetime(2029, 1, 1))
    return sorted(ev["DTSTART"].dt.astimezone(UTC) for ev in found)


def feeds_by_person(out: Path) -> dict[str, Path]:
    return {
        r["id"]: out / "feeds" / r["url"].rsplit("/", 1)[1]
        for r in read_csv(out / "feeds" / "index.csv")
        if r["id"] != "*coordinator*"
    }


def check_feeds(out: Path, expected: dict[str, set[datetime]]) -> None:
    """Every feed expands to exactly that person's meetings, and carries no feedback text."""
    feeds = feeds_by_person(out)
    for pid, path in feeds.items():
        starts = feed_starts(path)
        assert len(starts) == len(set(starts)), pid
        assert set(starts) == expected.get(pid, set()), pid
        assert SECRET.encode() not in path.read_bytes()
    for name in ("changes.csv", "report.html", "summary.json", "schedule.json", "matches.csv"):
        if (out / name).exists():
            assert SECRET not in (out / name).read_text(encoding="utf-8")


def pairs_of(doc: dict) -> set[tuple[str, str]]:
    return {(s["mentor_id"], s["mentee_id"]) for s in doc["series"]}


def feedback_file(path: Path, answers: list[tuple[str, str, str]]) -> Path:
    lines = ["person_id,partner_id,continue,rating,comment"]
    lines += [f"{a},{b},{c},{3 if c == 'yes' else 1},{SECRET} about {b}" for a, b, c in answers]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def slot_of(series: dict, tz: str) -> tuple[int, str]:
    """(weekday, local HH:MM) of the first meeting, in ``tz``."""
    first = datetime.strptime(series["occurrences"][0], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    local = first.astimezone(ZoneInfo(tz))
    return local.weekday(), f"{local:%H:%M}"


def lexicographic_best(ws: Path, roster: Path, keep, prefer_new, prefer_same, banned) -> tuple:
    """Brute force over every assignment: (kept, matched, score, -partial re-formed, none re-formed)."""
    from cohort.load import load_participants

    program = load_program(ws / "program.toml")
    cohort, _ = load_participants(roster, program)
    cs = build_candidates(cohort, program, slot_filter=SlotContext(cohort, program).has_slot)
    score = {(c.mentor_id, c.mentee_id): c.score for c in cs.candidates()}
    score = {k: v for k, v in score.items() if k not in banned and (k[1], k[0]) not in banned}
    cap = {
        p.id: (p.capacity if p.capacity is not None else program.rules.default_capacity)
        for p in cohort.mentors
    }
    mentees = [p.id for p in cohort.mentees]
    options = [[None] + [m for (m, e) in score if e == mid] for mid in mentees]
    best = None
    for choice in itertools.product(*options):
        load = defaultdict(int)
        ok = True
        for m in choice:
            if m is not None:
                load[m] += 1
                ok &= load[m] <= cap[m]
        if not ok:
            continue
        chosen = {(m, e) for m, e in zip(choice, mentees, strict=True) if m is not None}
        value = (
            len(chosen & keep),
            len(chosen),
            sum(score[k] for k in chosen),
            -len(chosen & prefer_new),
            len(chosen & prefer_same),
        )
        best = value if best is None or value > best else best
    return best, score


def value_of(doc: dict, score, keep, prefer_new, prefer_same) -> tuple:
    chosen = pairs_of(doc)
    return (
        len(chosen & keep),
        len(chosen),
        sum(score[k] for k in chosen),
        -len(chosen & prefer_new),
        len(chosen & prefer_same),
    )


def test_three_cycles_with_feedback_churn_and_a_mid_cycle_departure(tmp_path: Path) -> None:
    # Long on purpose: one scenario over three cycles, checking properties after every step;
    # splitting it would re-run the expensive earlier cycles for every later check.
    ws = tmp_path / "ws"
    ws.mkdir()
    start1 = date(2027, 2, 1)
    set_start(ws, start1)
    mentors = [person(f"m{i}", "mentor", i, capacity="1" if i < 3 else "") for i in range(1, 5)]
    mentees = [person(f"e{i}", "mentee", i) for i in range(1, 7)]
    roster1 = write_roster(tmp_path / "roster1.csv", mentors + mentees)
    now1 = datetime(2027, 1, 20, tzinfo=UTC)

    # ---------------------------------------------------------------- cycle 1
    out1 = tmp_path / "out1"
    run(ws, roster1, out1, now=now1)
    doc1 = json.loads((out1 / "schedule.json").read_text())
    pairs1 = sorted(pairs_of(doc1))
    assert len(pairs1) >= 4
    check_feeds(out1, {p["id"]: meetings(doc1, p["id"]) for p in mentors + mentees})
    tokens = {pid: path.name for pid, path in feeds_by_person(out1).items()}

    # feedback: yes/yes, yes/no, yes/(silent), and nobody answered for the rest
    keep1, banned1, partial1 = pairs1[0], pairs1[1], pairs1[2]
    none1 = set(pairs1[3:])
    bad = feedback_file(tmp_path / "bad.csv", [(keep1[0], "nobody", "yes"), (keep1[1], keep1[0], "maybe")])
    with pytest.raises(InputError) as err:
        cycles.close_cycle(ws, bad)
    assert len(err.value.errors) >= 2  # every problem at once
    assert cycles.cycle_list(ws)[0].status == "open"  # nothing written
    fb1 = feedback_file(
        tmp_path / "fb1.csv",
        [
            (keep1[0], keep1[1], "yes"),
            (keep1[1], keep1[0], "yes"),
            (banned1[0], banned1[1], "yes"),
            (banned1[1], banned1[0], "no"),
            (partial1[0], partial1[1], "yes"),
        ],
    )
    closed = cycles.close_cycle(ws, fb1)
    assert dict(closed.verdicts) == {"continue": 1, "end": 1, "partial": 1, "none": len(none1)}

    # ---------------------------------------------------------------- cycle 2: churn
    start2 = start1 + timedelta(weeks=7)
    set_start(ws, start2)
    leaver = next(e for _, e in sorted(none1))  # a mentee leaves
    roster2_people = [p for p in mentors + mentees if p["id"] != leaver]
    roster2_people += [person("m9", "mentor", 9), person("e9", "mentee", 9), person("e8", "mentee", 8)]
    roster2 = write_roster(tmp_path / "roster2.csv", roster2_people)
    out2 = tmp_path / "out2"
    outcome2 = cycles.rematch(ws, roster2, out2, now=datetime(2027, 3, 15, tzinfo=UTC))
    doc2 = json.loads((out2 / "schedule.json").read_text())
    pairs2 = pairs_of(doc2)
    ids2 = {p["id"] for p in roster2_people}
    assert banned1 not in pairs2 and (banned1[1], banned1[0]) not in pairs2
    assert all(set(k) <= ids2 for k in pairs2)  # leavers are gone
    assert keep1 in pairs2
    old = next(s for s in doc1["series"] if (s["mentor_id"], s["mentee_id"]) == keep1)
    new = next(s for s in doc2["series"] if (s["mentor_id"], s["mentee_id"]) == keep1)
    for pid in keep1:  # same weekday and local time for both people, new UID
        tz = next(p["timezone"] for p in roster2_people if p["id"] == pid)
        assert slot_of(old, tz) == slot_of(new, tz)
    assert old["uid"] != new["uid"]
    best, score = lexicographic_best(ws, roster2, {keep1}, {partial1}, none1, {banned1})
    assert value_of(doc2, score, {keep1}, {partial1}, none1) == best
    assert check_schedule(doc2, outcome2.plan.cohort, outcome2.plan.program) == []
    history1 = {pid: meetings(doc1, pid) for pid in ids2}
    check_feeds(out2, {pid: history1[pid] | meetings(doc2, pid) for pid in ids2})
    assert {pid: p.name for pid, p in feeds_by_person(out2).items() if pid in tokens} == {
        pid: tokens[pid] for pid in feeds_by_person(out2) if pid in tokens
    }  # addresses never change
    changes = {r["id"]: r["change"] for r in read_csv(out2 / "changes.csv")}
    assert set(changes) == ids2 and SECRET not in "".join(changes.values())
    assert "new mentee" in changes["m9"] or "no partner" in changes["m9"]
    # `mentorsync publish` gives the same feeds as the rematch wrote: history included
    republished = steps.do_publish(ws, tmp_path / "pub2", now=datetime(2027, 3, 16, tzinfo=UTC))
    assert {f.person_id: f.etag for f in republished.feeds} == {
        f.person_id: f.etag for f in outcome2.published.feeds
    }
    assert not any(f.changed for f in republished.feeds) and republished.changed_uids == ()
    leaver_mentor = next(m for m, e in pairs1 if e == leaver)  # history still names who has left
    summaries = [
        str(ev["SUMMARY"])
        for ev in Calendar.from_ical(feeds_by_person(out2)[leaver_mentor].read_bytes()).walk("VEVENT")
    ]
    assert f"Mentoring with {leaver.upper()}" in summaries

    # ---------------------------------------------------------------- mid-cycle departure
    mid_now = datetime(2027, 4, 21, 12, tzinfo=UTC)
    going = next(m for m, _ in sorted(pairs2) if m != keep1[0])
    affected = {e for m, e in pairs2 if m == going}
    roster2b_people = [p for p in roster2_people if p["id"] != going]
    roster2b = write_roster(tmp_path / "roster2b.csv", roster2b_people)
    before_feeds = {pid: path.read_bytes() for pid, path in feeds_by_person(out2).items()}
    out2b = tmp_path / "out2b"
    outcome2b = cycles.rematch(ws, roster2b, out2b, now=mid_now, mid_cycle=True)
    doc2b = json.loads((out2b / "schedule.json").read_text())
    assert outcome2b.cycle_id == outcome2.cycle_id
    series2 = {(s["mentor_id"], s["mentee_id"]): s for s in doc2["series"]}
    series2b = {(s["mentor_id"], s["mentee_id"]): s for s in doc2b["series"]}
    unaffected_pairs = {k for k in series2 if going not in k}
    for k in unaffected_pairs:  # partner, slot and UID kept
        assert series2b[k] == series2[k]
    fresh = set(series2b) - set(series2)
    assert all(going not in k for k in series2b)
    for k in fresh:  # new pairs start from the departure
        assert k[1] in affected or k[0] in affected or k[1] not in {e for _, e in series2}
        assert min(series2b[k]["occurrences"]) >= mid_now.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert check_schedule(doc2b, outcome2b.plan.cohort, outcome2b.plan.program) == []
    moved = {pid for k in fresh for pid in k} | affected | {going}
    after_feeds = {pid: path.read_bytes() for pid, path in feeds_by_person(out2b).items()}
    for pid, body in after_feeds.items():
        if pid not in moved:
            assert body == before_feeds[pid], pid
    ids2b = {p["id"] for p in roster2b_people}
    ended_before_mid = {
        pid: {
            t
            for k, s in series2.items()
            if going in k and pid in k
            for t in meetings({"series": [s], "events": []}, pid)
            if t < mid_now
        }
        | {
            datetime.strptime(e["start"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            for e in doc2["events"]
            if going in (e["mentor_id"], e["mentee_id"])
            and pid in (e["mentor_id"], e["mentee_id"])
            and e["start"] < mid_now.strftime("%Y-%m-%dT%H:%M:%SZ")
        }
        for pid in ids2b
    }
    check_feeds(out2b, {pid: history1[pid] | ended_before_mid[pid] | meetings(doc2b, pid) for pid in ids2b})

    # ---------------------------------------------------------------- cycle 3
    pairs2b = sorted(pairs_of(doc2b))
    answers = []
    for i, (m, e) in enumerate(pairs2b):
        verdict = ("yes", "yes") if i % 2 == 0 else ("no", "yes")
        answers += [(m, e, verdict[0]), (e, m, verdict[1])]
    cycles.close_cycle(ws, feedback_file(tmp_path / "fb2.csv", answers))
    keep2 = {k for i, k in enumerate(pairs2b) if i % 2 == 0}
    banned_all = {banned1} | {k for i, k in enumerate(pairs2b) if i % 2 == 1}
    set_start(ws, start2 + timedelta(weeks=7))
    roster3_people = roster2b_people + [person("e7", "mentee", 7)]
    roster3 = write_roster(tmp_path / "roster3.csv", roster3_people)
    out3 = tmp_path / "out3"
    outcome3 = cycles.rematch(ws, roster3, out3, now=datetime(2027, 5, 20, tzinfo=UTC))
    doc3 = json.loads((out3 / "schedule.json").read_text())
    pairs3 = pairs_of(doc3)
    for m, e in banned_all:  # no "no" pair ever re-formed, in either direction
        assert (m, e) not in pairs3 and (e, m) not in pairs3
    assert keep2 <= pairs3  # everyone here is free on weekdays: every yes/yes pair stays feasible
    for k in keep2:
        for pid in k:
            tz = next(p["timezone"] for p in roster3_people if p["id"] == pid)
            assert slot_of(series2b[k], tz) == slot_of(
                next(s for s in doc3["series"] if (s["mentor_id"], s["mentee_id"]) == k), tz
            )
    assert check_schedule(doc3, outcome3.plan.cohort, outcome3.plan.program) == []
    ids3 = {p["id"] for p in roster3_people}
    check_feeds(
        out3,
        {
            pid: history1.get(pid, set())
            | ended_before_mid.get(pid, set())
            | meetings(doc2b, pid)
            | meetings(doc3, pid)
            for pid in ids3
        },
    )

    # ---------------------------------------------------------------- listing, show, diff
    listed = cycles.cycle_list(ws)
    assert [c.status for c in listed] == ["closed", "closed", "open"]
    shown = cycles.cycle_show(ws, listed[0].id)
    assert sum(shown.ratings.values()) == 5 and shown.comments == 5
    assert SECRET not in json.dumps(shown.as_json()) and SECRET not in json.dumps(listed[1].as_json())
    assert leaver in cycles.cycle_show(ws, listed[1].id).left
    d = cycles.diff(ws, listed[1].id, listed[2].id)
    assert set(d.kept) == pairs_of(doc2b) & pairs3 and "e7" in d.joined


def test_close_cycle_without_open_cycle_is_a_usage_error(tmp_path: Path) -> None:
    from cohort.errors import UsageError
    from store import Workspace

    Workspace(tmp_path).close()
    with pytest.raises(UsageError):
        cycles.close_cycle(tmp_path, tmp_path / "fb.csv")
    with pytest.raises(UsageError):
        cycles.rematch(tmp_path, None, tmp_path / "out")


def test_cut_series_still_expand_to_their_occurrences() -> None:
    """Cutting a series before/after an instant keeps RRULE, EXDATE and occurrences consistent."""
    from scheduler.model import Series
    from tests.checker import expand_series

    tz = ZoneInfo("Europe/London")
    dtstart = datetime(2027, 3, 2, 17, 0)
    local = [dtstart + timedelta(weeks=2 * k) for k in range(8)]
    skipped = local[3]
    occ = tuple(t.replace(tzinfo=tz).astimezone(UTC) for t in local if t != skipped)
    s = Series(
        "m",
        "e",
        "u",
        "Europe/London",
        dtstart,
        45,
        parse_rrule("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;WKST=MO;UNTIL=20270608T235959Z"),
        (skipped,),
        occ,
    )
    for cut in (occ[0], occ[2] + timedelta(hours=1), occ[3], occ[-1]):
        for part in (cycles.cut_before(s, [], cut)[0], cycles.cut_after(s, [], cut)[0]):
            if part is None:
                continue
            doc = {
                "timezone": part.timezone,
                "dtstart": part.dtstart.isoformat(),
                "rrule": rrule_text(part.recurrence),
                "exdates": [d.isoformat() for d in part.exdates],
            }
            assert expand_series(doc) == list(part.occurrences)


def test_history_names_someone_who_left_mid_cycle_in_their_only_cycle(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    set_start(ws, date(2027, 2, 1))
    people = [person(f"m{i}", "mentor", i, capacity="1") for i in range(1, 4)]
    people += [person(f"e{i}", "mentee", i) for i in range(1, 4)]
    run(
        ws,
        write_roster(tmp_path / "r1.csv", people),
        tmp_path / "out1",
        now=datetime(2027, 1, 20, tzinfo=UTC),
    )
    doc1 = json.loads((tmp_path / "out1" / "schedule.json").read_text())
    m, e = sorted(pairs_of(doc1))[0]
    stayers = [p for p in people if p["id"] != m]
    roster2 = write_roster(tmp_path / "r2.csv", stayers)
    cycles.rematch(ws, roster2, tmp_path / "out2", now=datetime(2027, 2, 25, 12, tzinfo=UTC), mid_cycle=True)

    def titles(out: Path) -> dict[str, tuple[str, int, bool]]:
        cal = Calendar.from_ical(feeds_by_person(out)[e].read_bytes())
        return {
            str(ev["UID"]): (str(ev["SUMMARY"]), int(ev.get("SEQUENCE", 0)), "RRULE" in ev)
            for ev in cal.walk("VEVENT")
        }

    before, after = titles(tmp_path / "out1"), titles(tmp_path / "out2")
    with_m = {uid: v for uid, v in after.items() if v[0].endswith(f"with {m.upper()}")}
    assert with_m and all(m not in v[0].split() for v in after.values())  # the name, never the bare id
    # a past one-off meeting (the kickoff) is untouched: same title, no new SEQUENCE; the series
    # itself now ends at the departure, a real change
    past = {uid: v for uid, v in with_m.items() if not v[2]}
    assert past and all(before[uid] == v for uid, v in past.items())
    # and still in the next cycle, after the roster that held them is long replaced
    cycles.close_cycle(ws, feedback_file(tmp_path / "fb.csv", []))
    set_start(ws, date(2027, 2, 1) + timedelta(weeks=7))
    cycles.rematch(ws, roster2, tmp_path / "out3", now=datetime(2027, 3, 18, tzinfo=UTC))
    assert {uid: v[0] for uid, v in titles(tmp_path / "out3").items() if uid in with_m} == {
        uid: v[0] for uid, v in with_m.items()
    }
