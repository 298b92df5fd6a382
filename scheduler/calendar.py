"""The iCalendar writer: one private RFC 5545 feed per participant, and the coordinator's feed.

``build_feed`` is pure: the same inputs give the same bytes. Nothing in a feed depends on the wall
clock; DTSTAMP and LAST-MODIFIED come from each event's ``EventState`` (the time its content last
changed, kept by ``feeds.publish``), so a feed whose meetings did not change is byte-identical.

Two writers give the same bytes (tested): ``build_feed_icalendar`` builds an icalendar
``Calendar`` and calls ``to_ical()``, the readable reference; ``FeedWriter`` (behind
``build_feed`` and ``publish``) renders the lines itself, each event's shared lines and each
VTIMEZONE once per schedule, and folds lines in bulk: icalendar folds character by character,
which made publishing ten thousand feeds take minutes.

Choices worth knowing:

* **No METHOD.** A subscribed feed is not a scheduling message (RFC 5546); with no METHOD clients
  treat it as a plain published calendar and need no ORGANIZER.
* **VTIMEZONE** components use one RRULE per observance (``FREQ=YEARLY;BYMONTH=3;BYDAY=2SU``), the
  form Outlook understands, derived from the tz database over the feed's years and checked to
  reproduce every transition exactly; when a zone's rules cannot be said that way (a rule change
  inside the range), the exact RDATE form from icalendar is used instead. Zones icalendar writes
  as UTC (``UTC``, ``Etc/UTC``, ``GMT``: ``...Z`` values, no TZID) get no VTIMEZONE.
* **Exactly the scheduled meetings.** The RRULE is expanded from DTSTART (which RFC 5545 counts as
  the first instance); every expanded instance that is not a scheduled occurrence becomes an
  ``EXDATE;TZID=`` (so EXDATEs are always real instances) and a scheduled occurrence the rule
  does not produce becomes an ``RDATE;TZID=``. The feed therefore holds exactly
  ``Series.occurrences`` whatever the rule says.
* **Only what the feed needs.** The writer takes series, events and people; there is no parameter
  through which feedback (ratings, comments) could reach a feed.
* **Text is escaped here**, not by ``vText``: icalendar turns a literal ``\\N`` into a line break
  and leaves other control characters alone, so participant text goes through ``_clean`` and
  ``_Text`` (backslash, semicolon, comma and newline escaped; other controls dropped).
"""

from __future__ import annotations

import calendar as _stdcal
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, YEARLY, rrule, weekdays
from icalendar import Calendar, Timezone, TimezoneDaylight, TimezoneStandard, vDuration, vRecur, vText
from icalendar import Event as VEvent
from icalendar.caselessdict import canonsort_keys

from cohort.model import Person, PersonId
from cohort.program import Program
from scheduler.model import WEEKDAY_CODES, Event, Recurrence, Series

PRODID = "-//mentorsync//mentorsync calendar feed 1.0//EN"
# Raised whenever the writer's bytes change for the same inputs, so stored feeds are rebuilt.
WRITER_VERSION = "2"
KIND_LABELS = {
    "kickoff": "kickoff",
    "checkin": "check-in",
    "review": "mid-cycle review",
    "closing": "closing",
}


@dataclass(frozen=True)
class EventState:
    """What a feed needs to know about an event's history (kept by ``feeds.publish``).

    ``sequence`` is the RFC 5545 SEQUENCE, raised each time the content ``fingerprint`` changes;
    ``last_modified`` (aware UTC) is when that happened, written as DTSTAMP and LAST-MODIFIED.
    """

    uid: str
    fingerprint: str
    sequence: int
    last_modified: datetime


# ---------------------------------------------------------------------------------------------
# Text


_LINE_BREAKS = {
    "\r\n": "\n",
    "\r": "\n",
    "\x0b": "\n",
    "\x0c": "\n",
    "\x1c": "\n",
    "\x1d": "\n",
    "\x1e": "\n",
    "\x85": "\n",
    "\u2028": "\n",
    "\u2029": "\n",
}


