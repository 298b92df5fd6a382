"""Participants files (``.csv``, ``.xlsx``, ``.json``) -> a validated ``Cohort``.

Reading (encodings, delimiters, workbooks, physical line numbers) is ``cohort.tables``'s job;
this module says what a participants table looks like and validates it strictly, reporting every
problem at once with its file, line and column, and undoing spreadsheet typing (numbers where
text was meant, Excel serial dates).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from cohort import limits, tables
from cohort.availability import AvailabilityError, excel_value_error, parse_availability
from cohort.errors import InputError, Problem
from cohort.model import CADENCES, CALENDAR_MODES, FORMATS, ROLES, Cohort, DateRange, Person
from cohort.model import normalise_term as _norm
from cohort.ranks import cross_rank_problems, row_ranks
from cohort.tables import RawTable, TableSpec
from cohort.tables import cell_text as _text
from cohort.timezones import check_zone
from cohort.validate import RowRefs, cross_row_problems

COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "email",
    "role",
    "timezone",
    "availability",
    "goals",
    "expertise",
    "interests",
    "languages",
    "department",
    "manager_id",
    "level",
    "capacity",
    "cadence",
    "avoid",
    "prefer",
    "unavailable",
    "max_meetings_per_week",
    "ranks",
    "calendar",
    "format",
    "introductions",
)
REQUIRED: tuple[str, ...] = ("id", "name", "email", "role", "timezone", "availability")
LIST_COLUMNS = frozenset(
    {"goals", "expertise", "interests", "languages", "avoid", "prefer", "unavailable", "ranks"}
)
_HEADER_ALIASES = {
    "time_zone": "timezone",
    "tz": "timezone",
    "e_mail": "email",
    "email_address": "email",
    "manager": "manager_id",
    "max_meetings": "max_meetings_per_week",
    "language": "languages",
    "goal": "goals",
    "interest": "interests",
    "full_name": "name",
}
_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_EMAIL_RE = re.compile(r'^[^@\s;,<>"()\[\]]+@(?:[^@\s;,<>"()\[\].]+\.)+[^@\s;,<>"()\[\].\d]{2,}$')
_INT_RE = re.compile(r"^[+-]?[0-9]+(?:\.0*)?$")
_ISO_DATE_RE = re.compile(r"^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:[ T]00:00(?::00)?)?$")
# column -> (smallest, largest) accepted; SQLite and the solvers hold these without overflow.
_INT_RANGES = {
    "level": (-limits.MAX_LEVEL, limits.MAX_LEVEL),
    "capacity": (0, limits.MAX_CAPACITY),
    "max_meetings_per_week": (1, limits.MAX_MEETINGS_PER_WEEK),
}
_RANGE_SEP_RE = re.compile(r"\s*(?:\.\.|–|—|\bto\b|\s-\s)\s*")
_EXCEL_EPOCH = date(1899, 12, 30)

PARTICIPANTS = TableSpec(
    "participants", COLUMNS, REQUIRED, _HEADER_ALIASES, row_noun="person", rows_noun="people"
)

# Language names people write -> the ISO 639-1 code the program's `language` key uses, so that
# "English" and the default "en" compare equal.
_LANGUAGE_CODES = {
    "english": "en",
    "spanish": "es",
    "español": "es",
    "espanol": "es",
    "castellano": "es",
    "portuguese": "pt",
    "português": "pt",
    "portugues": "pt",
    "german": "de",
    "deutsch": "de",
    "french": "fr",
    "français": "fr",
    "francais": "fr",
    "italian": "it",
    "italiano": "it",
    "dutch": "nl",
    "nederlands": "nl",
    "hindi": "hi",
    "हिन्दी": "hi",
    "tamil": "ta",
    "bengali": "bn",
    "mandarin": "zh",
    "chinese": "zh",
    "cantonese": "yue",
    "japanese": "ja",
    "korean": "ko",
    "arabic": "ar",
    "russian": "ru",
    "polish": "pl",
    "turkish": "tr",
    "swedish": "sv",
    "indonesian": "id",
    "malay": "ms",
    "vietnamese": "vi",
    "thai": "th",
    "ukrainian": "uk",
    "hebrew": "he",
    "greek": "el",
    "czech": "cs",
    "romanian": "ro",
    "tagalog": "tl",
    "urdu": "ur",
}


def normalise_language(text: str) -> str:
    """``English``, ``en-GB``, ``EN`` -> ``en``; unknown languages are just normalised terms."""
    term = _norm(text)
    if term in _LANGUAGE_CODES:
        return _LANGUAGE_CODES[term]
    base = re.split(r"[-_]", term, maxsplit=1)[0]
    if len(base) in (2, 3) and base.isalpha() and base != term:
        return base  # a region-tagged code such as en-gb
    return term


def load_participants(path: str | Path, program: Any | None = None) -> tuple[Cohort, list[Problem]]:
    """Read and validate a participants file.

    Returns the cohort and the warnings; raises ``InputError`` carrying every problem (errors and
    warnings) when there is at least one error, so nothing half-loaded goes further.
    """
    path = Path(path)
    file = str(path)
    table = read_table(path)
    people, problems = build_people(table, program)
    problems = table.problems + problems
    if any(p.severity == "error" for p in problems):
        raise InputError(problems)
    return Cohort(tuple(people), source=file), sorted(problems, key=Problem.sort_key)


# ---------------------------------------------------------------------------------------------
# Reading


def read_table(path: Path) -> RawTable:
    """Read any supported participants file into a ``RawTable`` (raises ``InputError`` if unreadable)."""
    return tables.read_table(path, PARTICIPANTS)


# ---------------------------------------------------------------------------------------------
# Cells -> Person


class _CellError(ValueError):
    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message, self.hint = message, hint


def _items(value: Any) -> list[str]:
    """A list cell: ``;``-separated text or a JSON list, trimmed, empties dropped."""
    if isinstance(value, list):
        raw = [_text(v) for v in value]
    else:
        raw = _text(value).split(";")
    return [item.strip() for item in raw if item.strip()]


def _terms(value: Any, normalise: Callable[[str], str] = _norm) -> tuple[str, ...]:
    if type(value) is str:
        return _terms_of_text(value, normalise)
    return tuple(dict.fromkeys(normalise(item) for item in _items(value)))


@lru_cache(maxsize=65536)
def _terms_of_text(text: str, normalise: Callable[[str], str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(normalise(item) for item in _items(text)))


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise _CellError(f"'{value}' is not a whole number", "write a whole number such as 3")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():  # never inf or nan
            return int(value)
        raise _CellError(f"'{value}' is not a whole number", "write a whole number such as 3")
    text = _text(value)
    if _INT_RE.match(text):
        digits = text.split(".")[0].lstrip("+-").lstrip("0")
        if len(digits) > limits.MAX_NUMBER_DIGITS:
            raise _CellError(f"a {len(digits):,}-digit number is too large", "write a whole number such as 3")
        return int(text.split(".")[0])
    shown = text if len(text) <= 40 else text[:40] + "..."
    raise _CellError(f"'{shown}' is not a whole number", "write a whole number such as 3")


def _date(value: Any) -> date:
    return _in_range(_any_date(value))


def _in_range(day: date) -> date:
    """Dates far from any cycle (year 1 or 9999) overflow date arithmetic later: refuse them."""
    if not limits.MIN_DATE <= day <= limits.MAX_DATE:
        raise _CellError(
            f"{day.isoformat()} is too far from today",
            f"a date between {limits.MIN_DATE} and {limits.MAX_DATE}",
        )
    return day


def _any_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _serial_date(float(value), str(value))
    text = _text(value)
    match = _ISO_DATE_RE.match(text)
    if match:
        try:
            return date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            raise _CellError(f"'{text}' is not a calendar date", "check the day and month") from None
    if re.match(r"^[0-9]{5}(?:\.0+)?$", text):
        return _serial_date(float(text), text)
    shown = text if len(text) <= 40 else text[:40] + "..."
    raise _CellError(
        f"'{shown}' is not a date", "write dates as YYYY-MM-DD and ranges as 2027-03-01..2027-03-12"
    )


def _serial_date(serial: float, shown: str) -> date:
    """An Excel serial day number (days since 1899-12-30) as a date."""
    if not serial.is_integer() or not 20000 <= serial <= 80000:
        raise _CellError(f"'{shown}' is not a date", "write dates as YYYY-MM-DD")
    return _EXCEL_EPOCH + timedelta(days=int(serial))


def _date_ranges(value: Any) -> tuple[DateRange, ...]:
    """The ``unavailable`` cell: dates and inclusive ranges, merged and sorted."""
    if isinstance(value, (date, int, float)) and not isinstance(value, bool):
        pieces: list[Any] = [value]
    else:
        pieces = _items(value)
    ranges: list[DateRange] = []
    errors: list[str] = []
    hint = None
    for piece in pieces:
        try:
            parts = _RANGE_SEP_RE.split(piece) if isinstance(piece, str) else [piece]
            if len(parts) == 1:
                day = _date(parts[0])
                ranges.append((day, day))
            elif len(parts) == 2:
                lo, hi = _date(parts[0]), _date(parts[1])
                if hi < lo:
                    raise _CellError(f"range '{piece}' ends before it starts", f"did you mean {hi}..{lo}?")
                ranges.append((lo, hi))
            else:
                raise _CellError(f"'{piece}' is not a date range", "write ranges as 2027-03-01..2027-03-12")
        except _CellError as exc:
            errors.append(exc.message)
            hint = hint or exc.hint
    if errors:
        raise _CellError("; ".join(errors), hint)
    merged: list[list[date]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + timedelta(days=1):
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return tuple((lo, hi) for lo, hi in merged)


def _role_hint(text: str) -> str:
    words = set(re.findall(r"[a-z]+", text.casefold()))
    if {"mentor", "mentee"} <= words:
        return "did you mean 'both'?"
    close = difflib.get_close_matches(text.casefold(), ROLES, n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else "one of mentor, mentee, both"


def _cadence(value: Any) -> str:
    text = _text(value).casefold().replace("-", "").replace(" ", "")
    if text in CADENCES:
        return text
    shown = _text(value)
    if text in ("fortnightly", "everytwoweeks", "every2weeks"):
        raise _CellError(f"unknown cadence '{shown}'", "did you mean 'biweekly'?")
    close = difflib.get_close_matches(text, CADENCES, n=1, cutoff=0.6)
    raise _CellError(
        f"unknown cadence '{shown}'",
        f"did you mean '{close[0]}'?" if close else "one of weekly, biweekly, monthly",
    )


def _id_text(value: Any, column: str, file: str, line: int, problems: list[Problem]) -> str:
    """An id cell; a number from a spreadsheet is kept but may have lost leading zeros."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        problems.append(
            Problem(
                file,
                line,
                column,
                f"the id {_text(value)} was stored as a number; leading zeros may have been lost",
                "format the column as Text",
                severity="warning",
            )
        )
    return _text(value)


