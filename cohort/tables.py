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

from cohort import limits
from cohort.errors import InputError, Problem, UsageError
from cohort.text import has_controls, strip_controls

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
    bounds: limits.Bounds = field(default_factory=limits.Bounds)


@dataclass
class RawTable:
    """What a reader found: the header mapping and each row's cells by canonical column."""

    file: str
    header_line: int = 1
    columns: list[str] = field(default_factory=list)  # canonical names present in the file
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


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
    data = read_bounded(path, spec.bounds.file_bytes)
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
        return _check_cells(table)
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
    text, note = decode_text(data)
    if suffix == ".json":
        table = _read_json(text, file, spec)
    else:
        table = _read_csv(text, file, spec)
    if note and spec.note_encoding:
        table.problems.insert(0, Problem(file, 0, None, note, severity="warning"))
    return _check_cells(table)


def read_bounded(path: Path, limit: int | None = None) -> bytes:
    """A file's bytes, refusing a directory, an unreadable file or one over ``limit`` bytes
    (default ``limits.MAX_FILE_BYTES``)."""
    file = str(path)
    limit = limits.MAX_FILE_BYTES if limit is None else limit
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except FileNotFoundError:
        raise UsageError(f"{file}: no such file") from None  # wrong usage (exit 2), as under every command
    except IsADirectoryError:
        raise InputError([Problem(file, 0, None, "is a directory, not a file")]) from None
    except OSError as exc:
        raise InputError([Problem(file, 0, None, f"cannot read the file: {exc.strerror}")]) from None
    if len(data) > limit:
        raise InputError(
            [
                Problem(
                    file,
                    0,
                    None,
                    f"the file is larger than {limit // (1024 * 1024)} MiB",
                    "split it, or remove what is not participant data",
                )
            ]
        )
    return data


def _check_cells(table: RawTable) -> RawTable:
    """Bound every cell's length and strip control characters, with a message naming the cell."""
    file = table.file
    for line, cells in table.rows:
        for column, value in cells.items():
            if type(value) is str:
                text = value
            elif isinstance(value, list):
                text = cell_text(value)
            else:
                continue
            if len(text) > limits.MAX_CELL_CHARS:
                table.problems.append(
                    Problem(
                        file,
                        line,
                        column,
                        f"the cell has {len(text):,} characters, more than {limits.MAX_CELL_CHARS:,}",
                        "shorten it",
                    )
                )
                text = text[: limits.MAX_CELL_CHARS]
                cells[column] = text
            if has_controls(text):
                table.problems.append(
                    Problem(
                        file,
                        line,
                        column,
                        "control characters removed",
                        "check the cell for pasted terminal or binary text",
                        severity="warning",
                    )
                )
                cells[column] = strip_controls(text)
    return table


def _too_many_rows(file: str, line: int, spec: TableSpec) -> Problem:
    return Problem(
        file,
        line,
        None,
        f"more than {spec.bounds.rows:,} {spec.rows_noun}; reading stopped here",
        "split the file",
    )


def _too_many_columns(file: str, line: int, spec: TableSpec, count: int | None = None) -> Problem:
    shown = f"{count:,} columns" if count is not None else "cells beyond the last column allowed"
    return Problem(
        file,
        line,
        None,
        f"{shown}, more than {spec.bounds.columns}",
        "remove the extra columns",
    )


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


