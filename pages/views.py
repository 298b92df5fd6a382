"""The private pages served at ``/p/<token>``: what a participant (or the coordinator) sees.

Pure: ``participant_view`` and ``coordinator_view`` build frozen view objects from the domain
(cohort, pairs, schedule, program, check-ins, now); ``render_*`` turn them into HTML with Jinja2
(autoescaping on: every participant value is text, never markup). The HTTP side lives in
``server.app``.

Privacy: a participant's view holds their own data and their partners' name, role, time zone,
goals and the plain-words reasons of their own pair, and nothing else about anyone (no scores, no
other participant, no partner's check-in answers).
"""

from __future__ import annotations

import urllib.parse
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from cohort.checkins import CONTINUE_CHOICES, MET_CHOICES, CheckIn, CheckInSummary, Point, open_point
from cohort.model import Cohort, Person, PersonId
from cohort.program import Charter, Program
from matcher.model import Pair
from scheduler.model import Schedule

PAST_SHOWN = 3  # past meetings kept on the page (greyed)
TEXT_MAX = 2000  # characters of any participant or charter text shown on a page
KIND_LABELS = {
    "regular": "Regular meeting",
    "kickoff": "Kickoff",
    "checkin": "Check-in",
    "review": "Mid-cycle review",
    "closing": "Closing",
}


def clip(text: str, limit: int = TEXT_MAX) -> str:
    """Text made safe to show at any length: control characters dropped, length bounded."""
    text = "".join(ch for ch in text if ch in "\n\t" or ch >= " " and not 0x7F <= ord(ch) < 0xA0)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def agenda(kind: str, goals: Sequence[str]) -> tuple[str, ...]:
    """A meeting's agenda, in a few plain items, from its kind and the pair's goals."""
    topics = ", ".join(goals[:3]) or "the goals you chose"
    items = {
        "kickoff": (
            "Introduce yourselves: background, what you hope to get from the program",
            f"Agree on the goals you will work on: {topics}",
            "Agree how you will keep in touch and how to move a meeting you cannot make",
            "Read the charter together: confidentiality, and how a pairing ends",
        ),
        "regular": (
            "What happened since last time",
            f"Progress, questions and obstacles on {topics}",
            "One concrete next step each before the next meeting",
        ),
        "checkin": (
            "Look back over the month: what helped, what did not",
            f"Progress on {topics}; adjust the goals if they changed",
            "Each of you answers the private check-in on this page afterwards",
        ),
        "review": (
            "Half-way: how far you got on each goal",
            "What to change for the second half (rhythm, topics, format)",
            f"Pick the one or two goals that matter most now: {topics}",
        ),
        "closing": (
            "What was achieved, and what each of you learned",
            "What comes next after the cycle",
            "Thank each other; say in the check-in whether you would like to continue",
        ),
    }
    return items.get(kind, items["regular"])


@dataclass(frozen=True)
class Partner:
    name: str
    role: str  # their role in this pair: "mentor" or "mentee"
    timezone: str
    goals: tuple[str, ...]  # the pair's shared goals: the mentee's goals
    covered: tuple[str, ...]  # of those, the ones the mentor has expertise in
    reasons: str
    id: PersonId  # used only as the form's partner field; never shown as text


@dataclass(frozen=True)
class Meeting:
    local_date: str  # "Mon 1 Feb 2027"
    local_time: str  # "12:00-12:45"
    kind: str  # key of KIND_LABELS
    label: str
    partner: str
    past: bool
    milestone: bool
    dst_note: str  # "this week 13:00 instead of 12:00", or ""
    agenda: tuple[str, ...]
    iso: str  # UTC ISO-8601, for <time datetime>


@dataclass(frozen=True)
class CheckInForm:
    partner_id: PersonId
    partner_name: str
    number: int
    opened: str  # local date the check-in opened
    answer: CheckIn | None  # the person's own stored answer, if any


@dataclass(frozen=True)
class Subscribe:
    webcal: str
    google: str
    outlook: str
    download: str


@dataclass(frozen=True)
class ParticipantView:
    program_name: str
    name: str
    timezone: str
    charter: Charter
    partners: tuple[Partner, ...]
    meetings: tuple[Meeting, ...]
    forms: tuple[CheckInForm, ...]
    next_checkin: str  # when the next check-in opens, in words, or ""
    subscribe: Subscribe


def subscribe_links(feed_url: str, calendar_name: str) -> Subscribe:
    """The subscribe links of a feed URL (http or https) for the common calendar apps."""
    scheme, rest = feed_url.split("://", 1)
    webcal = f"webcal://{rest}"
    google = "https://calendar.google.com/calendar/r?cid=" + urllib.parse.quote(webcal, safe="")
    outlook = (
        "https://outlook.live.com/calendar/0/addfromweb?url="
        + urllib.parse.quote(feed_url, safe="")
        + "&name="
        + urllib.parse.quote(calendar_name, safe="")
    )
    return Subscribe(webcal, google, outlook, feed_url)


