"""``mentorsync history`` on a generated three-cycle history, end to end.

The scenario (built once): the sample cohort with circles over three cycles, with check-ins
answered from the participants' pages (stored as the web page stores them), feedback files with
comments and circle answers, people joining, leaving and coming back, and a mentor leaving in the
middle of cycle 2 (a mid-cycle re-match). Every figure of ``history`` is then recomputed here,
independently, from ``cycle show --json``, ``diff --json``, the output files each step wrote
(``matches.csv``, ``circles.csv``, ``schedule.json``), the rosters and the stored check-ins and
feedback; a suppressed figure must be one whose group is below ``[history] min_group`` (or the
complementary part of a breakdown). The page names nobody, renders in a real browser, and a re-run
gives the same bytes.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from cohort.checkins import CheckIn
from pages.views import checkin_points
from pipeline import cycles
from pipeline.program_history import history
from pipeline.run import run
from store import (
    Workspace,
    current_cycle,
    load_checkins,
    load_circle_feedback,
    load_feedback,
    load_pairs,
    save_checkin,
)
from store import load_program as stored_program
from store import load_schedule as stored_schedule
from tests.browser_check import dump_dom, find_chromium, screenshot
from tests.cli_helpers import invoke, rows

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "participants_circles.csv"
MIN_GROUP = 5
EARLY, LATE = 8, 18
STARTS = (date(2027, 2, 1), date(2027, 7, 5), date(2027, 12, 6))
MID_NOW = datetime(2027, 9, 15, 12, tzinfo=UTC)  # the mentor leaves during cycle 2
NOW3 = datetime(2028, 2, 20, 12, tzinfo=UTC)  # cycle 3 is open: its check-ins up to here
EPOCH3 = int(NOW3.timestamp())
NOTE = "SECRET-NOTE"
COMMENT = "SECRET-COMMENT"
CHROMIUM = find_chromium()


def _program(start: date) -> str:
    text = (ROOT / "sample_data" / "program.toml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^start = \S+", f"start = {start.isoformat()}", text, count=1)
    text = re.sub(r"(?m)^weeks = \d+", "weeks = 20", text, count=1)
    return text + (
        "\n[matching]\nworkers = 1\nseed = 1\ntime_limit_seconds = 10\n\n"
        "[schedule]\ntime_limit_seconds = 10\n"
    )


def _write_roster(path: Path, people: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(people[0]))
        w.writeheader()
        w.writerows(people)
    return path


def _feedback_file(path: Path, lines: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["person_id", "partner_id", "continue", "rating", "comment"])
        w.writerows(lines)
    return path


def _answer_checkins(ws: Path, until: datetime | None, salt: int, skip: set[tuple[str, int]]) -> None:
    """Answers to the open cycle's check-ins opened by ``until`` (all: None), as the page stores
    them: some people answer, some do not; some did not meet; every answer carries a note."""
    with Workspace(ws, create=False) as w:
        open_cycle = current_cycle(w)
        assert open_cycle is not None
        cycle = open_cycle.id
        schedule = stored_schedule(w, cycle)
        assert schedule is not None
        points = checkin_points(schedule, stored_program(w, cycle))
        for i, ((mentor, mentee), pts) in enumerate(sorted(points.items())):
            for p in pts:
                if until is not None and p.opens > until:
                    continue
                for k, (pid, other) in enumerate(((mentor, mentee), (mentee, mentor))):
                    n = i + salt + 3 * p.number + k
                    if n % 4 == 0 or (pid, p.number) in skip:
                        continue  # not answered
                    stamp = p.opens.astimezone(UTC).isoformat()
                    save_checkin(
                        w,
                        CheckIn(
                            cycle,
                            pid,
                            other,
                            p.number,
                            "no" if n % 5 == 0 else "yes",
                            1 + n % 5,
                            ("yes", "no", "unsure")[n % 3],
                            f"{NOTE}-{pid}-{p.number}",
                            stamp,
                        ),
                    )
                    skip.add((pid, p.number))


@dataclass
class Scenario:
    ws: Path
    out: dict[str, Path]
    rosters: list[list[dict[str, str]]]  # the roster of each cycle at its end
    rosters_before_mid: list[dict[str, str]] = field(default_factory=list)
    mentor_left: str = ""
    comments: list[str] = field(default_factory=list)


def _build(tmp: Path) -> Scenario:
    # Long on purpose: one scenario over three cycles; every test of the module reads it.
    ws = tmp / "ws"
    ws.mkdir()
    with SAMPLE.open(newline="", encoding="utf-8") as f:
        base = list(csv.DictReader(f))
    for i, row in enumerate(base):
        row["introductions"] = "yes" if i % 3 != 2 else ("no" if i % 2 else "")
    out = {name: tmp / name for name in ("out1", "out2", "out2b", "out3")}
    comments: list[str] = []

    # ------------------------------------------------------------ cycle 1
    (ws / "program.toml").write_text(_program(STARTS[0]), encoding="utf-8")
    roster1 = base
    run(ws, _write_roster(tmp / "roster1.csv", roster1), out["out1"], now=datetime(2027, 1, 20, tzinfo=UTC))
    _answer_checkins(ws, None, 0, set())
    pairs1 = sorted((r["mentor_id"], r["mentee_id"]) for r in rows(out["out1"] / "matches.csv"))
    lines = []
    for i, (m, e) in enumerate(pairs1):
        kind = i % 4
        if kind == 0:
            lines += [[m, e, "yes", "5", f"{COMMENT}-{m}"], [e, m, "yes", "4", ""]]
        elif kind == 1:
            lines += [[m, e, "yes", "3", ""], [e, m, "no", "2", f"{COMMENT}-{e}"]]
        elif kind == 2:
            lines += [[m, e, "yes", "", ""]]
    (circle,) = rows(out["out1"] / "circles.csv")
    members = circle["member_ids"].split(";")
    lines += [[circle["mentor_id"], circle["circle_id"], "yes", "5", f"{COMMENT}-circle"]]
    lines += [[members[0], circle["circle_id"], "no", "2", ""]]
    lines += [[m, circle["circle_id"], "yes", "4", ""] for m in members[1:]]
    comments += [line[4] for line in lines if line[4]]
    cycles.close_cycle(ws, _feedback_file(tmp / "fb1.csv", lines))

    # ------------------------------------------------------------ cycle 2: churn, a mid-cycle departure
    none1 = [e for i, (m, e) in enumerate(pairs1) if i % 4 == 3 and not e.startswith("c")]
    away = none1[0]  # a mentee skips cycle 2 (back in cycle 3)
    joiner = dict(base[-8], id="n3001", name="Quentin Marlowe", email="quentin.marlowe@northwind.example")
    joiner2 = dict(base[0], id="n3002", name="Beatrix Holloway", email="beatrix.holloway@northwind.example")
    roster2 = [r for r in base if r["id"] != away] + [joiner, joiner2]
    (ws / "program.toml").write_text(_program(STARTS[1]), encoding="utf-8")
    cycles.rematch(
        ws, _write_roster(tmp / "roster2.csv", roster2), out["out2"], now=datetime(2027, 6, 20, tzinfo=UTC)
    )
    answered: set[tuple[str, int]] = set()
    _answer_checkins(ws, MID_NOW, 1, answered)
    pairs2 = sorted((r["mentor_id"], r["mentee_id"]) for r in rows(out["out2"] / "matches.csv"))
    in_circle = {
        p for c in rows(out["out2"] / "circles.csv") for p in [c["mentor_id"], *c["member_ids"].split(";")]
    }
    mentor_left = next(m for m, _ in pairs2 if m not in in_circle and m.startswith("e1"))
    roster2b = [r for r in roster2 if r["id"] != mentor_left]
    cycles.rematch(
        ws, _write_roster(tmp / "roster2b.csv", roster2b), out["out2b"], now=MID_NOW, mid_cycle=True
    )
    _answer_checkins(ws, None, 2, answered)
    pairs2b = sorted((r["mentor_id"], r["mentee_id"]) for r in rows(out["out2b"] / "matches.csv"))
    lines = []
    for i, (m, e) in enumerate(pairs2b):
        lines += [
            [m, e, "yes", str(3 + i % 3), f"{COMMENT}-2-{m}"],
            [e, m, "yes" if i % 3 else "no", "4", ""],
        ]
    comments += [line[4] for line in lines if line[4]]
    cycles.close_cycle(ws, _feedback_file(tmp / "fb2.csv", lines))

    # ------------------------------------------------------------ cycle 3: the away mentee is back
    back = next(r for r in base if r["id"] == away)
    joiner3 = dict(base[5], id="n3003", name="Ottilie Brannock", email="ottilie.brannock@northwind.example")
    roster3 = roster2b + [back, joiner3]
    (ws / "program.toml").write_text(_program(STARTS[2]), encoding="utf-8")
    cycles.rematch(
        ws, _write_roster(tmp / "roster3.csv", roster3), out["out3"], now=datetime(2027, 11, 20, tzinfo=UTC)
    )
    _answer_checkins(ws, NOW3, 3, set())
    return Scenario(ws, out, [roster1, roster2b, roster3], roster2, mentor_left, comments)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    return _build(tmp_path_factory.mktemp("history"))


@pytest.fixture(scope="module")
def written(scenario: Scenario, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("history-out")
    outcome = history(scenario.ws, out, now=NOW3)
    assert set(outcome.files) == {"history.html", "history.csv", "history.json", "introductions.csv"}
    return out


# --------------------------------------------------------------------------- recomputation


def _utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _doc(out: Path) -> dict[str, Any]:
    return json.loads((out / "schedule.json").read_text(encoding="utf-8"))


@dataclass
class Cycle:
    """One cycle as recomputed here from the outputs and the rosters."""

    people: dict[str, dict[str, str]]  # roster at the end, plus who left during the cycle
    roster_ids: set[str]
    pairs: set[tuple[str, str]]
    ended: dict[tuple[str, str], str]  # pairs ended early -> reason
    series: list[dict[str, Any]]  # pair series (cut ones included) and circle series
    events: list[dict[str, Any]]
    circles: list[dict[str, str]]
    closed: bool


def _cut(doc: dict[str, Any], keys: set[tuple[str, str]], before: datetime) -> tuple[list, list]:
    series = []
    for s in doc["series"]:
        if (s["mentor_id"], s["mentee_id"]) in keys:
            occ = [o for o in s["occurrences"] if _utc(o) < before]
            if occ:
                series.append({**s, "occurrences": occ})
    events = [
        e for e in doc["events"] if (e["mentor_id"], e["mentee_id"]) in keys and _utc(e["start"]) < before
    ]
    return series, events


def _cycles(sc: Scenario) -> list[Cycle]:
    out = []
    for n, (name, roster) in enumerate(zip(("out1", "out2b", "out3"), sc.rosters, strict=True)):
        doc = _doc(sc.out[name])
        pairs = {(r["mentor_id"], r["mentee_id"]) for r in rows(sc.out[name] / "matches.csv")}
        people = {r["id"]: r for r in roster}
        ended: dict[tuple[str, str], str] = {}
        series, events = list(doc["series"]), list(doc["events"])
        circles_at = sc.out["out2"] if n == 1 else sc.out[name]
        if n == 1:  # the mid-cycle departure: the pairs it ended keep their meetings before it
            before = {(r["mentor_id"], r["mentee_id"]) for r in rows(sc.out["out2"] / "matches.csv")}
            gone = {r["id"] for r in sc.rosters_before_mid} - set(people)
            for m, e in sorted(before - pairs):
                ended[(m, e)] = {(True, False): "mentor left", (False, True): "mentee left"}.get(
                    (m in gone, e in gone), "both left" if m in gone else "rules or calendars"
                )
            cut_series, cut_events = _cut(_doc(sc.out["out2"]), set(ended), MID_NOW)
            uids = {s["uid"] for s in series} | {e["uid"] for e in events}
            series += [s for s in cut_series if s["uid"] not in uids]
            events += [e for e in cut_events if e["uid"] not in uids]
            people |= {r["id"]: r for r in sc.rosters_before_mid if r["id"] in gone}
        out.append(
            Cycle(
                people,
                {r["id"] for r in roster},
                pairs,
                ended,
                series,
                events,
                rows(circles_at / "circles.csv") if (circles_at / "circles.csv").exists() else [],
                n < 2,
            )
        )
    return out


def _cli_json(ws: Path, *args: str) -> Any:
    code, out, err = invoke(ws, "--workspace", str(ws), *args, "--json")
    assert code == 0, err
    return json.loads(out)


class Checker:
    """Compares shown figures with recomputed values; a suppressed one must have a small group."""

    def __init__(self, figures: dict[str, Any]):
        self.figures = figures
        self.shown = 0
        self.suppressed = 0

    def value(self, name: str, detail: str | None = None) -> Any:
        v = self.figures[name]
        return v if detail is None else v[detail]

    def check(
        self, name: str, expected: float, group: int, detail: str | None = None, ok_hidden=False
    ) -> None:
        got = self.value(name, detail)
        if got == "suppressed":
            self.suppressed += 1
            assert group < MIN_GROUP or ok_hidden, f"{name}[{detail}] suppressed over {group} people"
        else:
            self.shown += 1
            assert group >= MIN_GROUP, f"{name}[{detail}] shown over only {group} people"
            # rates are rounded to 3 digits, means to 2, counts exact
            tolerance = 0.0051 if name.startswith("mean_") else 0.00051 if "rate" in name else 0
            assert math.isclose(got, expected, abs_tol=tolerance), f"{name}[{detail}]: {got} != {expected}"

    def breakdown(self, parts: dict[str, tuple[dict[str, float], int]]) -> None:
        """Parts of a breakdown: ``detail -> ({figure: value}, group)``, with complementary
        suppression: exactly one small part hides the smallest other part too."""
        small = [d for d, (_, g) in parts.items() if 0 < g < MIN_GROUP]
        rest = sorted((g, d) for d, (_, g) in parts.items() if g >= MIN_GROUP)
        extra = rest[0][1] if len(small) == 1 and rest else None
        for detail, (values, group) in parts.items():
            for name, expected in values.items():
                self.check(name, expected, group, detail, ok_hidden=detail == extra)
                if detail == extra:
                    assert self.value(name, detail) == "suppressed", f"{name}[{detail}] complementary"


def _offset(zone: str, day: date) -> timedelta:
    return datetime(day.year, day.month, day.day, 12, tzinfo=ZoneInfo(zone)).utcoffset() or timedelta(0)


def _level(row: dict[str, str]) -> int | None:
    return int(row["level"]) if row.get("level", "").strip() else None


def _department(row: dict[str, str]) -> str | None:
    return " ".join(row.get("department", "").split()) or None


def _points(c: Cycle) -> dict[tuple[str, str], list[datetime]]:
    """Each pair's check-in meetings: its check-in milestones, or a monthly series' meetings."""
    out: dict[tuple[str, str], list[datetime]] = {}
    checkins: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    for e in c.events:
        if e["kind"] == "checkin" and e["mentee_id"]:
            checkins[(e["mentor_id"], e["mentee_id"])].append(_utc(e["start"]))
    for s in c.series:
        if s.get("circle_id"):
            continue
        key = (s["mentor_id"], s["mentee_id"])
        starts = checkins.get(key) or (
            [_utc(o) for o in s["occurrences"]] if s["cadence"] == "monthly" else []
        )
        out[key] = sorted(starts)
    return out


def _opens(meeting: datetime, zone: str) -> datetime:
    local_day = meeting.astimezone(ZoneInfo(zone)).date()
    return datetime.combine(local_day, time(0), ZoneInfo(zone))


def _check_cycle(
    ch: Checker, c: Cycle, prev: Cycle | None, earlier: set[str], show: dict, stored: dict
) -> None:
    everyone = set(c.people)
    n = len(everyone)
    assert show["people"] == len(c.roster_ids)
    ch.check("people", show["people"], n)
    ch.check("mentors", show["mentors"], n)
    ch.check("mentees", show["mentees"], n)
    ch.check("pairs", show["pairs"], n)
    ch.check("left_mid_cycle", len(everyone - c.roster_ids), n)
    mentees = {pid for pid in c.roster_ids if c.people[pid]["role"] in ("mentee", "both")}
    in_circles = {m for circle in c.circles for m in circle["member_ids"].split(";")}
    matched = mentees & ({e for _, e in c.pairs} | in_circles)
    assert len(mentees) - len(mentees & {e for _, e in c.pairs}) == show["unmatched_mentees"]
    ch.check("circles", len(c.circles), n)
    ch.check("circle_members", len(in_circles), n)
    ch.check("mentees_in_pairs", len({e for _, e in c.pairs}), n)
    ch.check("mentees_matched", len(matched), n)
    ch.check("matched_rate", len(matched) / len(mentees), n)
    both = everyone | (set(prev.people) if prev else set())
    diff = stored.get("diff")
    kept = {(p["mentor_id"], p["mentee_id"]) for p in diff["kept"]} if diff else set()
    ch.check("pairs_continuing", len(kept), len(both))
    ch.check("pairs_new", len(diff["new"]) if diff else len(c.pairs), len(both))
    ch.check("pairs_ended", len(diff["ended"]) if diff else 0, len(both))
    ch.check("ended_early", len(c.ended), n)
    reasons = Counter(c.ended.values())
    for reason in ("mentor left", "mentee left", "both left", "rules or calendars"):
        ch.check("ended_early_reason", reasons[reason], n, reason)
    ch.check("returning", len(c.roster_ids & earlier), n)
    ch.check("new_people", len(c.roster_ids - earlier), n)
    ch.check("left", len(show["left"]), len(both))
    if prev is not None:
        assert set(show["left"]) == prev.roster_ids - c.roster_ids

    _check_feedback(ch, c, show, stored)
    _check_checkins(ch, c, stored)
    _check_burden(ch, c, stored)


def _check_feedback(ch: Checker, c: Cycle, show: dict, stored: dict) -> None:
    """Ratings from cycle show, the rest from the stored feedback rows."""
    rows_ = stored["feedback"]
    raters = {r.person_id for r in rows_ if r.rating is not None}
    assert {int(k): v for k, v in show["ratings"].items()} == dict(
        Counter(r.rating for r in rows_ if r.rating is not None)
    )
    for r in range(1, 6):
        ch.check("rating", show["ratings"].get(str(r), 0), len(raters), str(r))
    ratings = [r.rating for r in rows_ if r.rating is not None]
    ch.check("mean_rating", sum(ratings) / len(ratings) if ratings else 0, len(raters) if ratings else 0)
    who = {r.person_id for r in rows_}
    ch.check("would_continue", sum(r.wants_continue for r in rows_), len(who), "yes")
    ch.check("would_continue", sum(not r.wants_continue for r in rows_), len(who), "no")
    in_pairs = {p for k in c.pairs for p in k}
    assert ("verdict" in ch.figures) == bool(show["verdicts"])  # none while a cycle runs
    for verdict in show["verdicts"]:
        ch.check("verdict", show["verdicts"][verdict], len(in_pairs), verdict)
    circle_rows = stored["circle_feedback"]
    circle_raters = {r.person_id for r in circle_rows if r.rating is not None}
    for r in range(1, 6):
        ch.check("circle_rating", sum(x.rating == r for x in circle_rows), len(circle_raters), str(r))


def _check_checkins(ch: Checker, c: Cycle, stored: dict) -> None:
    """The points from schedule.json, the answers from the store."""
    answers = {(a.person_id, a.partner_id, a.number): a for a in stored["checkins"]}
    expected: Counter[str] = Counter()
    given: Counter[str] = Counter()
    met: Counter[str] = Counter()
    expected_people: dict[str, set[str]] = defaultdict(set)
    answering: dict[str, set[str]] = defaultdict(set)
    zone_of = {(s["mentor_id"], s["mentee_id"]): s["timezone"] for s in c.series if not s.get("circle_id")}
    for key, starts in _points(c).items():
        for number, start in enumerate(starts, start=1):
            if not c.closed and _opens(start, zone_of[key]) > NOW3:
                continue
            month = start.astimezone(ZoneInfo("Europe/London")).strftime("%Y-%m")
            for pid, other in (key, key[::-1]):
                expected[month] += 1
                expected_people[month].add(pid)
                a = answers.get((pid, other, number))
                if a is not None:
                    given[month] += 1
                    answering[month].add(pid)
                    met[month] += a.met == "yes"
    total_expected = set().union(*expected_people.values())
    total_answering = set().union(*answering.values())
    ch.check("checkin_response_rate", sum(given.values()) / sum(expected.values()), len(total_expected))
    ch.check("checkin_met_rate", sum(met.values()) / max(1, sum(given.values())), len(total_answering))
    ch.breakdown(
        {
            m: (
                {
                    "checkin_expected": expected[m],
                    "checkin_answered": given[m],
                    "checkin_response_rate_by_month": given[m] / expected[m],
                },
                len(expected_people[m]),
            )
            for m in expected
        }
    )
    ch.breakdown(
        {
            m: (
                {"checkin_met_rate_by_month": met[m] / max(1, given[m])},
                len(answering[m]) if given[m] else 0,
            )
            for m in expected
        }
    )


def _check_burden(ch: Checker, c: Cycle, stored: dict) -> None:
    """Every meeting of schedule.json, in each person's own zone."""
    in_pairs = {p for k in c.pairs for p in k}
    across, hours = 0, 0.0
    for m, e in c.pairs:
        gap = abs(
            _offset(c.people[m]["timezone"], stored["start"])
            - _offset(c.people[e]["timezone"], stored["start"])
        )
        across += gap > timedelta(0)
        hours += gap.total_seconds() / 3600
    ch.check("pairs_across_zones", across, len(in_pairs))
    ch.check("mean_offset_hours", hours / len(c.pairs), len(in_pairs))
    seats: list[tuple[str, str, datetime]] = []
    for item in c.series + c.events:
        starts = [_utc(o) for o in item["occurrences"]] if "occurrences" in item else [_utc(item["start"])]
        if item.get("circle_id"):
            who = [(item["mentor_id"], "mentor")] if item["mentor_id"] else []
            who += [(m, "mentee") for m in item["member_ids"]]
        else:
            who = [(item["mentor_id"], "mentor"), (item["mentee_id"], "mentee")]
        seats += [(pid, role, s) for s in starts for pid, role in who]
    late = {
        (pid, role, s): not EARLY <= s.astimezone(ZoneInfo(c.people[pid]["timezone"])).hour < LATE
        for pid, role, s in seats
    }
    people_with = {pid for pid, _, _ in seats}
    ch.check("person_meetings", len(seats), len(people_with))
    ch.check("off_hours_meetings", sum(late[x] for x in seats), len(people_with))
    ch.check("off_hours_rate", sum(late[x] for x in seats) / len(seats), len(people_with))
    by_role = {
        role: ([x for x in seats if x[1] == role], {x[0] for x in seats if x[1] == role})
        for role in ("mentor", "mentee")
    }
    ch.breakdown(
        {
            role: ({"off_hours_rate_by_role": sum(late[x] for x in xs) / len(xs)}, len(who))
            for role, (xs, who) in by_role.items()
        }
    )
    zones = defaultdict(list)
    for x in seats:
        zones[c.people[x[0]]["timezone"]].append(x)
    ch.breakdown(
        {
            zone: (
                {
                    "zone_people": len({x[0] for x in xs}),
                    "off_hours_rate_by_zone": sum(late[x] for x in xs) / len(xs),
                },
                len({x[0] for x in xs}),
            )
            for zone, xs in zones.items()
        }
    )


