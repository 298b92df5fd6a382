"""Participants files (``.csv``, ``.xlsx``, ``.json``) -> a validated ``Cohort``.

Reading is forgiving about what spreadsheets do to files (byte-order marks, Windows-1252 and
UTF-16 exports, ``;`` or tab delimiters, a workbook renamed ``.csv``, numbers where text was
meant); validation is strict and reports every problem at once with its file, line and column.
Line numbers are physical: the header is line 1 of a CSV (a quoted multi-line cell counts all its
lines), the sheet row of a workbook, the line where a JSON object starts.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from cohort.availability import AvailabilityError, excel_value_error, parse_availability
from cohort.errors import InputError, Problem
from cohort.model import CADENCES, ROLES, Cohort, DateRange, Person
from cohort.model import normalise_term as _norm
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
)
REQUIRED: tuple[str, ...] = ("id", "name", "email", "role", "timezone", "availability")
LIST_COLUMNS = frozenset({"goals", "expertise", "interests", "languages", "avoid", "prefer", "unavailable"})
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
_INT_RE = re.compile(r"^[+-]?\d+(?:\.0*)?$")
_ISO_DATE_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00)?)?$")
_RANGE_SEP_RE = re.compile(r"\s*(?:\.\.|–|—|\bto\b|\s-\s)\s*")
_EXCEL_EPOCH = date(1899, 12, 30)
_ZIP_MAGIC = b"PK\x03\x04"

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


@dataclass
class RawTable:
    """What a reader found: the header mapping and each row's cells by canonical column."""

    file: str
    header_line: int = 1
    columns: list[str] = field(default_factory=list)  # canonical names present in the file
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    numeric_ids: bool = False  # cells came from a spreadsheet that stores numbers as numbers


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
    """Read any supported file into a ``RawTable`` (raises ``InputError`` if unreadable)."""
    file = str(path)
    suffix = path.suffix.casefold()
    if suffix not in (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".json"):
        raise InputError(
            [
                Problem(
                    file, 0, None, f"unsupported file type '{path.suffix}'", "use a .csv, .xlsx or .json file"
                )
            ]
        )
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError([Problem(file, 0, None, "file not found")]) from None
    except OSError as exc:
        raise InputError([Problem(file, 0, None, f"cannot read the file: {exc.strerror}")]) from None
    if data.startswith(_ZIP_MAGIC):
        table = _read_xlsx(data, file)
        if suffix != ".xlsx" and suffix != ".xlsm":
            table.problems.insert(
                0,
                Problem(
                    file,
                    0,
                    None,
                    "this file is an Excel workbook, not text; read it as .xlsx",
                    "save it as .xlsx, or export CSV",
                    severity="warning",
                ),
            )
        return table
    if suffix in (".xlsx", ".xlsm"):
        raise InputError(
            [
                Problem(
                    file,
                    0,
                    None,
                    "not an Excel workbook (.xlsx)",
                    "save the file from Excel as 'Excel Workbook (.xlsx)'",
                )
            ]
        )
    text, note = _decode(data)
    if suffix == ".json":
        table = _read_json(text, file)
    else:
        table = _read_csv(text, file)
    if note:
        table.problems.insert(0, Problem(file, 0, None, note, severity="warning"))
    return table