def decode_text(data: bytes) -> tuple[str, str | None]:
    """Bytes -> text and a note when it was not UTF-8, recognising what spreadsheets export."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace"), None
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
    key = re.sub(r"[\s\-]+", "_", strip_controls(raw).strip().lstrip("\ufeff").casefold())
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


def sniff_delimiter(first_line: str, spec: TableSpec) -> str:
    """Pick the delimiter by the header: the one that yields the most known column names.

    Sniffing the whole file would be fooled by ``;``, which also separates list items in cells.
    """
    best, best_score = ",", -1
    for delimiter in (",", ";", "\t", "|"):
        try:
            cells = next(csv.reader([first_line], delimiter=delimiter), [])
        except csv.Error:  # a header cell over the csv module's limit: reported when reading
            cells = []
        score = sum(_canonical_header(c, spec) in spec.columns for c in cells)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _read_csv(text: str, file: str, spec: TableSpec) -> RawTable:
    table = RawTable(file)
    if not text.strip():
        raise InputError([Problem(file, 0, None, "the file is empty", "the first line must be the header")])
    first_line = (text.lstrip("\r\n").partition("\n")[0].splitlines() or [""])[0]
    delimiter = sniff_delimiter(first_line, spec)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    previous_end = 0
    mapping: list[str | None] | None = None
    try:
        for record in reader:
            line = previous_end + 1
            previous_end = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if len(record) > spec.bounds.columns:
                table.problems.append(_too_many_columns(file, line, spec, len(record)))
                break
            if mapping is None:
                table.header_line = line
                mapping, problems = _map_headers(record, file, line, spec)
                table.problems.extend(problems)
                table.columns = [c for c in mapping if c]
                continue
            if len(table.rows) >= spec.bounds.rows:
                table.problems.append(_too_many_rows(file, line, spec))
                break
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
        if "field larger than field limit" in str(exc):
            table.problems.append(
                Problem(
                    file,
                    previous_end + 1,
                    None,
                    f"a cell is longer than {csv.field_size_limit():,} characters; reading stopped here",
                    f"cells hold at most {limits.MAX_CELL_CHARS:,} characters; check for an unclosed quote",
                )
            )
        else:
            table.problems.append(
                Problem(file, previous_end + 1, None, f"unreadable CSV: {exc}", "check for an unclosed quote")
            )
    return table


def _check_zip(data: bytes, file: str, bounds: limits.Bounds) -> None:
    """Refuse a workbook whose parts unpack to more than the limits (before openpyxl reads it:
    it loads the shared strings whole, so a 420 KB file with a 400 MB string would take GBs)."""
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise InputError(
            [Problem(file, 0, None, f"cannot open the workbook: {exc}", "save it again from Excel as .xlsx")]
        ) from None
    total = sum(info.file_size for info in infos)
    strings = sum(info.file_size for info in infos if info.filename.casefold().endswith("sharedstrings.xml"))
    if total > bounds.unzipped_bytes or strings > bounds.shared_strings_bytes:
        raise InputError(
            [
                Problem(
                    file,
                    0,
                    None,
                    f"the workbook unpacks to {max(total, strings) // (1024 * 1024):,} MiB, more than "
                    f"{bounds.unzipped_bytes // (1024 * 1024)} MiB of sheets or "
                    f"{bounds.shared_strings_bytes // (1024 * 1024)} MiB of text",
                    "save only the participants sheet, or export CSV",
                )
            ]
        )


def _read_xlsx(data: bytes, file: str, spec: TableSpec) -> RawTable:
    import openpyxl

    _check_zip(data, file, spec.bounds)
    table = RawTable(file)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for broken zips
        raise InputError(
            [Problem(file, 0, None, f"cannot open the workbook: {exc}", "save it again from Excel as .xlsx")]
        ) from None
    mapping: list[str | None] | None = None
    row_number = 0
    try:
        sheets = workbook.worksheets
        if not sheets:
            raise InputError([Problem(file, 0, None, "the workbook has no sheet", "add a sheet")])
        sheet = next((s for s in sheets if s.title.strip().casefold() == spec.name), sheets[0])
        # The declared dimension (``A1:XFD1048576`` in a hostile file) would make the reader pad
        # every row and column up to it; read the cells that exist (a row is then as wide as its
        # last cell, at most Excel's 16,384 columns, and the first too wide stops the reading).
        if hasattr(sheet, "reset_dimensions"):
            sheet.reset_dimensions()
        rows = sheet.iter_rows(min_row=1, values_only=True)
        for row_number, values in enumerate(rows, start=1):
            if not any(values) and all(v is None or v == "" for v in values):
                continue  # fast path first: the padding rows of a gap are all None
            if not any(v is not None and (type(v) is not str or v.strip()) for v in values):
                continue
            width = spec.bounds.columns
            if len(values) > width and any(v is not None for v in values[width:]):
                table.problems.append(_too_many_columns(file, row_number, spec))
                break
            if mapping is None:
                table.header_line = row_number
                headers = ["" if v is None else str(v) for v in values]
                while headers and not headers[-1].strip():
                    headers.pop()
                mapping, problems = _map_headers(headers, file, row_number, spec)
                table.problems.extend(problems)
                table.columns = [c for c in mapping if c]
                continue
            if len(table.rows) >= spec.bounds.rows:
                table.problems.append(_too_many_rows(file, row_number, spec))
                break
            cells = {name: values[i] for i, name in enumerate(mapping) if name and i < len(values)}
            table.rows.append((row_number, cells))
    except InputError:
        raise
    except Exception as exc:  # a broken sheet inside a valid zip: bad XML, a number too long
        raise InputError(
            [
                Problem(
                    file,
                    row_number + 1,
                    None,
                    f"cannot read the workbook: {type(exc).__name__}: {str(exc)[:200]}",
                    "save it again from Excel as .xlsx, or export CSV",
                )
            ]
        ) from None
    finally:
        workbook.close()
    if mapping is None:
        raise InputError(
            [Problem(file, 0, None, "the workbook's first sheet is empty", "row 1 must be the header")]
        )
    return table


def _json_int(text: str) -> int | str:
    return int(text) if len(text) <= limits.MAX_NUMBER_DIGITS + 1 else text


def _json_too_deep(text: str) -> int:
    """The line where the nesting first exceeds the limit (0: never), skipping strings."""
    depth = 0
    for match in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > limits.MAX_JSON_DEPTH:
                return _line_at(text, match.start())
        elif token in "]}":
            depth -= 1
    return 0


def _line_at(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


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


def _json_items(text: str, file: str, spec: TableSpec) -> list[Any]:
    """The list of row items of a JSON text (top level, or under ``spec.name``), or ``InputError``."""
    hint = f"a list of objects, one per {spec.row_noun}"
    deep = _json_too_deep(text)
    if deep:
        raise InputError(
            [Problem(file, deep, None, f"nested more than {limits.MAX_JSON_DEPTH} levels deep", hint)]
        )
    try:
        # Long integers stay text: the cell checks then say which cell is too large, and
        # Python's int() refuses more than 4,300 digits with a ValueError.
        data = json.loads(text, parse_int=_json_int)
    except json.JSONDecodeError as exc:
        raise InputError([Problem(file, exc.lineno, None, f"not valid JSON: {exc.msg}", hint)]) from None
    if isinstance(data, dict) and isinstance(data.get(spec.name), list):
        return list(data[spec.name])
    if isinstance(data, list):
        return data
    first = (spec.columns + ("",))[0]
    shape = f'write [{{"{first}": ...}}, ...] or {{"{spec.name}": [...]}}'
    raise InputError([Problem(file, 1, None, f"expected a list of {spec.rows_noun}", shape)])


def _read_json(text: str, file: str, spec: TableSpec) -> RawTable:
    table = RawTable(file)
    first, second = (spec.columns + ("", ""))[:2]
    items = _json_items(text, file, spec)
    starts = _json_object_lines(text, spec.name)
    if len(starts) != sum(isinstance(item, dict) for item in items):
        starts = []
    most = spec.bounds.rows
    if len(items) > most:
        table.problems.append(_too_many_rows(file, starts[most] if starts else most + 1, spec))
        items = items[:most]
    present: dict[str, int] = {}
    object_index = 0
    for index, item in enumerate(items):
        line = starts[object_index] if starts and isinstance(item, dict) else index + 1
        if not isinstance(item, dict):
            hint = f'write each {spec.row_noun} as {{"{first}": ..., "{second}": ...}}'
            table.problems.append(Problem(file, line, None, f"item {index + 1} is not an object", hint))
            continue
        object_index += 1
        if len(item) > spec.bounds.columns:
            table.problems.append(_too_many_columns(file, line, spec, len(item)))
            continue
        table.rows.append((line, _json_cells(item, file, line, spec, present, table.problems)))
    table.columns = [c for c in spec.columns if c in present]
    for name in spec.required:
        if name not in present and items:
            hint = f"each {spec.row_noun} needs: " + ", ".join(spec.required)
            table.problems.append(Problem(file, 1, name, "required key is missing from every object", hint))
    return table


def _json_cells(
    item: dict[str, Any],
    file: str,
    line: int,
    spec: TableSpec,
    present: dict[str, int],
    problems: list[Problem],
) -> dict[str, Any]:
    """One object's cells by canonical column; an unknown key is a warning, once per file."""
    cells: dict[str, Any] = {}
    for key, value in item.items():
        name = _canonical_header(str(key), spec)
        if name not in spec.columns:
            if name not in present:
                present[name] = line
                close = difflib.get_close_matches(name, spec.columns, n=1, cutoff=0.7)
                hint = f"did you mean '{close[0]}'?" if close else spec.unknown_column_hint
                problems.append(
                    Problem(file, line, str(key), "unknown key, ignored", hint, severity="warning")
                )
            continue
        present.setdefault(name, line)
        cells[name] = value
    return cells