def test_every_figure_equals_its_recomputation(scenario: Scenario, written: Path) -> None:
    data = json.loads((written / "history.json").read_text(encoding="utf-8"))
    assert data["min_group"] == MIN_GROUP
    listed = _cli_json(scenario.ws, "cycle", "list")
    assert [c["status"] for c in listed] == ["closed", "closed", "open"]
    assert [c["cycle"] for c in data["cycles"]] == [c["id"] for c in listed]
    recomputed = _cycles(scenario)
    assert recomputed[1].ended and "mentor left" in recomputed[1].ended.values()
    earlier: set[str] = set()
    total = Checker({})
    with Workspace(scenario.ws, create=False) as ws:
        for i, (entry, c) in enumerate(zip(data["cycles"], recomputed, strict=True)):
            cid = entry["cycle"]
            show = _cli_json(scenario.ws, "cycle", "show", str(cid))
            stored = {
                "feedback": load_feedback(ws, cid),
                "circle_feedback": load_circle_feedback(ws, cid),
                "checkins": load_checkins(ws, cid),
                "diff": _cli_json(scenario.ws, "diff", str(data["cycles"][i - 1]["cycle"]), str(cid))
                if i
                else None,
                "start": date.fromisoformat(show["start"]),
            }
            assert {(p.mentor_id, p.mentee_id) for p in load_pairs(ws, cid)} == c.pairs
            ch = Checker(entry["figures"])
            _check_cycle(ch, c, recomputed[i - 1] if i else None, earlier, show, stored)
            earlier |= set(c.people)
            total.shown += ch.shown
            total.suppressed += ch.suppressed
    assert total.shown > 150 and total.suppressed > 5, (total.shown, total.suppressed)
    _check_overall(Checker(data["overall"]), recomputed)