def _availability(raw: Any, text: str | None, error: Callable[..., None]) -> tuple[tuple[int, int], ...]:
    """The ``availability`` cell as weekly windows; problems go to ``error``."""
    excel = excel_value_error(raw)
    if excel:
        error("availability", excel.message, excel.hint)
        return ()
    if not text:
        return ()
    try:
        availability = parse_availability(text)
    except AvailabilityError as exc:
        error("availability", exc.message, exc.hint)
        return ()
    if not availability:
        error("availability", "no availability window", "give at least one, e.g. 'Mon 09:00-11:00'")
    return availability


def _numbers(
    cells: dict[str, Any], text: dict[str, str], error: Callable[..., None]
) -> dict[str, int | None]:
    """The integer cells (``level``, ``capacity``, ``max_meetings_per_week``), range-checked."""
    values: dict[str, int | None] = {}
    for column in ("level", "capacity", "max_meetings_per_week"):
        if not text.get(column):
            values[column] = None
            continue
        try:
            raw = text[column]
            short = raw.isascii() and raw.isdigit() and len(raw) <= limits.MAX_NUMBER_DIGITS
            number = int(raw) if short else _integer(cells[column])
        except _CellError as exc:
            error(column, exc.message, exc.hint)
            continue
        lo, hi = _INT_RANGES[column]
        if column == "capacity" and number < 0:
            error(column, f"capacity {number} is negative", "0 or more mentees")
        elif column == "max_meetings_per_week" and number < 1:
            error(column, f"{number} meetings a week leaves no time to meet", "at least 1, or leave it empty")
        elif not lo <= number <= hi:
            error(
                column,
                f"{number} is too large" if number > hi else f"{number} is too small",
                f"between {lo:,} and {hi:,}",
            )
        values[column] = number
    return values


