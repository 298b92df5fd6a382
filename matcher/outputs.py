"""Writers for ``matches.csv``, ``unmatched.csv`` and ``candidates.csv`` (``docs/interface.md`` §4).

Format: UTF-8 without a byte-order mark, comma-separated, RFC 4180 quoting, ``\\r\\n`` line ends
(Python's ``csv`` default). Scripts, LibreOffice and Google Sheets read this as is; Excel reads
ASCII content as is and shows non-ASCII names correctly through Data > From Text/CSV (choose
UTF-8). A BOM would make Excel's double-click work but break ``csv.DictReader`` users whose
first column would become ``\\ufeffmentor_id``; scripts come first (``docs/interface.md`` §4), so no BOM.

Spreadsheet formula injection: every cell (ids and emails included: ``-x`` is a valid id) goes
through ``cohort.text.write_csv``, which prefixes a cell starting with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return with ``'`` and strips control characters; numbers are numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from cohort.text import DANGEROUS_START, neutralise, unneutralise, write_csv
from matcher.model import COMPONENTS, MatchResult, Pair, Unmatched

__all__ = [
    "DANGEROUS_START",
    "neutralise",
    "summary",
    "unneutralise",
    "write_candidates",
    "write_matches",
    "write_unmatched",
]


def _write(path: Path, header: list[str], rows: Iterable[list[object]]) -> int:
    return write_csv(path, header, rows)


def write_matches(
    path: str | Path, pairs: Iterable[Pair], ranks: Mapping[tuple[str, str], int | None] | None = None
) -> int:
    """``mentor_id, mentee_id, score, <one column per component>, reasons``; returns the row count.

    ``ranks`` (only for cohorts with a ``ranks`` column, so other cohorts' files stay as they were)
    adds ``mentee_rank``: the mentee's rank of their mentor, empty when the mentee did not rank them.
    """
    extra = ["mentee_rank"] if ranks is not None else []
    return _write(
        Path(path),
        ["mentor_id", "mentee_id", "score", *COMPONENTS, "reasons", *extra],
        (
            [
                p.mentor_id,
                p.mentee_id,
                p.score,
                *(p.components.get(c, 0) for c in COMPONENTS),
                p.reasons,
                *([ranks.get((p.mentor_id, p.mentee_id)) or ""] if ranks is not None else []),
            ]
            for p in pairs
        ),
    )


def write_unmatched(path: str | Path, unmatched: Iterable[Unmatched]) -> int:
    """``id, role, reason``; returns the row count."""
    return _write(Path(path), ["id", "role", "reason"], ([u.id, u.role, u.reason] for u in unmatched))


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