def _check_overall(ch: Checker, recomputed: list[Cycle]) -> None:
    everyone = {pid for c in recomputed for pid in c.people}
    ch.check("cycles", 3, len(everyone))
    ch.check("people", len(everyone), len(everyone))
    taken = Counter(pid for c in recomputed for pid in c.people)
    ch.check("people_in_two_or_more_cycles", sum(n >= 2 for n in taken.values()), len(everyone))
    for n in (1, 2, 3):
        ch.check("cycles_taken_part", sum(k == n for k in taken.values()), len(everyone), str(n))
    met: dict[str, list[dict[str, str]]] = defaultdict(list)
    for c in recomputed:
        groups = [list(k) for k in c.pairs | set(c.ended)]
        groups += [
            ([g["mentor_id"]] if g["mentor_id"] else []) + g["member_ids"].split(";") for g in c.circles
        ]
        for group in groups:
            for a in group:
                met[a] += [c.people[b] for b in group if b != a]
    group = len(met)
    ch.check("people_who_met_someone", group, group)
    counts = {
        "partners_met": [len({o["id"] for o in v}) for v in met.values()],
        "departments_met": [len({_department(o) for o in v} - {None}) for v in met.values()],
        "levels_met": [len({_level(o) for o in v} - {None}) for v in met.values()],
        "timezones_met": [len({o["timezone"] for o in v}) for v in met.values()],
    }
    for name, values in counts.items():
        ch.check(f"mean_{name}", sum(values) / len(values), group)
        histogram = Counter(values)
        assert set(ch.value(name)) == {str(k) for k in range(max(values) + 1)}
        for k in range(max(values) + 1):
            ch.check(name, histogram[k], group, str(k))