Report = Callable[..., None]  # error(column, message, hint=None): one problem of the row


def _row_to_person(
    cells: dict[str, Any],
    line: int,
    file: str,
    default_languages: tuple[str, ...],
    required_missing: frozenset[str] = frozenset(),
) -> tuple[Person | None, RowRefs, list[Problem]]:
    """One row's cells -> a ``Person`` (or None if any cell is wrong), its references, problems."""
    problems: list[Problem] = []

    def error(column: str | None, message: str, hint: str | None = None) -> None:
        problems.append(Problem(file, line, column, message, hint))

    text = {column: _text(value) for column, value in cells.items()}
    pid = _id_text(cells.get("id"), "id", file, line, problems)
    for column in REQUIRED:
        if column not in required_missing and not text.get(column):
            hint = (
                "give at least one window, e.g. 'Mon-Fri 09:00-17:00'" if column == "availability" else None
            )
            error(column, "required cell is empty", hint)
    values = _identity(pid, text, error)
    values["availability"] = _availability(cells.get("availability"), text.get("availability"), error)
    values.update(_topics(cells, values["role"], default_languages, error))
    values["department"] = " ".join(text.get("department", "").split()) or None
    manager = _id_text(cells.get("manager_id"), "manager_id", file, line, problems) or None
    values["manager_id"] = manager
    values.update(_numbers(cells, text, error))
    values.update(_modes(cells, text, error))
    refs = _boundaries(cells, text, pid, error, values)
    row_refs = RowRefs(line, pid, values["email"], manager or "", refs["avoid"], refs["prefer"])
    if any(p.severity == "error" for p in problems):
        return None, row_refs, problems
    return Person(line=line, **values), row_refs, problems


