"""Text hygiene shared by intake and every writer: control characters and spreadsheet formulas.

* Control characters (C0 and C1, DEL) other than tab, line feed and carriage return never belong
  in a name or a topic; a NUL, BEL or ESC from a spreadsheet reaches terminals, pages and
  calendars raw unless it is removed. Intake strips them with a warning; writers strip them again
  so that text stored before this rule existed is clean too.
* Spreadsheet formula injection: a CSV cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a
  carriage return is run as a formula by Excel, LibreOffice and Google Sheets. Every CSV
  mentorsync writes goes through ``write_csv`` (or ``csv_row``), which prefixes such cells with
  ``'``; a cell that itself starts with ``'`` gets one too, so ``unneutralise`` restores exactly
  what was written. Ids such as ``-x`` are valid ids: they are neutralised, not refused.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
"""Control characters removed from text (tab, line feed and carriage return are kept)."""

DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")
"""Cell starts that a spreadsheet reads as a formula."""

_QUOTE = "'"

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def has_controls(text: str) -> bool:
    return CONTROL_RE.search(text) is not None


def strip_controls(text: str) -> str:
    """``text`` without control characters (tab, line feed and carriage return kept)."""
    return CONTROL_RE.sub("", text) if CONTROL_RE.search(text) else text


def neutralise(cell: object) -> object:
    """A CSV cell made safe for spreadsheets: text without control characters, prefixed with
    ``'`` when it starts like a formula (or with ``'`` itself); other values unchanged."""
    if isinstance(cell, str):
        cell = strip_controls(cell)
        if cell.startswith(DANGEROUS_START) or cell.startswith(_QUOTE):
            return _QUOTE + cell
    return cell


def unneutralise(cell: str) -> str:
    """What ``neutralise`` was given (for text cells): reading our own CSVs back."""
    return cell[1:] if cell.startswith(_QUOTE) else cell


def csv_row(row: Iterable[Any]) -> list[Any]:
    """Every cell of one CSV row through ``neutralise``."""
    return [neutralise(cell) for cell in row]


def write_csv(
    path: str | Path,
    header: Iterable[str],
    rows: Iterable[Iterable[Any]],
    *,
    lineterminator: str = "\r\n",
    private: bool = False,
) -> int:
    """Write a CSV (UTF-8, no byte-order mark, RFC 4180 quoting) with every cell neutralised;
    returns the number of rows under the header. ``private`` files (private URLs) are mode 0600."""
    n = 0
    if private:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        opened = open(fd, "w", encoding="utf-8", newline="")
    else:
        opened = open(path, "w", encoding="utf-8", newline="")
    with opened as fh:
        writer = csv.writer(fh, lineterminator=lineterminator)
        writer.writerow(csv_row(header))
        for row in rows:
            writer.writerow(csv_row(row))
            n += 1
    return n
