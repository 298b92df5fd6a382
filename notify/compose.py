"""Who is told what: one notice per person who has something new, and their invitations.

Pure: from the cycle's plan (``Facts``) and what each person was last told (``Told``, read from
the outbox) to the messages to queue. What a person is told is kept as a small *state* (their
partners with the slot and its words in their time zone, or the reason they have none); the next
notice compares the new state with it:

* nothing told yet: the **introduction** (partners, why, the charter, the first meeting in their
  own time, page and feed URLs), or the honest **unmatched** notice;
* told before: a **change** notice only when a partner ended or is new, or a meeting moved (old and
  new in their own time); a pair continuing at the same weekly slot needs no message. Someone who
  had no partner and now has one gets the introduction.

People on ``calendar = invite`` also get one invitation per series and milestone of their feed
(history included, exactly what the feed would hold): a new UID or a changed one (higher SEQUENCE,
the feed's) is a ``METHOD:REQUEST``; a UID they were invited to that is no longer theirs is a
``METHOD:CANCEL``. A series cut short by a mid-cycle change is re-sent as a REQUEST with its new
end (its past meetings stay in their calendar); its later milestones are cancelled.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from changes.diff import Slot
from changes.wording import when_words
from cohort.model import Cohort, Person, PersonId
from cohort.program import Program
from cohort.text import MONTH_NAMES, WEEKDAY_NAMES
from matcher.model import Pair
from notify import invite
from notify.mime import Draft, Envelope, Renderer, build, content_hash
from scheduler.calendar import KIND_LABELS, EventState
from scheduler.model import Event, Schedule, Series

ANNOUNCEMENTS = ("intro", "unmatched", "change")
CHARTER_KEYS = (
    ("goals", "What the program is for"),
    ("rhythm", "How often you meet"),
    ("confidentiality", "Confidentiality"),
    ("ending", "How it ends"),
)


@dataclass(frozen=True)
class Facts:
    """Everything the notices are made from, for the cycle being announced."""

    program: Program
    cohort: Cohort
    pairs: tuple[Pair, ...]
    unmatched: Mapping[PersonId, str]  # the stored reason, for people without a partner
    schedule: Schedule  # the current cycle
    feed_items: Mapping[PersonId, tuple[Series | Event, ...]]  # what each person's feed would hold
    people: Mapping[PersonId, Person]  # the cohort plus people of history items
    states: Mapping[str, EventState]  # SEQUENCE and fingerprint of every UID (feeds.publish's)
    urls: Mapping[PersonId, tuple[str, str]]  # (page, feed) of people whose address is not revoked
    cycle_start: date
    cycle_last_day: date
    charter: Any = None  # ``program.charter`` when the program has one


@dataclass(frozen=True)
class Sent:
    """One invitation or cancellation a person was sent (the latest for its UID)."""

    row_id: int
    kind: str  # "invite" | "cancel"
    sequence: int
    fingerprint: str
    load_ics: Callable[[], bytes]  # its calendar part (read when a cancellation needs it)


@dataclass(frozen=True)
class Told:
    """What a person was last told: the latest notice's state and invitations per UID."""

    notice_id: int | None = None
    state: Mapping[str, Any] | None = None
    invites: Mapping[str, Sent] = field(default_factory=dict)


@dataclass(frozen=True)
class Outgoing:
    """One message to queue: to whom, what kind, and its bytes (without Date)."""

    person_id: PersonId
    recipient: str
    kind: str  # intro | unmatched | change | invite | cancel
    uid: str | None
    sequence: int | None
    subject: str
    state: Mapping[str, Any]
    body: bytes
    content_hash: str
    message_id: str
    ics: bytes | None = None


# --------------------------------------------------------------------------- words


def local_words(moment: datetime, tz: str) -> str:
    """``Tuesday 2 February 2027, 17:00`` in ``tz``."""
    t = moment.astimezone(ZoneInfo(tz))
    return f"{WEEKDAY_NAMES[t.weekday()]} {t.day} {MONTH_NAMES[t.month - 1]} {t.year}, {t:%H:%M}"


