"""IANA time zone checks and suggestions for what spreadsheets really contain.

People type what their calendar app shows them: ``EST``, ``Pacific Standard Time`` (a Windows
name), ``UTC+5:30``. None of these is a place, so none follows the place's daylight-saving rules;
``check_zone`` rejects them and suggests a concrete IANA zone instead.
"""

from __future__ import annotations

import difflib
import re
import zoneinfo
from functools import lru_cache


@lru_cache(maxsize=1)
def available_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def is_valid_zone(name: str) -> bool:
    """Whether ``name`` is an IANA zone known to this machine's tz database."""
    return name in available_zones()


# Abbreviations and legacy names. Some (EST, CET, MST, HST, ...) exist in the tz database for
# backward compatibility, but they are fixed offsets or rules not tied to a place: a New Yorker
# written down as EST would be an hour off all summer.
_ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "est": ("America/New_York",),
    "edt": ("America/New_York",),
    "et": ("America/New_York",),
    "eastern": ("America/New_York",),
    "est5edt": ("America/New_York",),
    "cst": ("America/Chicago", "Asia/Shanghai"),
    "cdt": ("America/Chicago",),
    "ct": ("America/Chicago",),
    "central": ("America/Chicago",),
    "cst6cdt": ("America/Chicago",),
    "mst": ("America/Denver", "America/Phoenix"),
    "mdt": ("America/Denver",),
    "mt": ("America/Denver",),
    "mountain": ("America/Denver",),
    "mst7mdt": ("America/Denver",),
    "pst": ("America/Los_Angeles",),
    "pdt": ("America/Los_Angeles",),
    "pt": ("America/Los_Angeles",),
    "pacific": ("America/Los_Angeles",),
    "pst8pdt": ("America/Los_Angeles",),
    "akst": ("America/Anchorage",),
    "hst": ("Pacific/Honolulu",),
    "ast": ("America/Halifax",),
    "nst": ("America/St_Johns",),
    "bst": ("Europe/London",),
    "wet": ("Europe/Lisbon",),
    "west": ("Europe/Lisbon",),
    "cet": ("Europe/Berlin", "Europe/Paris"),
    "cest": ("Europe/Berlin", "Europe/Paris"),
    "met": ("Europe/Berlin",),
    "eet": ("Europe/Athens", "Europe/Helsinki"),
    "eest": ("Europe/Athens", "Europe/Helsinki"),
    "msk": ("Europe/Moscow",),
    "ist": ("Asia/Kolkata", "Asia/Jerusalem", "Europe/Dublin"),
    "sgt": ("Asia/Singapore",),
    "hkt": ("Asia/Hong_Kong",),
    "jst": ("Asia/Tokyo",),
    "kst": ("Asia/Seoul",),
    "pkt": ("Asia/Karachi",),
    "wib": ("Asia/Jakarta",),
    "aest": ("Australia/Sydney", "Australia/Brisbane"),
    "aedt": ("Australia/Sydney",),
    "acst": ("Australia/Adelaide", "Australia/Darwin"),
    "awst": ("Australia/Perth",),
    "nzst": ("Pacific/Auckland",),
    "nzdt": ("Pacific/Auckland",),
    "brt": ("America/Sao_Paulo",),
    "art": ("America/Argentina/Buenos_Aires",),
    "sast": ("Africa/Johannesburg",),
    "cat": ("Africa/Maputo",),
    "eat": ("Africa/Nairobi",),
    "wat": ("Africa/Lagos",),
}

_AMBIGUOUS_LABELS = {
    "ist": "India, Israel or Ireland",
    "cst": "US Central or China",
    "mst": "US Mountain with or without daylight saving",
    "cet": "any Central European country",
    "cest": "any Central European country",
    "eet": "any Eastern European country",
    "eest": "any Eastern European country",
    "aest": "New South Wales/Victoria or Queensland",
    "acst": "South Australia or Northern Territory",
}

