"""report.html and suggest_fixes: determinism, escaping, sections, and counts derived from data."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cohort.model import Cohort, Person
from cohort.program import Program
from matcher.model import Candidate, MatchResult, Pair, Unmatched
from report import render_report, suggest_fixes
from report.analysis import (
    CAT_MENTORS_FULL,
    CAT_NO_MENTOR,
    local_day,
    series_view,
    unmatched_categories,
)
from scheduler.codec import parse_rrule
from scheduler.model import Event, Schedule, Series
from tests.factories import make_cohort, make_person

EVIL = "<script>alert(1)</script>"
SECTIONS = ("headline", "scores", "load", "local-day", "unmatched", "pairs")


def make_series(
    mentor: str, mentee: str, zone: str, first: datetime, count: int = 13, every_weeks: int = 2
) -> Series:
    """A series repeating at the same local time in ``zone`` (so DST moves it in other zones)."""
    local = [first + timedelta(weeks=every_weeks * i) for i in range(count)]
    occurrences = tuple(t.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC) for t in local)
    cadence = {1: "weekly", 2: "biweekly"}.get(every_weeks, "monthly")
    return Series(
        mentor,
        mentee,
        f"{mentor}-{mentee}@test",
        zone,
        first,
        45,
        parse_rrule(f"FREQ=WEEKLY;INTERVAL={every_weeks}"),
        (),
        occurrences,
        cadence=cadence,
    )


def make_pair(mentor: str, mentee: str, score: int, reasons: str = "covers 1 of 1 goals") -> Pair:
    return Pair(mentor, mentee, score, {"goals": score - 10, "availability": 10}, reasons)


def make_match(
    pairs: list[Pair], unmatched: list[Unmatched], candidates: list[tuple[str, str]]
) -> MatchResult:
    cands = tuple(Candidate(m, e, 50, {"goals": 40, "availability": 10}) for m, e in candidates)
    total = float(sum(p.score for p in pairs))
    return MatchResult(
        tuple(pairs), tuple(unmatched), cands, len(pairs), total, total, 0.0, "min-cost flow", 0.01
    )


def demo() -> tuple[Cohort, Program, MatchResult, Schedule]:
    """A small cohort across zones with a DST gap, an unmatched group and a hostile name."""
    mentors = [
        make_person("m1", "mentor", name="Alice Archer", expertise=("negotiation", "hiring"), capacity=2),
        make_person("m2", "mentor", name="Bob Brown", timezone="America/New_York", capacity=1),
        make_person("m3", "mentor", name=EVIL, timezone="Asia/Kolkata", capacity=1),
        make_person("m4", "mentor", name="Dana $x$ Diaz", timezone="Europe/Berlin", capacity=3),
    ]
    mentees = [
        make_person("e1", name="Erin Evans", goals=("negotiation",)),
        make_person("e2", name="Femi Fox", timezone="America/New_York", goals=("hiring",)),
        make_person("e3", name="Gita Gill", timezone="Asia/Kolkata", goals=("python",)),
        make_person("e4", name="Hugo Hart", timezone="America/New_York", goals=("negotiation",)),
        make_person("e5", name="Ines Ito", timezone="Asia/Kolkata", goals=("negotiation",)),
        make_person("e6", name="Jay Jones", timezone="Asia/Kolkata", goals=("negotiation", "hiring")),
        make_person("e7", name="Kim Kerr", timezone="Asia/Kolkata", goals=("negotiation",)),
        make_person("e8", name="Lou Lane", goals=("hiring",)),
    ]
    cohort = make_cohort(*mentors, *mentees)
    pairs = [
        make_pair("m1", "e1", 70, "covers 1 of 1 goals: negotiation; both enjoy chess"),
        make_pair("m1", "e4", 55, "covers 1 of 1 goals: negotiation"),
        make_pair("m2", "e2", 45, "4.5 h a week in common"),
        make_pair("m3", "e3", 30, f"shared interest {EVIL}"),
    ]
    unmatched = [
        Unmatched("e5", "mentee", "no mentor shares a weekly hour with this mentee"),
        Unmatched("e6", "mentee", "no mentor shares a weekly hour with this mentee"),
        Unmatched("e7", "mentee", "no mentor shares a weekly hour with this mentee"),
        Unmatched("e8", "mentee", "2 mentees needing hiring compete for 2 seats of 1 mentor"),
        Unmatched("m4", "mentor", "no mentee is eligible (language)"),
    ]
    candidates = [("m1", "e1"), ("m1", "e4"), ("m2", "e2"), ("m3", "e3"), ("m1", "e8"), ("m2", "e4")]
    match = make_match(pairs, unmatched, candidates)
    series = (
        make_series("m1", "e1", "Europe/London", datetime(2027, 2, 2, 9, 0)),
        # Anchored in London, met from New York: the US changes clocks 2 weeks before the UK.
        make_series("m1", "e4", "Europe/London", datetime(2027, 2, 3, 14, 0), count=13, every_weeks=1),
        make_series("m2", "e2", "America/New_York", datetime(2027, 2, 4, 7, 30)),
        make_series("m3", "e3", "Asia/Kolkata", datetime(2027, 2, 5, 19, 0)),
    )
    events = tuple(
        Event(
            s.mentor_id,
            s.mentee_id,
            f"kickoff-{s.mentor_id}-{s.mentee_id}",
            "kickoff",
            datetime(2027, 2, 1, 12, tzinfo=UTC),
            60,
            s.timezone,
        )
        for s in series
    )
    return cohort, Program(), match, Schedule(series, events)


class _Collector(HTMLParser):
    """Parses the page strictly enough to find ids, scripts and the table rows."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.scripts: list[dict[str, str | None]] = []
        self.links: list[str] = []
        self.pair_rows = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(a["id"] or "")
        if tag == "script":
            self.scripts.append(a)
        if tag == "tr" and "data-search" in a:
            self.pair_rows += 1
        for key in ("src", "href"):
            if a.get(key) and tag in ("script", "link", "img", "image", "use", "a"):
                self.links.append(a[key] or "")