def date_words(d: date) -> str:
    return f"{d.day} {MONTH_NAMES[d.month - 1]} {d.year}"


_AVOID = re.compile(r"(?:;\s*)?avoid list: \d+")


def person_reason(reason: str) -> str:
    """The stored unmatched reason as the person may read it: counts of avoid lists are left out
    (they would tell someone that another person asked not to be paired with them)."""
    text = re.sub(r":\s*;\s*", ": ", _AVOID.sub("", reason))
    return text.strip().rstrip(":;").strip()


def charter_items(charter: Any) -> list[dict[str, str]]:
    """The charter's non-empty entries with their headings (``charter`` may be an object or a dict)."""
    out = []
    for key, heading in CHARTER_KEYS:
        value = charter.get(key) if isinstance(charter, Mapping) else getattr(charter, key, None)
        if isinstance(value, str) and value.strip():
            out.append({"key": key, "heading": heading, "text": value.strip()})
    return out


# --------------------------------------------------------------------------- states


def _pair_series(schedule: Schedule) -> dict[tuple[str, str], Series]:
    return {(s.mentor_id, s.mentee_id): s for s in schedule.series}


def person_state(
    facts: Facts, person: Person, series_of: Mapping[tuple[str, str], Series], pairs: Iterable[Pair]
) -> dict[str, Any]:
    """What ``person`` should know now: partners (slot, words in their zone) or the reason for none.

    ``pairs``: the cycle's pairs that include ``person``."""
    partners: dict[str, Any] = {}
    for pair in pairs:
        other = pair.mentee_id if pair.mentor_id == person.id else pair.mentor_id
        partner = facts.people.get(other)
        series = series_of.get((pair.mentor_id, pair.mentee_id))
        entry = {
            "name": partner.name if partner else other,
            "email": partner.email if partner else "",
            "role": "mentee" if pair.mentor_id == person.id else "mentor",
            "reasons": pair.reasons,
            "slot": "",
            "when": "",
            "first": "",
        }
        if series is not None and series.occurrences:
            entry["slot"] = f"{Slot.of(series).describe()}, {series.duration_minutes} min"
            entry["when"] = when_words(series, person.timezone)
            entry["first"] = local_words(min(series.occurrences), person.timezone)
        partners[other] = entry
    reason = None if partners else facts.unmatched.get(person.id)
    return {"partners": partners, "unmatched": person_reason(reason) if reason else None}