# Windows time zone ids (what Outlook and Windows exports write), per the CLDR mapping.
_WINDOWS: dict[str, str] = {
    "dateline standard time": "Etc/GMT+12",
    "hawaiian standard time": "Pacific/Honolulu",
    "alaskan standard time": "America/Anchorage",
    "pacific standard time": "America/Los_Angeles",
    "pacific standard time (mexico)": "America/Tijuana",
    "us mountain standard time": "America/Phoenix",
    "mountain standard time": "America/Denver",
    "central america standard time": "America/Guatemala",
    "central standard time": "America/Chicago",
    "central standard time (mexico)": "America/Mexico_City",
    "canada central standard time": "America/Regina",
    "sa pacific standard time": "America/Bogota",
    "eastern standard time": "America/New_York",
    "us eastern standard time": "America/Indiana/Indianapolis",
    "atlantic standard time": "America/Halifax",
    "venezuela standard time": "America/Caracas",
    "pacific sa standard time": "America/Santiago",
    "newfoundland standard time": "America/St_Johns",
    "e. south america standard time": "America/Sao_Paulo",
    "argentina standard time": "America/Argentina/Buenos_Aires",
    "sa eastern standard time": "America/Cayenne",
    "utc": "UTC",
    "coordinated universal time": "UTC",
    "gmt standard time": "Europe/London",
    "greenwich standard time": "Atlantic/Reykjavik",
    "w. europe standard time": "Europe/Berlin",
    "central europe standard time": "Europe/Budapest",
    "romance standard time": "Europe/Paris",
    "central european standard time": "Europe/Warsaw",
    "w. central africa standard time": "Africa/Lagos",
    "gtb standard time": "Europe/Bucharest",
    "e. europe standard time": "Europe/Chisinau",
    "egypt standard time": "Africa/Cairo",
    "south africa standard time": "Africa/Johannesburg",
    "fle standard time": "Europe/Kyiv",
    "israel standard time": "Asia/Jerusalem",
    "turkey standard time": "Europe/Istanbul",
    "arab standard time": "Asia/Riyadh",
    "russian standard time": "Europe/Moscow",
    "e. africa standard time": "Africa/Nairobi",
    "iran standard time": "Asia/Tehran",
    "arabian standard time": "Asia/Dubai",
    "afghanistan standard time": "Asia/Kabul",
    "pakistan standard time": "Asia/Karachi",
    "india standard time": "Asia/Kolkata",
    "sri lanka standard time": "Asia/Colombo",
    "nepal standard time": "Asia/Kathmandu",
    "bangladesh standard time": "Asia/Dhaka",
    "myanmar standard time": "Asia/Yangon",
    "se asia standard time": "Asia/Bangkok",
    "china standard time": "Asia/Shanghai",
    "singapore standard time": "Asia/Singapore",
    "taipei standard time": "Asia/Taipei",
    "w. australia standard time": "Australia/Perth",
    "tokyo standard time": "Asia/Tokyo",
    "korea standard time": "Asia/Seoul",
    "cen. australia standard time": "Australia/Adelaide",
    "aus central standard time": "Australia/Darwin",
    "e. australia standard time": "Australia/Brisbane",
    "aus eastern standard time": "Australia/Sydney",
    "tasmania standard time": "Australia/Hobart",
    "new zealand standard time": "Pacific/Auckland",
}

# Spoken names ("Pacific Time", "Central European Time") and their daylight variants.
_SPOKEN: dict[str, str] = {
    "eastern time": "America/New_York",
    "central time": "America/Chicago",
    "mountain time": "America/Denver",
    "pacific time": "America/Los_Angeles",
    "central european time": "Europe/Berlin",
    "central european summer time": "Europe/Berlin",
    "british summer time": "Europe/London",
    "greenwich mean time": "Europe/London",
    "eastern european time": "Europe/Athens",
    "western european time": "Europe/Lisbon",
    "brasilia time": "America/Sao_Paulo",
    "brasília time": "America/Sao_Paulo",
    "australian eastern time": "Australia/Sydney",
    "singapore time": "Asia/Singapore",
    "japan standard time": "Asia/Tokyo",
}

# A representative place for each UTC offset (minutes), for "UTC+5:30"-style cells.
_OFFSET_PLACES: dict[int, str] = {
    -600: "Pacific/Honolulu",
    -540: "America/Anchorage",
    -480: "America/Los_Angeles",
    -420: "America/Denver",
    -360: "America/Chicago",
    -300: "America/New_York",
    -240: "America/Halifax",
    -210: "America/St_Johns",
    -180: "America/Sao_Paulo",
    -120: "America/Noronha",
    -60: "Atlantic/Azores",
    0: "Europe/London",
    60: "Europe/Berlin",
    120: "Europe/Athens",
    180: "Europe/Moscow",
    210: "Asia/Tehran",
    240: "Asia/Dubai",
    270: "Asia/Kabul",
    300: "Asia/Karachi",
    330: "Asia/Kolkata",
    345: "Asia/Kathmandu",
    360: "Asia/Dhaka",
    390: "Asia/Yangon",
    420: "Asia/Bangkok",
    480: "Asia/Singapore",
    525: "Australia/Eucla",
    540: "Asia/Tokyo",
    570: "Australia/Adelaide",
    600: "Australia/Sydney",
    630: "Australia/Lord_Howe",
    660: "Pacific/Noumea",
    720: "Pacific/Auckland",
    765: "Pacific/Chatham",
    780: "Pacific/Tongatapu",
    840: "Pacific/Kiritimati",
}