def _day(moment: datetime) -> str:
    return f"{moment:%a} {moment.day} {moment:%b %Y}"


def _hm(moment: datetime) -> str:
    return f"{moment:%H:%M}"


def _partner_of(pair: Pair, person_id: PersonId) -> tuple[PersonId, str]:
    if pair.mentor_id == person_id:
        return pair.mentee_id, "mentee"
    return pair.mentor_id, "mentor"


def checkin_points(
    schedule: Schedule, program: Program
) -> dict[tuple[PersonId, PersonId], tuple[Point, ...]]:
    """Every pair's check-in points: its ``checkin`` events, or in a monthly series (which has
    none, every meeting being a check-in) its regular meetings."""
    out: dict[tuple[PersonId, PersonId], tuple[Point, ...]] = {}
    if not program.milestones.checkins:
        return out
    from cohort.checkins import points_for

    events: dict[tuple[PersonId, PersonId], list[datetime]] = {}
    for e in schedule.events:
        if e.kind == "checkin":
            events.setdefault((e.mentor_id, e.mentee_id), []).append(e.start)
    for s in schedule.series:
        key = (s.mentor_id, s.mentee_id)
        starts = events.get(key) or (list(s.occurrences) if s.cadence == "monthly" else [])
        out[key] = points_for(starts, s.timezone)
    return out


def participant_view(
    person: Person,
    cohort: Cohort,
    pairs: Iterable[Pair],
    schedule: Schedule,
    program: Program,
    checkins: Iterable[CheckIn],
    now: datetime,
    feed_url: str,
) -> ParticipantView:
    """Everything ``person``'s page shows, and nothing about anyone but them and their partners."""
    mine = [p for p in pairs if person.id in (p.mentor_id, p.mentee_id)]
    partners = _partners(person, cohort, mine)
    forms, next_checkin = _forms(person, mine, partners, checkin_points(schedule, program), checkins, now)
    return ParticipantView(
        clip(program.program.name, 200),
        clip(person.name, 200),
        person.timezone,
        _clip_charter(program.charter),
        tuple(partners),
        _meetings(person, schedule, partners, now),
        forms,
        next_checkin,
        subscribe_links(feed_url, program.program.name),
    )


def _partners(person: Person, cohort: Cohort, mine: Sequence[Pair]) -> list[Partner]:
    """``person``'s partners as their page shows them: name, role, zone, the pair's goals, reasons."""
    partners = []
    for pair in mine:
        pid, role = _partner_of(pair, person.id)
        other = cohort.by_id.get(pid)
        if other is None:
            continue
        mentee, mentor = cohort.by_id.get(pair.mentee_id), cohort.by_id.get(pair.mentor_id)
        goals = tuple(clip(g, 200) for g in (mentee.goals if mentee else ()))
        expertise = set(mentor.expertise) if mentor else set()
        covered = tuple(g for g in goals if g in expertise)
        partners.append(
            Partner(clip(other.name, 200), role, other.timezone, goals, covered, clip(pair.reasons), pid)
        )
    return partners


def _meetings(
    person: Person, schedule: Schedule, partners: Sequence[Partner], now: datetime
) -> tuple[Meeting, ...]:
    """``person``'s meetings in their zone, the last few past ones first, a clock change flagged."""
    zone = ZoneInfo(person.timezone)
    names = {p.id: p.name for p in partners}
    goals_of = {p.id: p.goals for p in partners}
    meetings: list[Meeting] = []
    for s in schedule.series:
        if person.id not in (s.mentor_id, s.mentee_id):
            continue
        pid = s.mentee_id if s.mentor_id == person.id else s.mentor_id
        name, goals = names.get(pid, ""), goals_of.get(pid, ())
        local = [t.astimezone(zone) for t in s.occurrences]
        usual = Counter(_hm(t) for t in local).most_common(1)[0][0] if local else ""
        for t, u in zip(local, s.occurrences, strict=True):
            note = "" if _hm(t) == usual else f"this week {_hm(t)} instead of {usual}"
            meetings.append(_meeting(u, t, s.duration_minutes, "regular", name, now, note, goals))
        for e in schedule.events:
            if (e.mentor_id, e.mentee_id) != (s.mentor_id, s.mentee_id):
                continue
            t = e.start.astimezone(zone)
            note = "" if not usual or _hm(t) == usual else f"this week {_hm(t)} instead of {usual}"
            meetings.append(_meeting(e.start, t, e.duration_minutes, e.kind, name, now, note, goals))
    meetings.sort(key=lambda m: (m.iso, m.partner))
    past = sum(m.past for m in meetings)
    return tuple(meetings[max(0, past - PAST_SHOWN) :])  # the most recent past ones, greyed, then the rest


