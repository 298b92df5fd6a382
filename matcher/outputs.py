"""Writers for ``matches.csv``, ``unmatched.csv`` and ``candidates.csv`` (``docs/interface.md`` §4).

Format: UTF-8 without a byte-order mark, comma-separated, RFC 4180 quoting, ``\\r\\n`` line ends
(Python's ``csv`` default). Scripts, LibreOffice and Google Sheets read this as is; Excel reads
ASCII content as is and shows non-ASCII names correctly through Data > From Text/CSV (choose
UTF-8). A BOM would make Excel's double-click work but break ``csv.DictReader`` users whose
first column would become ``\\ufeffmentor_id``; scripts come first (``docs/interface.md`` §4), so no BOM.

Spreadsheet formula injection: free-text cells starting with ``=``, ``+``, ``-``, ``@``, a tab or
a carriage return get a leading ``'``. Id cells are written as they are (the id alphabet
``A-Za-z0-9._-`` cannot form a harmful formula and scripts join on ids); numbers are numbers.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from matcher.model import COMPONENTS, MatchResult, Pair, Unmatched

DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: object) -> object:
    """A text cell made safe for spreadsheets; other values unchanged."""
    if isinstance(cell, str) and cell.startswith(DANGEROUS_START):
        return "'" + cell
    return cell


def _write(path: Path, header: list[str], rows: Iterable[list[object]]) -> int:
    n = 0
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            n += 1
    return n


def write_matches(path: str | Path, pairs: Iterable[Pair]) -> int:
    """``mentor_id, mentee_id, score, <one column per component>, reasons``; returns the row count."""
    return _write(
        Path(path),
        ["mentor_id", "mentee_id", "score", *COMPONENTS, "reasons"],
        (
            [
                p.mentor_id,
                p.mentee_id,
                p.score,
                *(p.components.get(c, 0) for c in COMPONENTS),
                neutralise(p.reasons),
            ]
            for p in pairs
        ),
    )


def write_unmatched(path: str | Path, unmatched: Iterable[Unmatched]) -> int:
    """``id, role, reason``; returns the row count."""
    return _write(
        Path(path), ["id", "role", "reason"], ([u.id, u.role, neutralise(u.reason)] for u in unmatched)
    )


def write_candidates(path: str | Path, rows: Iterable[tuple[str, str, int]]) -> int:
    """``mentor_id, mentee_id, score`` for every candidate (``CandidateSet.rows()`` or
    ``(c.mentor_id, c.mentee_id, c.score)`` from ``MatchResult.candidates``)."""
    return _write(Path(path), ["mentor_id", "mentee_id", "score"], ([m, e, s] for m, e, s in rows))


def summary(r: MatchResult) -> dict[str, object]:
    """The matching part of ``summary.json`` (JSON-ready)."""
    return {
        "matched": r.matched,
        "unmatched_mentees": sum(u.role == "mentee" for u in r.unmatched),
        "unmatched_mentors": sum(u.role == "mentor" for u in r.unmatched),
        "objective": r.objective,
        "bound": r.bound,
        "gap": r.gap,
        "method": r.method,
        "solve_seconds": round(r.solve_seconds, 3),
        **dict(r.stats),
    }