def test_the_page_names_nobody_and_carries_no_comment_or_note(scenario: Scenario, written: Path) -> None:
    texts = {
        name: (written / name).read_text(encoding="utf-8")
        for name in ("history.html", "history.csv", "history.json")
    }
    people = {r["id"]: r for roster in [*scenario.rosters, scenario.rosters_before_mid] for r in roster}
    with Workspace(scenario.ws, create=False) as ws:
        notes = [c.note for cid in (1, 2, 3) for c in load_checkins(ws, cid)]
    assert len(notes) > 100 and len(scenario.comments) > 20
    secrets = [p["name"] for p in people.values()] + [p["email"] for p in people.values()]
    secrets += scenario.comments + notes
    for name, text in texts.items():
        found = [s for s in secrets if s.casefold() in text.casefold()]
        assert found == [], f"{name} names {found[:5]}"
        for pid in people:  # no id as a word either (ids like e1001 could be names of rows)
            assert not re.search(rf"(?<![\w-]){re.escape(pid)}(?![\w-])", text), f"{name}: {pid}"
    assert "<script" not in texts["history.html"] and "http" not in texts["history.html"].split("<svg", 1)[0]
    assert not re.search(
        r"""(?:src|href)=["']?(?:https?:)?//""", texts["history.html"]
    )  # no external request