def _forms(
    person: Person,
    mine: Sequence[Pair],
    partners: Sequence[Partner],
    points: Mapping[tuple[PersonId, PersonId], Sequence[Point]],
    checkins: Iterable[CheckIn],
    now: datetime,
) -> tuple[tuple[CheckInForm, ...], str]:
    """The open check-in form of each partner, and when the next check-in opens (in words, or "")."""
    zone = ZoneInfo(person.timezone)
    names = {p.id: p.name for p in partners}
    answers = {(c.partner_id, c.number): c for c in checkins if c.person_id == person.id}
    forms, upcoming = [], []
    for pair in mine:
        pid, _ = _partner_of(pair, person.id)
        if pid not in names:
            continue
        pts = points.get((pair.mentor_id, pair.mentee_id), ())
        point = open_point(pts, now)
        if point is not None:
            opened = _day(point.opens.astimezone(zone))
            forms.append(CheckInForm(pid, names[pid], point.number, opened, answers.get((pid, point.number))))
        later = [p for p in pts if p.opens > now]
        if later:
            upcoming.append(later[0].opens)
    return tuple(forms), _day(min(upcoming).astimezone(zone)) if upcoming else ""


def _clip_charter(c: Charter) -> Charter:
    return Charter(clip(c.goals), clip(c.rhythm), clip(c.confidentiality), clip(c.ending))


def _meeting(
    utc: datetime,
    local: datetime,
    minutes: int,
    kind: str,
    partner: str,
    now: datetime,
    dst_note: str,
    goals: Sequence[str],
) -> Meeting:
    from datetime import timedelta

    end = local + timedelta(minutes=minutes)
    return Meeting(
        _day(local),
        f"{_hm(local)}-{_hm(end)}",
        kind,
        KIND_LABELS.get(kind, kind),
        partner,
        utc + timedelta(minutes=minutes) <= now,
        kind != "regular",
        dst_note,
        agenda(kind, goals),
        utc.isoformat(),
    )


# --------------------------------------------------------------------------- coordinator


@dataclass(frozen=True)
class PairRow:
    mentor: str
    mentee: str
    opened: int
    answered: str  # "mentor 2/3, mentee 1/3"
    latest: tuple[str, ...]  # one line per person: "Ana: met yes, 4/5, continue yes"
    notes: tuple[str, ...]
    risks: tuple[str, ...]


@dataclass(frozen=True)
class CoordinatorView:
    program_name: str
    rates: tuple[tuple[int, int, int], ...]
    pairs: tuple[PairRow, ...]
    at_risk: int


def coordinator_view(cohort: Cohort, summary: CheckInSummary, program: Program) -> CoordinatorView:
    """Every pair with its check-in state; at-risk pairs first."""

    def name(pid: PersonId) -> str:
        p = cohort.by_id.get(pid)
        return clip(p.name, 200) if p else pid

    rows = []
    for st in summary.pairs:
        latest = tuple(
            f"{name(pid)}: met {c.met}, going {c.rating}/5, continue {c.wants_continue} (check-in {c.number})"
            for pid, c in st.latest.items()
        )
        notes = tuple(f"{name(pid)}: {clip(c.note)}" for pid, c in st.latest.items() if c.note)
        answered = ", ".join(
            f"{name(pid)} {st.answered.get(pid, 0)}/{st.opened}" for pid in (st.mentor_id, st.mentee_id)
        )
        risks = tuple(_risk_words(r, name, (st.mentor_id, st.mentee_id)) for r in st.risks)
        rows.append(
            PairRow(name(st.mentor_id), name(st.mentee_id), st.opened, answered, latest, notes, risks)
        )
    rows.sort(key=lambda r: (not r.risks, r.mentor, r.mentee))
    return CoordinatorView(clip(program.program.name, 200), summary.rates, tuple(rows), len(summary.at_risk))


def _risk_words(risk: str, name: object, ids: tuple[PersonId, PersonId]) -> str:
    for pid in ids:
        risk = risk.replace(pid, name(pid))  # type: ignore[operator]
    return risk


# --------------------------------------------------------------------------- rendering


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(Path(__file__).parent / "templates")),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_participant(
    view: ParticipantView, *, csrf: str, action: str, saved: bool = False, errors: Sequence[str] = ()
) -> str:
    return (
        environment()
        .get_template("participant.html.j2")
        .render(
            v=view,
            csrf=csrf,
            action=action,
            saved=saved,
            errors=errors,
            met_choices=MET_CHOICES,
            continue_choices=CONTINUE_CHOICES,
        )
    )


def render_coordinator(view: CoordinatorView) -> str:
    return environment().get_template("coordinator.html.j2").render(v=view)


def render_message(title: str, text: str) -> str:
    return environment().get_template("message.html.j2").render(title=title, text=text)


STYLESHEET = (Path(__file__).parent / "static" / "page.css").read_bytes()