_OFFSET_RE = re.compile(
    r"^(?:(?:utc|gmt|z)\s*)?(?P<sign>[+\-−])\s*(?P<h>\d{1,2})(?::?(?P<m>\d{2}))?(?:\s*h(?:ours?)?)?$"
)


def _quote_all(zones: tuple[str, ...]) -> str:
    quoted = [f"'{z}'" for z in zones]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def _offset_hint(offset: int) -> str:
    sign = "+" if offset >= 0 else "-"
    hours, minutes = divmod(abs(offset), 60)
    label = f"UTC{sign}{hours}" + (f":{minutes:02d}" if minutes else "")
    place = _OFFSET_PLACES.get(offset)
    parts = []
    if place:
        parts.append(f"use the place's zone, e.g. '{place}' for {label}, so daylight saving is followed")
    else:
        parts.append("use the IANA zone of the person's city, so daylight saving is followed")
    if minutes == 0 and -12 <= (offset // 60) <= 14:
        posix = f"Etc/GMT{'-' if offset > 0 else '+'}{hours}" if hours else "Etc/UTC"
        parts.append(
            f"or, for a fixed offset with no daylight saving, '{posix}' "
            f"(the sign is inverted in Etc/ names: '{posix}' is {label})"
        )
    return "; ".join(parts)


@lru_cache(maxsize=4096)
def check_zone(name: str) -> tuple[str, str | None] | None:
    """Why ``name`` is not acceptable as a participant's zone, as ``(message, hint)``; None if fine.

    Accepts IANA place names and ``UTC``/``Etc/...`` zones; rejects typos, abbreviations,
    Windows names and bare offsets, each with a concrete suggestion.
    """
    text = name.strip()
    if not text:
        return ("empty time zone", "an IANA name like 'Europe/London'")
    key = " ".join(text.split()).casefold()
    if is_valid_zone(text) and key not in _ABBREVIATIONS:
        return None
    if key in _ABBREVIATIONS:
        zones = _ABBREVIATIONS[key]
        if key in _AMBIGUOUS_LABELS:
            return (
                f"'{text}' is an ambiguous abbreviation ({_AMBIGUOUS_LABELS[key]}), not an IANA zone",
                f"use the place's zone: {_quote_all(zones)}",
            )
        return (
            f"'{text}' is an abbreviation, not an IANA zone; it does not follow daylight saving "
            "the way the place does",
            f"did you mean '{zones[0]}'?",
        )
    folded = {z.casefold(): z for z in available_zones()}
    if key.replace(" ", "_") in folded:
        return (
            f"unknown time zone '{text}' (names are case-sensitive)",
            f"did you mean '{folded[key.replace(' ', '_')]}'?",
        )
    if key in _WINDOWS or key in _SPOKEN:
        zone = _WINDOWS.get(key) or _SPOKEN[key]
        kind = "a Windows time zone name" if key in _WINDOWS else "a spoken name"
        return (f"'{text}' is {kind}, not an IANA zone", f"did you mean '{zone}'?")
    if key.endswith(" daylight time") and key.replace("daylight", "standard") in _WINDOWS:
        zone = _WINDOWS[key.replace("daylight", "standard")]
        return (f"'{text}' is a Windows-style name, not an IANA zone", f"did you mean '{zone}'?")
    match = _OFFSET_RE.match(key.replace(" ", ""))
    if match:
        sign = -1 if match["sign"] in "-−" else 1
        offset = sign * (int(match["h"]) * 60 + int(match["m"] or 0))
        return (
            f"'{text}' is a UTC offset, not a time zone: offsets change with daylight saving",
            _offset_hint(offset),
        )
    return (f"unknown time zone '{text}'", _typo_hint(text))


def _typo_hint(text: str) -> str:
    zones = sorted(available_zones())
    folded = {z.casefold(): z for z in zones}
    spaced = text.strip().replace(" ", "_")
    if spaced.casefold() in folded:
        return f"did you mean '{folded[spaced.casefold()]}'?"
    # A bare city ("Kolkata", "new york"): compare with the last component of every zone.
    cities: dict[str, list[str]] = {}
    for zone in zones:
        if "/" in zone and not zone.startswith(("Etc/", "SystemV/", "US/", "posix/", "right/")):
            cities.setdefault(zone.rsplit("/", 1)[1].casefold(), []).append(zone)
    city = spaced.rsplit("/", 1)[-1].casefold()
    if city in cities:
        return f"did you mean {_quote_all(tuple(cities[city][:3]))}?"
    close = difflib.get_close_matches(spaced.casefold(), list(folded), n=1, cutoff=0.75)
    if close:
        return f"did you mean '{folded[close[0]]}'?"
    close = difflib.get_close_matches(city, list(cities), n=1, cutoff=0.75)
    if close:
        return f"did you mean '{cities[close[0]][0]}'?"
    return "an IANA name like 'Europe/London' or 'America/Sao_Paulo'"
