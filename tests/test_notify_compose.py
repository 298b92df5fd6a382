"""Who is told what, without a server: the notice decision, change words, the charter, template
overrides, person-facing reasons, and feeds of people on `calendar = invite`."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from types import SimpleNamespace

import pytest

from cohort.errors import InputError
from cohort.program import EmailSettings, FeedSettings, Program
from feeds.publish import publish
from matcher.model import Pair
from notify.compose import Facts, Told, changes, compose, decide, person_reason
from notify.mime import Renderer
from scheduler.calendar import EventState, fingerprint
from store.db import Workspace
from tests.factories import make_cohort
from tests.feeds_support import make_series, sample_people, sample_schedule

PROGRAM = Program(
    feeds=FeedSettings(base_url="https://m.example.org"), email=EmailSettings(sender="coord@example.org")
)
T0 = datetime(2027, 1, 5, 12, 0, tzinfo=UTC)


def facts(charter: object = None, invite: tuple[str, ...] = ()) -> Facts:
    people = [dataclasses.replace(p, calendar="invite") if p.id in invite else p for p in sample_people()]
    cohort = make_cohort(*people)
    schedule = sample_schedule()
    pairs = tuple(
        Pair(s.mentor_id, s.mentee_id, 50, {}, f"why {s.mentor_id}+{s.mentee_id}") for s in schedule.series
    )
    items = {
        p.id: tuple(i for i in [*schedule.series, *schedule.events] if p.id in (i.mentor_id, i.mentee_id))
        for p in people
    }
    states = {
        i.uid: EventState(i.uid, fingerprint(i, cohort.by_id), 0, T0)
        for i in [*schedule.series, *schedule.events]
    }
    urls = {
        p.id: (f"https://m.example.org/p/tok-{p.id}", f"https://m.example.org/feeds/tok-{p.id}.ics")
        for p in people
    }
    return Facts(
        PROGRAM,
        cohort,
        pairs,
        {"zed": "no compatible mentor: avoid list: 2; no common weekly time: 3"},
        schedule,
        items,
        cohort.by_id,
        states,
        urls,
        date(2027, 2, 1),
        date(2027, 12, 31),
        charter,
    )


def plain(body: bytes) -> str:
    return message_from_bytes(body, policy=default).get_body(("plain",)).get_content()


def test_introduction_shows_partner_reasons_charter_time_and_urls() -> None:
    charter = SimpleNamespace(
        goals="Grow as a speaker.",
        rhythm="Every two weeks, 45 minutes.",
        confidentiality="What is said stays between you.",
        ending="A closing chat.",
    )
    out = compose(facts(charter), {}, Renderer())
    sam = next(m for m in out if m.person_id == "sam")
    text = plain(sam.body)
    assert sam.kind == "intro" and "Your mentor: Ana Lima" in text and "why ana+sam" in text
    for part in ("Grow as a speaker.", "Every two weeks", "stays between you", "A closing chat."):
        assert part in text
    # first meeting in Sam's own zone (London): 9:00 New York on 2 February is 14:00 in London
    assert "Tuesday 2 February 2027, 14:00 your time (Europe/London)" in text
    assert "https://m.example.org/p/tok-sam" in text and "webcal://m.example.org/feeds/tok-sam.ics" in text
    zed = next(m for m in out if m.person_id == "zed")
    assert zed.kind == "unmatched" and "no common weekly time: 3" in plain(zed.body)
    assert "avoid" not in plain(zed.body)  # never tells that someone asked not to meet them


def test_no_charter_no_section_and_a_dict_works_too() -> None:
    out = compose(facts(None), {}, Renderer())
    assert "What we expect" not in plain(out[0].body)
    out = compose(facts({"goals": "G!", "ending": ""}), {}, Renderer())
    text = plain(out[0].body)
    assert "G!" in text and "How it ends" not in text


def test_decide_and_change_words() -> None:
    f = facts()
    out = compose(f, {}, Renderer())
    state = {m.person_id: m.state for m in out if m.kind in ("intro", "unmatched")}
    assert decide(state["sam"], state["sam"]) is None
    moved = {
        "partners": {"ana": {**state["sam"]["partners"]["ana"], "slot": "Wed 10:00", "when": "Wednesdays"}},
        "unmatched": None,
    }
    (c,) = changes(state["sam"], moved)
    assert c["change"] == "moved" and c["old_when"].startswith("Tuesdays") and c["when"] == "Wednesdays"
    told = {"sam": Told(1, moved)}
    again = compose(f, told, Renderer(), only=["sam"])
    (notice,) = [m for m in again if m.kind == "change"]
    text = plain(notice.body)
    assert "Was: Wednesdays" in text and "Now: Tuesdays" in text
    none = {"partners": {}, "unmatched": "x"}
    assert decide(none, state["sam"]) == "intro"  # a partner at last: the introduction
    assert decide(state["sam"], none) == "change"
    assert person_reason("no compatible mentor: avoid list: 1") == "no compatible mentor"
    assert (
        person_reason("no compatible mentor: a: 2; avoid list: 1; b: 3") == "no compatible mentor: a: 2; b: 3"
    )


def test_workspace_templates_override_the_packaged_ones(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "intro.txt.j2").write_text(
        "Subject: Hi {{ name }}\n\nYour people: {% for p in partners %}{{ p.name }}{% endfor %}\n",
        encoding="utf-8",
    )
    out = compose(facts(), {}, Renderer(tmp_path))
    sam = next(m for m in out if m.person_id == "sam")
    assert sam.subject == "Hi Sam Lee" and plain(sam.body).strip() == "Your people: Ana Lima"
    (tmp_path / "templates" / "intro.txt.j2").write_text("Subject: x\n{% for %}\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        compose(facts(), {}, Renderer(tmp_path))
    assert "intro.txt.j2" in str(err.value.problems[0]) and err.value.exit_code == 65


def test_invitations_only_for_invitees_one_uid_each() -> None:
    out = compose(facts(invite=("kai",)), {}, Renderer())
    invites = [m for m in out if m.kind == "invite"]
    assert invites and {m.person_id for m in invites} == {"kai"}
    schedule = sample_schedule()
    mine = {i.uid for i in [*schedule.series, *schedule.events] if "kai" in (i.mentor_id, i.mentee_id)}
    assert sorted(m.uid for m in invites) == sorted(mine)
    assert len({m.message_id for m in out}) == len(out)


def test_invitee_feed_is_empty_and_everyone_elses_feed_is_byte_identical(tmp_path: Path) -> None:
    people = sample_people()
    schedule = sample_schedule()
    with Workspace(tmp_path / "ws") as ws:
        a = publish(ws, make_cohort(*people), schedule, PROGRAM, tmp_path / "a", now=T0)
        switched = [dataclasses.replace(p, calendar="invite") if p.id == "kai" else p for p in people]
        b = publish(ws, make_cohort(*switched), schedule, PROGRAM, tmp_path / "b", now=T0)
    for fa, fb in zip(a.feeds, b.feeds, strict=True):
        body_a, body_b = (tmp_path / "a" / fa.file).read_bytes(), (tmp_path / "b" / fb.file).read_bytes()
        if fa.person_id == "kai":
            assert b"BEGIN:VEVENT" in body_a and b"BEGIN:VEVENT" not in body_b
        else:
            assert body_a == body_b, fa.person_id
    coordinator = (tmp_path / "b" / b.coordinator.file).read_bytes()
    assert coordinator == (tmp_path / "a" / a.coordinator.file).read_bytes()  # the coordinator sees all


def test_series_without_meetings_are_not_invited() -> None:
    f = facts(invite=("sam",))
    empty = dataclasses.replace(
        make_series("ana", "sam", "UTC", date(2027, 2, 2), datetime.min.time(), until=date(2027, 3, 1)),
        occurrences=(),
        uid="empty@test",
    )
    f = dataclasses.replace(f, feed_items={**f.feed_items, "sam": (*f.feed_items["sam"], empty)})
    out = compose(f, {}, Renderer(), only=["sam"])
    assert "empty@test" not in {m.uid for m in out}
