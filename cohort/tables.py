"""Spreadsheet files (``.csv``, ``.xlsx``, ``.json``) -> a ``RawTable`` of cells by column.

One reader for every tabular input (participants, feedback), forgiving about what spreadsheets do
to files: byte-order marks, Windows-1252 and UTF-16 exports, ``;`` or tab delimiters, a workbook
renamed ``.csv``. A ``TableSpec`` names the columns a kind of file has; the reader maps headers
to them and reports unknown, duplicate and missing columns. Validating the cells is the caller's
job. Line numbers are physical: the header is line 1 of a CSV (a quoted multi-line cell counts all
its lines), the sheet row of a workbook, the line where a JSON object starts.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from cohort.errors import InputError, Problem, UsageError

SUFFIXES: tuple[str, ...] = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".json")
_ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class TableSpec:
    """The shape of one kind of table file, and how its messages name its rows.

    ``name`` is the preferred workbook sheet and the JSON key that may hold the list of rows.
    ``columns`` drive delimiter sniffing and header mapping; ``columns[0]`` and ``columns[1]``
    appear in the JSON hints. ``unknown_column_hint`` is shown for an unknown column when no known
    column is close. ``note_encoding`` adds a warning when the text was not UTF-8.
    """

    name: str
    columns: tuple[str, ...]
    required: tuple[str, ...]
    aliases: Mapping[str, str] = field(default_factory=dict)
    row_noun: str = "row"
    rows_noun: str = "rows"
    unknown_column_hint: str | None = None
    note_encoding: bool = True


@dataclass
class RawTable:
    """What a reader found: the header mapping and each row's cells by canonical column."""

    file: str
    header_line: int = 1
    columns: list[str] = field(default_factory=list)  # canonical names present in the file
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    numeric_ids: bool = False  # cells came from a spreadsheet that stores numbers as numbers


def read_table(path: Path, spec: TableSpec) -> RawTable:
    """Read any supported file into a ``RawTable`` (raises ``InputError`` if unreadable)."""
    path = Path(path)
    file = str(path)
    suffix = path.suffix.casefold()
    if suffix not in SUFFIXES:
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
        raise UsageError(f"{file}: no such file") from None  # wrong usage (exit 2), as under every command
    except OSError as exc:
        raise InputError([Problem(file, 0, None, f"cannot read the file: {exc.strerror}")]) from None
    if data.startswith(_ZIP_MAGIC):
        table = _read_xlsx(data, file, spec)
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
        table = _read_json(text, file, spec)
    else:
        table = _read_csv(text, file, spec)
    if note and spec.note_encoding:
        table.problems.insert(0, Problem(file, 0, None, note, severity="warning"))
    return table


def cell_text(value: Any) -> str:
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
        return "; ".join(cell_text(v) for v in value)
    return str(value).strip()


def _decode(data: bytes) -> tuple[str, str | None]:
    """Bytes -> text and a note when it was not UTF-8, recognising what spreadsheets export."""
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
            # cp1252 leaves five bytes undefined; Latin-1 decodes anything.
            return data.decode("latin-1"), "the file is not UTF-8; read it as Latin-1"


def _canonical_header(raw: str, spec: TableSpec) -> str:
    key = re.sub(r"[\s\-]+", "_", raw.strip().lstrip("\ufeff").casefold())
    return spec.aliases.get(key, key)