def test_small_groups_are_suppressed_and_min_group_is_honoured(scenario: Scenario, tmp_path: Path) -> None:
    data = history(scenario.ws, now=NOW3).figures.as_json()
    zones = data["cycles"][0]["figures"]["zone_people"]
    assert "suppressed" in zones.values() and any(isinstance(v, int) for v in zones.values())
    assert all(v == "suppressed" or v >= MIN_GROUP for v in zones.values())
    ws = tmp_path / "ws"
    shutil.copytree(scenario.ws, ws)
    with (ws / "program.toml").open("a", encoding="utf-8") as f:
        f.write("\n[history]\nmin_group = 1000\n")
    strict = history(ws, now=NOW3).figures
    assert strict.min_group == 1000
    for c in strict.cycles:
        assert all(f.value is None for f in c.figures)  # nobody has a thousand people
    assert all(f.value is None for f in strict.overall)
    assert not re.search(r"\d", json.dumps([[f.shown for f in c.figures] for c in strict.cycles]))


def test_cli_table_json_and_files_byte_identical_on_a_rerun(
    scenario: Scenario, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH3))
    code, table, err = invoke(scenario.ws, "--workspace", str(scenario.ws), "history")
    assert code == 0, err
    assert table.splitlines()[0].split() == ["cycle", "1", "2", "3"] and "suppressed" in table
    code, printed, err = invoke(scenario.ws, "--workspace", str(scenario.ws), "history", "--json")
    assert code == 0, err
    first = tmp_path / "a"
    code, said, err = invoke(scenario.ws, "--workspace", str(scenario.ws), "history", "--out", str(first))
    assert code == 0 and "introductions proposed" in said, err
    assert json.loads(printed) == json.loads((first / "history.json").read_text(encoding="utf-8"))
    assert "generated 2028-02-20 12:00 UTC" in (first / "history.html").read_text(encoding="utf-8")
    second = tmp_path / "b"
    (second).mkdir()
    (second / "other.txt").write_text("kept")
    code, _, err = invoke(scenario.ws, "--workspace", str(scenario.ws), "history", "--out", str(second))
    assert code == 0, err
    for name in ("history.html", "history.csv", "history.json", "introductions.csv"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert (second / "other.txt").read_text() == "kept"
    assert (first / "introductions.csv").stat().st_mode & 0o077 == 0  # names and emails: private
    assert not list(tmp_path.glob(".*history-*"))  # no staging left behind
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    code, _, err = invoke(
        scenario.ws, "--workspace", str(scenario.ws), "history", "--out", str(tmp_path / "c")
    )
    assert "generated" not in (tmp_path / "c" / "history.html").read_text(encoding="utf-8")


def test_history_reads_while_a_writer_holds_the_lock(scenario: Scenario) -> None:
    with Workspace(scenario.ws, create=False, writer="test"):
        code, out, err = invoke(scenario.ws, "--workspace", str(scenario.ws), "history", "--json")
    assert code == 0, err
    assert len(json.loads(out)["cycles"]) == 3


def test_usage_errors(tmp_path: Path) -> None:
    code, _, err = invoke(tmp_path, "--workspace", str(tmp_path), "history")
    assert code == 2 and "no workspace database" in err
    Workspace(tmp_path).close()
    code, _, err = invoke(tmp_path, "--workspace", str(tmp_path), "history")
    assert code == 2 and "no cycle yet" in err
    (tmp_path / "program.toml").write_text(f'[email]\nfrom = "{SENDER}"\n')
    code, _, err = invoke(tmp_path, "--workspace", str(tmp_path), "notify", "--introductions", "--dry-run")
    assert code == 2 and "no introductions before a cycle is closed" in err, err
    (tmp_path / "program.toml").write_text("[history]\nmin_group = 0\n")
    code, _, err = invoke(tmp_path, "--workspace", str(tmp_path), "history")
    assert code == 65 and "history.min_group" in err


# --------------------------------------------------------------------------- the page in a browser


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="headless browser test skipped: /usr/bin/chromium not found")
def test_the_page_in_a_real_browser(written: Path, tmp_path: Path) -> None:
    from PIL import Image

    assert CHROMIUM is not None
    page = written / "history.html"
    result = dump_dom(CHROMIUM, page)
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    for section in ("overall", "cycles", "checkins", "feedback", "endings", "time-zones", "networks"):
        assert f'id="{section}"' in dom
    assert dom.count("<svg") >= 9 and "suppressed" in dom
    assert not [line for line in result.stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]
    shot = tmp_path / "shot.png"
    result = screenshot(CHROMIUM, page, shot, size="1280,2400")
    assert result.returncode == 0 and shot.is_file(), result.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("RGB"), dtype=np.int16).reshape(-1, 3)
    assert (pixels.min(axis=1) < 240).sum() > 0.05 * len(pixels), "page looks blank"

    def near(rgb: tuple[int, int, int]) -> int:
        return int((np.abs(pixels - np.array(rgb)).max(axis=1) <= 6).sum())

    assert near((0x3B, 0x6E, 0xA8)) > 2000, "matched / continuing bars missing"
    assert near((0xE0, 0x8A, 0x2C)) > 1000, "mentee bars missing"
    assert near((0x5A, 0xA4, 0x69)) > 500, "new-pair bars missing"