GENERATED = datetime(2027, 1, 20, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def page() -> str:
    cohort, program, match, schedule = demo()
    return render_report(
        cohort,
        program,
        match,
        schedule,
        generated_at=GENERATED,
        dst_notes={"e4": ["moves to 09:00 for 2 weeks in March"]},
    )


def test_same_input_gives_identical_bytes(page: str) -> None:
    cohort, program, match, schedule = demo()
    again = render_report(
        cohort,
        program,
        match,
        schedule,
        generated_at=GENERATED,
        dst_notes={"e4": ["moves to 09:00 for 2 weeks in March"]},
    )
    assert again == page
    other_time = render_report(cohort, program, match, schedule, generated_at=GENERATED + timedelta(hours=1))
    assert other_time != page
    untimed = render_report(cohort, program, match, schedule)
    assert untimed == render_report(cohort, program, match, schedule)
    assert "generated" not in untimed.split("<main>")[0]


def test_participant_text_is_escaped(page: str) -> None:
    assert EVIL not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # The only script element is the page's own inline search script.
    collector = _Collector()
    collector.feed(page)
    assert len(collector.scripts) == 1 and collector.scripts[0] == {}
    # A '$' in a name is printed as written, not parsed as mathtext.
    assert "Dana $x$ Diaz" in page


def test_every_section_present_and_self_contained(page: str) -> None:
    collector = _Collector()
    collector.feed(page)
    for section in SECTIONS:
        assert section in collector.ids
    assert len(collector.ids) == len(set(collector.ids)), "ids must be unique across inline SVGs"
    assert page.count("<svg ") == 4
    assert collector.pair_rows == 4
    external = [link for link in collector.links if not link.startswith("#")]
    assert external == []
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "@import" not in page and "url(http" not in page


def test_headline_numbers(page: str) -> None:
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.split('<section id="scores">')[0]))
    assert "12 people" in text
    assert "4 mentors" in text and "8 mentees" in text and "4 pairs" in text
    assert "50.0% of mentees matched" in text
    assert "50.0 mean score" in text  # (70 + 55 + 45 + 30) / 4
    # 13 + 13 + 13 + 13 series occurrences and 4 kickoffs.
    assert "56 meetings in the cycle" in text
    assert f"{CAT_NO_MENTOR}: 3" in text
    assert f"{CAT_MENTORS_FULL}: 1" in text
    assert "min-cost flow" in text