def _decode(data: bytes) -> tuple[str, str | None]:
    """Bytes -> text, recognising the encodings spreadsheet programs export."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), None
    head = data[:200]
    if len(head) >= 4 and head.count(0) >= len(head) // 4:  # UTF-16 without a byte-order mark
        codec = "utf-16-le" if head[1] == 0 else "utf-16-be"
        return data.decode(codec, errors="replace"), None
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        try:
            return data.decode("cp1252"), "the file is not UTF-8; read it as Windows-1252 (Excel's CSV)"
        except UnicodeDecodeError:
            return data.decode("latin-1"), "the file is not UTF-8; read it as Latin-1"


def _canonical_header(raw: str) -> str:
    key = re.sub(r"[\s\-]+", "_", raw.strip().casefold())
    return _HEADER_ALIASES.get(key, key)


def _map_headers(headers: list[str], file: str, line: int) -> tuple[list[str | None], list[Problem]]:
    """Canonical column per position (None: ignored), with unknown/duplicate/missing problems."""
    problems: list[Problem] = []
    mapping: list[str | None] = []
    seen: dict[str, int] = {}
    for position, raw in enumerate(headers, start=1):
        name = _canonical_header(raw) if raw else ""
        if not name:
            mapping.append(None)
            continue
        if name not in COLUMNS:
            close = difflib.get_close_matches(name, COLUMNS, n=1, cutoff=0.7)
            problems.append(
                Problem(
                    file,
                    line,
                    raw.strip(),
                    "unknown column, ignored",
                    f"did you mean '{close[0]}'?" if close else None,
                    severity="warning",
                )
            )
            mapping.append(None)
            continue
        if name in seen:
            problems.append(
                Problem(
                    file,
                    line,
                    name,
                    f"column appears twice (columns {seen[name]} and {position})",
                    "keep only one of them",
                )
            )
            mapping.append(None)
            continue
        seen[name] = position
        mapping.append(name)
    for name in REQUIRED:
        if name not in seen:
            problems.append(
                Problem(
                    file, line, name, "required column is missing", "the header needs: " + ", ".join(REQUIRED)
                )
            )
    return mapping, problems


def _sniff_delimiter(first_line: str) -> str:
    """Pick the delimiter by the header: the one that yields the most known column names.

    Sniffing the whole file would be fooled by ``;``, which also separates list items in cells.
    """
    best, best_score = ",", -1
    for delimiter in (",", ";", "\t", "|"):
        cells = next(csv.reader([first_line], delimiter=delimiter), [])
        score = sum(_canonical_header(c) in COLUMNS for c in cells)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _read_csv(text: str, file: str) -> RawTable:
    table = RawTable(file)
    if not text.strip():
        raise InputError([Problem(file, 0, None, "the file is empty", "the first line must be the header")])
    first_line = text.splitlines()[0]
    delimiter = _sniff_delimiter(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    previous_end = 0
    mapping: list[str | None] | None = None
    try:
        for record in reader:
            line = previous_end + 1
            previous_end = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if mapping is None:
                table.header_line = line
                mapping, problems = _map_headers(record, file, line)
                table.problems.extend(problems)
                table.columns = [c for c in mapping if c]
                continue
            if len(record) > len(mapping) and any(c.strip() for c in record[len(mapping) :]):
                hint = (
                    "quote cells that contain ';' (lists), or save the file with ',' as delimiter"
                    if delimiter == ";"
                    else "quote cells that contain the delimiter"
                )
                table.problems.append(
                    Problem(
                        file,
                        line,
                        None,
                        f"row has {len(record)} cells but the header has {len(mapping)}",
                        hint,
                    )
                )
            cells = {name: record[i] for i, name in enumerate(mapping) if name and i < len(record)}
            table.rows.append((line, cells))
    except csv.Error as exc:
        table.problems.append(
            Problem(file, previous_end + 1, None, f"unreadable CSV: {exc}", "check for an unclosed quote")
        )
    return table


def _read_xlsx(data: bytes, file: str) -> RawTable:
    import openpyxl

    table = RawTable(file, numeric_ids=True)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for broken zips
        raise InputError(
            [Problem(file, 0, None, f"cannot open the workbook: {exc}", "save it again from Excel as .xlsx")]
        ) from None
    try:
        sheets = workbook.worksheets
        sheet = next((s for s in sheets if s.title.strip().casefold() == "participants"), sheets[0])
        mapping: list[str | None] | None = None
        for row_number, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
            if not any(v is not None and str(v).strip() for v in values):
                continue
            if mapping is None:
                table.header_line = row_number
                headers = ["" if v is None else str(v) for v in values]
                while headers and not headers[-1].strip():
                    headers.pop()
                mapping, problems = _map_headers(headers, file, row_number)
                table.problems.extend(problems)
                table.columns = [c for c in mapping if c]
                continue
            cells = {name: values[i] for i, name in enumerate(mapping) if name and i < len(values)}
            table.rows.append((row_number, cells))
    finally:
        workbook.close()
    if mapping is None:
        raise InputError(
            [Problem(file, 0, None, "the workbook's first sheet is empty", "row 1 must be the header")]
        )
    return table


def _json_object_lines(text: str) -> list[int]:
    """Line numbers where each participant object starts (a list, or ``participants`` in an object).

    ``json`` keeps no positions, so this walks the text once tracking strings and nesting.
    """
    lines: list[int] = []
    stack: list[list[Any]] = []  # [bracket, current key, expecting a key]
    line = 1
    i, n = 0, len(text)
    last_string = None
    while i < n:
        ch = text[i]
        if ch == "\n":
            line += 1
        elif ch == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            last_string = text[i + 1 : j]
            if stack and stack[-1][0] == "{" and stack[-1][2]:
                stack[-1][1], stack[-1][2] = last_string, False
            line += text.count("\n", i, j)
            i = j
        elif ch in "[{":
            if (
                ch == "{"
                and stack
                and stack[-1][0] == "["
                and (len(stack) == 1 or (len(stack) == 2 and stack[0][1] == "participants"))
            ):
                lines.append(line)
            stack.append([ch, None, ch == "{"])
        elif ch in "]}":
            if stack:
                stack.pop()
        elif ch == "," and stack and stack[-1][0] == "{":
            stack[-1][2] = True
        i += 1
    return lines


def _read_json(text: str, file: str) -> RawTable:
    table = RawTable(file, numeric_ids=True)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            [
                Problem(
                    file, exc.lineno, None, f"not valid JSON: {exc.msg}", "a list of objects, one per person"
                )
            ]
        ) from None
    if isinstance(data, dict) and isinstance(data.get("participants"), list):
        items = data["participants"]
    elif isinstance(data, list):
        items = data
    else:
        raise InputError(
            [
                Problem(
                    file,
                    1,
                    None,
                    "expected a list of people",
                    'write [{"id": ...}, ...] or {"participants": [...]}',
                )
            ]
        )
    starts = _json_object_lines(text)
    if len(starts) != sum(isinstance(item, dict) for item in items):
        starts = []
    present: dict[str, int] = {}
    object_index = 0
    for index, item in enumerate(items):
        line = starts[object_index] if starts and isinstance(item, dict) else index + 1
        if not isinstance(item, dict):
            table.problems.append(
                Problem(
                    file,
                    line,
                    None,
                    f"item {index + 1} is not an object",
                    'write each person as {"id": ..., "name": ...}',
                )
            )
            continue
        object_index += 1
        cells: dict[str, Any] = {}
        for key, value in item.items():
            name = _canonical_header(str(key))
            if name not in COLUMNS:
                if name not in present:
                    present[name] = line
                    close = difflib.get_close_matches(name, COLUMNS, n=1, cutoff=0.7)
                    table.problems.append(
                        Problem(
                            file,
                            line,
                            str(key),
                            "unknown key, ignored",
                            f"did you mean '{close[0]}'?" if close else None,
                            severity="warning",
                        )
                    )
                continue
            present.setdefault(name, line)
            cells[name] = value
        table.rows.append((line, cells))
    table.columns = [c for c in COLUMNS if c in present]
    for name in REQUIRED:
        if name not in present and items:
            table.problems.append(
                Problem(
                    file,
                    1,
                    name,
                    "required key is missing from every object",
                    "each person needs: " + ", ".join(REQUIRED),
                )
            )
    return table


# ---------------------------------------------------------------------------------------------
# Cells -> Person


class _CellError(ValueError):
    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message, self.hint = message, hint


def _text(value: Any) -> str:
    """A cell as trimmed text, undoing spreadsheet typing (3.0 -> '3', dates -> ISO)."""
    if type(value) is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, list):
        return "; ".join(_text(v) for v in value)
    return str(value).strip()


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
        if value.is_integer():
            return int(value)
        raise _CellError(f"'{value}' is not a whole number", "write a whole number such as 3")
    text = _text(value)
    if _INT_RE.match(text):
        return int(text.split(".")[0])
    raise _CellError(f"'{text}' is not a whole number", "write a whole number such as 3")


def _date(value: Any) -> date:
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
    if re.match(r"^\d{5}(?:\.0+)?$", text):
        return _serial_date(float(text), text)
    raise _CellError(
        f"'{text}' is not a date", "write dates as YYYY-MM-DD and ranges as 2027-03-01..2027-03-12"
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
    values: dict[str, Any] = {}
    for column in REQUIRED:
        if column in required_missing:
            continue
        if not text.get(column):
            error(
                column,
                "required cell is empty",
                "give at least one window, e.g. 'Mon-Fri 09:00-17:00'" if column == "availability" else None,
            )
    if pid and not _ID_RE.match(pid):
        error("id", f"'{pid}' is not a valid id", "1-64 letters, digits, '.', '_' or '-'")
    values["id"] = pid
    values["name"] = " ".join(text.get("name", "").split())
    email = text.get("email", "")
    if email and not _EMAIL_RE.match(email):
        hint = "only the address, e.g. ana@example.org" if "<" in email else "an address like ana@example.org"
        error("email", f"'{email}' is not an email address", hint)
    values["email"] = email
    role = text.get("role", "").casefold()
    if role and role not in ROLES:
        error("role", f"unknown role '{text['role']}'", _role_hint(role))
    values["role"] = role
    zone = text.get("timezone", "")
    if zone:
        found = check_zone(zone)
        if found:
            error("timezone", found[0], found[1])
    values["timezone"] = zone

    raw_availability = cells.get("availability")
    availability: tuple[tuple[int, int], ...] = ()
    excel = excel_value_error(raw_availability)
    if excel:
        error("availability", excel.message, excel.hint)
    elif text.get("availability"):
        try:
            availability = parse_availability(text["availability"])
        except AvailabilityError as exc:
            error("availability", exc.message, exc.hint)
        else:
            if not availability:
                error("availability", "no availability window", "give at least one, e.g. 'Mon 09:00-11:00'")
    values["availability"] = availability

    values["goals"] = _terms(cells.get("goals"))
    values["expertise"] = _terms(cells.get("expertise"))
    values["interests"] = _terms(cells.get("interests"))
    values["languages"] = _terms(cells.get("languages"), normalise_language) or default_languages
    if role in ("mentee", "both") and not values["goals"]:
        error("goals", "a mentee needs at least one goal", "topics such as 'public speaking; leadership'")
    if role in ("mentor", "both") and not values["expertise"]:
        error(
            "expertise",
            "a mentor needs at least one topic of expertise",
            "topics such as 'career growth; system design'",
        )
    values["department"] = " ".join(text.get("department", "").split()) or None
    manager = _id_text(cells.get("manager_id"), "manager_id", file, line, problems) or None
    values["manager_id"] = manager

    for column in ("level", "capacity", "max_meetings_per_week"):
        if not text.get(column):
            values[column] = None
            continue
        try:
            number = int(text[column]) if text[column].isdigit() else _integer(cells[column])
        except _CellError as exc:
            error(column, exc.message, exc.hint)
            continue
        if column == "capacity" and number < 0:
            error(column, f"capacity {number} is negative", "0 or more mentees")
        elif column == "max_meetings_per_week" and number < 1:
            error(column, f"{number} meetings a week leaves no time to meet", "at least 1, or leave it empty")
        values[column] = number
    values["cadence"] = None
    if text.get("cadence"):
        try:
            values["cadence"] = _cadence(cells.get("cadence"))
        except _CellError as exc:
            error("cadence", exc.message, exc.hint)

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
    values["unavailable"] = ()
    if text.get("unavailable"):
        try:
            values["unavailable"] = _date_ranges(cells.get("unavailable"))
        except _CellError as exc:
            error("unavailable", exc.message, exc.hint)

    row_refs = RowRefs(line, pid, email, manager or "", refs["avoid"], refs["prefer"])
    if any(p.severity == "error" for p in problems):
        return None, row_refs, problems
    return Person(line=line, **values), row_refs, problems


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
    if not table.rows:
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