# --------------------------------------------------------------------------- introductions


def _topics(row: dict[str, str]) -> set[str]:
    cells = (row["goals"] + ";" + row["expertise"]).split(";")
    return {" ".join(t.split()).casefold() for t in cells if t.strip()}


def test_introductions_csv_follows_the_rules(scenario: Scenario, written: Path) -> None:
    found = rows(written / "introductions.csv")
    assert found, "the scenario proposes introductions"
    people = {r["id"]: r for roster in [*scenario.rosters, scenario.rosters_before_mid] for r in roster}
    latest: dict[str, dict[str, str]] = {}
    for roster in (scenario.rosters[0], scenario.rosters_before_mid, *scenario.rosters[1:]):
        latest |= {r["id"]: r for r in roster}
    c2 = {(r["mentor_id"], r["mentee_id"]) for r in rows(scenario.out["out2b"] / "matches.csv")}
    c1 = {(r["mentor_id"], r["mentee_id"]) for r in rows(scenario.out["out1"] / "matches.csv")}
    met = {
        frozenset(k)
        for k in c1
        | c2
        | {(r["mentor_id"], r["mentee_id"]) for r in rows(scenario.out["out3"] / "matches.csv")}
    }
    load: Counter[str] = Counter()
    for row in found:
        a, b = row["person_id"], row["other_id"]
        assert row["cycle"] == "2" and latest[a]["introductions"] == "yes" == latest[b]["introductions"]
        assert (row["person_name"], row["person_email"]) == (people[a]["name"], people[a]["email"])
        assert (row["other_name"], row["other_email"]) == (people[b]["name"], people[b]["email"])
        partners = {m if e == a else e for m, e in c2 if a in (m, e)}
        assert any(frozenset((q, b)) in {frozenset(k) for k in c1} for q in partners), row
        assert frozenset((a, b)) not in met
        assert set(row["shared_goals"].split("; ")) <= _topics(latest[a]) & _topics(latest[b])
        load[a] += 1
        load[b] += 1
    assert max(load.values()) <= 3