def test_dst_exception_weeks_and_slot_words() -> None:
    cohort, _, _, schedule = demo()
    view = series_view(schedule.series[1], cohort)  # London anchor, New York mentee
    assert (view.mentor.weekday, view.mentor.time) == ("Wed", "14:00")
    assert (view.mentee.weekday, view.mentee.time) == ("Wed", "09:00")
    # 2027: US clocks change on 14 March, UK on 28 March: two Wednesdays at 10:00 in New York.
    assert [(d.isoformat(), t) for d, _, t in view.mentee.exceptions] == [
        ("2027-03-17", "10:00"),
        ("2027-03-24", "10:00"),
    ]
    assert not view.mentor.exceptions
    assert len(view.exception_weeks) == 2
    assert view.words == "every week, 45 min, 13 meetings"
    assert any("instead of Wed 09:00 on 2 dates" in note for note in view.notes())


def test_dst_notes_and_search_data_in_table(page: str) -> None:
    assert "moves to 09:00 for 2 weeks in March" in page
    assert "Wed 10:00 instead of Wed 09:00 on 2 dates (2027-03-17 to 2027-03-24)" in page
    row = re.search(r'<tr data-search="([^"]*hugo hart[^"]*)"', page)
    assert row and "wed" in row.group(1) and "america/new_york" in row.group(1)


def test_local_day_counts_early_and_late() -> None:
    cohort, _, _, schedule = demo()
    day = local_day(cohort, schedule)
    # Bob (mentor, New York) meets at 07:30 local every time: 13 series meetings + a kickoff at 07:00.
    assert day.by_person["m2"].early == 14 and day.by_person["m2"].late == 0
    # The Kolkata pair meets at 19:00 local: late for both (kickoff at 17:30 local is not).
    assert day.by_zone["Asia/Kolkata"]["mentor"].late == 13
    assert day.by_zone["Asia/Kolkata"]["mentee"].late == 13
    assert day.mentor.total == day.mentee.total == 56
    assert sum(day.mentor.hours) == 56


def test_load_and_capacity_shown(page: str) -> None:
    load = page.split('<section id="load">')[1].split("</section>")[0]
    assert "3 of 4 mentors are full; 3 seats are left." in re.sub(r"\s+", " ", load)


def test_many_mentors_use_distribution_chart() -> None:
    mentors = [make_person(f"m{i}", "mentor", capacity=1 + i % 3) for i in range(60)]
    mentees = [make_person(f"e{i}") for i in range(60)]
    pairs = [make_pair(f"m{i}", f"e{i}", 40) for i in range(60)]
    match = make_match(pairs, [], [(f"m{i}", f"e{i}") for i in range(60)])
    html = render_report(make_cohort(*mentors, *mentees), Program(), match, Schedule((), ()))
    assert "60 mentors by load and capacity" in html
    assert "<details>" in html
    assert "No mentee is waiting for a mentor." in html


def test_empty_cohort_renders() -> None:
    html = render_report(make_cohort(), Program(), make_match([], [], []), Schedule((), ()))
    assert "Everyone is matched." in html


# ---------------------------------------------------------------------------------------------
# suggest_fixes on a crafted cohort


