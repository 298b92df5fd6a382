"""iTIP invitations (RFC 5546) for people on ``calendar = invite``.

One calendar object per message and per UID (a series or a milestone): Outlook acts on a single
``text/calendar`` part per message and Google on the first, and iTIP itself expects one UID per
scheduling message, so one invitation per message is what both handle reliably.

The VEVENT is the feed's own (``scheduler.calendar``'s builder, the reference the fast feed writer
is tested against): same UID, DTSTART, RRULE, EXDATE/RDATE, VTIMEZONE and SEQUENCE as the feed
would hold, plus ORGANIZER (the coordinator, ``[email] from``) and the person alone as ATTENDEE.
A cancellation repeats the last invitation's VEVENT with STATUS:CANCELLED and SEQUENCE + 1.
"""

from __future__ import annotations

from collections.abc import Mapping

from icalendar import Calendar, vCalAddress, vText

from cohort.model import Person, PersonId
from cohort.program import Program

# The feed's VEVENT builder and VTIMEZONE writer: invitations never build events a second way.
from scheduler.calendar import PRODID, EventState, vevent, vtimezone, zone_in_feed
from scheduler.model import Event, Series


def _organizer(program: Program) -> vCalAddress:
    org = vCalAddress(f"mailto:{program.email.sender}")
    org.params["CN"] = vText(program.program.name)
    return org


def _attendee(person: Person) -> vCalAddress:
    att = vCalAddress(f"mailto:{person.email}")
    att.params["CN"] = vText(person.name)
    att.params["CUTYPE"] = vText("INDIVIDUAL")
    att.params["ROLE"] = vText("REQ-PARTICIPANT")
    att.params["PARTSTAT"] = vText("NEEDS-ACTION")
    att.params["RSVP"] = vText("TRUE")
    return att


def _calendar(method: str) -> Calendar:
    cal = Calendar()
    cal.add("PRODID", PRODID)
    cal.add("VERSION", "2.0")
    cal.add("CALSCALE", "GREGORIAN")
    cal.add("METHOD", method)
    return cal


def request(
    item: Series | Event,
    person: Person,
    people: Mapping[PersonId, Person],
    program: Program,
    state: EventState,
) -> bytes:
    """``METHOD:REQUEST`` for ``item`` as ``person`` sees it in their feed."""
    ev, tzid, span = vevent(item, person, people, program, state)
    ev.add("ORGANIZER", _organizer(program))
    ev.add("ATTENDEE", _attendee(person))
    cal = _calendar("REQUEST")
    if zone_in_feed(tzid):
        cal.add_component(vtimezone(tzid, min(d.year for d in span) - 1, max(d.year for d in span) + 1))
    cal.add_component(ev)
    return cal.to_ical()


def cancel(previous: bytes, sequence: int) -> bytes:
    """``METHOD:CANCEL`` of the invitation ``previous`` (its calendar bytes), at ``sequence``."""
    old = Calendar.from_ical(previous)
    cal = _calendar("CANCEL")
    for component in old.subcomponents:
        if component.name == "VEVENT":
            for key in ("SEQUENCE", "STATUS"):
                component.pop(key, None)
            component.add("SEQUENCE", sequence)
            component.add("STATUS", "CANCELLED")
        cal.add_component(component)
    return cal.to_ical()


def method_of(ics: bytes) -> str:
    return str(Calendar.from_ical(ics).get("METHOD", ""))