def _identity(pid: str, text: Mapping[str, str], error: Report) -> dict[str, Any]:
    """``id``, ``name``, ``email``, ``role`` and ``timezone``, each checked."""
    if pid and not _ID_RE.match(pid):
        error("id", f"'{pid}' is not a valid id", "1-64 letters, digits, '.', '_' or '-'")
    email = text.get("email", "")
    if email and not _EMAIL_RE.match(email):
        hint = "only the address, e.g. ana@example.org" if "<" in email else "an address like ana@example.org"
        error("email", f"'{email}' is not an email address", hint)
    role = text.get("role", "").casefold()
    if role and role not in ROLES:
        error("role", f"unknown role '{text['role']}'", _role_hint(role))
    zone = text.get("timezone", "")
    if zone:
        found = check_zone(zone)
        if found:
            error("timezone", found[0], found[1])
    name = " ".join(text.get("name", "").split())
    return {"id": pid, "name": name, "email": email, "role": role, "timezone": zone}


def _topics(
    cells: Mapping[str, Any], role: str, default_languages: tuple[str, ...], error: Report
) -> dict[str, Any]:
    """Goals, expertise, interests and languages; a mentee needs a goal, a mentor expertise."""
    values = {
        "goals": _terms(cells.get("goals")),
        "expertise": _terms(cells.get("expertise")),
        "interests": _terms(cells.get("interests")),
        "languages": _terms(cells.get("languages"), normalise_language) or default_languages,
    }
    if role in ("mentee", "both") and not values["goals"]:
        error("goals", "a mentee needs at least one goal", "topics such as 'public speaking; leadership'")
    if role in ("mentor", "both") and not values["expertise"]:
        hint = "topics such as 'career growth; system design'"
        error("expertise", "a mentor needs at least one topic of expertise", hint)
    return values


def _modes(cells: Mapping[str, Any], text: Mapping[str, str], error: Report) -> dict[str, Any]:
    """``cadence``, ``calendar`` and ``format``: a known word each (or the default)."""
    values: dict[str, Any] = {"cadence": None}
    if text.get("cadence"):
        try:
            values["cadence"] = _cadence(cells.get("cadence"))
        except _CellError as exc:
            error("cadence", exc.message, exc.hint)
    mode = text.get("calendar", "").casefold() or "feed"
    if mode not in CALENDAR_MODES:
        close = difflib.get_close_matches(mode, CALENDAR_MODES, n=1, cutoff=0.5)
        error(
            "calendar",
            f"unknown calendar '{text['calendar']}'",
            f"did you mean '{close[0]}'?"
            if close
            else "'feed' (subscribe, the default) or 'invite' (email invitations)",
        )
    values["calendar"] = mode
    shape = text.get("format", "").casefold().replace("_", "-").replace(" ", "-") or "one-to-one"
    if shape in ("1:1", "one-on-one", "pair", "1-1"):
        shape = "one-to-one"
    if shape not in FORMATS:
        close = difflib.get_close_matches(shape, FORMATS, n=1, cutoff=0.5)
        error(
            "format",
            f"unknown format '{text['format']}'",
            f"did you mean '{close[0]}'?" if close else "one of one-to-one (the default), circle, either",
        )
    values["format"] = shape
    values["introductions"] = _yes_no(text.get("introductions", ""), "introductions", error)
    return values