# --------------------------------------------------------------------------- notify --introductions

SENDER = "mentoring@northwind.example"


def _with_email(ws: Path, port: int) -> None:
    with (ws / "program.toml").open("a", encoding="utf-8") as f:
        f.write(
            f'\n[email]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\nfrom = "{SENDER}"\n'
            'reply_to = "coordinator@northwind.example"\nmessages_per_minute = 100000\n'
        )


def _cli(ws: Path, *args: str, crash: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MENTORSYNC_NOTIFY_CRASH_AFTER"}
    env |= {"MENTORSYNC_NOTIFY_CRASH_AFTER": crash} if crash else {}
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "-w", str(ws), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_notify_introductions_tells_both_people_once(
    scenario: Scenario, written: Path, tmp_path: Path
) -> None:
    from tests.smtp_support import Sink, start_server

    expected = rows(written / "introductions.csv")
    ws = tmp_path / "ws"
    shutil.copytree(scenario.ws, ws)
    sink = Sink()
    controller, port = start_server(sink, "none", None)
    try:
        _with_email(ws, port)
        first = _cli(ws, "notify", "--json")  # the ordinary notices first
        assert first.returncode == 0 and json.loads(first.stdout)["queued"] > 0, first.stderr
        sink.received.clear()
        dry = _cli(ws, "notify", "--introductions", "--dry-run", "--out", str(tmp_path / "eml"))
        assert dry.returncode == 0, dry.stderr
        assert len(list((tmp_path / "eml").glob("*-introduction.eml"))) == 2 * len(expected)
        killed = _cli(ws, "notify", "--introductions", crash="1")
        assert killed.returncode == -9 and len(sink.received) == 1, killed.stderr
        done = _cli(ws, "notify", "--introductions", "--json")
        assert done.returncode == 0, done.stderr
        again = _cli(ws, "notify", "--introductions", "--json")
        assert json.loads(again.stdout)["queued"] == 0 and len(sink.received) == 2 * len(expected)
        messages = sink.messages()
        assert max(Counter(m["Message-ID"] for m in messages).values()) == 1  # exactly once
        to = Counter(str(m["To"]) for m in messages)
        for row in expected:  # both people, each told about the other
            for me, other in (("person", "other"), ("other", "person")):
                (msg,) = [
                    m
                    for m in messages
                    if row[f"{me}_email"] in str(m["To"])
                    and row[f"{other}_email"] in m.get_body(("plain",)).get_content()
                ]
                text = msg.get_body(("plain",)).get_content()
                assert row[f"{other}_name"] in text and "you may accept" in text
                assert all(t in text for t in row["shared_goals"].split("; "))
                assert msg["X-Mentorsync-Kind"] == "introduction"
        assert sum(to.values()) == 2 * len(expected)
        bodies = "".join(m.get_body(("plain",)).get_content() for m in messages)
        assert COMMENT not in bodies and NOTE not in bodies
        # the ordinary notices build on the last notice, not on an introduction: nothing new
        after = _cli(ws, "notify", "--dry-run", "--json", "--out", str(tmp_path / "a"))
        assert json.loads(after.stdout)["queued"] == 0, after.stdout
    finally:
        controller.stop()


def test_off_hours_are_the_reports_early_and_late_hours() -> None:
    from history import figures
    from report import analysis

    assert (
        (figures.EARLY_HOUR, figures.LATE_HOUR) == (analysis.EARLY_HOUR, analysis.LATE_HOUR) == (EARLY, LATE)
    )