def changes(before: Mapping[str, Any], now: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What changed between two states: ended, new and moved partners (sorted by name)."""
    old, new = before.get("partners", {}), now.get("partners", {})
    out: list[dict[str, Any]] = []
    for pid in sorted(set(old) - set(new), key=lambda p: old[p]["name"]):
        out.append({"change": "ended", **old[pid]})
    for pid in sorted(set(new) - set(old), key=lambda p: new[p]["name"]):
        out.append({"change": "new", **new[pid]})
    for pid in sorted(set(old) & set(new), key=lambda p: new[p]["name"]):
        if old[pid]["slot"] != new[pid]["slot"] or old[pid]["role"] != new[pid]["role"]:
            out.append(
                {
                    "change": "moved",
                    **new[pid],
                    "old_when": old[pid]["when"] or "no meeting time",
                    "old_first": old[pid]["first"],
                }
            )
    return out


def decide(before: Mapping[str, Any] | None, now: Mapping[str, Any]) -> str | None:
    """Which notice (if any) a person gets: ``intro``, ``unmatched``, ``change`` or None."""
    if before is None or (not before.get("partners") and now["partners"]):
        if now["partners"]:
            return "intro"
        return "unmatched" if now["unmatched"] else None
    return "change" if changes(before, now) else None


# --------------------------------------------------------------------------- messages


class Composer:
    """Renders and builds every message of one ``notify`` run."""

    def __init__(self, facts: Facts, renderer: Renderer) -> None:
        self.facts = facts
        self.renderer = renderer
        self.series_of = _pair_series(facts.schedule)
        self.pairs_of: dict[PersonId, list[Pair]] = {}
        for pair in facts.pairs:
            for pid in {pair.mentor_id, pair.mentee_id}:
                self.pairs_of.setdefault(pid, []).append(pair)
        self.events_of: dict[PersonId, list[Event]] = {}
        for e in facts.schedule.events:
            for pid in {e.mentor_id, e.mentee_id}:
                self.events_of.setdefault(pid, []).append(e)
        program = facts.program
        self.sender = program.email.sender
        self.reply_to = program.email.reply_to
        self.base = {
            "program_name": program.program.name,
            "coordinator_email": program.email.reply_to or program.email.sender,
            "cycle_start": date_words(facts.cycle_start),
            "cycle_end": date_words(facts.cycle_last_day),
            "charter": charter_items(facts.charter) if facts.charter is not None else [],
        }

    def _message(
        self,
        person: Person,
        kind: str,
        context: Mapping[str, Any],
        *,
        state: Mapping[str, Any],
        base_id: int | None,
        calendar: _Calendar | None = None,
    ) -> Outgoing:
        subject, text, html = self.renderer.render(
            "invite" if kind in ("invite", "cancel") else kind, {**self.base, **context}
        )
        cal = calendar or _Calendar(None, None, None, None)
        digest = content_hash(
            {
                "to": person.email,
                "kind": kind,
                "uid": cal.uid,
                "sequence": cal.sequence,
                "subject": subject,
                "text": text,
                "html": html,
                "base": base_id,
                "ics": cal.ics.decode() if cal.ics else None,
                "from": self.sender,
            }
        )
        envelope = Envelope(
            self.sender, self.facts.program.program.name, self.reply_to, person.name, person.email
        )
        body, message_id = build(envelope, Draft(kind, subject, text, html, cal.ics, cal.method), digest)
        return Outgoing(
            person.id,
            person.email,
            kind,
            cal.uid,
            cal.sequence,
            subject,
            dict(state),
            body,
            digest,
            message_id,
            cal.ics,
        )

    def _name(self, pid: PersonId) -> str:
        other = self.facts.people.get(pid)
        return other.name if other else pid

    def _person_context(self, person: Person) -> dict[str, Any]:
        urls = self.facts.urls.get(person.id)
        page, feed = urls if urls else ("", "")
        events = self.events_of.get(person.id, [])
        milestones = [
            {
                "label": KIND_LABELS.get(e.kind, e.kind),
                "when": local_words(e.start, person.timezone),
                "with": self._name(e.mentee_id if e.mentor_id == person.id else e.mentor_id),
            }
            for e in sorted(events, key=lambda e: e.start)
        ]
        return {
            "name": person.name,
            "email": person.email,
            "timezone": person.timezone,
            "invite": person.calendar == "invite",
            "page_url": page,
            "feed_url": feed,
            "webcal_url": feed.replace("https://", "webcal://", 1).replace("http://", "webcal://", 1),
            "milestones": milestones,
        }

    def notice(self, person: Person, told: Told) -> Outgoing | None:
        state = person_state(self.facts, person, self.series_of, self.pairs_of.get(person.id, ()))
        kind = decide(told.state, state)
        if kind is None:
            return None
        partners = [
            state["partners"][k]
            for k in sorted(state["partners"], key=lambda k: state["partners"][k]["name"])
        ]
        context = {
            **self._person_context(person),
            "partners": partners,
            "unmatched_reason": state["unmatched"],
            "was_unmatched": told.state is not None,
            "changes": changes(told.state, state) if kind == "change" and told.state else [],
        }
        return self._message(person, kind, context, state=state, base_id=told.notice_id)

    def invitations(self, person: Person, told: Told) -> list[Outgoing]:
        """The invitations ``person`` (on ``calendar = invite``) needs: a REQUEST for each new or
        changed meeting, a CANCEL for each one no longer planned."""
        wanted: list[Series | Event] = []
        if person.calendar == "invite":
            for item in self.facts.feed_items.get(person.id, ()):
                if isinstance(item, Series) and not item.occurrences:
                    continue
                wanted.append(item)
        wanted.sort(key=lambda it: (min(it.occurrences) if isinstance(it, Series) else it.start, it.uid))
        context = self._person_context(person)
        out = [m for item in wanted if (m := self._request(person, told, item, context)) is not None]
        keep = {it.uid for it in wanted}
        for uid in sorted(told.invites):
            last = told.invites[uid]
            if uid not in keep and last.kind == "invite":
                out.append(self._cancel(person, uid, last, context))
        return out

    def _request(
        self, person: Person, told: Told, item: Series | Event, context: Mapping[str, Any]
    ) -> Outgoing | None:
        """``METHOD:REQUEST`` for ``item``, unless the last one sent is still right."""
        facts = self.facts
        st = facts.states[item.uid]
        last = told.invites.get(item.uid)
        if (
            last is not None
            and last.kind == "invite"
            and last.fingerprint == st.fingerprint
            and last.sequence >= st.sequence
        ):
            return None
        if last is not None and st.sequence <= last.sequence:
            st = replace(st, sequence=last.sequence + 1)  # never re-send at a SEQUENCE already used
        ics = invite.request(item, person, facts.people, facts.program, st)
        other = item.mentee_id if item.mentor_id == person.id else item.mentor_id
        partner = facts.people.get(other)
        what = "regular meeting" if isinstance(item, Series) else KIND_LABELS.get(item.kind, item.kind)
        when = (
            when_words(item, person.timezone)
            if isinstance(item, Series)
            else local_words(item.start, person.timezone) + " your time"
        )
        words = {
            "method": "REQUEST",
            "what": what,
            "when": when,
            "updated": last is not None and last.kind == "invite",
            "partner_name": partner.name if partner else other,
        }
        return self._message(
            person,
            "invite",
            {**context, **words},
            state={"uid": item.uid, "sequence": st.sequence, "fingerprint": st.fingerprint},
            base_id=last.row_id if last else None,
            calendar=_Calendar(item.uid, st.sequence, ics, "REQUEST"),
        )

    def _cancel(self, person: Person, uid: str, last: Sent, context: Mapping[str, Any]) -> Outgoing:
        """``METHOD:CANCEL`` of the last invitation for ``uid`` (a meeting no longer planned)."""
        sequence = last.sequence + 1
        previous = last.load_ics()
        words = {
            "method": "CANCEL",
            "what": _summary_of(previous),
            "when": "",
            "updated": False,
            "partner_name": "",
        }
        return self._message(
            person,
            "cancel",
            {**context, **words},
            state={"uid": uid, "sequence": sequence, "fingerprint": last.fingerprint},
            base_id=last.row_id,
            calendar=_Calendar(uid, sequence, invite.cancel(previous, sequence), "CANCEL"),
        )


@dataclass(frozen=True)
class _Calendar:
    """The calendar side of an invitation message: its event's UID and SEQUENCE, the iTIP part."""

    uid: str | None
    sequence: int | None
    ics: bytes | None
    method: str | None


def _summary_of(ics: bytes) -> str:
    from icalendar import Calendar

    for component in Calendar.from_ical(ics).walk("VEVENT"):
        return str(component.get("SUMMARY", "a meeting"))
    return "a meeting"


def compose(
    facts: Facts, told: Mapping[PersonId, Told], renderer: Renderer, only: Iterable[PersonId] | None = None
) -> list[Outgoing]:
    """Every message to queue, person by person in roster order (notice first, then invitations)."""
    composer = Composer(facts, renderer)
    wanted = set(only) if only is not None else None
    out: list[Outgoing] = []
    for person in facts.cohort.people:
        if wanted is not None and person.id not in wanted:
            continue
        mine = told.get(person.id, Told())
        notice = composer.notice(person, mine)
        if notice is not None:
            out.append(notice)
        out += composer.invitations(person, mine)
    return out
