"""The one codec between schedule values and their text forms: ``Series`` and ``Event`` <-> dict,
``Recurrence`` <-> RRULE text, and the date-time text conventions.

Two dict forms of a series, from one function: the *record* (lossless: what the store and the
history of run records keep; a DST fall-back's second wall time keeps a ``|1`` suffix) and the
*contract* form of ``schedule.json`` (``docs/interface.md`` §4: sorted exdates, UTC occurrences to the
second, no sequence). RRULE text is rendered here for writers; ``parse_rrule`` reads back only the
text this module wrote into stored records.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from cohort.errors import StoreError
from scheduler.model import WEEKDAY_CODES, Event, Recurrence, Series

# --------------------------------------------------------------------------- RRULE text


def rrule_parts(rule: Recurrence) -> dict[str, str]:
    """The RRULE's parts in the order the writers render them (FREQ, INTERVAL when not 1, BYDAY,
    WKST, COUNT, UNTIL)."""
    parts = {"FREQ": rule.freq}
    if rule.interval != 1:
        parts["INTERVAL"] = str(rule.interval)
    if rule.byday:
        parts["BYDAY"] = ",".join(f"{n or ''}{WEEKDAY_CODES[wd]}" for n, wd in rule.byday)
    if rule.wkst is not None:
        parts["WKST"] = WEEKDAY_CODES[rule.wkst]
    if rule.count is not None:
        parts["COUNT"] = str(rule.count)
    if rule.until is not None:
        parts["UNTIL"] = _until_text(rule.until)
    return parts


def rrule_text(rule: Recurrence) -> str:
    """The RFC 5545 RRULE value, e.g. ``FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;WKST=MO;UNTIL=20270730T225959Z``."""
    return ";".join(f"{k}={v}" for k, v in rrule_parts(rule).items())


def _until_text(until: datetime | date) -> str:
    if isinstance(until, datetime):
        if until.tzinfo is not None:
            return until.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        return until.strftime("%Y%m%dT%H%M%S")
    return until.strftime("%Y%m%d")


def parse_rrule(text: str) -> Recurrence:
    """The ``Recurrence`` of an RRULE value this codec wrote (stored records, test fixtures)."""
    parts: dict[str, str] = {}
    for chunk in text.removeprefix("RRULE:").split(";"):
        if "=" in chunk:
            key, value = chunk.split("=", 1)
            parts[key.strip().upper()] = value.strip().upper()
    byday = []
    for code in filter(None, parts.get("BYDAY", "").split(",")):
        byday.append((int(code[:-2] or 0), WEEKDAY_CODES.index(code[-2:])))
    until: datetime | date | None = None
    if "UNTIL" in parts:
        value = parts["UNTIL"]
        if "T" not in value:
            until = date(int(value[:4]), int(value[4:6]), int(value[6:8]))
        else:
            until = datetime.strptime(value.removesuffix("Z"), "%Y%m%dT%H%M%S")
            if value.endswith("Z"):
                until = until.replace(tzinfo=UTC)
    return Recurrence(
        freq=parts.get("FREQ", "WEEKLY"),
        interval=int(parts.get("INTERVAL", "1")),
        byday=tuple(byday),
        wkst=WEEKDAY_CODES.index(parts["WKST"]) if "WKST" in parts else None,
        count=int(parts["COUNT"]) if "COUNT" in parts else None,
        until=until,
    )


# --------------------------------------------------------------------------- date-times


def utc_text(value: datetime, what: str) -> str:
    """An aware instant as ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``; a naive one breaks the convention."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise StoreError(f"{what}: {value.isoformat()} has no time zone; instants must be aware (UTC)")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


def utc_value(text: str) -> datetime:
    return datetime.fromisoformat(text.removesuffix("Z")).replace(tzinfo=UTC)


def local_text(value: datetime, what: str) -> str:
    """A naive local date-time as ISO text; ``fold=1`` (the second 01:30 of a DST fall-back) is
    kept as a ``|1`` suffix, since ISO text cannot say which of the two it is."""
    if value.tzinfo is not None:
        raise StoreError(f"{what}: {value.isoformat()} must be naive local time (no tzinfo)")
    text = value.isoformat()
    return text + "|1" if value.fold else text


def local_value(text: str) -> datetime:
    if text.endswith("|1"):
        return datetime.fromisoformat(text[:-2]).replace(fold=1)
    return datetime.fromisoformat(text)


