"""The ``ranks`` column: ids in order of preference, checked per row and across rows.

A mentee ranks mentors; a mentor may rank mentees. A person with role ``both`` may rank either:
an id of a mentor (or of another ``both``) is a mentor they would like as a mentee, an id of a
pure mentee is a mentee they would like to mentor. Within each side the order of the cell is the
order of preference (``split_ranks``): the first mentor named is rank 1, and so on.

Errors: an id that is not in the file, the person themselves, an id named twice, an id of the
wrong role (a mentee ranking a mentee, a mentor ranking a mentor). Pairs that pass these checks
but break a hard rule are warnings, given once candidates are known (``matcher.ranks``).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping

from cohort.errors import Problem
from cohort.model import Cohort, PersonId

COLUMN = "ranks"


def row_ranks(ids: list[str], pid: str, error: Callable[[str, str, str | None], None]) -> tuple[str, ...]:
    """One row's ``ranks`` cell as ids in order; reports the person themselves and duplicates."""
    seen: set[str] = set()
    out: list[str] = []
    for i, other in enumerate(ids, 1):
        if other == pid:
            error(COLUMN, f"choice {i} '{other}' names the person themselves", "remove their own id")
        elif other in seen:
            error(
                COLUMN,
                f"'{other}' is ranked twice (choice {ids.index(other) + 1} and {i})",
                "name each person once, in order of preference",
            )
        else:
            seen.add(other)
            out.append(other)
    return tuple(out)


def cross_rank_problems(rows: Iterable[tuple[int, Mapping[str, object]]], file: str) -> list[Problem]:
    """Unknown ids and ids of the wrong role in the ``ranks`` cells of ``rows`` (line, cells).

    Every row counts, also rows with other errors, so a bad cell on one line never causes a
    misleading "unknown id" on another and a row's problems are all reported at once.
    """
    from cohort.tables import cell_text

    rows = list(rows)
    role: dict[str, str] = {}
    for _, cells in rows:
        pid = cell_text(cells.get("id"))
        if pid and pid not in role:
            role[pid] = cell_text(cells.get("role")).casefold()
    problems = []
    for line, cells in rows:
        raw = cells.get(COLUMN)
        items = [cell_text(v) for v in raw] if isinstance(raw, list) else cell_text(raw).split(";")
        ids = list(dict.fromkeys(i.strip() for i in items if i.strip()))
        mine = role.get(cell_text(cells.get("id")), "")
        for i, other in enumerate(ids, 1):
            if other == cell_text(cells.get("id")):
                continue
            if other not in role:
                close = (
                    difflib.get_close_matches(other, list(role), n=1, cutoff=0.8) if len(role) < 20000 else []
                )
                hint = f"did you mean '{close[0]}'?" if close else "use the id of a person in this file"
                problems.append(Problem(file, line, COLUMN, f"choice {i} '{other}': unknown id", hint))
            elif mine == "mentee" and role[other] == "mentee":
                problems.append(
                    Problem(
                        file,
                        line,
                        COLUMN,
                        f"choice {i} '{other}' is a mentee, not a mentor",
                        "a mentee ranks mentors",
                    )
                )
            elif mine == "mentor" and role[other] == "mentor":
                problems.append(
                    Problem(
                        file,
                        line,
                        COLUMN,
                        f"choice {i} '{other}' is a mentor, not a mentee",
                        "a mentor ranks mentees",
                    )
                )
    return problems


def split_ranks(
    cohort: Cohort,
) -> tuple[dict[PersonId, tuple[PersonId, ...]], dict[PersonId, tuple[PersonId, ...]]]:
    """(mentee id -> mentors in order, mentor id -> mentees in order), per the module doc's roles."""
    as_mentee: dict[PersonId, tuple[PersonId, ...]] = {}
    as_mentor: dict[PersonId, tuple[PersonId, ...]] = {}
    for p in cohort.people:
        if not p.ranks:
            continue
        mentors: list[PersonId] = []
        mentees: list[PersonId] = []
        for other in p.ranks:
            q = cohort.by_id.get(other)
            if q is None:
                continue
            if p.is_mentee and q.is_mentor:
                mentors.append(other)
            elif p.is_mentor and q.is_mentee:
                mentees.append(other)
        if mentors:
            as_mentee[p.id] = tuple(mentors)
        if mentees:
            as_mentor[p.id] = tuple(mentees)
    return as_mentee, as_mentor


def has_ranks(cohort: Cohort) -> bool:
    """Whether anybody in the cohort ranked anybody."""
    return any(p.ranks for p in cohort.people)