def _map_headers(
    headers: list[str], file: str, line: int, spec: TableSpec
) -> tuple[list[str | None], list[Problem]]:
    """Canonical column per position (None: ignored), with unknown/duplicate/missing problems."""
    problems: list[Problem] = []
    mapping: list[str | None] = []
    seen: dict[str, int] = {}
    for position, raw in enumerate(headers, start=1):
        name = _canonical_header(raw, spec) if raw else ""
        if not name:
            mapping.append(None)
            continue
        if name not in spec.columns:
            close = difflib.get_close_matches(name, spec.columns, n=1, cutoff=0.7)
            problems.append(
                Problem(
                    file,
                    line,
                    raw.strip(),
                    "unknown column, ignored",
                    f"did you mean '{close[0]}'?" if close else spec.unknown_column_hint,
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
    for name in spec.required:
        if name not in seen:
            problems.append(
                Problem(
                    file,
                    line,
                    name,
                    "required column is missing",
                    "the header needs: " + ", ".join(spec.required),
                )
            )
    return mapping, problems


def _sniff_delimiter(first_line: str, spec: TableSpec) -> str:
    """Pick the delimiter by the header: the one that yields the most known column names.

    Sniffing the whole file would be fooled by ``;``, which also separates list items in cells.
    """
    best, best_score = ",", -1
    for delimiter in (",", ";", "\t", "|"):
        cells = next(csv.reader([first_line], delimiter=delimiter), [])
        score = sum(_canonical_header(c, spec) in spec.columns for c in cells)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _read_csv(text: str, file: str, spec: TableSpec) -> RawTable:
    table = RawTable(file)
    if not text.strip():
        raise InputError([Problem(file, 0, None, "the file is empty", "the first line must be the header")])
    first_line = text.splitlines()[0]
    delimiter = _sniff_delimiter(first_line, spec)
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
                mapping, problems = _map_headers(record, file, line, spec)
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


def _read_xlsx(data: bytes, file: str, spec: TableSpec) -> RawTable:
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
        sheet = next((s for s in sheets if s.title.strip().casefold() == spec.name), sheets[0])
        mapping: list[str | None] | None = None
        for row_number, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
            if not any(v is not None and str(v).strip() for v in values):
                continue
            if mapping is None:
                table.header_line = row_number
                headers = ["" if v is None else str(v) for v in values]
                while headers and not headers[-1].strip():
                    headers.pop()
                mapping, problems = _map_headers(headers, file, row_number, spec)
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


def _json_object_lines(text: str, key: str) -> list[int]:
    """Line numbers where each row object starts (in a top-level list, or the list under ``key``).

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
                and (len(stack) == 1 or (len(stack) == 2 and stack[0][1] == key))
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


def _read_json(text: str, file: str, spec: TableSpec) -> RawTable:
    table = RawTable(file, numeric_ids=True)
    first, second = (spec.columns + ("", ""))[:2]
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            [
                Problem(
                    file,
                    exc.lineno,
                    None,
                    f"not valid JSON: {exc.msg}",
                    f"a list of objects, one per {spec.row_noun}",
                )
            ]
        ) from None
    if isinstance(data, dict) and isinstance(data.get(spec.name), list):
        items = data[spec.name]
    elif isinstance(data, list):
        items = data
    else:
        raise InputError(
            [
                Problem(
                    file,
                    1,
                    None,
                    f"expected a list of {spec.rows_noun}",
                    f'write [{{"{first}": ...}}, ...] or {{"{spec.name}": [...]}}',
                )
            ]
        )
    starts = _json_object_lines(text, spec.name)
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
                    f'write each {spec.row_noun} as {{"{first}": ..., "{second}": ...}}',
                )
            )
            continue
        object_index += 1
        cells: dict[str, Any] = {}
        for key, value in item.items():
            name = _canonical_header(str(key), spec)
            if name not in spec.columns:
                if name not in present:
                    present[name] = line
                    close = difflib.get_close_matches(name, spec.columns, n=1, cutoff=0.7)
                    table.problems.append(
                        Problem(
                            file,
                            line,
                            str(key),
                            "unknown key, ignored",
                            f"did you mean '{close[0]}'?" if close else spec.unknown_column_hint,
                            severity="warning",
                        )
                    )
                continue
            present.setdefault(name, line)
            cells[name] = value
        table.rows.append((line, cells))
    table.columns = [c for c in spec.columns if c in present]
    for name in spec.required:
        if name not in present and items:
            table.problems.append(
                Problem(
                    file,
                    1,
                    name,
                    "required key is missing from every object",
                    f"each {spec.row_noun} needs: " + ", ".join(spec.required),
                )
            )
    return table