def _utc_second(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- series and events


def _circle_keys(item: Series | Event) -> dict[str, Any]:
    """``circle_id`` and ``member_ids`` of a circle's meeting; nothing for a pair's (so pairs'
    records and ``schedule.json`` are as they always were)."""
    if not item.circle_id:
        return {}
    return {"circle_id": item.circle_id, "member_ids": list(item.member_ids)}


def series_to_dict(s: Series, *, contract: bool = False) -> dict[str, Any]:
    """A series as a record (lossless), or with ``contract=True`` as ``schedule.json`` holds it.

    A circle's series (``circle_id`` set) also carries ``circle_id`` and ``member_ids``; in the
    contract form its ``mentor_id`` is the circle's mentor or null and ``mentee_id`` is null."""
    if contract:
        return _circle_keys(s) | {
            "mentor_id": (s.mentor_id or None) if s.circle_id else s.mentor_id,
            "mentee_id": None if s.circle_id else s.mentee_id,
            "uid": s.uid,
            "timezone": s.timezone,
            "dtstart": s.dtstart.isoformat(timespec="seconds"),
            "duration_minutes": s.duration_minutes,
            "rrule": rrule_text(s.recurrence),
            "exdates": [x.isoformat(timespec="seconds") for x in sorted(s.exdates)],
            "occurrences": [_utc_second(t) for t in sorted(s.occurrences)],
            "cadence": s.cadence,
            "agenda": s.agenda,
        }
    return {
        "mentor_id": s.mentor_id,
        "mentee_id": s.mentee_id,
        "uid": s.uid,
        "timezone": s.timezone,
        "dtstart": local_text(s.dtstart, f"series {s.uid} dtstart"),
        "duration_minutes": s.duration_minutes,
        "rrule": rrule_text(s.recurrence),
        "exdates": [local_text(d, f"series {s.uid} exdate") for d in s.exdates],
        "occurrences": [utc_text(d, f"series {s.uid} occurrence") for d in s.occurrences],
        "cadence": s.cadence,
        "agenda": s.agenda,
        "sequence": s.sequence,
    } | _circle_keys(s)


def series_from_dict(d: Mapping[str, Any]) -> Series:
    """The series of a record written by ``series_to_dict``."""
    return Series(
        d["mentor_id"],
        d["mentee_id"],
        d["uid"],
        d["timezone"],
        local_value(d["dtstart"]),
        d["duration_minutes"],
        parse_rrule(d["rrule"]),
        tuple(local_value(x) for x in d["exdates"]),
        tuple(utc_value(x) for x in d["occurrences"]),
        d["cadence"],
        d["agenda"],
        d["sequence"],
        d.get("circle_id", ""),
        tuple(d.get("member_ids", ())),
    )


def event_to_dict(e: Event, *, contract: bool = False) -> dict[str, Any]:
    """An event as a record (lossless), or with ``contract=True`` as ``schedule.json`` holds it
    (a circle's milestone as in ``series_to_dict``)."""
    if contract:
        return _circle_keys(e) | {
            "mentor_id": (e.mentor_id or None) if e.circle_id else e.mentor_id,
            "mentee_id": None if e.circle_id else e.mentee_id,
            "uid": e.uid,
            "kind": e.kind,
            "start": _utc_second(e.start),
            "duration_minutes": e.duration_minutes,
            "timezone": e.timezone,
            "agenda": e.agenda,
        }
    return {
        "mentor_id": e.mentor_id,
        "mentee_id": e.mentee_id,
        "uid": e.uid,
        "kind": e.kind,
        "start": utc_text(e.start, f"event {e.uid} start"),
        "duration_minutes": e.duration_minutes,
        "timezone": e.timezone,
        "agenda": e.agenda,
        "sequence": e.sequence,
    } | _circle_keys(e)


def event_from_dict(d: Mapping[str, Any]) -> Event:
    """The event of a record written by ``event_to_dict``."""
    return Event(
        d["mentor_id"],
        d["mentee_id"],
        d["uid"],
        d["kind"],
        utc_value(d["start"]),
        d["duration_minutes"],
        d["timezone"],
        d["agenda"],
        d["sequence"],
        d.get("circle_id", ""),
        tuple(d.get("member_ids", ())),
    )
