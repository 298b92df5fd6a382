"""Limits on what mentorsync reads, in one place.

Generous bounds that a real program never reaches (the largest cohorts measured are 200,000
people split over files far below these), so that a malformed or hostile file is refused in
bounded time and memory with a ``FILE:LINE: column 'X'`` message instead of exhausting the
machine. Intake (``validate``, ``import``, ``run``, ``rematch``, ``cycle close``) applies all of
them the same way; the report and pages apply the display limits to every string they show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

MAX_FILE_BYTES = 50 * 1024 * 1024
"""Largest participants, feedback or program file read (50 MiB)."""

MAX_UNZIPPED_BYTES = 300 * 1024 * 1024
"""Largest total uncompressed size of the parts of a workbook (a zip bomb stops here)."""

MAX_SHARED_STRINGS_BYTES = MAX_FILE_BYTES
"""Largest uncompressed ``sharedStrings.xml`` of a workbook (loaded whole by the reader)."""

MAX_ROWS = 100_000
"""Most rows (people, feedback rows) in one file, not counting the header and blank lines."""

MAX_COLUMNS = 200
"""Most columns in a table's header or any of its rows."""

MAX_CELL_CHARS = 10_000
"""Longest cell, in characters."""

MAX_JSON_DEPTH = 32
"""Deepest nesting of lists and objects in a JSON file (rows are at depth 2 or 3)."""

MAX_NUMBER_DIGITS = 18
"""Longest whole number written in a cell (fits SQLite's 64-bit integers with room to spare)."""

MAX_LEVEL = 1_000_000
"""Largest absolute value of the ``level`` column."""

MAX_CAPACITY = 10_000
"""Largest ``capacity`` of one mentor."""

MAX_MEETINGS_PER_WEEK = 1_000
"""Largest ``max_meetings_per_week``."""

MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(2200, 12, 31)
"""Every date read (cycle dates, holidays, unavailable ranges) lies in this range."""

MAX_CYCLE_WEEKS = 260
"""Longest cycle, whether given by ``weeks`` or by ``end`` (five years)."""

MAX_SETTING_INTEGER = 2**53
"""Largest integer accepted for a ``program.toml`` key that has no tighter maximum."""

MAX_ERRORS_SHOWN = 100
"""Problems printed by a failing command; the rest are counted."""

MAX_DISPLAY_CHARS = 200
"""Longest name or id shown in a table of a page (longer ones end with an ellipsis)."""

MAX_CHART_LABEL_CHARS = 60
"""Longest label drawn in a chart (matplotlib lays out every label: a 10 MB name took GBs)."""

MAX_PAGE_TEXT_CHARS = 2_000
"""Longest text of any kind written into a page (reasons, notes, suggestions, settings)."""


def shorten(text: str, limit: int = MAX_DISPLAY_CHARS) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis, for a page or chart."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


@dataclass(frozen=True)
class Bounds:
    """The size limits of one table file, carried by its ``cohort.tables.TableSpec`` (the
    defaults are the limits above; a test reads with smaller ones instead of writing 100,000 rows)."""

    file_bytes: int = MAX_FILE_BYTES
    unzipped_bytes: int = MAX_UNZIPPED_BYTES
    shared_strings_bytes: int = MAX_SHARED_STRINGS_BYTES
    rows: int = MAX_ROWS
    columns: int = MAX_COLUMNS
