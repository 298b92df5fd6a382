"""Weekly availability cells: ``Mon 09:00-12:00; Tue,Thu 16:00-18:30; Fri 22:00-24:00``.

Parsed into sorted, merged, half-open week-minute intervals (minutes since Monday 00:00 in the
person's own local time). Accepted: ``-``, en and em dashes and ``to`` between times, day ranges
(``Mon-Fri``), day lists (``Tue,Thu``), full and short day names, ``weekdays``/``weekends``,
``9:00`` or ``09:00``, explicit ``9am-5pm``, and ``24:00`` as an end. Rejected with a hint:
hours past 24, an end not after its start, bare ``9-5`` (am or pm?), and cells Excel turned into
dates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, time
from functools import lru_cache

from cohort.model import DAY_NAMES, MINUTES_PER_DAY, WeekInterval

_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_ALIASES = {"weds": 2, "thur": 3, "thurs": 3, "tues": 1}
_DAY_GROUPS = {
    "weekdays": tuple(range(5)),
    "weekday": tuple(range(5)),
    "weekends": (5, 6),
    "weekend": (5, 6),
    "daily": tuple(range(7)),
    "everyday": tuple(range(7)),
    "every day": tuple(range(7)),
}
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DASH = r"\s*(?:-|–|—|\bto\b)\s*"
_TIME = r"(?P<{0}h>\d{{1,2}})(?:[:.h](?P<{0}m>\d{{2}}))?\s*(?P<{0}ap>[ap]\.?m\.?)?"
_RANGE_RE = re.compile(_TIME.format("s") + _DASH + _TIME.format("e") + r"$", re.IGNORECASE)
_SEGMENT_RE = re.compile(r"^(?P<days>[^\d]+?)\s*:?\s+(?P<times>\d.*)$")
_DATE_SHAPES = (
    re.compile(r"^\d{4}-\d{1,2}-\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$"),
    re.compile(r"^\d{1,2}[-/ ](?:" + "|".join(_MONTHS) + r")[a-z]*(?:[-/ ]\d{2,4})?$", re.IGNORECASE),
    re.compile(r"^(?:" + "|".join(_MONTHS) + r")[a-z]*[-/ ]\d{1,4}$", re.IGNORECASE),
    re.compile(r"^\d{1,2}/\d{1,2}/\d{2,4}(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?$"),
)
EXCEL_DATE_HINT = (
    "Excel turned this cell into a date: format the column as Text and type the windows again, "
    "e.g. 'Mon 09:00-11:00'"
)


class AvailabilityError(ValueError):
    """A malformed availability cell: ``message`` says what, ``hint`` what would be right."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


def merge_intervals(intervals: Iterable[WeekInterval]) -> tuple[WeekInterval, ...]:
    """Sort and merge overlapping or touching half-open intervals; drop empty ones."""
    merged: list[list[int]] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple((s, e) for s, e in merged)


def _day(token: str) -> int:
    word = token.strip().rstrip(".").casefold()
    if word in _DAY_ALIASES:
        return _DAY_ALIASES[word]
    if len(word) >= 2:
        hits = [i for i, full in enumerate(_FULL_DAYS) if full.startswith(word)]
        if len(hits) == 1:
            return hits[0]
    raise AvailabilityError(f"'{token.strip()}' is not a day", "Mon, Tue, ... Sun or full day names")


def parse_days(text: str) -> tuple[int, ...]:
    """``Mon-Fri``, ``Tue,Thu``, ``Monday`` or ``weekdays`` -> day indexes (Mon = 0)."""
    days: list[int] = []
    for item in re.split(r"\s*[,&/]\s*|\s+and\s+", text.strip()):
        if not item:
            continue
        group = _DAY_GROUPS.get(" ".join(item.split()).casefold())
        if group:
            days.extend(group)
            continue
        ends = re.split(r"\s*(?:-|–|—|\bto\b)\s*", item)
        if len(ends) == 1:
            days.append(_day(ends[0]))
        elif len(ends) == 2:
            first, last = _day(ends[0]), _day(ends[1])
            span = (last - first) % 7  # Fri-Mon wraps over the weekend
            days.extend((first + k) % 7 for k in range(span + 1))
        else:
            raise AvailabilityError(f"'{item}' is not a day range", "write a range like 'Mon-Fri'")
    if not days:
        raise AvailabilityError("no day given", "start each window with days, e.g. 'Mon-Fri 09:00-17:00'")
    return tuple(dict.fromkeys(days))


def _minutes(hour: str, minute: str | None, ampm: str | None) -> int:
    h, m = int(hour), int(minute or 0)
    if m >= 60:
        raise AvailabilityError(f"'{hour}:{minute}' has more than 59 minutes", "write times as HH:MM")
    if ampm:
        if not 1 <= h <= 12:
            raise AvailabilityError(
                f"'{hour}{ampm}' is not a 12-hour time", "use 1-12 with am/pm, or 24-hour HH:MM"
            )
        h = h % 12 + (12 if ampm[0].lower() == "p" else 0)
    elif h > 24 or (h == 24 and m):
        raise AvailabilityError(
            f"'{hour}:{minute or '00'}' is not a time of day", "hours go from 00:00 to 24:00"
        )
    return h * 60 + m