def crafted() -> tuple[Cohort, Program, MatchResult]:
    kolkata = "Asia/Kolkata"
    people = [
        make_person("mA", "mentor", name="Ana Mentor", capacity=1),
        make_person("mB", "mentor", name="Ben Mentor", capacity=1),
        make_person("mC", "mentor", name="Cy Idle", capacity=None),  # spare seats, nobody eligible
        make_person("e1"),
        make_person("e2"),
        make_person("k1", timezone=kolkata, goals=("negotiation",)),
        make_person("k2", timezone=kolkata, goals=("negotiation",)),
        make_person("k3", timezone=kolkata, goals=("hiring", "negotiation")),
        make_person("k4", timezone=kolkata, goals=("negotiation",), languages=("hi",)),
        make_person("u1", goals=("python",)),
        make_person("u2", goals=("python",)),
        make_person("z1", timezone="America/Sao_Paulo"),
    ]
    pairs = [make_pair("mA", "e1", 50), make_pair("mB", "e2", 50)]
    unmatched = [Unmatched(pid, "mentee", "...") for pid in ("k1", "k2", "k3", "k4", "u1", "u2", "z1")]
    unmatched.append(Unmatched("mC", "mentor", "no mentee is eligible"))
    candidates = [("mA", "e1"), ("mB", "e2"), ("mA", "u1"), ("mA", "u2"), ("mB", "u2")]
    return make_cohort(*people), Program(), make_match(pairs, unmatched, candidates)


def test_suggest_fixes_counts() -> None:
    cohort, program, match = crafted()
    fixes = suggest_fixes(cohort, program, match)
    # Capacity: mA is wanted by u1 and u2 (exact what-if: +2); mB by u2 (+1).
    assert fixes[0].startswith("Raise the capacity of Ana Mentor (mA) from 1 to 3: 2 more mentees")
    assert "2 unmatched mentees could be paired" in fixes[0]
    assert fixes[1].startswith("Raise the capacity of Ben Mentor (mB) from 1 to 2: 1 more mentee ")
    assert not any("(mC)" in f for f in fixes)
    # New mentors: the largest group first, each mentee counted once.
    assert fixes[2] == (
        "One more mentor covering *negotiation*, available in Asia/Kolkata hours (UTC+05:30) and taking "
        "3 mentees (the default capacity is 2), would match 3 more mentees."
    )
    assert fixes[3] == (
        "One more mentor covering *python*, available in Europe/London hours "
        "(UTC+00:00), would match 2 more mentees."
    )
    rest = " ".join(fixes[4:])
    assert "*negotiation* who speaks hi, available in Asia/Kolkata hours (UTC+05:30), would match 1 " in rest
    assert (
        "(for mentees with no stated goal), available in America/Sao_Paulo hours (UTC-03:00), "
        "would match 1 more mentee."
    ) in rest
    assert len(fixes) == 6


def test_suggest_fixes_totals_match_unmatched_mentees() -> None:
    cohort, program, match = crafted()
    counted = 0
    for fix in suggest_fixes(cohort, program, match):
        if fix.startswith("One more mentor"):
            counted += int(re.search(r"would match (\d+) more", fix).group(1))  # type: ignore[union-attr]
    assert counted == sum(1 for u in match.unmatched if u.role == "mentee")


def test_suggest_fixes_nothing_to_fix() -> None:
    cohort, program, match = crafted()
    all_matched = make_match(list(match.pairs), [], [(p.mentor_id, p.mentee_id) for p in match.pairs])
    assert suggest_fixes(cohort, program, all_matched) == []


def test_categories_are_derived_from_candidates() -> None:
    cohort, program, match = crafted()
    cats = unmatched_categories(cohort, program, match)
    assert cats["k1"] == CAT_NO_MENTOR
    assert cats["u1"] == cats["u2"] == CAT_MENTORS_FULL
    assert cats["mC"] == "no eligible mentee"