_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # Unicode category Cc but HTAB and LF
# Any character ``_clean`` would change (most text has none: it is returned as is).
_UNCLEAN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def _clean(text: str) -> str:
    """Participant text made safe for a TEXT value: one kind of newline, no other controls.

    RFC 5545 TEXT allows no control characters but HTAB; a bare CR or a Unicode line separator
    would be a line break to some parsers, so they become ``\\n`` (escaped later). Lone surrogates
    (not encodable as UTF-8) become U+FFFD.
    """
    if not _UNCLEAN.search(text):
        return text
    for old, new in _LINE_BREAKS.items():
        text = text.replace(old, new)
    text = (
        text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        if any("\ud800" <= c <= "\udfff" for c in text)
        else text
    )
    return _CONTROLS.sub("", text)


class _Text(vText):
    """A TEXT value escaped strictly by RFC 5545 §3.3.11 (no ``\\N`` shorthand on input)."""

    def to_ical(self) -> bytes:
        escaped = str(self).replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")
        return escaped.encode("utf-8")


def _text(value: str) -> _Text:
    return _Text(_clean(value))


# ---------------------------------------------------------------------------------------------
# Time zones


def _offset(zone: ZoneInfo, ts: int) -> timedelta:
    return datetime.fromtimestamp(ts, zone).utcoffset() or timedelta(0)


def _transitions(tzid: str, first: date, last: date) -> list[tuple[int, timedelta, timedelta, str, bool]]:
    """``(utc_ts, offset_from, offset_to, tzname, is_dst)`` for every offset change in the range."""
    zone = ZoneInfo(tzid)
    start = int(datetime(first.year, first.month, first.day, tzinfo=UTC).timestamp())
    end = int(datetime(last.year, last.month, last.day, tzinfo=UTC).timestamp())
    out = []
    step = 6 * 3600  # no zone changes offset twice within six hours
    prev_ts, prev_off = start, _offset(zone, start)
    ts = start + step
    while ts <= end:
        off = _offset(zone, ts)
        if off != prev_off:
            lo, hi = prev_ts, ts  # offset(lo) == prev_off, offset(hi) != prev_off
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if _offset(zone, mid) == prev_off:
                    lo = mid
                else:
                    hi = mid
            at = datetime.fromtimestamp(hi, zone)
            out.append((hi, prev_off, off, at.tzname() or "", bool(at.dst())))
            prev_off = off
        prev_ts = ts
        ts += step
    return out


def _nth_weekday(year: int, month: int, weekday: int, ordinal: int) -> int:
    """Day of month of the ``ordinal``-th (``-1``: last) ``weekday`` (0 = Monday)."""
    days = _stdcal.monthrange(year, month)[1]
    if ordinal > 0:
        first = (weekday - date(year, month, 1).weekday()) % 7 + 1
        return first + 7 * (ordinal - 1)
    last = days - (date(year, month, days).weekday() - weekday) % 7
    return last


_BYDAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@lru_cache(maxsize=512)
def _observances(tzid: str, first_year: int, last_year: int) -> tuple[tuple, ...] | None:
    """RRULE-based observances for ``tzid`` over whole years, or None when they cannot be exact.

    Each item is ``(is_dst, onset_local, offset_from, offset_to, tzname, rule)`` where ``rule``
    is ``(month, weekday, ordinal)`` or None for a single onset.
    """
    first, last = date(first_year, 1, 1), date(last_year + 1, 1, 1)
    changes = _transitions(tzid, first, last)
    zone = ZoneInfo(tzid)
    if not changes:
        at = datetime(first_year, 1, 1, 12, tzinfo=zone)
        off = at.utcoffset() or timedelta(0)
        return ((bool(at.dst()), datetime(first_year, 1, 1), off, off, at.tzname() or "", None),)
    groups: dict[tuple, list[datetime]] = {}
    for ts, off_from, off_to, name, is_dst in changes:
        # An observance's DTSTART is local time in the offset in force *before* the onset.
        onset = datetime.fromtimestamp(ts, UTC).replace(tzinfo=None) + off_from
        groups.setdefault((is_dst, off_from, off_to, name), []).append(onset)
    out: list[tuple] = []
    expected: set[datetime] = set()
    for (is_dst, off_from, off_to, name), onsets in groups.items():
        if len(onsets) == 1:
            out.append((is_dst, onsets[0], off_from, off_to, name, None))
            expected.add(onsets[0])
            continue
        o = onsets[0]
        if any(x.month != o.month or x.weekday() != o.weekday() or x.time() != o.time() for x in onsets):
            return None
        if all(x.day + 7 > _stdcal.monthrange(x.year, x.month)[1] for x in onsets):
            ordinal = -1
        elif len({(x.day - 1) // 7 for x in onsets}) == 1 and (o.day - 1) // 7 < 4:
            ordinal = (o.day - 1) // 7 + 1
        else:
            return None
        if onsets[-1].year != last_year:  # a rule that stops inside the range needs an UNTIL
            return None
        rule = (o.month, o.weekday(), ordinal)
        for year in range(o.year, last_year + 1):
            day = _nth_weekday(year, o.month, o.weekday(), ordinal)
            expected.add(datetime.combine(date(year, o.month, day), o.time()))
        out.append((is_dst, o, off_from, off_to, name, rule))
    # The rules must reproduce every transition and nothing else.
    found = {datetime.fromtimestamp(ts, UTC).replace(tzinfo=None) + f for ts, f, _t, _n, _d in changes}
    if expected != found:
        return None
    return tuple(sorted(out, key=lambda item: (item[1], item[0])))


@lru_cache(maxsize=512)
def _vtimezone_bytes(tzid: str, first_year: int, last_year: int) -> bytes:
    return vtimezone(tzid, first_year, last_year).to_ical()


def vtimezone(tzid: str, first_year: int, last_year: int) -> Timezone:
    """A VTIMEZONE for ``tzid`` valid from Jan 1 of ``first_year`` through ``last_year``."""
    tz = Timezone()
    tz.add("TZID", tzid)
    observances = _observances(tzid, first_year, last_year)
    if observances is None:
        return Timezone.from_tzid(
            tzid, first_date=date(first_year, 1, 1), last_date=date(last_year + 1, 1, 1)
        )
    for is_dst, onset, off_from, off_to, name, rule in observances:
        sub = TimezoneDaylight() if is_dst else TimezoneStandard()
        sub.add("DTSTART", onset)
        sub.add("TZOFFSETFROM", off_from)
        sub.add("TZOFFSETTO", off_to)
        if name:
            sub.add("TZNAME", _text(name))
        if rule is not None:
            month, weekday, ordinal = rule
            sub.add(
                "RRULE", vRecur({"FREQ": "YEARLY", "BYMONTH": month, "BYDAY": f"{ordinal}{_BYDAY[weekday]}"})
            )
        tz.add_component(sub)
    return tz


# ---------------------------------------------------------------------------------------------
# Series expansion


@dataclass(frozen=True)
class Expansion:
    """A series as it is written: rule, excluded real instances and added dates (all local)."""

    start: datetime  # aware, in the anchor zone
    rrule: vRecur
    exdates: tuple[datetime, ...]
    rdates: tuple[datetime, ...]
    rule_text: str  # ``rrule.to_ical()``, rendered once


def _normalise_rule(rule: Recurrence, zone: ZoneInfo, occurrences: Sequence[datetime]) -> vRecur:
    """The RRULE with UNTIL in UTC (RFC 5545 demands it with a TZID start), WKST=MO, and bounded."""
    recur = vRecur()
    recur["FREQ"] = [rule.freq]
    if rule.interval != 1:
        recur["INTERVAL"] = [rule.interval]
    if rule.byday:
        recur["BYDAY"] = [f"{n or ''}{WEEKDAY_CODES[wd]}" for n, wd in rule.byday]
    if rule.wkst is not None:
        recur["WKST"] = [WEEKDAY_CODES[rule.wkst]]
    if rule.count is not None:
        recur["COUNT"] = [rule.count]
    if rule.until is not None:
        if isinstance(rule.until, datetime):
            value = rule.until.replace(tzinfo=zone) if rule.until.tzinfo is None else rule.until
        else:  # a DATE: the whole local day counts
            value = datetime.combine(rule.until, datetime.max.time().replace(microsecond=0), zone)
        recur["UNTIL"] = [value.astimezone(UTC).replace(microsecond=0)]
    elif rule.count is None and occurrences:
        recur["UNTIL"] = [max(occurrences).astimezone(UTC)]
    if "WKST" not in recur:
        recur["WKST"] = ["MO"]
    return recur


@lru_cache(maxsize=4096)
def _normalised_rule(rule: Recurrence, tzid: str, last: datetime | None) -> tuple[vRecur, str]:
    """``_normalise_rule`` and its text, cached: a cohort's series share a handful of rules."""
    recur = _normalise_rule(rule, ZoneInfo(tzid), [last] if last else [])
    return recur, recur.to_ical().decode()


_FREQUENCIES = {"YEARLY": YEARLY, "MONTHLY": MONTHLY, "WEEKLY": WEEKLY, "DAILY": DAILY}


@lru_cache(maxsize=4096)
def _expander(rule: Recurrence, tzid: str, last: datetime | None) -> rrule:
    """The normalised rule as a ``dateutil`` rule at a fixed DTSTART, re-anchored per series with
    ``rrule.replace``, which re-derives every part the rule leaves to DTSTART (weekday, time)."""
    recur, _ = _normalised_rule(rule, tzid, last)
    until = recur.get("UNTIL")
    byday = [weekdays[wd](n) if n else weekdays[wd] for n, wd in rule.byday] or None
    return rrule(
        _FREQUENCIES[rule.freq],
        dtstart=datetime(2000, 1, 3, tzinfo=UTC),
        interval=rule.interval,
        wkst=WEEKDAY_CODES.index(recur["WKST"][0]),
        count=rule.count,
        until=until[0] if until else None,
        byweekday=byday,
    )


@lru_cache(maxsize=32768)
def expand_series(series: Series) -> Expansion:
    """How ``series`` is written so that its instances are exactly ``series.occurrences``."""
    zone = ZoneInfo(series.timezone)
    start = series.dtstart.replace(tzinfo=zone)
    # The last occurrence bounds an open rule; passed only then, so the cache key stays shared.
    last = max(series.occurrences) if series.recurrence.is_open and series.occurrences else None
    shared, rule_text = _normalised_rule(series.recurrence, series.timezone, last)
    recur = vRecur({key: list(values) for key, values in shared.items()})  # callers get their own
    instances = {start.astimezone(UTC): start}  # DTSTART is always the first instance
    for inst in _expander(series.recurrence, series.timezone, last).replace(dtstart=start):
        instances[inst.astimezone(UTC)] = inst
    wanted = {o.astimezone(UTC) for o in series.occurrences}
    exdates = tuple(instances[k] for k in sorted(instances) if k not in wanted)
    rdates = tuple(o.astimezone(zone) for o in sorted(wanted) if o not in instances)
    return Expansion(start, recur, exdates, rdates, rule_text)


# ---------------------------------------------------------------------------------------------
# Content


def _person(people: Mapping[PersonId, Person], pid: PersonId) -> tuple[str, str]:
    person = people.get(pid)
    return (person.name, person.email) if person else (pid, "")


def _who(name: str, email: str) -> str:
    return f"{name} <{email}>" if email else name


def _texts(
    item: Series | Event, owner: Person | None, people: Mapping[PersonId, Person], program: Program
) -> tuple[str, str]:
    """SUMMARY and DESCRIPTION of ``item`` as seen by ``owner`` (None: the coordinator)."""
    if item.circle_id:
        return _circle_texts(item, people, program)
    label = "" if isinstance(item, Series) else KIND_LABELS.get(item.kind, item.kind) + " "
    # Pieces are cleaned before joining: a trailing CR must not merge with the joining LF.
    mentor, mentee = (tuple(map(_clean, _person(people, pid))) for pid in (item.mentor_id, item.mentee_id))
    if owner is None:
        summary = f"Mentoring {label}".rstrip() + f": {mentor[0]} & {mentee[0]}"
        lines = [f"Mentor: {_who(*mentor)}", f"Mentee: {_who(*mentee)}"]
    else:
        is_mentor = owner.id == item.mentor_id
        partner = mentee if is_mentor else mentor
        summary = f"Mentoring {label}with {partner[0]}"
        lines = [f"Your {'mentee' if is_mentor else 'mentor'}: {_who(*partner)}"]
    lines.append(f"Program: {_clean(program.program.name)}")
    body = "\n".join(lines)
    agenda = _clean(item.agenda)
    return summary, f"{agenda}\n\n{body}" if agenda.strip() else body


def _circle_texts(
    item: Series | Event, people: Mapping[PersonId, Person], program: Program
) -> tuple[str, str]:
    """SUMMARY and DESCRIPTION of a circle meeting, the same in every feed holding it: the circle's
    members by name only (members opt in by choosing a circle; nothing else about each other)."""
    label = "" if isinstance(item, Series) else ": " + KIND_LABELS.get(item.kind, item.kind)
    summary = f"Mentoring circle {_clean(item.circle_id)}{label}"
    lines = []
    if item.mentor_id:
        lines.append(f"Mentor: {_clean(_person(people, item.mentor_id)[0])}")
    lines.append("Members: " + ", ".join(_clean(_person(people, pid)[0]) for pid in item.member_ids))
    lines.append(f"Program: {_clean(program.program.name)}")
    body = "\n".join(lines)
    agenda = _clean(item.agenda)
    return summary, f"{agenda}\n\n{body}" if agenda.strip() else body


def fingerprint(item: Series | Event, people: Mapping[PersonId, Person]) -> str:
    """A hash of everything about ``item`` that any feed shows: changes iff its VEVENTs change."""
    mentor, mentee = _person(people, item.mentor_id), _person(people, item.mentee_id)
    if isinstance(item, Series):
        exp = expand_series(item)
        content: dict[str, object] = {
            "type": "series",
            "tz": item.timezone,
            "start": exp.start.isoformat(),
            "rule": exp.rule_text,
            "ex": [d.isoformat() for d in exp.exdates],
            "r": [d.isoformat() for d in exp.rdates],
            "minutes": item.duration_minutes,
        }
    else:
        content = {
            "type": "event",
            "kind": item.kind,
            "tz": item.timezone,
            "start": item.start.astimezone(UTC).isoformat(),
            "minutes": item.duration_minutes,
        }
    content |= {
        "uid": item.uid,
        "agenda": item.agenda,
        "mentor": [item.mentor_id, *mentor],
        "mentee": [item.mentee_id, *mentee],
    }
    if item.circle_id:  # a circle's feeds show its id and everyone's name (names only)
        content |= {
            "circle": item.circle_id,
            "mentor": [item.mentor_id, _person(people, item.mentor_id)[0] if item.mentor_id else ""],
            "mentee": [],
            "members": [[pid, _person(people, pid)[0]] for pid in item.member_ids],
        }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _first_start(item: Series | Event) -> datetime:
    if isinstance(item, Series):
        return min(item.occurrences)
    return item.start


@lru_cache(maxsize=1024)
def _zone_form(tzid: str) -> tuple[str, str]:
    """How icalendar writes a date-time in ``tzid``: ``(parameters, suffix)``.

    ``(";TZID=Europe/London", "")`` for a zone, ``("", "Z")`` for the zones icalendar writes as
    UTC (``UTC``, ``Etc/UTC``, ``GMT``...), which therefore need no VTIMEZONE. Asked of icalendar
    itself, once per zone, so that the fast writer and the library agree by construction.
    """
    probe = VEvent()
    probe.add("DTSTART", datetime(2001, 2, 3, 4, 5, 6, tzinfo=ZoneInfo(tzid)))
    line = str(probe.content_line("DTSTART", probe["DTSTART"]))
    head, _, value = line.partition(":")
    if not value.startswith("20010203T040506"):
        raise AssertionError(f"unexpected date-time form from icalendar: {line!r}")
    return head.removeprefix("DTSTART"), value.removeprefix("20010203T040506")


def zone_in_feed(tzid: str) -> bool:
    """Whether a feed using ``tzid`` needs a VTIMEZONE for it (it is written with a TZID)."""
    return bool(_zone_form(tzid)[0])


def vevent(
    item: Series | Event,
    owner: Person | None,
    people: Mapping[PersonId, Person],
    program: Program,
    st: EventState,
) -> tuple[VEvent, str, list[datetime]]:
    """The VEVENT for ``item``, its TZID and the local start times it spans (for VTIMEZONE years)."""
    summary, description = _texts(item, owner, people, program)
    ev = VEvent()
    ev.add("UID", _Text(_clean(item.uid)))
    stamp = st.last_modified.astimezone(UTC).replace(microsecond=0)
    ev.add("DTSTAMP", stamp)
    ev.add("LAST-MODIFIED", stamp)
    ev.add("SEQUENCE", st.sequence)
    duration = timedelta(minutes=item.duration_minutes)
    if isinstance(item, Series):
        tzid = item.timezone
        exp = expand_series(item)
        start = exp.start
        ev.add("RRULE", exp.rrule)
        if exp.exdates:
            ev.add("EXDATE", list(exp.exdates))
        if exp.rdates:
            ev.add("RDATE", list(exp.rdates))
        span = [start, *[o.astimezone(start.tzinfo) for o in item.occurrences]]
    else:
        tzid = item.timezone or "UTC"
        start = item.start.astimezone(ZoneInfo(tzid))
        span = [start]
    ev.add("DTSTART", start)
    # Absolute duration: a meeting that spans a DST change still lasts its minutes.
    ev.add("DTEND", (start.astimezone(UTC) + duration).astimezone(start.tzinfo))
    ev.add("SUMMARY", _text(summary))
    ev.add("DESCRIPTION", _text(description))
    ev.add("CLASS", "PRIVATE")
    ev.add("TRANSP", "OPAQUE")
    ev.add("STATUS", "CONFIRMED")
    ev.add("CATEGORIES", ["Mentoring"])
    return ev, tzid, span


def select_items(
    owner_id: PersonId | None, series: Iterable[Series], events: Iterable[Event]
) -> list[Series | Event]:
    """The series (with at least one occurrence) and events of ``owner_id`` (None: all), circle
    meetings included (``owner_id`` the circle's mentor or one of its members)."""
    items: list[Series | Event] = []
    every: list[Series | Event] = [*series, *events]
    for item in every:
        if isinstance(item, Series) and not item.occurrences:
            continue
        if owner_id is None or owner_id in item.people:
            items.append(item)
    return items


def _calendar_head(name: str, about: str, refresh_minutes: int) -> Calendar:
    """The VCALENDAR with its own properties (no components yet)."""
    cal = Calendar()
    cal.add("PRODID", PRODID)
    cal.add("VERSION", "2.0")
    cal.add("CALSCALE", "GREGORIAN")
    for prop in ("NAME", "X-WR-CALNAME"):
        cal.add(prop, _text(name))
    for prop in ("DESCRIPTION", "X-WR-CALDESC"):
        cal.add(prop, _text(about))
    refresh = timedelta(minutes=refresh_minutes)
    cal.add("REFRESH-INTERVAL", vDuration(refresh), parameters={"VALUE": "DURATION"})
    cal.add("X-PUBLISHED-TTL", vDuration(refresh))
    return cal


def _calendar_texts(owner: Person | None, program: Program) -> tuple[str, str]:
    """The calendar's name and description."""
    program_name = program.program.name
    if owner is None:
        return (
            f"{program_name}: all meetings",
            f"Every meeting of {program_name} (coordinator's private feed).",
        )
    return (
        f"{program_name}: {owner.name}",
        f"Your meetings in {program_name}. Private: do not share this calendar's address.",
    )


def _widen(years: dict[str, tuple[int, int]], tzid: str, lo: int, hi: int) -> None:
    old = years.get(tzid, (lo, hi))
    years[tzid] = (min(lo, old[0]), max(hi, old[1]))


def _sorted_items(owner: Person | None, series: Iterable[Series], events: Iterable[Event]) -> list:
    items = select_items(owner.id if owner else None, series, events)
    items.sort(key=lambda it: (_first_start(it), it.uid))
    return items


def build_feed_icalendar(
    owner: Person | None,
    series: Iterable[Series],
    events: Iterable[Event],
    people: Mapping[PersonId, Person],
    program: Program,
    state: Mapping[str, EventState],
) -> bytes:
    """``build_feed`` the straightforward way: one icalendar ``Calendar`` and its ``to_ical()``.

    The reference the fast writer is tested against (and a readable account of what a feed
    holds); about 20 times slower, because icalendar folds every line character by character.
    """
    cal = _calendar_head(*_calendar_texts(owner, program), program.feeds.refresh_minutes)
    years: dict[str, tuple[int, int]] = {}
    vevents = []
    for item in _sorted_items(owner, series, events):
        ev, tzid, span = vevent(item, owner, people, program, state[item.uid])
        vevents.append(ev)
        if zone_in_feed(tzid):
            _widen(years, tzid, min(d.year for d in span), max(d.year for d in span))
    for tzid in sorted(years):
        lo, hi = years[tzid]
        # One year of margin before: the first meeting then follows a real onset in every zone.
        cal.add_component(vtimezone(tzid, lo - 1, hi + 1))
    for ev in vevents:
        cal.add_component(ev)
    return cal.to_ical()


# ---------------------------------------------------------------------------------------------
# The fast writer: the same bytes as ``build_feed_icalendar``, without icalendar in the loop


def _escape(text: str) -> str:
    """RFC 5545 TEXT escaping, exactly as ``_Text.to_ical``."""
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    """Fold a content line exactly as icalendar 7 does (``icalendar.parser.string._foldline``).

    Each piece holds at most 74 octets (a continuation: a space and 74), never splits a UTF-8
    character and never ends with ``\\`` or ``^`` (an escape is carried over whole).
    """
    if line.isascii():
        if len(line) <= 74:
            return line
        pieces, i, n = [], 0, len(line)
        while n - i > 74:
            end = i + 74
            if line[end - 1] in "\\^":
                end -= 1
            pieces.append(line[i:end])
            i = end
        pieces.append(line[i:])
        return "\r\n ".join(pieces)
    out: list[str] = []
    current: list[str] = []
    count = 0
    for char in line:
        size = len(char.encode("utf-8"))
        if current and count + size >= 75:
            if len(current) > 1 and current[-1] in "\\^":
                carried = current.pop()
                out.append("".join(current))
                current, count = [carried], len(carried.encode("utf-8"))
            else:
                out.append("".join(current))
                current, count = [], 0
        current.append(char)
        count += size
    if current:
        out.append("".join(current))
    return "\r\n ".join(out)


def _lines(pairs: Iterable[tuple[str, str]]) -> str:
    """Folded content lines ``name + rest`` (``rest`` starts with ``;`` or ``:``), each + CRLF."""
    return "".join(_fold(name + rest) + "\r\n" for name, rest in pairs)


def _stamp(moment: datetime) -> str:
    return (
        f"{moment.year:04d}{moment.month:02d}{moment.day:02d}"
        f"T{moment.hour:02d}{moment.minute:02d}{moment.second:02d}"
    )


def _when(moment: datetime, tzid: str) -> str:
    """``;TZID=...:value`` (or ``:valueZ``) of a single local date-time in ``tzid``."""
    params, suffix = _zone_form(tzid)
    return f"{params}:{_stamp(moment)}{suffix}"


def _when_list(moments: Sequence[datetime], tzid: str) -> str:
    params, suffix = _zone_form(tzid)
    return params + ":" + ",".join(_stamp(m) + suffix for m in moments)


@lru_cache(maxsize=8)
def _event_order(keys: frozenset[str]) -> tuple[str, ...]:
    """icalendar's property order for a VEVENT with these properties."""
    return tuple(canonsort_keys(keys, VEvent.canonical_order))


@lru_cache(maxsize=64)
def _head_template(refresh_minutes: int) -> tuple[tuple[str, str | None], ...]:
    """The VCALENDAR's own lines in icalendar's order: ``(name, rendered line or None)``.

    None marks the four per-feed text properties, filled in by ``FeedWriter``.
    """
    cal = _calendar_head("", "", refresh_minutes)
    out: list[tuple[str, str | None]] = []
    for name, value in cal.property_items(recursive=False):
        if name in ("BEGIN", "END"):
            continue
        if name in ("NAME", "X-WR-CALNAME", "DESCRIPTION", "X-WR-CALDESC"):
            out.append((name, None))
        else:
            out.append((name, _fold(str(cal.content_line(name, value))) + "\r\n"))
    return tuple(out)


@dataclass(frozen=True)
class _Rendered:
    """The parts of one VEVENT that are the same in every feed holding it."""

    item: Series | Event
    first_start: datetime
    before: str  # properties between SUMMARY and DESCRIPTION
    after: str  # properties after DESCRIPTION
    tzid: str
    years: tuple[int, int]


class FeedWriter:
    """Builds the feeds of one schedule, rendering each event's shared lines and each zone once.

    An event appears in its two participants' feeds and in the coordinator's: only SUMMARY and
    DESCRIPTION differ between those, so the rest is rendered once and reused. The bytes are
    exactly ``build_feed_icalendar``'s (tested), produced without icalendar's per-character
    folding, which dominates the cost of building feeds through the library.
    """

    def __init__(
        self, people: Mapping[PersonId, Person], program: Program, state: Mapping[str, EventState]
    ) -> None:
        self.people = people
        self.program = program
        self.state = state
        self._rendered: dict[str, _Rendered] = {}

    def _render(self, item: Series | Event) -> _Rendered:
        cached = self._rendered.get(item.uid)
        if cached is not None and cached.item is item:
            return cached
        st = self.state[item.uid]
        stamp = _stamp(st.last_modified.astimezone(UTC)) + "Z"
        duration = timedelta(minutes=item.duration_minutes)
        props: dict[str, str] = {
            "UID": ":" + _escape(_clean(item.uid)),
            "DTSTAMP": ":" + stamp,
            "LAST-MODIFIED": ":" + stamp,
            "SEQUENCE": f":{st.sequence}",
        }
        if isinstance(item, Series):
            tzid = item.timezone
            exp = expand_series(item)
            start = exp.start
            props["RRULE"] = ":" + exp.rule_text
            if exp.exdates:
                props["EXDATE"] = _when_list(exp.exdates, tzid)
            if exp.rdates:
                props["RDATE"] = _when_list(exp.rdates, tzid)
            local = [o.astimezone(start.tzinfo) for o in item.occurrences]
            years = (min(start.year, *(d.year for d in local)), max(start.year, *(d.year for d in local)))
            first = min(item.occurrences)
        else:
            tzid = item.timezone or "UTC"
            start = item.start.astimezone(ZoneInfo(tzid))
            years = (start.year, start.year)
            first = item.start
        props["DTSTART"] = _when(start, tzid)
        props["DTEND"] = _when((start.astimezone(UTC) + duration).astimezone(start.tzinfo), tzid)
        props |= {
            "CLASS": ":PRIVATE",
            "TRANSP": ":OPAQUE",
            "STATUS": ":CONFIRMED",
            "CATEGORIES": ":Mentoring",
        }
        order = _event_order(frozenset([*props, "SUMMARY", "DESCRIPTION"]))
        if order[0] != "SUMMARY":  # the assembly in ``feed`` relies on it
            raise AssertionError(f"icalendar's VEVENT property order changed: {order}")
        cut = order.index("DESCRIPTION")
        before = _lines((k, props[k]) for k in order[1:cut])
        after = _lines((k, props[k]) for k in order[cut + 1 :])
        rendered = _Rendered(item, first, before, after, tzid, years)
        self._rendered[item.uid] = rendered
        return rendered

    def feed(self, owner: Person | None, series: Iterable[Series], events: Iterable[Event]) -> bytes:
        """The bytes of ``owner``'s feed (None: the coordinator's), as ``build_feed`` documents."""
        items = select_items(owner.id if owner else None, series, events)
        rendered = [self._render(item) for item in items]
        rendered.sort(key=lambda r: (r.first_start, r.item.uid))
        name, about = _calendar_texts(owner, self.program)
        texts = {"NAME": name, "X-WR-CALNAME": name, "DESCRIPTION": about, "X-WR-CALDESC": about}
        parts = ["BEGIN:VCALENDAR\r\n"]
        for prop, line in _head_template(self.program.feeds.refresh_minutes):
            if line is None:
                line = _fold(f"{prop}:{_escape(_clean(texts[prop]))}") + "\r\n"
            parts.append(line)
        years: dict[str, tuple[int, int]] = {}
        for r in rendered:
            if zone_in_feed(r.tzid):
                _widen(years, r.tzid, *r.years)
        body = ["".join(parts).encode("utf-8")]
        for tzid in sorted(years):
            lo, hi = years[tzid]
            body.append(_vtimezone_bytes(tzid, lo - 1, hi + 1))
        for r in rendered:
            summary, description = _texts(r.item, owner, self.people, self.program)
            body.append(
                (
                    "BEGIN:VEVENT\r\n"
                    + _fold("SUMMARY:" + _escape(_clean(summary)))
                    + "\r\n"
                    + r.before
                    + _fold("DESCRIPTION:" + _escape(_clean(description)))
                    + "\r\n"
                    + r.after
                    + "END:VEVENT\r\n"
                ).encode("utf-8")
            )
        body.append(b"END:VCALENDAR\r\n")
        return b"".join(body)


def build_feed(
    owner: Person | None,
    series: Iterable[Series],
    events: Iterable[Event],
    people: Mapping[PersonId, Person],
    program: Program,
    state: Mapping[str, EventState],
) -> bytes:
    """The iCalendar bytes of ``owner``'s feed (``None``: the coordinator's feed with everything).

    ``state`` must hold an ``EventState`` for every UID the feed contains (``KeyError`` if not):
    it supplies SEQUENCE, DTSTAMP and LAST-MODIFIED so that the bytes never depend on the clock.
    To build many feeds of one schedule, use one ``FeedWriter`` (it renders shared parts once).
    """
    return FeedWriter(people, program, state).feed(owner, series, events)