def _boundaries(
    cells: Mapping[str, Any], text: Mapping[str, str], pid: str, error: Report, values: dict[str, Any]
) -> dict[str, tuple[str, ...]]:
    """``avoid``, ``prefer``, ``ranks`` and ``unavailable`` into ``values``; returns the ids
    ``avoid`` and ``prefer`` name (checked against the file once every row is read)."""
    refs: dict[str, tuple[str, ...]] = {}
    for column in ("avoid", "prefer"):
        ids = tuple(dict.fromkeys(_items(cells[column]))) if text.get(column) else ()
        if pid and pid in ids:
            error(column, f"'{pid}' names the person themselves", "remove their own id")
        refs[column] = tuple(i for i in ids if i != pid)
        values[column] = frozenset(refs[column])
    both = sorted(set(refs["avoid"]) & set(refs["prefer"]))
    if both:
        error("prefer", f"'{both[0]}' is both avoided and preferred", "keep the id in only one of the two")
    values["ranks"] = row_ranks(_items(cells["ranks"]) if text.get("ranks") else [], pid, error)
    values["unavailable"] = ()
    if text.get("unavailable"):
        try:
            values["unavailable"] = _date_ranges(cells.get("unavailable"))
        except _CellError as exc:
            error("unavailable", exc.message, exc.hint)
    return refs


_YES = ("yes", "y", "true")
_NO = ("no", "n", "false", "")


def _yes_no(text: str, column: str, error: Callable[..., None]) -> bool:
    """A yes/no cell (``true``/``false`` too, as spreadsheets and JSON write them); empty is no."""
    value = text.casefold()
    if value in _YES:
        return True
    if value not in _NO:
        close = difflib.get_close_matches(value, ("yes", "no"), n=1, cutoff=0.6)
        error(
            column,
            f"'{text}' is not yes or no",
            f"did you mean '{close[0]}'?" if close else "yes or no; empty means no",
        )
    return False


def default_languages(program: Any | None) -> tuple[str, ...]:
    """The languages assumed for an empty ``languages`` cell (the program's language)."""
    language = getattr(getattr(program, "program", None), "language", None) or "en"
    return (normalise_language(language),)


def build_people(table: RawTable, program: Any | None = None) -> tuple[list[Person], list[Problem]]:
    """Validate every row of ``table`` and the rows together; return people and all problems."""
    languages = default_languages(program)
    missing = frozenset(c for c in REQUIRED if c not in table.columns)
    people: list[Person] = []
    problems: list[Problem] = []
    refs: list[RowRefs] = []
    for line, cells in table.rows:
        person, row_refs, row_problems = _row_to_person(cells, line, table.file, languages, missing)
        problems.extend(row_problems)
        refs.append(row_refs)
        if person is not None:
            people.append(person)
    if not table.rows and not any(p.severity == "error" for p in table.problems):
        problems.append(
            Problem(
                table.file,
                table.header_line,
                None,
                "no participants in the file",
                "one row per person under the header",
            )
        )
    problems.extend(cross_row_problems(refs, table.file))
    problems.extend(cross_rank_problems(table.rows, table.file))
    return people, problems


def people_from_rows(
    rows: Iterable[dict[str, Any]], program: Any | None = None, first_line: int = 2, file: str = "<generated>"
) -> list[Person]:
    """Build people from in-memory rows exactly as a file with these cells would load.

    Row-level checks only (no cross-row checks): for generated cohorts that are valid by
    construction. Raises ``InputError`` if any row is invalid.
    """
    languages = default_languages(program)
    people: list[Person] = []
    problems: list[Problem] = []
    for offset, cells in enumerate(rows):
        person, _, row_problems = _row_to_person(cells, first_line + offset, file, languages)
        if person is None:
            problems.extend(row_problems)
        else:
            people.append(person)
    if problems:
        raise InputError(problems)
    return people