def test_report_reads_only_public_person_fields_that_exist() -> None:
    """Every attribute the report reads from a person (``person.X``, ``cohort[...].X``) is a public
    field or property of ``Person``: renaming a field breaks this test, not a coordinator's report."""
    import ast

    public = {name for name in dir(Person) if not name.startswith("_")} | set(Person.__dataclass_fields__)
    read: set[str] = set()
    for path in (Path(__file__).resolve().parents[1] / "report").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Attribute):
                continue
            value = node.value
            if (isinstance(value, ast.Name) and value.id == "person") or (
                isinstance(value, ast.Subscript)
                and isinstance(value.value, ast.Name)
                and value.value.id in ("cohort", "people", "by_id")
            ):
                read.add(node.attr)
    assert read, "the report reads people's fields somewhere"
    assert read <= public, read - public
    assert not {a for a in read if a.startswith("_")}


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_suggest_fixes_gains_agree_with_an_independent_max_flow(data: st.DataObject) -> None:
    """Every capacity gain equals networkx's max flow what-if; new-mentor counts add up."""
    n_mentors = data.draw(st.integers(1, 4))
    n_mentees = data.draw(st.integers(1, 8))
    zones = ("Europe/London", "Asia/Kolkata", "America/Chicago")
    mentors = [
        make_person(f"m{i}", "mentor", capacity=data.draw(st.integers(0, 2))) for i in range(n_mentors)
    ]
    mentees = [
        make_person(
            f"e{j}",
            timezone=data.draw(st.sampled_from(zones)),
            goals=tuple(data.draw(st.sets(st.sampled_from(("a", "b", "c")), max_size=2))),
        )
        for j in range(n_mentees)
    ]
    edges = sorted(
        data.draw(
            st.sets(
                st.tuples(st.sampled_from([m.id for m in mentors]), st.sampled_from([e.id for e in mentees]))
            )
        )
    )
    caps = {m.id: m.capacity or 0 for m in mentors}
    load: dict[str, int] = {}
    pairs = []
    for mentor, mentee in edges:  # a greedy (not necessarily maximum) matching
        if load.get(mentor, 0) < caps[mentor] and mentee not in {p.mentee_id for p in pairs}:
            load[mentor] = load.get(mentor, 0) + 1
            pairs.append(make_pair(mentor, mentee, 50))
    matched = {p.mentee_id for p in pairs}
    unmatched = [Unmatched(e.id, "mentee", "...") for e in mentees if e.id not in matched]
    cohort = make_cohort(*mentors, *mentees)
    fixes = suggest_fixes(cohort, Program(), make_match(pairs, unmatched, edges))

    def nx_flow(capacity: dict[str, int]) -> int:
        graph = nx.DiGraph()
        for mentor, mentee in edges:
            graph.add_edge("s", ("m", mentor), capacity=capacity[mentor])
            graph.add_edge(("m", mentor), ("e", mentee), capacity=1)
            graph.add_edge(("e", mentee), "t", capacity=1)
        return int(nx.maximum_flow_value(graph, "s", "t")) if edges else 0

    new_mentor_total = 0
    for fix in fixes:
        raised = re.match(r"Raise the capacity of .* \((m\d+)\) from (\d+) to (\d+): (\d+) more", fix)
        if raised:
            mentor, old, new, gain = raised.group(1), *map(int, raised.group(2, 3, 4))
            assert old == caps[mentor] and new == old + gain and gain >= 1
            assert nx_flow({**caps, mentor: new}) - nx_flow(caps) == gain
            assert nx_flow({**caps, mentor: new + 10}) == nx_flow({**caps, mentor: new})  # the best gain
        else:
            found = re.search(r"would match (\d+) more|^(\d+) more unmatched", fix)
            assert found, fix
            new_mentor_total += int(found.group(1) or found.group(2))
    assert new_mentor_total == len(unmatched)