def _fmt(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_time_range(text: str) -> tuple[int, int]:
    """``09:00-17:00``, ``9am-5pm``, ``22:00–24:00`` -> minutes since local midnight, half-open."""
    match = _RANGE_RE.match(text.strip())
    if not match:
        raise AvailabilityError(f"'{text.strip()}' is not a time range", "write it like 09:00-17:00")
    s_ap, e_ap = match["sap"], match["eap"]
    if match["sm"] is None and match["em"] is None and not s_ap and not e_ap:
        start_h, end_h = int(match["sh"]), int(match["eh"])
        if end_h <= start_h and end_h + 12 <= 24:
            guess = f"{start_h:02d}:00-{end_h + 12:02d}:00"
        else:
            guess = f"{start_h:02d}:00-{end_h:02d}:00"
        raise AvailabilityError(
            f"'{text.strip()}' is ambiguous (am or pm? 24-hour?)",
            f"write minutes in 24-hour time, e.g. {guess}",
        )
    if e_ap and not s_ap:
        # "9-11am" and "11-2pm": the start borrows the end's half of the day when that makes sense.
        start = _minutes(match["sh"], match["sm"], e_ap)
        end = _minutes(match["eh"], match["em"], e_ap)
        if start >= end:
            start = _minutes(match["sh"], match["sm"], "am")
    else:
        start = _minutes(match["sh"], match["sm"], s_ap)
        end = _minutes(match["eh"], match["em"], e_ap)
    if e_ap and end == 0:
        end = MINUTES_PER_DAY  # "10pm-12am" ends at midnight
    if start >= MINUTES_PER_DAY:
        raise AvailabilityError(
            "24:00 is only allowed as an end", "a window starting at midnight starts at 00:00"
        )
    if end <= start:
        raise AvailabilityError(
            f"end {_fmt(end)} is not after start {_fmt(start)}",
            "a window past midnight is two windows, e.g. 'Fri 22:00-24:00; Sat 00:00-02:00'"
            if end < start
            else "give a window of at least a few minutes",
        )
    return start, end


def looks_like_date(text: str) -> bool:
    """Whether a cell looks like what Excel makes of ``9-11`` or ``Sep 11`` (a date)."""
    return any(shape.match(text.strip()) for shape in _DATE_SHAPES)


@lru_cache(maxsize=65536)
def parse_segment(segment: str) -> tuple[WeekInterval, ...]:
    """One ``;``-separated piece: days, then one or more time ranges separated by commas."""
    text = " ".join(segment.split())
    match = _SEGMENT_RE.match(text)
    if not match:
        if looks_like_date(text):
            raise AvailabilityError(f"'{text}' looks like a date", EXCEL_DATE_HINT)
        if re.match(r"^\d", text):
            raise AvailabilityError(f"'{text}' has no day", "start with days, e.g. 'Mon-Fri 09:00-17:00'")
        raise AvailabilityError(f"'{text}' has no time range", "add times, e.g. 'Mon 09:00-12:00'")
    days = parse_days(match["days"])
    out: list[WeekInterval] = []
    for piece in re.split(r"\s*,\s*|\s+and\s+|\s+(?=\d{1,2}(?::\d{2})?\s*[-–—])", match["times"]):
        if not piece:
            continue
        start, end = parse_time_range(piece)
        out.extend((d * MINUTES_PER_DAY + start, d * MINUTES_PER_DAY + end) for d in days)
    return tuple(out)


@lru_cache(maxsize=65536)
def parse_availability(cell: str) -> tuple[WeekInterval, ...]:
    """Parse a whole availability cell into sorted, merged week-minute intervals.

    Raises ``AvailabilityError`` on the first malformed piece; an empty result is returned as
    ``()`` (the caller decides whether that is an error).
    """
    text = cell.strip()
    if looks_like_date(text):
        raise AvailabilityError(f"'{text}' looks like a date", EXCEL_DATE_HINT)
    intervals: list[WeekInterval] = []
    for segment in re.split(r"[;\n]", text):
        if segment.strip():
            intervals.extend(parse_segment(segment.strip()))
    return merge_intervals(intervals)


def excel_value_error(value: object) -> AvailabilityError | None:
    """The error for a spreadsheet cell that is not text (Excel's date/time auto-conversion)."""
    if isinstance(value, (datetime, date)):
        return AvailabilityError(f"the cell holds the date {value:%Y-%m-%d}", EXCEL_DATE_HINT)
    if isinstance(value, time):
        return AvailabilityError(
            f"the cell holds only the time {value:%H:%M}",
            "Excel turned this cell into a time: format the column as Text and "
            "write days and a range, e.g. 'Mon 09:00-11:00'",
        )
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return AvailabilityError(
            f"the cell holds the number {value}",
            "write days and a range, e.g. 'Mon 09:00-11:00' (format the column as Text)",
        )
    return None


def format_availability(intervals: Iterable[WeekInterval]) -> str:
    """The canonical cell text for intervals; ``parse_availability`` reads it back unchanged."""
    per_window: dict[tuple[int, int], list[int]] = {}
    for start, end in merge_intervals(intervals):
        while start < end:
            day, offset = divmod(start, MINUTES_PER_DAY)
            day_end = min(end, (day + 1) * MINUTES_PER_DAY)
            per_window.setdefault((offset, day_end - day * MINUTES_PER_DAY), []).append(day)
            start = day_end
    parts: list[tuple[int, int, str]] = []
    for (start, end), days in per_window.items():
        runs: list[list[int]] = []
        for day in sorted(set(days)):
            if runs and day == runs[-1][1] + 1:
                runs[-1][1] = day
            else:
                runs.append([day, day])
        names = ",".join(
            DAY_NAMES[a] if a == b else f"{DAY_NAMES[a]}{',' if b == a + 1 else '-'}{DAY_NAMES[b]}"
            for a, b in runs
        )
        parts.append((min(days), start, f"{names} {_fmt(start)}-{_fmt(end)}"))
    return "; ".join(text for _, _, text in sorted(parts))
